"""End-use checks and the licence projection over real gRPC, Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2
from stc.enduser.v1 import end_use_check_pb2, events_pb2
from stc.enduser.v1 import enduser_service_pb2 as pb
from stc.licensing.v1 import events_pb2 as lic
from stc_common.grpc.errors import field_violations

from .conftest import EXPORTER, licence_issued
from .test_change_reports import end_use_report

pytestmark = pytest.mark.integration


def in_(seconds: float) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))
    return out


async def schedule(stack, licence_id: str, party_id: str = "p-eu", seconds: float = 86400):
    return await stack.stub.ScheduleEndUseCheck(
        pb.ScheduleEndUseCheckRequest(licence_id=licence_id, party_id=party_id,
                                      deadline=in_(seconds)),
        metadata=stack.officer())


async def test_not_cooperating_puts_the_party_on_the_watch_list(stack):
    licence_id = await stack.issue_licence()
    check = await schedule(stack, licence_id)
    assert check.status == end_use_check_pb2.CHECK_STATUS_SCHEDULED
    scheduled, _ = await stack.reader.wait_for(licence_id, events_pb2.EndUseCheckScheduled)
    assert scheduled.check_id == check.check_id
    assert scheduled.party.name == "Berliner Messtechnik AG"

    t0 = time.perf_counter()
    done = await stack.stub.RecordEndUseCheckOutcome(
        pb.RecordEndUseCheckOutcomeRequest(name=check.name,
                                           outcome=events_pb2.CHECK_OUTCOME_NOT_COOPERATING,
                                           details="refused the site visit twice"),
        metadata=stack.officer())
    assert done.status == end_use_check_pb2.CHECK_STATUS_NOT_COOPERATING
    event, t_event = await stack.reader.wait_for(licence_id, events_pb2.EndUseCheckCompleted)
    print(f"\nRecordEndUseCheckOutcome -> EndUseCheckCompleted on the topic: "
          f"{(t_event - t0) * 1000:.1f} ms")
    assert event.outcome == events_pb2.CHECK_OUTCOME_NOT_COOPERATING
    assert event.add_to_watch_list and not event.suspend_licence
    assert not event.failure_to_report and not event.overdue_confirmed
    assert list(event.violation_cases) == []
    # what screening needs to list the party (Reg. 26), without asking back
    assert (event.party.party_id, event.party.name, event.party.country) == (
        "p-eu", "Berliner Messtechnik AG", "DE")
    assert [i.value for i in event.party.identifiers] == ["HRB 12345"]
    assert list(event.party.aliases) == ["BMT AG"]
    assert "Regulations Art. 26" in event.basis

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.RecordEndUseCheckOutcome(
            pb.RecordEndUseCheckOutcomeRequest(name=check.name,
                                               outcome=events_pb2.CHECK_OUTCOME_VERIFIED),
            metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_diversion_without_an_earlier_report_is_a_failure_to_report(stack):
    licence_id = await stack.issue_licence()
    check = await schedule(stack, licence_id)
    await stack.stub.RecordEndUseCheckOutcome(
        pb.RecordEndUseCheckOutcomeRequest(name=check.name,
                                           outcome=events_pb2.CHECK_OUTCOME_DIVERTED,
                                           details="items found at a military site"),
        metadata=stack.officer())
    event, _ = await stack.reader.wait_for(licence_id, events_pb2.EndUseCheckCompleted)
    assert event.outcome == events_pb2.CHECK_OUTCOME_DIVERTED
    assert event.failure_to_report and event.suspend_licence and not event.add_to_watch_list
    assert [(v.kind, v.party_id) for v in event.violation_cases] == [
        ("DIVERSION", "p-eu"), ("FAILURE_TO_REPORT", "p-eu")]
    assert event.exporter_uscc == EXPORTER

    # the same finding after the exporter had reported the change: no failure to report
    reported = await stack.issue_licence()
    await stack.stub.ReportChange(end_use_report(reported), metadata=stack.exporter())
    check2 = await schedule(stack, reported)
    got = await stack.stub.RecordEndUseCheckOutcome(
        pb.RecordEndUseCheckOutcomeRequest(name=check2.name,
                                           outcome=events_pb2.CHECK_OUTCOME_DIVERTED,
                                           details="items found at a military site"),
        metadata=stack.officer())
    assert not got.failure_to_report
    event2, _ = await stack.reader.wait_for(reported, events_pb2.EndUseCheckCompleted)
    assert not event2.failure_to_report
    assert [v.kind for v in event2.violation_cases] == ["DIVERSION"]


async def test_overdue_check_waits_for_an_officer_to_confirm(stack):
    licence_id = await stack.issue_licence()
    check = await schedule(stack, licence_id, seconds=1.0)
    with pytest.raises(grpc.aio.AioRpcError) as err:  # not overdue yet
        await stack.stub.ConfirmOverdueCheck(pb.ConfirmOverdueCheckRequest(name=check.name),
                                             metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    overdue, _ = await stack.reader.wait_for(licence_id, events_pb2.EndUseCheckOverdue)
    assert overdue.check_id == check.check_id and overdue.party.name == "Berliner Messtechnik AG"
    await asyncio.sleep(0.7)  # a few more scans: the scan alone must not close the check
    seen = await stack.stub.GetEndUseCheck(pb.GetEndUseCheckRequest(name=check.name),
                                           metadata=stack.officer())
    assert seen.status == end_use_check_pb2.CHECK_STATUS_SCHEDULED and seen.overdue
    assert seen.HasField("overdue_detected_at")
    assert stack.reader.events(licence_id, events_pb2.EndUseCheckCompleted) == []
    assert len(stack.reader.events(licence_id, events_pb2.EndUseCheckOverdue)) == 1
    queue = await stack.stub.ListEndUseChecks(
        pb.ListEndUseChecksRequest(licence_id=licence_id, overdue_only=True),
        metadata=stack.officer())
    assert [c.check_id for c in queue.checks] == [check.check_id]

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ConfirmOverdueCheck(pb.ConfirmOverdueCheckRequest(name=check.name),
                                             metadata=stack.officer("CAEA", "officer-c"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND  # another authority's check
    done = await stack.stub.ConfirmOverdueCheck(pb.ConfirmOverdueCheckRequest(name=check.name),
                                                metadata=stack.officer())
    assert done.status == end_use_check_pb2.CHECK_STATUS_NOT_COOPERATING and done.overdue_confirmed
    event, _ = await stack.reader.wait_for(licence_id, events_pb2.EndUseCheckCompleted)
    assert event.overdue_confirmed and event.add_to_watch_list
    assert event.outcome == events_pb2.CHECK_OUTCOME_NOT_COOPERATING


async def test_check_access_and_validation(stack):
    licence_id = await stack.issue_licence()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ScheduleEndUseCheck(
            pb.ScheduleEndUseCheckRequest(licence_id=licence_id, party_id="p-nobody"),
            metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(err.value)} == {"party_id", "deadline"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ScheduleEndUseCheck(
            pb.ScheduleEndUseCheckRequest(licence_id=licence_id, party_id="p-eu",
                                          deadline=in_(-60)), metadata=stack.officer())
    assert {f for f, _ in field_violations(err.value)} == {"deadline"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ScheduleEndUseCheck(
            pb.ScheduleEndUseCheckRequest(licence_id=licence_id, party_id="p-eu",
                                          deadline=in_(3600)),
            metadata=stack.officer("SASTIND"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND  # another authority's licence
    check = await schedule(stack, licence_id)
    with pytest.raises(grpc.aio.AioRpcError) as err:  # nor its checks
        await stack.stub.GetEndUseCheck(pb.GetEndUseCheckRequest(name=check.name),
                                        metadata=stack.officer("SASTIND"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:  # exporters do not see checks
        await stack.stub.GetEndUseCheck(pb.GetEndUseCheckRequest(name=check.name),
                                        metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.RecordEndUseCheckOutcome(
            pb.RecordEndUseCheckOutcomeRequest(name=check.name,
                                               outcome=events_pb2.CHECK_OUTCOME_DIVERTED),
            metadata=stack.officer())
    assert {f for f, _ in field_violations(err.value)} == {"details"}
    assert await stack.fetchval("SELECT count(*) FROM end_use_checks WHERE licence_id = $1",
                                licence_id) == 1


async def test_licence_events_are_projected_idempotently(stack):
    licence_id = await stack.issue_licence()
    issued = licence_issued(licence_id, exporter=EXPORTER, authority="MOFCOM", destination="DE")
    event_id = await stack.publish_licence_event(licence_id, issued)
    await stack.publish_licence_event(licence_id, issued, event_id=event_id)  # redelivered
    await stack.publish_licence_event(licence_id, lic.LicenceSuspended(
        licence_id=licence_id, exporter_uscc=EXPORTER, reason="rescreening hit",
        source="rescreening"))
    await stack.wait_licence(licence_id, "SUSPENDED")
    # LicenceIssued published again after the suspension does not make it active again
    await stack.publish_licence_event(licence_id, issued)
    await stack.publish_licence_event(licence_id, lic.LicenceAmended(
        licence_id=licence_id, exporter_uscc=EXPORTER, elements=["END_USE"]))
    deadline = time.perf_counter() + 15
    while not await stack.fetchval(
            "SELECT 'END_USE' = ANY(amended_elements) FROM licences WHERE licence_id = $1",
            licence_id):
        assert time.perf_counter() < deadline
        await asyncio.sleep(0.1)
    assert await stack.fetchval("SELECT status FROM licences WHERE licence_id = $1",
                                licence_id) == "SUSPENDED"
    assert await stack.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event_id) == 1
    assert await stack.fetchval("SELECT count(*) FROM licences WHERE licence_id = $1",
                                licence_id) == 1
    # a suspended licence still takes reports (Art. 16 applies to it)
    ok = await stack.stub.ReportChange(end_use_report(licence_id), metadata=stack.exporter())
    assert ok.hold_licence
    await stack.publish_licence_event(licence_id, lic.LicenceReinstated(
        licence_id=licence_id, exporter_uscc=EXPORTER))
    await stack.wait_licence(licence_id, "ACTIVE")
    await stack.publish_licence_event(licence_id, lic.LicenceExpired(
        licence_id=licence_id, exporter_uscc=EXPORTER))
    await stack.wait_licence(licence_id, "EXPIRED")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ReportChange(end_use_report(licence_id), metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
