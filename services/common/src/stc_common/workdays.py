"""PRC working days: weekends and public holidays off, adjusted weekend working days on.

The `chinese_calendar` package knows the schedules the State Council has announced and raises
for later years; there we fall back to Monday-Friday and say so (`exact=False`), so a deadline
shown to a user can carry that caveat.

Every answer is a table lookup: the first question about a year builds that year's table once
(a byte per day, 1 for a working day, and the prefix counts of working days), and a count or
an addition of working days is a subtraction of prefix counts or a binary search in them.
Walking the calendar day by day through `chinese_calendar` cost most of the licensing
service's CPU under load (every `clock_status` of every application read), and for the years
the package does not know it raised and caught an exception per day.

Entered schedules (issue 11, item 3): a year's schedule as the State Council's General Office
announces it (放假安排: the public holidays and the adjusted weekend working days, with the
announcement's reference) can be handed to `use_schedules`; it takes precedence over the
package for that year and makes the year covered (`exact=True`). The licensing service keeps
them in its database and installs them at start-up and whenever one is entered.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar.constants import holidays as _cc_holidays

# The years whose official schedule the package holds; outside them, Monday-Friday (inexact).
_FIRST_YEAR = min(_cc_holidays).year
_LAST_YEAR = max(_cc_holidays).year


@dataclass(frozen=True)
class HolidaySchedule:
    """One year's published schedule: its public holidays (days off, weekends inside a holiday
    period included or not) and its adjusted working days (weekend days worked, 调休上班),
    with the announcement it comes from (e.g. 国办发明电〔2026〕N号)."""

    year: int
    holidays: frozenset[dt.date]
    working_days: frozenset[dt.date]
    announcement: str

    def is_working_day(self, day: dt.date) -> bool:
        """Working day under this schedule: adjusted working days on, holidays off, else
        Monday-Friday."""
        if day in self.working_days:
            return True
        return day not in self.holidays and day.weekday() < 5


# Entered schedules by year; they take precedence over the package (`use_schedules`).
_ENTERED: dict[int, HolidaySchedule] = {}


def use_schedules(schedules: Iterable[HolidaySchedule], *, replace_all: bool = False) -> None:
    """Install entered schedules (each replaces any earlier one of its year; `replace_all`
    forgets the others first) and drop the cached tables so the next lookup uses them."""
    if replace_all:
        _ENTERED.clear()
    for schedule in schedules:
        _ENTERED[schedule.year] = schedule
    _year.cache_clear()


def entered_schedules() -> dict[int, HolidaySchedule]:
    """The schedules installed by `use_schedules`, by year (a copy)."""
    return dict(_ENTERED)


def package_covers(year: int) -> bool:
    """Whether the `chinese_calendar` package holds the official schedule of `year`."""
    return _FIRST_YEAR <= year <= _LAST_YEAR


@dataclass(frozen=True)
class _YearTable:
    """One year's working days: `working[i]` for day i (0 = 1 January), `prefix[i]` = the
    number of working days among days 0 … i-1, and whether the official calendar covers it."""

    working: bytes
    prefix: tuple[int, ...]
    covered: bool


@functools.cache
def _year(year: int) -> _YearTable:
    first = dt.date(year, 1, 1)
    length = (dt.date(year + 1, 1, 1) - first).days if year < dt.MAXYEAR else 365
    entered = _ENTERED.get(year)
    covered = entered is not None or package_covers(year)
    days = [first + dt.timedelta(days=i) for i in range(length)]
    if entered is not None:
        working = bytes(1 if entered.is_working_day(d) else 0 for d in days)
    elif covered:
        working = bytes(1 if chinese_calendar.is_workday(d) else 0 for d in days)
    else:
        working = bytes(1 if d.weekday() < 5 else 0 for d in days)
    prefix = [0]
    for w in working:
        prefix.append(prefix[-1] + w)
    return _YearTable(working, tuple(prefix), covered)


def _index(day: dt.date) -> int:
    return day.timetuple().tm_yday - 1


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """Return (is a working day, whether the official calendar covered that date)."""
    table = _year(day.year)
    return bool(table.working[_index(day)]), table.covered


@dataclass(frozen=True)
class WorkdayResult:
    """A date reached by counting working days, and whether every day counted was covered."""

    date: dt.date
    exact: bool


def add_working_days(start: dt.date, days: int) -> WorkdayResult:
    """The date that is `days` PRC working days after `start` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    if days == 0:
        return WorkdayResult(start, True)
    year, i, exact = start.year, _index(start), True
    while True:
        table = _year(year)
        length = len(table.working)
        if i + 1 < length:  # days i+1 … end of this year are walked
            exact = exact and table.covered
            available = table.prefix[length] - table.prefix[i + 1]
            if days <= available:
                # the first day j with prefix[j + 1] == prefix[i + 1] + days
                j = bisect.bisect_left(table.prefix, table.prefix[i + 1] + days) - 1
                return WorkdayResult(dt.date(year, 1, 1) + dt.timedelta(days=j), exact)
            days -= available
        year, i = year + 1, -1


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(end, start)
    total, year, i = 0, start.year, _index(start)
    while year < end.year:
        table = _year(year)
        total += table.prefix[len(table.working)] - table.prefix[i + 1]
        year, i = year + 1, -1
    table = _year(year)
    return total + table.prefix[_index(end) + 1] - table.prefix[i + 1]


def covered_between(start: dt.date, end: dt.date) -> bool:
    """Whether the official calendar covers every day in (start, end] (True when empty)."""
    if end <= start:
        return True
    first = (start + dt.timedelta(days=1)).year
    return all(_year(y).covered for y in range(first, end.year + 1))
