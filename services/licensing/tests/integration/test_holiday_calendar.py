"""The PRC holiday calendar as data (issue 11 item 3) over the real service, Kafka and
PostgreSQL: an officer enters a year's schedule (made up here: no 2027 schedule is shipped
without its source), the open applications' Reg. 17 deadlines are recomputed and shown as exact,
and back offices hear of it (DeadlineRecomputed, HolidayScheduleAnnounced)."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import holiday_schedule_pb2 as hpb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common import workdays
from stc_common.db.pool import create_pool
from stc_common.testing.service import bearer
from stc_licensing.main import apply_holiday_file

pytestmark = pytest.mark.integration
MOFCOM = bearer("officer", authority="MOFCOM")


def _date(d):
    return dt.date(d.year, d.month, d.day)


def _made_up(year: int, extra_off: list[dt.date] = ()) -> hpb.HolidaySchedule:
    """A made-up schedule: 1 January off, plus `extra_off` as one 'Test Holiday' period."""
    periods = [hpb.HolidayPeriod(name="New Year's Day", first_day=_pb(dt.date(year, 1, 1)),
                                 last_day=_pb(dt.date(year, 1, 1)))]
    if extra_off:
        periods.append(hpb.HolidayPeriod(name="Test Holiday", first_day=_pb(min(extra_off)),
                                         last_day=_pb(max(extra_off))))
    return hpb.HolidaySchedule(year=year, announcement=f"TEST-{year} (made up, not the law)",
                               holidays=periods)


def _pb(d: dt.date):
    from google.type import date_pb2
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


@pytest.fixture
async def clean_calendar(env):
    yield
    await env.sql("DELETE FROM holiday_schedules")
    workdays.use_schedules([], replace_all=True)


async def test_reg17_entered_holiday_schedule_moves_open_deadlines_and_makes_them_exact(
        env, h, clean_calendar):
    """Reg. 17 counts PRC working days: a schedule entered for the deadline's year, with days
    off just before the old deadline, moves the deadline later, makes it exact once every
    year of its span is covered, records a DEADLINE_RECOMPUTED step and publishes
    DeadlineRecomputed and HolidayScheduleAnnounced."""
    uscc = await env.operator()
    app = await env.submit(uscc)
    old = _date(app.deadline)
    accepted = _date(app.accepted_on)
    # days off: the old deadline and the two days before it (within its year)
    off = [d for d in (old - dt.timedelta(days=2), old - dt.timedelta(days=1), old)
           if d.year == old.year and d > dt.date(old.year, 1, 1)]
    years = {y for y in range(accepted.year, old.year + 1) if not workdays.package_covers(y)}
    years.add(old.year)
    answers = {}
    for y in sorted(years):
        answers[y] = await env.stub.EnterHolidaySchedule(hpb.EnterHolidayScheduleRequest(
            request_id=f"hs-{uuid.uuid4().hex}",
            schedule=_made_up(y, off if y == old.year else [])), metadata=MOFCOM)
    assert answers[old.year].name == f"holidaySchedules/{old.year}"
    assert answers[old.year].entered_by.startswith("MOFCOM/")
    assert sum(a.deadlines_recomputed for a in answers.values()) >= 1

    now = await env.stub.GetApplication(spb.GetApplicationRequest(
        application_id=app.application_id), metadata=MOFCOM)
    new = _date(now.deadline)
    assert now.deadline_exact, "every year of the span is covered now"
    assert new > old  # working days were taken out before the old deadline
    assert new == workdays.add_working_days(accepted, 45).date

    found = await env.log.wait_find("stc.licensing.v1.DeadlineRecomputed", app.application_id)
    moved = [e.parse(events_pb2.DeadlineRecomputed) for e in found]
    last = moved[-1]
    assert (_date(last.deadline), last.deadline_exact) == (new, True)
    assert _date(moved[0].previous_deadline) == old and not moved[0].previous_deadline_exact \
        or workdays.package_covers(old.year)
    (announced,) = await env.log.wait_find("stc.licensing.v1.HolidayScheduleAnnounced",
                                           f"holiday-schedules/{old.year}")
    body = announced.parse(events_pb2.HolidayScheduleAnnounced)
    assert {_date(d) for d in body.holidays} >= set(off)
    assert body.announcement.startswith("TEST-")
    (row,) = await env.sql("SELECT count(*) AS n FROM application_history WHERE "
                           "application_id = $1 AND kind = 'DEADLINE_RECOMPUTED'",
                           app.application_id)
    assert row["n"] >= 1
    (stored,) = await env.sql("SELECT deadline, deadline_exact FROM applications WHERE id = $1",
                              app.application_id)
    assert (stored["deadline"], stored["deadline_exact"]) == (new, True)  # the queue's order

    # the same schedule again: nothing moves, nothing is published twice
    again = await env.stub.EnterHolidaySchedule(hpb.EnterHolidayScheduleRequest(
        schedule=_made_up(old.year, off)), metadata=MOFCOM)
    assert again.deadlines_recomputed == 0
    listed = await env.stub.ListHolidaySchedules(hpb.ListHolidaySchedulesRequest(),
                                                 metadata=bearer("auditor"))
    assert old.year in {s.year for s in listed.schedules}
    assert listed.package_last_year >= 2026


async def test_reg17_holiday_schedule_is_refused_with_the_field_and_reason(env, clean_calendar):
    """Bad schedules answer INVALID_ARGUMENT naming the field: an adjusted working day must be
    a weekend day, the announcement is required; exporters may not enter one."""
    year = 2031
    first_monday = next(dt.date(year, 3, d) for d in range(1, 8)
                        if dt.date(year, 3, d).weekday() == 0)
    bad = _made_up(year)
    bad.working_days.append(_pb(first_monday))
    bad.announcement = ""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.EnterHolidaySchedule(hpb.EnterHolidayScheduleRequest(schedule=bad),
                                            metadata=MOFCOM)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "schedule.working_days[0]" in err.value.details()
    assert "schedule.announcement" in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.EnterHolidaySchedule(hpb.EnterHolidayScheduleRequest(
            schedule=_made_up(year)), metadata=bearer("exporter", uscc=await env.operator()))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert not await env.sql("SELECT 1 FROM holiday_schedules WHERE year = $1", year)


async def test_reg17_operator_data_file_enters_schedules_at_start(env, tmp_path,
                                                                   clean_calendar):
    """The operator's data file (STC_HOLIDAY_SCHEDULES_PATH) enters a year as the RPC does;
    entering it again changes nothing; a malformed file is refused whole."""
    path = tmp_path / "schedules.yaml"
    path.write_text(
        "schedules:\n"
        "  - year: 2032\n"
        "    announcement: TEST-2032 (made up)\n"
        "    holidays:\n"
        "      - {name: Spring Festival, first_day: 2032-02-10, last_day: 2032-02-16}\n"
        "    working_days: [2032-02-08]\n", encoding="utf-8")
    pool = await create_pool(env.dsn, min_size=1, max_size=2)
    try:
        assert await apply_holiday_file(pool, path) == 1
        assert await apply_holiday_file(pool, path) == 0
        assert workdays.is_working_day(dt.date(2032, 2, 8)) == (True, True)  # a Sunday worked
        assert workdays.is_working_day(dt.date(2032, 2, 11)) == (False, True)
        (row,) = await env.sql("SELECT entered_by FROM holiday_schedules WHERE year = 2032")
        assert row["entered_by"] == "data-file:schedules.yaml"
        path.write_text("schedules:\n  - year: 2033\n    announcement: x\n"
                        "    holidays: []\n", encoding="utf-8")
        with pytest.raises(ValueError, match="at least one holiday"):
            await apply_holiday_file(pool, path)
    finally:
        await pool.close()
