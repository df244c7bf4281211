"""Change reports over real gRPC, Kafka and PostgreSQL: report, hold, resolution, isolation."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.enduser.v1 import change_report_pb2, events_pb2
from stc.enduser.v1 import enduser_service_pb2 as pb
from stc.licensing.v1 import events_pb2 as lic
from stc_common.grpc.errors import error_reason, field_violations

from .conftest import EXPORTER, OTHER_EXPORTER

pytestmark = pytest.mark.integration
SHA = "ab" * 32
NEW_END_USER = common_pb2.Party(
    name="Müller Präzisionstechnik GmbH", country="AT", aliases=["MPT"],
    identifiers=[common_pb2.PartyIdentifier(type="LEI", value="5299000J2N45DDNE4Y28")])


def end_use_report(licence_id: str, **kw) -> pb.ReportChangeRequest:
    values = dict(licence_id=licence_id, kind=events_pb2.CHANGE_KIND_END_USE_CHANGED,
                  details="The end user now calibrates civil radar test benches.",
                  new_end_use="calibration of civil radar test benches",
                  documents=[common_pb2.DocumentReference(title="letter.pdf", sha256=SHA)])
    values.update(kw)
    return pb.ReportChangeRequest(**values)


async def test_report_holds_licence_and_resolution_is_published(stack):
    licence_id = await stack.issue_licence()
    t0 = time.perf_counter()
    answer = await stack.stub.ReportChange(end_use_report(licence_id), metadata=stack.exporter())
    t_answer = time.perf_counter()
    report = answer.report
    assert answer.hold_licence and not answer.screen_new_end_user
    assert answer.recommended == events_pb2.RESOLUTION_KIND_SUSPEND_LICENCE
    assert report.reference.startswith("CR-20")
    assert report.status == change_report_pb2.REPORT_STATUS_OPEN
    reported, t_event = await stack.reader.wait_for(licence_id, events_pb2.ChangeReported)
    assert reported.report_id == report.report_id and reported.hold_licence
    assert reported.exporter_uscc == EXPORTER and reported.authority == "MOFCOM"
    assert reported.kind == events_pb2.CHANGE_KIND_END_USE_CHANGED
    assert reported.documents[0].sha256 == SHA
    print(f"\nReportChange answered in {(t_answer - t0) * 1000:.1f} ms; ChangeReported on the "
          f"topic after {(t_event - t0) * 1000:.1f} ms")

    t1 = time.perf_counter()
    resolved = await stack.stub.ResolveChange(
        pb.ResolveChangeRequest(name=report.name,
                                resolution=events_pb2.RESOLUTION_KIND_ACCEPT_AMENDMENT,
                                reasons=["civil use confirmed by the end-user statement"],
                                amended_elements=["END_USE"]),
        metadata=stack.officer())
    assert resolved.status == change_report_pb2.REPORT_STATUS_RESOLVED
    event, t_resolved = await stack.reader.wait_for(licence_id, events_pb2.ChangeResolved)
    assert event.resolution == events_pb2.RESOLUTION_KIND_ACCEPT_AMENDMENT
    assert list(event.elements) == ["END_USE"] and event.release_hold
    assert event.officer == "officer-1" and event.authority == "MOFCOM"
    assert event.reference == report.reference
    print(f"ResolveChange -> ChangeResolved on the topic: {(t_resolved - t1) * 1000:.1f} ms")

    again = await stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=report.name),
                                             metadata=stack.exporter())
    assert again.resolution == events_pb2.RESOLUTION_KIND_ACCEPT_AMENDMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:  # resolved once only
        await stack.stub.ResolveChange(
            pb.ResolveChangeRequest(name=report.name,
                                    resolution=events_pb2.RESOLUTION_KIND_NO_ACTION,
                                    reasons=["again"]), metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_new_end_user_is_screened_and_key_element_amendment_refused(stack):
    licence_id = await stack.issue_licence()
    answer = await stack.stub.ReportChange(
        pb.ReportChangeRequest(licence_id=licence_id, kind=events_pb2.CHANGE_KIND_END_USER_CHANGED,
                               details="The end user sold the business.",
                               new_end_user=NEW_END_USER, subject_party_id="p-eu"),
        metadata=stack.exporter())
    assert answer.screen_new_end_user
    reported, _ = await stack.reader.wait_for(licence_id, events_pb2.ChangeReported)
    assert reported.hold_licence and reported.screen_new_end_user
    party = reported.new_end_user
    assert (party.name, party.country, party.role) == (
        "Müller Präzisionstechnik GmbH", "AT", common_pb2.PARTY_ROLE_END_USER)
    assert [(i.type, i.value) for i in party.identifiers] == [("LEI", "5299000J2N45DDNE4Y28")]
    assert list(party.aliases) == ["MPT"]

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ResolveChange(
            pb.ResolveChangeRequest(name=answer.report.name,
                                    resolution=events_pb2.RESOLUTION_KIND_ACCEPT_AMENDMENT,
                                    reasons=["fine"], amended_elements=["END_USE"]),
            metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "key element" in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ResolveChange(
            pb.ResolveChangeRequest(name=answer.report.name,
                                    resolution=events_pb2.RESOLUTION_KIND_ACCEPT_AMENDMENT,
                                    reasons=["fine"], amended_elements=["END_USER"]),
            metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err.value)] == ["amended_elements"]
    still = await stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=answer.report.name),
                                             metadata=stack.officer())
    assert still.status == change_report_pb2.REPORT_STATUS_OPEN  # nothing half-written

    await stack.stub.ResolveChange(
        pb.ResolveChangeRequest(name=answer.report.name,
                                resolution=events_pb2.RESOLUTION_KIND_REQUIRE_REAPPLICATION,
                                reasons=["a new end user in another country"]),
        metadata=stack.officer())
    event, _ = await stack.reader.wait_for(licence_id, events_pb2.ChangeResolved)
    assert event.resolution == events_pb2.RESOLUTION_KIND_REQUIRE_REAPPLICATION
    assert list(event.elements) == ["DESTINATION", "END_USER"]
    assert len(stack.reader.events(licence_id, events_pb2.ChangeResolved)) == 1


async def test_officer_of_another_authority_finds_nothing_and_queue_is_per_authority(stack):
    licence_id = await stack.issue_licence(authority="MOFCOM")
    first = await stack.stub.ReportChange(end_use_report(licence_id), metadata=stack.exporter())
    second = await stack.stub.ReportChange(
        end_use_report(licence_id, details="And a second change."), metadata=stack.exporter())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ResolveChange(
            pb.ResolveChangeRequest(name=first.report.name,
                                    resolution=events_pb2.RESOLUTION_KIND_REVOKE_LICENCE,
                                    reasons=["not ours"]),
            metadata=stack.officer("SASTIND", "officer-9"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(err.value) == "REPORT_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=first.report.name),
                                         metadata=stack.officer("SASTIND"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    sastind = await stack.stub.ListChangeReports(pb.ListChangeReportsRequest(licence_id=licence_id),
                                                 metadata=stack.officer("SASTIND"))
    assert list(sastind.reports) == []
    mofcom = await stack.stub.ListChangeReports(
        pb.ListChangeReportsRequest(licence_id=licence_id, open_only=True, page_size=1),
        metadata=stack.officer())
    assert [r.report_id for r in mofcom.reports] == [first.report.report_id]  # oldest first
    nxt = await stack.stub.ListChangeReports(
        pb.ListChangeReportsRequest(licence_id=licence_id, open_only=True, page_size=1,
                                    page_token=mofcom.next_page_token),
        metadata=stack.officer())
    assert [r.report_id for r in nxt.reports] == [second.report.report_id]
    assert nxt.next_page_token == ""
    with pytest.raises(grpc.aio.AioRpcError) as err:  # exporters do not resolve
        await stack.stub.ResolveChange(
            pb.ResolveChangeRequest(name=first.report.name,
                                    resolution=events_pb2.RESOLUTION_KIND_NO_ACTION,
                                    reasons=["x"]), metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_tenant_isolation(stack):
    mine = await stack.issue_licence()
    theirs = await stack.issue_licence(exporter=OTHER_EXPORTER)
    their_report = await stack.stub.ReportChange(end_use_report(theirs),
                                                 metadata=stack.exporter(OTHER_EXPORTER))
    my_report = await stack.stub.ReportChange(end_use_report(mine), metadata=stack.exporter())

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.GetChangeReport(
            pb.GetChangeReportRequest(name=their_report.report.name), metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:  # their licence looks like no licence
        await stack.stub.ReportChange(end_use_report(theirs), metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(err.value) == "LICENCE_NOT_FOUND"
    listed = await stack.stub.ListChangeReports(pb.ListChangeReportsRequest(page_size=500),
                                                metadata=stack.exporter(OTHER_EXPORTER))
    ids = {r.report_id for r in listed.reports}
    assert their_report.report.report_id in ids and my_report.report.report_id not in ids
    assert {r.exporter_uscc for r in listed.reports} == {OTHER_EXPORTER}


async def test_validation_errors_name_every_field_and_write_nothing(stack):
    licence_id = await stack.issue_licence()
    before = await stack.fetchval("SELECT count(*) FROM change_reports")
    bad_party = common_pb2.Party(name=" ", country="Germany",
                                 identifiers=[common_pb2.PartyIdentifier(type="", value="1")])
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ReportChange(
            pb.ReportChangeRequest(
                licence_id=licence_id, kind=events_pb2.CHANGE_KIND_END_USER_CHANGED, details="",
                new_end_user=bad_party, subject_party_id="nobody",
                documents=[common_pb2.DocumentReference(title="a.pdf", sha256="xyz")]),
            metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in field_violations(err.value)}
    assert fields == {"details", "new_end_user.name", "new_end_user.country",
                      "new_end_user.identifiers[0].type", "documents[0].sha256",
                      "subject_party_id"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ReportChange(pb.ReportChangeRequest(licence_id=licence_id, details="x"),
                                      metadata=stack.exporter())
    assert {f for f, _ in field_violations(err.value)} == {"kind"}
    assert await stack.fetchval("SELECT count(*) FROM change_reports") == before

    ok = await stack.stub.ReportChange(end_use_report(licence_id), metadata=stack.exporter())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ResolveChange(
            pb.ResolveChangeRequest(name=ok.report.name, reasons=["  "]), metadata=stack.officer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(err.value)} == {"resolution", "reasons"}


async def test_unknown_and_revoked_licences_are_refused(stack):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ReportChange(end_use_report("LIC-does-not-exist"),
                                      metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    licence_id = await stack.issue_licence()
    await stack.publish_licence_event(licence_id, lic.LicenceRevoked(
        licence_id=licence_id, exporter_uscc=EXPORTER, reason="fraud", source="officer"))
    await stack.wait_licence(licence_id, "REVOKED")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ReportChange(end_use_report(licence_id), metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err.value) == "LICENCE_REVOKED"


async def test_report_change_is_idempotent_by_request_id(stack):
    licence_id = await stack.issue_licence()
    request = end_use_report(licence_id, request_id="req-1")
    first = await stack.stub.ReportChange(request, metadata=stack.exporter())
    second = await stack.stub.ReportChange(request, metadata=stack.exporter())
    assert second.report.report_id == first.report.report_id
    assert second.report.reference == first.report.reference
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.stub.ReportChange(end_use_report(licence_id, request_id="req-1",
                                                     details="something else"),
                                      metadata=stack.exporter())
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS  # stc_common.idempotency
    assert error_reason(err.value) == "REQUEST_ID_REUSED"
    await stack.reader.wait_for(licence_id, events_pb2.ChangeReported)
    await stack.stub.ReportChange(end_use_report(licence_id, request_id="req-2"),
                                  metadata=stack.exporter())
    await stack.reader.wait_for(licence_id, events_pb2.ChangeReported,
                                lambda m: m.report_id != first.report.report_id)
    assert len(stack.reader.events(licence_id, events_pb2.ChangeReported)) == 2


async def test_concurrent_retries_make_one_report_and_references_stay_gapless(stack):
    licence_id = await stack.issue_licence()
    request = end_use_report(licence_id, request_id="retry-storm")
    answers = await asyncio.gather(*[
        stack.stub.ReportChange(request, metadata=stack.exporter()) for _ in range(8)])
    assert len({a.report.report_id for a in answers}) == 1

    t0 = time.perf_counter()
    many = await asyncio.gather(*[
        stack.stub.ReportChange(end_use_report(licence_id, details=f"change {i}"),
                                metadata=stack.exporter()) for i in range(20)])
    elapsed = time.perf_counter() - t0
    numbers = sorted(int(a.report.reference.rsplit("-", 1)[1]) for a in many)
    assert numbers == list(range(numbers[0], numbers[0] + 20))  # distinct, no gaps
    await stack.reader.wait_for(licence_id, events_pb2.ChangeReported,
                                lambda m: m.details == "change 19")
    deadline = time.perf_counter() + 10
    while len(stack.reader.events(licence_id, events_pb2.ChangeReported)) < 21:
        assert time.perf_counter() < deadline
        await asyncio.sleep(0.05)
    assert len(stack.reader.events(licence_id, events_pb2.ChangeReported)) == 21
    print(f"\n20 concurrent ReportChange calls in {elapsed * 1000:.0f} ms; "
          f"8 concurrent retries of one request_id made 1 report")
