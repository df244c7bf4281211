"""The grpc.aio servicer of stc.enduser.v1.EndUserService: authorise, map, call one use case.

Who may call what (the access table api/access.py, enforced before each RPC; officers of
another authority than the licence's find nothing: NOT_FOUND, filtered lists):
- ReportChange: exporters (the licence's exporter; another exporter's licence is NOT_FOUND)
  and importers (ECL Art. 16: only the licence their token binds, as the party it names;
  any other licence is NOT_FOUND).
- GetChangeReport / ListChangeReports: exporters (own only), importers (the reports they
  made, else NOT_FOUND / an empty list), officers (List: their authority), auditors (all).
- Every other RPC refuses importers (PERMISSION_DENIED).
- ResolveChange, ScheduleEndUseCheck, RecordEndUseCheckOutcome, ConfirmOverdueCheck: officers
  of the licence's competent authority.
- GetEndUseCheck / ListEndUseChecks: officers (List: their authority) and auditors. Exporters
  do not see checks: a check may be unannounced and its outcome reaches them through the
  measures that follow (suspension, a credit record).
"""

from __future__ import annotations

import asyncpg
from stc.enduser.v1 import enduser_service_pb2 as pb
from stc.enduser.v1 import enduser_service_pb2_grpc as pb_grpc
from stc_common.auth.access import guard
from stc_common.auth.jwt import Role, require

from stc_enduser.api import mapping
from stc_enduser.api.access import ACCESS
from stc_enduser.api.errors import (
    OUTCOME_FIELDS,
    REPORT_FIELDS,
    RESOLUTION_FIELDS,
    SCHEDULE_FIELDS,
    domain_errors,
)
from stc_enduser.service import checks, common, reports
from stc_enduser.storage.uow import enduser_unit_of_work

REPORTS, CHECKS = "changeReports", "endUseChecks"


class EndUserServicer(pb_grpc.EndUserServiceServicer):
    """EndUserService over the service layer."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ReportChange(self, request, context):  # noqa: N802
        p = require(Role.EXPORTER, Role.IMPORTER)
        importer = p.role is Role.IMPORTER
        cmd = reports.ReportChange(
            caller_uscc=p.uscc or "", now=common.utcnow(),
            importer_licence_id=p.licence_id if importer else None,
            importer_party_id=p.party_id if importer else None,
            **mapping.report_change_fields(request))
        with domain_errors(REPORT_FIELDS):
            async with enduser_unit_of_work(self.pool) as uow:
                result = await reports.report_change(uow=uow, cmd=cmd)
        return mapping.report_change_response(result.stored)

    async def GetChangeReport(self, request, context):  # noqa: N802
        p = require(Role.EXPORTER, Role.IMPORTER, Role.OFFICER, Role.AUDITOR)
        async with enduser_unit_of_work(self.pool) as uow:
            stored = await reports.get_change_report(
                uow=uow, principal=p, report_id=mapping.resource_id(request.name, REPORTS))
        return mapping.report_pb(stored)

    async def ListChangeReports(self, request, context):  # noqa: N802
        p = require(Role.EXPORTER, Role.IMPORTER, Role.OFFICER, Role.AUDITOR)
        limit = mapping.page_size(request.page_size)
        cmd = reports.ListReports(principal=p, licence_id=request.licence_id or None,
                                  open_only=request.open_only,
                                  after=mapping.decode_token(request.page_token), limit=limit + 1)
        async with enduser_unit_of_work(self.pool) as uow:
            rows = await reports.list_change_reports(uow=uow, cmd=cmd)
        page, more = rows[:limit], len(rows) > limit
        token = (mapping.encode_token(page[-1].report.reported_at, page[-1].report.report_id)
                 if more else "")
        return pb.ListChangeReportsResponse(reports=[mapping.report_pb(s) for s in page],
                                            next_page_token=token)

    async def ResolveChange(self, request, context):  # noqa: N802
        p = require(Role.OFFICER)
        cmd = reports.ResolveChange(
            officer=common.officer_of(p), report_id=mapping.resource_id(request.name, REPORTS),
            resolution=mapping.resolution(request), now=common.utcnow())
        with domain_errors(RESOLUTION_FIELDS):
            async with enduser_unit_of_work(self.pool) as uow:
                stored = await reports.resolve_change(uow=uow, cmd=cmd)
        return mapping.report_pb(stored)

    async def ScheduleEndUseCheck(self, request, context):  # noqa: N802
        p = require(Role.OFFICER)
        now = common.utcnow()
        cmd = checks.ScheduleCheck(
            officer=common.officer_of(p), licence_id=request.licence_id.strip(),
            party_id=request.party_id.strip(), deadline=mapping.deadline(request), now=now)
        with domain_errors(SCHEDULE_FIELDS):
            async with enduser_unit_of_work(self.pool) as uow:
                stored = await checks.schedule_end_use_check(uow=uow, cmd=cmd)
        return mapping.check_pb(stored, now)

    async def RecordEndUseCheckOutcome(self, request, context):  # noqa: N802
        p = require(Role.OFFICER)
        now = common.utcnow()
        cmd = checks.RecordOutcome(
            officer=common.officer_of(p), check_id=mapping.resource_id(request.name, CHECKS),
            outcome=mapping.outcome(request), now=now)
        with domain_errors(OUTCOME_FIELDS):
            async with enduser_unit_of_work(self.pool) as uow:
                stored = await checks.record_end_use_check_outcome(uow=uow, cmd=cmd)
        return mapping.check_pb(stored, now)

    async def ConfirmOverdueCheck(self, request, context):  # noqa: N802
        p = require(Role.OFFICER)
        now = common.utcnow()
        cmd = checks.ConfirmOverdue(
            officer=common.officer_of(p), check_id=mapping.resource_id(request.name, CHECKS),
            details=request.details, now=now)
        with domain_errors():
            async with enduser_unit_of_work(self.pool) as uow:
                stored = await checks.confirm_overdue_check(uow=uow, cmd=cmd)
        return mapping.check_pb(stored, now)

    async def GetEndUseCheck(self, request, context):  # noqa: N802
        p = require(Role.OFFICER, Role.AUDITOR)
        async with enduser_unit_of_work(self.pool) as uow:
            stored = await checks.get_end_use_check(
                uow=uow, principal=p, check_id=mapping.resource_id(request.name, CHECKS))
        return mapping.check_pb(stored, common.utcnow())

    async def ListEndUseChecks(self, request, context):  # noqa: N802
        p = require(Role.OFFICER, Role.AUDITOR)
        limit = mapping.page_size(request.page_size)
        now = common.utcnow()
        cmd = checks.ListChecks(
            principal=p, licence_id=request.licence_id or None, open_only=request.open_only,
            overdue_only=request.overdue_only, after=mapping.decode_token(request.page_token),
            limit=limit + 1, now=now)
        async with enduser_unit_of_work(self.pool) as uow:
            rows = await checks.list_end_use_checks(uow=uow, cmd=cmd)
        page, more = rows[:limit], len(rows) > limit
        token = (mapping.encode_token(page[-1].check.deadline, page[-1].check.check_id)
                 if more else "")
        return pb.ListEndUseChecksResponse(checks=[mapping.check_pb(s, now) for s in page],
                                           next_page_token=token)


def register(server, pool: asyncpg.Pool) -> None:
    """Add the servicer to a grpc.aio server."""
    servicer = guard(EndUserServicer(pool), pb.DESCRIPTOR.services_by_name["EndUserService"],
                     ACCESS)
    pb_grpc.add_EndUserServiceServicer_to_server(servicer, server)
