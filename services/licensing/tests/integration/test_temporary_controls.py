"""Temporary controls (ECL Art. 9(2); issue 11 item 5) over the real service, Kafka and
PostgreSQL: the register, the assessment treating a temporarily controlled item as controlled,
a licence never outliving the measure, the evaluation (cancel, extend within two years, list)
and the expiry alert once."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from google.type import date_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import temporary_control_pb2 as tpb
from stc_common.db.pool import create_pool
from stc_common.grpc.errors import field_violations
from stc_common.testing.service import bearer
from stc_licensing import service as svc
from stc_licensing.config import SOURCE
from stc_licensing.main import temporary_controls_round
from stc_licensing.service.common import today
from stc_licensing.storage.sql import unit_of_work

pytestmark = pytest.mark.integration
MOFCOM = bearer("officer", authority="MOFCOM")
SASTIND = bearer("officer", authority="SASTIND")


def _d(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _date(d) -> dt.date:
    return dt.date(d.year, d.month, d.day)


def _measure(start: dt.date, end: dt.date, hs: str = "284180") -> tpb.TemporaryControl:
    return tpb.TemporaryControl(
        measure_id=f"tc-{uuid.uuid4().hex[:8]}",
        announcement="MOFCOM/GAC announcement (made up for the test)",
        items=[tpb.TemporarilyControlledItem(hs_code=hs, description="tungstates")],
        start=_d(start), end=_d(end))


async def _fields(call) -> set[str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return {f for f, _ in field_violations(err.value)}


async def test_art9_register_assessment_licence_and_evaluation(env, h):
    """Art. 9(2): MOFCOM registers a measure (two years at most; SASTIND may not); an
    application for an item it covers is assessed as controlled (F4-TEMPORARY-CONTROL, not a
    plain GRANT); the licence ends with the measure; an extension past two years is refused,
    one within them is published; the register lists what is in force."""
    day = today()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.CreateTemporaryControl(tpb.CreateTemporaryControlRequest(
            temporary_control=_measure(day, day + dt.timedelta(days=30))), metadata=SASTIND)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "temporary_control.end" in await _fields(env.stub.CreateTemporaryControl(
        tpb.CreateTemporaryControlRequest(temporary_control=_measure(
            day, day + dt.timedelta(days=800))), metadata=MOFCOM))

    end = day + dt.timedelta(days=200)  # before a single licence's one year
    measure = await env.stub.CreateTemporaryControl(tpb.CreateTemporaryControlRequest(
        request_id=uuid.uuid4().hex,
        temporary_control=_measure(day - dt.timedelta(days=10), end)), metadata=MOFCOM)
    assert measure.status == tpb.TEMPORARY_CONTROL_STATUS_ACTIVE
    assert measure.registered_by.startswith("MOFCOM/")
    registered = await env.log.wait_find("stc.licensing.v1.TemporaryControlChanged",
                                         f"temporary-controls/{measure.measure_id}")
    assert registered[0].parse(events_pb2.TemporaryControlChanged).change == "REGISTERED"

    uscc = await env.operator()
    app = await env.submit(uscc)  # item HS 2841801000: under the measure
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    a = await env.stub.GetAssessment(spb.GetAssessmentRequest(
        application_id=app.application_id), metadata=MOFCOM)
    codes = {f.code for factor in a.factors for f in factor.findings}
    assert "F4-TEMPORARY-CONTROL" in codes
    assert a.recommendation != events_pb2.RECOMMENDATION_GRANT
    assert any(c.code == "C-TEMPORARY-CONTROL-END" for c in a.conditions)

    decided = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
        metadata=MOFCOM)
    assert _date(decided.licence.valid_until) == end  # not the single licence's full year
    (link,) = await env.sql("SELECT measure_id FROM licence_temporary_controls "
                            "WHERE licence_id = $1", decided.licence.licence_id)
    assert link["measure_id"] == measure.measure_id

    # evaluation: past two years from the start is refused, within them is published
    start = day - dt.timedelta(days=10)
    assert "new_end" in await _fields(env.stub.DecideTemporaryControl(
        tpb.DecideTemporaryControlRequest(
            measure_id=measure.measure_id, decision=tpb.TEMPORARY_CONTROL_DECISION_EXTEND,
            new_end=_d(start + dt.timedelta(days=731))), metadata=MOFCOM))
    extended = await env.stub.DecideTemporaryControl(tpb.DecideTemporaryControlRequest(
        measure_id=measure.measure_id, decision=tpb.TEMPORARY_CONTROL_DECISION_EXTEND,
        new_end=_d(end + dt.timedelta(days=100)), announcement="evaluated: extended"),
        metadata=MOFCOM)
    assert _date(extended.end) == end + dt.timedelta(days=100)
    changes = await env.log.wait_find("stc.licensing.v1.TemporaryControlChanged",
                                      f"temporary-controls/{measure.measure_id}", n=2)
    assert [e.parse(events_pb2.TemporaryControlChanged).change for e in changes][-1] == \
        "EXTENDED"
    listed = await env.stub.ListTemporaryControls(tpb.ListTemporaryControlsRequest(
        in_force_on=_d(day)), metadata=bearer("exporter", uscc=uscc))
    assert measure.measure_id in {x.measure_id for x in listed.temporary_controls}

    cancelled = await env.stub.DecideTemporaryControl(tpb.DecideTemporaryControlRequest(
        measure_id=measure.measure_id, decision=tpb.TEMPORARY_CONTROL_DECISION_CANCEL),
        metadata=MOFCOM)
    assert cancelled.status == tpb.TEMPORARY_CONTROL_STATUS_CANCELLED
    listed = await env.stub.ListTemporaryControls(tpb.ListTemporaryControlsRequest(
        in_force_on=_d(day + dt.timedelta(days=1))), metadata=MOFCOM)
    assert measure.measure_id not in {x.measure_id for x in listed.temporary_controls}

    # Art. 13(7) replay: the old assessment still sees the measure it was made under
    (row,) = await env.sql("SELECT id AS assessment_id FROM assessments WHERE application_id = $1",
                           app.application_id)
    pool = await create_pool(env.dsn, min_size=1, max_size=1)
    try:
        async with unit_of_work(pool, SOURCE) as uow:
            replay = await svc.replay_assessment(uow=uow, assessment_id=row["assessment_id"])
    finally:
        await pool.close()
    assert replay.recommendation == replay.stored_recommendation == "GRANT_WITH_CONDITIONS"


async def test_art9_expiry_alert_once_then_expiry(env):
    """Art. 9(2): before the end the authority is alerted once (TemporaryControlExpiring) to
    evaluate the measure; after the end it expires (TemporaryControlChanged EXPIRED)."""
    day = today()
    end = day + dt.timedelta(days=400)  # outside the service's own alert window today
    measure = await env.stub.CreateTemporaryControl(tpb.CreateTemporaryControlRequest(
        temporary_control=_measure(day, end, hs="999999")), metadata=MOFCOM)
    key = f"temporary-controls/{measure.measure_id}"
    pool = await create_pool(env.dsn, min_size=1, max_size=2)
    try:
        near = end - dt.timedelta(days=10)
        alerts, _ = await temporary_controls_round(pool, near)
        assert alerts >= 1
        assert (await temporary_controls_round(pool, near))[0] == 0  # once
        (alert,) = await env.log.wait_find("stc.licensing.v1.TemporaryControlExpiring", key)
        assert alert.parse(events_pb2.TemporaryControlExpiring).days_left == 10
        _, expired = await temporary_controls_round(pool, end + dt.timedelta(days=1))
        assert expired >= 1
        changes = await env.log.wait_find("stc.licensing.v1.TemporaryControlChanged", key, n=2)
        assert changes[-1].parse(events_pb2.TemporaryControlChanged).status == "EXPIRED"
    finally:
        await pool.close()
