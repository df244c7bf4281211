"""Issue 11 items 3, 5, 6 as use cases (service/holidays.py, service/temporary_controls.py,
service/extraterritorial.py) over the in-memory fakes, called as the servicer calls them
(request -> api/mapping.py -> command -> use case -> response): what they store, which events
they publish, and that every refusal stores and publishes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import extraterritorial_pb2 as epb
from stc.licensing.v1 import holiday_schedule_pb2 as hpb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import temporary_control_pb2 as tpb
from stc.screening.v1 import events_pb2 as scr
from stc_common import workdays
from stc_common.errors import AlreadyExists, NotFound, ValidationFailed
from stc_licensing import service
from stc_licensing.api import mapping
from stc_licensing.service import temporary_controls

DAY = dt.date(2026, 3, 2)


def _d(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _date(d: date_pb2.Date) -> dt.date:
    return dt.date(d.year, d.month, d.day)


def _fields(exc: ValidationFailed) -> set[str]:
    return {v.field for v in exc.violations}


@pytest.fixture
def today(monkeypatch):
    """The service's idea of today (`today(day)` moves it)."""
    state = {"day": DAY}
    monkeypatch.setattr(service.common, "today", lambda: state["day"])

    def move(day: dt.date) -> None:
        state["day"] = day
    return move


@pytest.fixture
def calendar():
    """The process calendar is global: no entered schedule before or after a test."""
    workdays.use_schedules([], replace_all=True)
    yield
    workdays.use_schedules([], replace_all=True)


# ------------------------------------------------------- temporary controls (Art. 9(2))


def _measure_pb(start: dt.date, end: dt.date, hs: str = "284180",
                measure_id: str = "tc-test-1") -> tpb.TemporaryControl:
    return tpb.TemporaryControl(
        measure_id=measure_id, announcement="MOFCOM Announcement (test) No. 1",
        items=[tpb.TemporarilyControlledItem(hs_code=hs, description="tungstates")],
        start=_d(start), end=_d(end))


async def _create(b, uow, req: tpb.CreateTemporaryControlRequest):
    caller = b.officer()
    return mapping.temporary_control(await service.create_temporary_control(
        uow=uow, caller=caller, cmd=mapping.create_temporary_control(caller, req)))


async def _decide(uow, req: tpb.DecideTemporaryControlRequest):
    return mapping.temporary_control(await service.decide_temporary_control(
        uow=uow, cmd=mapping.decide_temporary_control(req)))


async def test_art9_create_stores_publishes_and_a_retry_answers_the_same(b, today):
    uow = b.FakeUnitOfWork()
    req = tpb.CreateTemporaryControlRequest(
        request_id="tc-r-1", temporary_control=_measure_pb(DAY, DAY + dt.timedelta(days=300)))
    made = await _create(b, uow, req)
    assert made.name == "temporaryControls/tc-test-1"
    assert made.status == tpb.TEMPORARY_CONTROL_STATUS_ACTIVE
    assert made.registered_by.startswith("MOFCOM/")
    (changed,) = uow.of("TemporaryControlChanged")
    assert (changed.change, changed.status, list(changed.hs_codes)) == (
        "REGISTERED", "ACTIVE", ["284180"])
    assert uow.events[0][1] == "temporary-controls/tc-test-1"

    again = await _create(b, uow.after(), req)
    assert again.measure_id == made.measure_id
    assert len(uow.store.temporary_controls) == 1


async def test_art9_a_request_id_reused_for_another_measure_stores_nothing(b, today):
    uow = b.FakeUnitOfWork()
    await _create(b, uow, tpb.CreateTemporaryControlRequest(
        request_id="tc-r-1", temporary_control=_measure_pb(DAY, DAY + dt.timedelta(days=300))))
    before, nxt = uow.store.snapshot(), uow.after()
    other = _measure_pb(DAY, DAY + dt.timedelta(days=300), hs="8501", measure_id="tc-test-2")
    with pytest.raises(AlreadyExists) as err:
        await _create(b, nxt, tpb.CreateTemporaryControlRequest(request_id="tc-r-1",
                                                                temporary_control=other))
    assert err.value.reason == "REQUEST_ID_REUSED"
    assert uow.store.snapshot() == before and nxt.events == []


async def test_art9_more_than_two_years_is_refused_with_the_field(b, today):
    uow = b.FakeUnitOfWork()
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as err:
        await _create(b, uow, tpb.CreateTemporaryControlRequest(
            temporary_control=_measure_pb(DAY, DAY + dt.timedelta(days=2 * 366 + 1))))
    assert "temporary_control.end" in _fields(err.value)
    with pytest.raises(ValidationFailed) as err:  # the mapping: no start date
        await _create(b, uow, tpb.CreateTemporaryControlRequest(
            temporary_control=tpb.TemporaryControl(announcement="x")))
    assert _fields(err.value) == {"temporary_control.start", "temporary_control.end"}
    assert uow.store.snapshot() == before and uow.events == []


async def test_art9_decisions_extend_within_two_years_cancel_and_refusals(b, today):
    uow = b.FakeUnitOfWork()
    await _create(b, uow, tpb.CreateTemporaryControlRequest(
        temporary_control=_measure_pb(DAY, DAY + dt.timedelta(days=300))))
    uow.events.clear()
    extended = await _decide(uow, tpb.DecideTemporaryControlRequest(
        measure_id="tc-test-1", decision=tpb.TEMPORARY_CONTROL_DECISION_EXTEND,
        new_end=_d(DAY + dt.timedelta(days=600)), announcement="extended"))
    assert _date(extended.end) == DAY + dt.timedelta(days=600)
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as err:  # beyond two years of the start
        await _decide(uow, tpb.DecideTemporaryControlRequest(
            measure_id="tc-test-1", decision=tpb.TEMPORARY_CONTROL_DECISION_EXTEND,
            new_end=_d(DAY + dt.timedelta(days=800))))
    assert "new_end" in _fields(err.value)
    with pytest.raises(ValidationFailed) as err:
        await _decide(uow, tpb.DecideTemporaryControlRequest(measure_id="tc-test-1"))
    assert _fields(err.value) == {"decision"}
    with pytest.raises(NotFound):
        await _decide(uow, tpb.DecideTemporaryControlRequest(
            measure_id="tc-nope", decision=tpb.TEMPORARY_CONTROL_DECISION_CANCEL))
    assert uow.store.snapshot() == before
    cancelled = await _decide(uow, tpb.DecideTemporaryControlRequest(
        measure_id="tc-test-1", decision=tpb.TEMPORARY_CONTROL_DECISION_CANCEL))
    assert cancelled.status == tpb.TEMPORARY_CONTROL_STATUS_CANCELLED
    assert [e.change for e in uow.of("TemporaryControlChanged")] == ["EXTENDED", "CANCELLED"]
    listed = mapping.temporary_controls(await service.list_temporary_controls(
        uow=uow, cmd=mapping.list_temporary_controls(tpb.ListTemporaryControlsRequest(
            in_force_on=_d(DAY + dt.timedelta(days=1))))))
    assert list(listed.temporary_controls) == []


async def test_art9_assessment_treats_covered_items_as_controlled_and_caps_the_licence(
        b, today):
    """The application's item (HS 2841801000) falls under a measure on HS 284180: the
    assessment finds F4-TEMPORARY-CONTROL, the replay sees the same, and the licence issued
    ends with the measure (linked to it)."""
    uow = b.FakeUnitOfWork()
    end = DAY + dt.timedelta(days=200)
    await _create(b, uow, tpb.CreateTemporaryControlRequest(
        temporary_control=_measure_pb(DAY - dt.timedelta(days=10), end)))
    await b.rpc.register_operator(uow=uow, p=b.exporter(), req=spb.RegisterOperatorRequest(
        uscc=b.USCC, name_zh="北京某某科技有限公司", name_en="Beijing Example Co."))
    app = await b.rpc.submit_application(uow=uow, p=b.exporter(), req=spb.SubmitApplicationRequest(
        request_id="r-1", content=b.content_pb()))
    assert await b.rpc.assess_application(uow=uow, msg=scr.ScreeningCompleted(
        screening_id="scr-1", subject_id=app.application_id,
        subject_kind=scr.SUBJECT_KIND_APPLICATION))
    assessment = await b.rpc.get_assessment(uow=uow, p=b.officer(),
                                            application_id=app.application_id)
    codes = {f.code for fa in assessment.factors for f in fa.findings}
    assert "F4-TEMPORARY-CONTROL" in codes
    (assessment_id,) = uow.store.assessments
    replay = await service.replay_assessment(uow=uow, assessment_id=assessment_id)
    assert replay.reproduced

    decided = await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        valid_until=_d(DAY + dt.timedelta(days=300))))
    assert _date(decided.licence.valid_until) == end
    assert uow.store.licence_measures == {decided.licence.licence_id: {"tc-test-1"}}


async def test_art9_expiry_alert_once_then_expiry(b, today):
    uow = b.FakeUnitOfWork()
    end = DAY + dt.timedelta(days=300)
    await _create(b, uow, tpb.CreateTemporaryControlRequest(
        temporary_control=_measure_pb(DAY, end)))
    uow.events.clear()
    near = end - dt.timedelta(days=10)
    assert not await temporary_controls.alert_expiring(uow=uow, measure_id="tc-test-1",
                                                       today=DAY)
    assert await temporary_controls.alert_expiring(uow=uow, measure_id="tc-test-1", today=near)
    assert not await temporary_controls.alert_expiring(uow=uow, measure_id="tc-test-1",
                                                       today=near)
    (alert,) = uow.of("TemporaryControlExpiring")
    assert alert.days_left == 10
    assert not await temporary_controls.expire(uow=uow, measure_id="tc-test-1", today=end)
    assert await temporary_controls.expire(uow=uow, measure_id="tc-test-1",
                                           today=end + dt.timedelta(days=1))
    assert uow.of("TemporaryControlChanged")[-1].status == "EXPIRED"
    assert await uow.temporary_controls.active() == []


# ---------------------------------------------- the holiday calendar as data (Reg. 17)


def _schedule(year: int, off: list[dt.date], announcement: str = "") -> hpb.HolidaySchedule:
    periods = [hpb.HolidayPeriod(name="New Year's Day", first_day=_d(dt.date(year, 1, 1)),
                                 last_day=_d(dt.date(year, 1, 1)))]
    if off:
        periods.append(hpb.HolidayPeriod(name="Test Holiday", first_day=_d(min(off)),
                                         last_day=_d(max(off))))
    return hpb.HolidaySchedule(year=year, holidays=periods,
                               announcement=announcement or f"TEST-{year} (made up)")


async def _enter(b, uow, req: hpb.EnterHolidayScheduleRequest) -> hpb.HolidaySchedule:
    caller = b.officer()
    return mapping.entered_schedule(await service.enter_holiday_schedule(
        uow=uow, caller=caller, cmd=mapping.enter_holiday_schedule(caller, req)))


async def test_reg17_entered_schedule_moves_an_open_deadline_and_publishes_it(
        b, today, calendar):
    """An application accepted late in the package's last year has a Reg. 17 deadline in the
    next, uncovered year (not exact). Entering that year's schedule, with days off just
    before the old deadline, moves the deadline later, makes it exact, records a
    DEADLINE_RECOMPUTED step and publishes DeadlineRecomputed and HolidayScheduleAnnounced."""
    year = workdays._LAST_YEAR + 1
    today(dt.date(year - 1, 12, 1))
    uow = b.FakeUnitOfWork()
    await b.rpc.register_operator(uow=uow, p=b.exporter(), req=spb.RegisterOperatorRequest(
        uscc=b.USCC, name_zh="北京某某科技有限公司", name_en="Beijing Example Co."))
    app = await b.rpc.submit_application(uow=uow, p=b.exporter(), req=spb.SubmitApplicationRequest(
        request_id="r-1", content=b.content_pb()))
    old = _date(app.deadline)
    assert old.year == year and not app.deadline_exact
    uow.events.clear()
    off = [old - dt.timedelta(days=2), old - dt.timedelta(days=1), old]

    entered = await _enter(b, uow, hpb.EnterHolidayScheduleRequest(
        request_id="hs-1", schedule=_schedule(year, off)))
    assert entered.deadlines_recomputed == 1 and entered.entered_by.startswith("MOFCOM/")
    (moved,) = uow.of("DeadlineRecomputed")
    assert (_date(moved.previous_deadline), moved.previous_deadline_exact) == (old, False)
    assert _date(moved.deadline) > old and moved.deadline_exact
    (announced,) = uow.of("HolidayScheduleAnnounced")
    assert announced.deadlines_recomputed == 1 and set(off) <= {_date(d) for d in announced.holidays}
    row = uow.store.applications[app.application_id]
    assert (row.deadline, row.deadline_exact) == (_date(moved.deadline), True)
    assert [h["kind"] for h in uow.store.history[app.application_id]][-1] == "DEADLINE_RECOMPUTED"

    # the same schedule again changes nothing; the same request id for another is refused
    nxt = uow.after()
    again = await _enter(b, nxt, hpb.EnterHolidayScheduleRequest(schedule=_schedule(year, off)))
    assert again.deadlines_recomputed == 0 and nxt.events == []
    before = uow.store.snapshot()
    with pytest.raises(AlreadyExists) as err:
        await _enter(b, nxt, hpb.EnterHolidayScheduleRequest(
            request_id="hs-1", schedule=_schedule(year, off[:1])))
    assert err.value.reason == "REQUEST_ID_REUSED"
    assert uow.store.snapshot() == before and nxt.events == []
    listed = mapping.holiday_schedules(await service.list_holiday_schedules(
        uow=nxt, cmd=mapping.commands.ListHolidaySchedules()))
    assert [s.year for s in listed.schedules] == [year]
    assert listed.package_last_year == workdays._LAST_YEAR


async def test_reg17_a_bad_schedule_is_refused_with_the_field_and_changes_nothing(
        b, today, calendar):
    uow = b.FakeUnitOfWork()
    year = workdays._LAST_YEAR + 2
    bad = _schedule(year, [])
    bad.announcement = ""
    monday = next(dt.date(year, 3, d) for d in range(1, 8) if dt.date(year, 3, d).weekday() == 0)
    bad.working_days.append(_d(monday))
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as err:
        await _enter(b, uow, hpb.EnterHolidayScheduleRequest(schedule=bad))
    assert {"schedule.announcement", "schedule.working_days[0]"} <= _fields(err.value)
    with pytest.raises(ValidationFailed) as err:
        await _enter(b, uow, hpb.EnterHolidayScheduleRequest())
    assert _fields(err.value) == {"schedule"}
    assert uow.store.snapshot() == before and uow.events == []
    assert workdays.entered_schedules() == {}


# ------------------------------------------ extraterritorial de minimis (Arts. 45, 44)


def _eur(cents: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="EUR", amount_minor=cents)


def _motor(magnet_cents: int, day: dt.date) -> epb.EvaluateReExportRequest:
    return epb.EvaluateReExportRequest(
        description="servo motor", made_in="DE", item_value=_eur(200_000),
        content=[epb.PrcContent(control_code="1C902.a", value=_eur(magnet_cents)),
                 epb.PrcContent(control_code="9A999", value=_eur(50_000))],
        on_date=_d(day))


async def _evaluate(uow, req: epb.EvaluateReExportRequest) -> epb.EvaluateReExportResponse:
    return mapping.re_export_evaluation(await service.evaluate_re_export(
        uow=uow, cmd=mapping.evaluate_re_export(req)))


async def test_art45_worked_example_as_a_use_case(b):
    uow = b.FakeUnitOfWork()
    needed = await _evaluate(uow, _motor(300, dt.date(2026, 12, 1)))
    assert needed.licence_required
    (o,) = needed.outcomes
    assert (o.share_ppm, o.de_minimis_ppm) == (1500, 1000) and "Art. 45" in o.basis
    assert not (await _evaluate(uow, _motor(100, dt.date(2026, 12, 1)))).licence_required
    suspended = await _evaluate(uow, _motor(300, dt.date(2026, 6, 1)))
    assert not suspended.licence_required and "suspended" in suspended.outcomes[0].reason
    assert uow.events == []  # evaluates, stores and publishes nothing


async def test_art44_a_bad_re_export_names_every_field(b):
    bad = _motor(300, dt.date(2026, 12, 1))
    bad.made_in = "CN"
    bad.content[0].value.currency_code = "USD"
    bad.item_value.amount_minor = 0
    with pytest.raises(ValidationFailed) as err:
        await _evaluate(b.FakeUnitOfWork(), bad)
    assert _fields(err.value) >= {"made_in", "content[0].value.currency_code",
                                  "item_value.amount_minor"}
