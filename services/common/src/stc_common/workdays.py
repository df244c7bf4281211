"""PRC working days: weekends and public holidays off, adjusted weekend working days on.

The `chinese_calendar` package knows the schedules the State Council has announced and raises
for later years; there we fall back to Monday-Friday and say so (`exact=False`), so a deadline
shown to a user can carry that caveat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """Return (is a working day, whether the official calendar covered that date)."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


@dataclass(frozen=True)
class WorkdayResult:
    """A date reached by counting working days, and whether every day counted was covered."""

    date: dt.date
    exact: bool


def add_working_days(start: dt.date, days: int) -> WorkdayResult:
    """The date that is `days` PRC working days after `start` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current, exact, counted = start, True, 0
    while counted < days:
        current += dt.timedelta(days=1)
        working, covered = is_working_day(current)
        exact = exact and covered
        if working:
            counted += 1
    return WorkdayResult(current, exact)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    count, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        if is_working_day(current)[0]:
            count += 1
    return count
