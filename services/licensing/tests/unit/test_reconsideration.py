"""Art. 41 reconsideration under the Administrative Reconsideration Law's time limits (apply
within 60 days of the refusal, decided within 60 days of acceptance), not Reg. 17's clock:
the domain rules and the use cases over the in-memory fakes with `today` moved by the test."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.errors import FailedPrecondition
from stc_common.workdays import add_working_days
from stc_licensing import service
from stc_licensing.domain import reconsideration as drc

MON = dt.date(2026, 3, 2)


def test_art41_time_limits_are_sixty_calendar_days_each():
    refused = dt.date(2026, 5, 4)
    assert drc.apply_by(refused) == dt.date(2026, 7, 3)
    assert drc.late_reason(refused, dt.date(2026, 7, 3)) is None  # the 60th day is in time
    late = drc.late_reason(refused, dt.date(2026, 7, 4))
    assert late and "within 60 days" in late and "2026-07-03" in late
    dates = drc.open_reconsideration(refused, dt.date(2026, 5, 10))
    assert dates.due == dt.date(2026, 7, 9) == drc.decide_by(dt.date(2026, 5, 10))
    assert not drc.overdue(dates, dates.due) and drc.overdue(dates, dates.due
                                                              + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="within 60 days"):
        drc.open_reconsideration(refused, dt.date(2026, 8, 1))


async def _denied(b, uow, clock, denied_on):
    app = await b.assessed_application(uow)
    clock(denied_on)
    await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_DENY,
        reasons=["end use not credible"]))
    uow.events.clear()
    return app.application_id


async def test_art41_reconsideration_does_not_run_the_reg17_clock(b, clock):
    uow = b.FakeUnitOfWork()
    denied_on = add_working_days(MON, 40).date  # 40 of the 45 working days used
    app_id = await _denied(b, uow, clock, denied_on)
    requested_on = denied_on + dt.timedelta(days=20)
    clock(requested_on)
    r = await b.rpc.request_reconsideration(uow=uow, p=b.exporter(),
                                          req=spb.RequestReconsiderationRequest(
                                              application_id=app_id, grounds="new evidence"))
    assert r.state == apb.APPLICATION_STATE_RECONSIDERATION
    due = requested_on + dt.timedelta(days=60)
    assert (r.reconsideration_due.year, r.reconsideration_due.month,
            r.reconsideration_due.day) == (due.year, due.month, due.day)
    assert r.working_days_used == 40  # the Reg. 17 clock stopped with the refusal
    # 30 working days later the original 45-day clock would be long past: no breach, no warning
    later = add_working_days(requested_on, 30).date
    assert later < due
    clock(later)
    assert not await service.warn_deadline(uow=uow, application_id=app_id, as_of=later, within=5)
    assert not await service.mark_breach(uow=uow, application_id=app_id, as_of=later)
    assert uow.events == []
    shown = await b.rpc.get_application(uow=uow, p=b.officer(), application_id=app_id)
    assert shown.working_days_used == 40 and shown.working_days_remaining == 5
    row = uow.store.applications[app_id]
    assert not row.breach_reported and row.deadline == due  # the queue orders by its due day
    assert app_id in await uow.applications.pending_ids()

    # past its own due day: noted once in the history (no DeadlineBreached event)
    assert not await service.mark_breach(uow=uow, application_id=app_id,
                                     as_of=due + dt.timedelta(days=1))
    assert not await service.mark_breach(uow=uow, application_id=app_id,
                                     as_of=due + dt.timedelta(days=2))
    assert uow.events == []
    kinds = [h["kind"] for h in uow.store.history[app_id]]
    assert kinds.count("RECONSIDERATION_OVERDUE") == 1 and "DEADLINE_BREACHED" not in kinds
    assert app_id not in await uow.applications.pending_ids()


async def test_art41_request_after_sixty_days_is_refused(b, clock):
    uow = b.FakeUnitOfWork()
    denied_on = dt.date(2026, 3, 10)
    app_id = await _denied(b, uow, clock, denied_on)
    clock(denied_on + dt.timedelta(days=61))
    before = uow.store.snapshot()
    with pytest.raises(FailedPrecondition) as exc:
        await b.rpc.request_reconsideration(uow=uow, p=b.exporter(),
                                          req=spb.RequestReconsiderationRequest(
                                              application_id=app_id, grounds="late"))
    assert exc.value.reason == "RECONSIDERATION_TIME_LIMIT"
    assert "within 60 days" in str(exc.value) and "2026-05-09" in str(exc.value)
    assert uow.store.snapshot() == before
    clock(denied_on + dt.timedelta(days=60))  # the last day is still in time
    r = await b.rpc.request_reconsideration(uow=uow, p=b.exporter(),
                                          req=spb.RequestReconsiderationRequest(
                                              application_id=app_id, grounds="in time"))
    assert r.state == apb.APPLICATION_STATE_RECONSIDERATION
