"""Change reports by the importer (ECL Art. 16, Reg. 25) over real gRPC, Kafka and PostgreSQL.

An importer token binds one licence and the importer's party id on it: it may report on that
licence only, sees only the reports it made, and is refused everything else.
"""

from __future__ import annotations

import grpc
import pytest
from stc.enduser.v1 import enduser_service_pb2 as pb
from stc.enduser.v1 import events_pb2
from stc_common.grpc.errors import error_reason
from stc_common.testing.service import bearer

from .test_change_reports import end_use_report

pytestmark = pytest.mark.integration


def importer(licence_id: str, party: str = "p-imp"):
    return bearer("importer", licence=licence_id, party=party)


async def _refused(call, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return error_reason(err.value)


async def test_importer_reports_a_change_on_its_licence(stack):
    licence_id = await stack.issue_licence()
    answer = await stack.stub.ReportChange(
        end_use_report(licence_id, request_id="imp-1"), metadata=importer(licence_id))
    report = answer.report
    assert answer.hold_licence
    assert report.reporter_role == events_pb2.REPORTER_ROLE_IMPORTER
    assert report.reporter_id == "p-imp"
    reported, _ = await stack.reader.wait_for(
        licence_id, events_pb2.ChangeReported, lambda m: m.report_id == report.report_id)
    assert reported.reporter_role == events_pb2.REPORTER_ROLE_IMPORTER
    assert reported.reporter_id == "p-imp" and reported.hold_licence

    # the importer sees its own report; so do the exporter of the licence and the officer
    got = await stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=report.name),
                                           metadata=importer(licence_id))
    assert got.report_id == report.report_id
    by_exporter = await stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=report.name),
                                                   metadata=stack.exporter())
    assert by_exporter.reporter_role == events_pb2.REPORTER_ROLE_IMPORTER

    # a retry with the same request id answers the first report and publishes nothing more
    again = await stack.stub.ReportChange(
        end_use_report(licence_id, request_id="imp-1"), metadata=importer(licence_id))
    assert again.report.report_id == report.report_id
    count = await stack.fetchval("SELECT count(*) FROM change_reports WHERE licence_id = $1",
                                 licence_id)
    assert count == 1


async def test_importer_sees_only_its_own_reports(stack):
    licence_id = await stack.issue_licence()
    other_licence = await stack.issue_licence()
    mine = (await stack.stub.ReportChange(end_use_report(licence_id),
                                          metadata=importer(licence_id))).report
    exporters = (await stack.stub.ReportChange(end_use_report(licence_id),
                                               metadata=stack.exporter())).report
    elsewhere = (await stack.stub.ReportChange(end_use_report(other_licence),
                                               metadata=importer(other_licence))).report

    listed = await stack.stub.ListChangeReports(pb.ListChangeReportsRequest(),
                                                metadata=importer(licence_id))
    assert [r.report_id for r in listed.reports] == [mine.report_id]
    # a filter on another licence shows nothing, not that licence's reports
    other = await stack.stub.ListChangeReports(
        pb.ListChangeReportsRequest(licence_id=other_licence), metadata=importer(licence_id))
    assert list(other.reports) == []
    # the exporter sees both reports on its licence
    exp = await stack.stub.ListChangeReports(
        pb.ListChangeReportsRequest(licence_id=licence_id), metadata=stack.exporter())
    assert {r.report_id for r in exp.reports} == {mine.report_id, exporters.report_id}

    for name in (exporters.name, elsewhere.name):
        reason = await _refused(
            stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=name),
                                       metadata=importer(licence_id)),
            grpc.StatusCode.NOT_FOUND)
        assert reason == "REPORT_NOT_FOUND"
    # another party on the same licence (the end user) does not see the importer's report
    reason = await _refused(
        stack.stub.GetChangeReport(pb.GetChangeReportRequest(name=mine.name),
                                   metadata=importer(licence_id, party="p-eu")),
        grpc.StatusCode.NOT_FOUND)
    assert reason == "REPORT_NOT_FOUND"


async def test_importer_is_refused_other_licences_and_every_other_rpc(stack):
    licence_id = await stack.issue_licence()
    other_licence = await stack.issue_licence()
    # another licence than the token's, or a party that is not the licence's importer
    for request, md in ((end_use_report(other_licence), importer(licence_id)),
                        (end_use_report(licence_id), importer(licence_id, party="p-eu")),
                        (end_use_report("LIC-unknown"), importer("LIC-unknown"))):
        reason = await _refused(stack.stub.ReportChange(request, metadata=md),
                                grpc.StatusCode.NOT_FOUND)
        assert reason == "LICENCE_NOT_FOUND"
    assert await stack.fetchval(
        "SELECT count(*) FROM change_reports WHERE licence_id = ANY($1)",
        [licence_id, other_licence]) == 0

    report = (await stack.stub.ReportChange(end_use_report(licence_id),
                                            metadata=importer(licence_id))).report
    md = importer(licence_id)
    officer_only = [
        stack.stub.ResolveChange(pb.ResolveChangeRequest(
            name=report.name, resolution=events_pb2.RESOLUTION_KIND_NO_ACTION,
            reasons=["x"]), metadata=md),
        stack.stub.ScheduleEndUseCheck(pb.ScheduleEndUseCheckRequest(
            licence_id=licence_id, party_id="p-eu"), metadata=md),
        stack.stub.ListEndUseChecks(pb.ListEndUseChecksRequest(), metadata=md),
        stack.stub.GetEndUseCheck(pb.GetEndUseCheckRequest(name="endUseChecks/x"), metadata=md),
        stack.stub.ConfirmOverdueCheck(pb.ConfirmOverdueCheckRequest(name="endUseChecks/x"),
                                       metadata=md),
        stack.stub.RecordEndUseCheckOutcome(pb.RecordEndUseCheckOutcomeRequest(
            name="endUseChecks/x"), metadata=md),
    ]
    for call in officer_only:
        assert await _refused(call, grpc.StatusCode.PERMISSION_DENIED) == "ROLE_NOT_ALLOWED"


async def test_importer_token_without_party_is_unauthenticated(stack):
    licence_id = await stack.issue_licence()
    reason = await _refused(
        stack.stub.ReportChange(end_use_report(licence_id),
                                metadata=bearer("importer", licence=licence_id)),
        grpc.StatusCode.UNAUTHENTICATED)
    assert reason == "TOKEN_INVALID"
