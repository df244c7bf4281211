"""The working-day tables (Reg. 17 clock, Art. 39 publication deadline) against the plain
day-by-day walk through `chinese_calendar` that they replace."""

from __future__ import annotations

import datetime as dt
import random

import chinese_calendar
import pytest
from stc_common.workdays import (
    WorkdayResult,
    add_working_days,
    covered_between,
    is_working_day,
    working_days_between,
)


def _walk_is_working(day: dt.date) -> tuple[bool, bool]:
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def _walk_add(start: dt.date, days: int) -> tuple[dt.date, bool]:
    current, exact, counted = start, True, 0
    while counted < days:
        current += dt.timedelta(days=1)
        working, covered = _walk_is_working(current)
        exact = exact and covered
        counted += working
    return current, exact


def _walk_between(start: dt.date, end: dt.date) -> int:
    if end < start:
        return -_walk_between(end, start)
    count, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        count += _walk_is_working(current)[0]
    return count


def _random_day(rng: random.Random) -> dt.date:
    # Years the package covers, the last one it covers, and the fallback years after it.
    return dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 10))


def test_add_working_days_matches_the_walk_for_many_random_spans():
    rng = random.Random(14)
    for _ in range(3000):
        start, days = _random_day(rng), rng.choice([0, 1, 2, 5, 20, 45, 46, 60, 250, 700])
        result = add_working_days(start, days)
        assert (result.date, result.exact) == _walk_add(start, days), (start, days)


def test_working_days_between_matches_the_walk_both_ways():
    rng = random.Random(41)
    for _ in range(3000):
        a, b = _random_day(rng), _random_day(rng)
        if rng.random() < 0.5:
            b = a + dt.timedelta(days=rng.randrange(0, 90))
        assert working_days_between(a, b) == _walk_between(a, b), (a, b)


def test_is_working_day_matches_the_package_and_flags_fallback_years():
    day = dt.date(2024, 1, 1)
    while day < dt.date(2029, 1, 1):
        assert is_working_day(day) == _walk_is_working(day), day
        day += dt.timedelta(days=1)


def test_adjusted_days_and_holidays_come_from_the_official_calendar():
    assert is_working_day(dt.date(2026, 10, 1)) == (False, True)  # National Day, a Thursday
    assert is_working_day(dt.date(2026, 10, 10)) == (True, True)  # adjusted Saturday
    assert is_working_day(dt.date(2099, 10, 1)) == (True, False)  # Thursday, fallback year


def test_year_boundaries_and_exactness():
    last = dt.date(2026, 12, 31)
    # Nothing walked in 2026 from its last day: only the fallback year counts, inexact.
    assert add_working_days(last, 1) == WorkdayResult(dt.date(2027, 1, 1), False)
    # A span wholly inside a covered year stays exact, one reaching past it does not.
    assert add_working_days(dt.date(2026, 3, 2), 45).exact is True
    assert add_working_days(dt.date(2026, 11, 2), 45).exact is False
    assert covered_between(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) is True
    assert covered_between(dt.date(2026, 12, 31), dt.date(2027, 1, 1)) is False
    assert covered_between(dt.date(2027, 5, 1), dt.date(2027, 5, 1)) is True
    assert add_working_days(dt.date(2026, 5, 6), 0) == WorkdayResult(dt.date(2026, 5, 6), True)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(dt.date(2026, 1, 5), -1)
