"""The holiday calendar as data (issue 11 item 3): what an entered schedule may say, and that
an entered schedule takes precedence over the package and makes a Reg. 17 deadline exact."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_common import workdays
from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.domain.clock import clock_status

D = dt.date


@pytest.fixture(autouse=True)
def _no_entered_schedules():
    workdays.use_schedules([], replace_all=True)
    yield
    workdays.use_schedules([], replace_all=True)


def _entry(**kw) -> hc.ScheduleEntry:
    base = dict(year=2031, announcement="TEST-2031 (made up)",
                periods=(hc.HolidayPeriod("Spring Festival", D(2031, 1, 22), D(2031, 1, 28)),),
                working_days=(D(2031, 1, 19),))  # a Sunday
    base.update(kw)
    return hc.ScheduleEntry(**base)


def test_reg17_valid_schedule_has_no_problems():
    assert hc.validate(_entry()) == []


@pytest.mark.parametrize("kw, field, words", [
    ({"announcement": " "}, "announcement", "announcement"),
    ({"periods": ()}, "holidays", "at least one"),
    ({"working_days": (D(2031, 1, 20),)}, "working_days[0]", "weekday"),
    ({"working_days": (D(2031, 1, 25),)}, "working_days[0]", "also a holiday"),
    ({"working_days": (D(2030, 12, 29),)}, "working_days[0]", "must lie in 2031"),
    ({"periods": (hc.HolidayPeriod("X", D(2031, 2, 2), D(2031, 2, 1)),)}, "holidays[0].last_day",
     "before"),
    ({"periods": (hc.HolidayPeriod("A", D(2031, 5, 1), D(2031, 5, 5)),
                  hc.HolidayPeriod("B", D(2031, 5, 5), D(2031, 5, 6)))}, "holidays[1]",
     "overlaps"),
    ({"year": 20277}, "year", "between"),
])
def test_reg17_schedule_problems_name_the_field(kw, field, words):
    problems = hc.validate(_entry(**kw))
    assert any(p.field == field and words in p.reason for p in problems), problems


def test_reg17_entered_schedule_takes_precedence_and_is_exact():
    # outside the package's years the calendar is Monday-Friday and says so
    assert not workdays.package_covers(2031)
    assert workdays.is_working_day(D(2031, 1, 22)) == (True, False)
    before = clock_status(D(2031, 1, 10), D(2031, 1, 10))
    assert not before.exact
    workdays.use_schedules([_entry().schedule()])
    assert workdays.is_working_day(D(2031, 1, 22)) == (False, True)  # Spring Festival
    assert workdays.is_working_day(D(2031, 1, 19)) == (True, True)  # the Sunday worked
    after = clock_status(D(2031, 1, 10), D(2031, 1, 10))
    # five weekdays off, one Sunday on: the deadline moves four working days' worth later
    assert after.exact and after.deadline > before.deadline
    assert workdays.working_days_between(D(2031, 1, 10), after.deadline) == 45
    # a span into a year without a schedule is still not exact
    late = clock_status(D(2031, 12, 1), D(2031, 12, 1))
    assert not late.exact


def test_reg17_entered_schedule_overrides_a_year_the_package_knows():
    year = 2025
    assert workdays.package_covers(year)
    assert workdays.is_working_day(D(year, 3, 3)) == (True, True)
    workdays.use_schedules([hc.ScheduleEntry(
        year=year, announcement="correction (made up)",
        periods=(hc.HolidayPeriod("Test", D(year, 3, 3), D(year, 3, 3)),),
        working_days=()).schedule()])
    assert workdays.is_working_day(D(year, 3, 3)) == (False, True)


def test_reg17_data_file_round_trips_and_refuses_duplicates():
    doc = {"schedules": [hc.to_plain(_entry())]}
    (entry,) = hc.entries_from_document(doc)
    assert hc.same_schedule(entry, _entry())
    with pytest.raises(ValueError, match="more than once"):
        hc.entries_from_document({"schedules": [hc.to_plain(_entry())] * 2})
    with pytest.raises(ValueError, match="schedules"):
        hc.entries_from_document({"years": []})
    with pytest.raises(ValueError, match=r"schedules\[0\]\.holidays\[0\]\.first_day"):
        hc.entries_from_document({"schedules": [{
            "year": 2031, "announcement": "x",
            "holidays": [{"name": "A", "first_day": "31 Jan"}]}]})
