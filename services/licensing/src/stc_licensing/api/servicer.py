"""grpc.aio servicer of stc.licensing.v1.LicensingService: the caller's role checked, the
request mapped to a command (api/mapping.py), one use case inside one unit of work, the
answer mapped to the response. No SQL and no business rules here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from stc.licensing.v1 import licensing_service_pb2 as service_pb2
from stc.licensing.v1 import licensing_service_pb2_grpc as grpc_pb
from stc_common.auth.access import guard
from stc_common.auth.jwt import Role, require

from stc_licensing import service
from stc_licensing.api import mapping
from stc_licensing.api.access import ACCESS
from stc_licensing.api.watch import HistoryNotifier
from stc_licensing.config import SOURCE
from stc_licensing.service import applications, commands, procedures
from stc_licensing.storage.ports import HISTORY_PAGE
from stc_licensing.storage.sql import SqlApplications, SqlUnitOfWork, unit_of_work

SERVICE_NAME = "stc.licensing.v1.LicensingService"
EXPORTER, OFFICER, AUDITOR = Role.EXPORTER, Role.OFFICER, Role.AUDITOR
ANYONE = (EXPORTER, OFFICER, AUDITOR)


class LicensingServicer(grpc_pb.LicensingServiceServicer):
    """Each RPC: roles allowed, the command, one use case inside one transaction, the
    response."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, fallback_s: float = 2.0) -> None:
        self.pool = pool
        self.notifier = HistoryNotifier(dsn)
        self.fallback_s = fallback_s

    async def _run(self, roles: tuple[Role, ...], use_case: Callable[..., Awaitable[Any]],
                   to_command: Callable[[Any], Any], to_response: Callable[[Any], Any]) -> Any:
        # the role first: a caller who may not call the RPC learns nothing about its input
        caller = require(*roles)
        cmd = to_command(caller)
        async with unit_of_work(self.pool, SOURCE) as uow:
            result = await use_case(uow=uow, caller=caller, cmd=cmd)
        return to_response(result)

    async def _count_awaiting_assessment(self) -> int:
        async with self.pool.acquire() as conn:
            return await SqlApplications(conn).count_awaiting_assessment()

    async def _read(self, roles: tuple[Role, ...], use_case: Callable[..., Awaitable[Any]],
                    to_command: Callable[[Any], Any], to_response: Callable[[Any], Any]) -> Any:
        """`_run` for a use case that reads with one statement: no transaction around it (a
        single statement sees one snapshot anyway), which saves the BEGIN and COMMIT round
        trips on the reads every watch starts with (issue 14)."""
        caller = require(*roles)
        cmd = to_command(caller)
        async with self.pool.acquire() as conn:
            result = await use_case(uow=SqlUnitOfWork(conn, SOURCE), caller=caller, cmd=cmd)
        return to_response(result)

    # operators
    async def RegisterOperator(self, request, context):
        return await self._run((EXPORTER, OFFICER), service.register_operator,
                               lambda c: mapping.register_operator(request), mapping.operator)

    async def GetOperator(self, request, context):
        return await self._read(ANYONE, service.get_operator,
                               lambda c: mapping.get_operator(request), mapping.operator)

    async def UpdateIcpSelfAssessment(self, request, context):
        return await self._run((EXPORTER,), service.update_icp_self_assessment,
                               lambda c: mapping.update_icp_self_assessment(request),
                               mapping.operator)

    async def RecordIcpAudit(self, request, context):
        return await self._run((OFFICER,), service.record_icp_audit,
                               lambda c: mapping.record_icp_audit(request), mapping.operator)

    async def SetMilitaryQualification(self, request, context):
        return await self._run((OFFICER,), service.set_military_qualification,
                               lambda c: mapping.set_military_qualification(request),
                               mapping.operator)

    # applications
    async def SubmitApplication(self, request, context):
        # issue 14 item 3: while the pipeline is full, refuse before any transaction (the
        # cached count of applications awaiting assessment; no round trip per refusal)
        require(EXPORTER)
        await applications.ADMISSION.check(self._count_awaiting_assessment)
        return await self._run((EXPORTER,), service.submit_application,
                               lambda c: mapping.submit_application(c, request),
                               mapping.application)

    async def GetApplication(self, request, context):
        return await self._run(ANYONE, procedures.get_application,
                               lambda c: commands.GetApplication(request.application_id),
                               mapping.application)

    async def ListApplications(self, request, context):
        return await self._run(ANYONE, service.list_applications,
                               lambda c: mapping.list_applications(request),
                               mapping.applications)

    async def WithdrawApplication(self, request, context):
        return await self._run((EXPORTER,), service.withdraw_application,
                               lambda c: commands.WithdrawApplication(request.application_id,
                                                                      request.reason),
                               mapping.application)

    async def AmendApplication(self, request, context):
        return await self._run((EXPORTER,), service.amend_application,
                               lambda c: mapping.amend_application(c, request),
                               mapping.application)

    async def GetAssessment(self, request, context):
        return await self._run(ANYONE, service.get_assessment,
                               lambda c: commands.GetAssessment(request.application_id),
                               mapping.assessment)

    async def RequestReconsideration(self, request, context):
        return await self._run((EXPORTER,), service.request_reconsideration,
                               lambda c: commands.RequestReconsideration(
                                   request.application_id, request.grounds),
                               mapping.application)

    async def WatchApplication(self, request, context):
        """Every step after `after_sequence`, then live ones (LISTEN/NOTIFY wake-ups, the
        history table read after each; see api/watch.py)."""
        caller = require(*ANYONE)
        app_id = request.application_id
        last = max(request.after_sequence, 0)
        woken = await self.notifier.subscribe(app_id)  # before the first read: nothing slips
        try:
            async with self.pool.acquire() as conn:
                # visible to the caller (or NOT_FOUND) and the first steps: one statement
                # outside a transaction (issue 14; was two)
                steps = await applications.watch_steps(
                    uow=SqlUnitOfWork(conn, SOURCE), caller=caller, application_id=app_id,
                    after=last)
            while True:
                for step in steps:
                    last = step["sequence"]
                    yield mapping.application_update(step)
                if len(steps) < HISTORY_PAGE:  # after a full page, read the next at once
                    # wait even after a read that found steps: `woken` was cleared before
                    # that read, so a step committed after it has set `woken` again and
                    # nothing is missed; reading again at once only found nothing (issue 14:
                    # one history read in three per application was such an empty read)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(woken.wait(), timeout=self.fallback_s)
                woken.clear()
                async with self.pool.acquire() as conn:
                    steps = await SqlApplications(conn).history_after(app_id, last)
        finally:
            await self.notifier.unsubscribe(app_id, woken)

    # officers
    async def ListReviewQueue(self, request, context):
        return await self._run((OFFICER, AUDITOR), service.list_review_queue,
                               lambda c: mapping.list_review_queue(request),
                               mapping.applications)

    async def RequestInformation(self, request, context):
        return await self._run((OFFICER,), service.request_information,
                               lambda c: commands.RequestInformation(
                                   request.application_id, tuple(request.questions)),
                               mapping.application)

    async def DecideApplication(self, request, context):
        return await self._run((OFFICER,), service.decide_application,
                               lambda c: mapping.decide_application(request), mapping.decision)

    async def StartExpertReview(self, request, context):
        return await self._run((OFFICER,), service.start_expert_review,
                               lambda c: commands.StartExpertReview(request.application_id,
                                                                    request.reason),
                               mapping.application)

    async def EndExpertReview(self, request, context):
        return await self._run((OFFICER,), service.end_expert_review,
                               lambda c: commands.EndExpertReview(request.application_id,
                                                                  request.outcome),
                               mapping.application)

    # issue 11: referrals (Reg. 17, Art. 24), Art. 24 approvals, the acceptance step
    async def ReferApplication(self, request, context):
        return await self._run((OFFICER,), service.refer_application,
                               lambda c: mapping.refer_application(request), mapping.application)

    async def EndReferral(self, request, context):
        return await self._run((OFFICER,), service.end_referral,
                               lambda c: mapping.end_referral(request), mapping.application)

    async def AcceptApplication(self, request, context):
        return await self._run((OFFICER,), service.accept_application,
                               lambda c: commands.AcceptApplication(request.application_id),
                               mapping.application)

    async def ReturnApplication(self, request, context):
        return await self._run((OFFICER,), service.return_application,
                               lambda c: mapping.return_application(request),
                               mapping.application)

    async def ResubmitApplication(self, request, context):
        return await self._run((EXPORTER,), service.resubmit_application,
                               lambda c: mapping.resubmit_application(c, request),
                               mapping.application)

    async def RecordMilitaryApproval(self, request, context):
        return await self._run((OFFICER,), service.record_military_approval,
                               lambda c: mapping.record_military_approval(request),
                               mapping.application)

    # licences
    async def GetLicence(self, request, context):
        return await self._run(ANYONE, service.get_licence,
                               lambda c: commands.GetLicence(request.licence_id),
                               mapping.licence)

    async def ListLicences(self, request, context):
        return await self._run(ANYONE, service.list_licences,
                               lambda c: mapping.list_licences(request), mapping.licences)

    async def RecordExport(self, request, context):
        return await self._run((EXPORTER, OFFICER), service.record_export,
                               lambda c: mapping.record_export(request), mapping.licence)

    async def SuspendLicence(self, request, context):
        return await self._run((OFFICER,), service.suspend_licence,
                               lambda c: commands.SuspendLicence(request.licence_id,
                                                                 request.reason),
                               mapping.licence)

    async def ReinstateLicence(self, request, context):
        return await self._run((OFFICER,), service.reinstate_licence,
                               lambda c: commands.ReinstateLicence(request.licence_id,
                                                                   request.reason),
                               mapping.licence)

    async def RevokeLicence(self, request, context):
        return await self._run((OFFICER,), service.revoke_licence,
                               lambda c: commands.RevokeLicence(request.licence_id,
                                                                request.reason),
                               mapping.licence)

    # the holiday calendar as data (issue 11 item 3; service/holidays.py)
    async def EnterHolidaySchedule(self, request, context):
        return await self._run((OFFICER,), service.enter_holiday_schedule,
                               lambda c: mapping.enter_holiday_schedule(c, request),
                               mapping.entered_schedule)

    async def ListHolidaySchedules(self, request, context):
        return await self._run(ANYONE, service.list_holiday_schedules,
                               lambda c: commands.ListHolidaySchedules(),
                               mapping.holiday_schedules)

    # temporary controls (issue 11 item 5; service/temporary_controls.py)
    async def CreateTemporaryControl(self, request, context):
        return await self._run((OFFICER,), service.create_temporary_control,
                               lambda c: mapping.create_temporary_control(c, request),
                               mapping.temporary_control)

    async def ListTemporaryControls(self, request, context):
        return await self._run(ANYONE, service.list_temporary_controls,
                               lambda c: mapping.list_temporary_controls(request),
                               mapping.temporary_controls)

    async def DecideTemporaryControl(self, request, context):
        return await self._run((OFFICER,), service.decide_temporary_control,
                               lambda c: mapping.decide_temporary_control(request),
                               mapping.temporary_control)

    # extraterritorial rules (issue 11 item 6; service/extraterritorial.py)
    async def EvaluateReExport(self, request, context):
        return await self._run(ANYONE, service.evaluate_re_export,
                               lambda c: mapping.evaluate_re_export(request),
                               mapping.re_export_evaluation)

def register(server, pool: asyncpg.Pool, *, dsn: str) -> None:
    """Add the servicer to a grpc.aio server."""
    servicer = guard(LicensingServicer(pool, dsn),
                     service_pb2.DESCRIPTOR.services_by_name["LicensingService"], ACCESS)
    grpc_pb.add_LicensingServiceServicer_to_server(servicer, server)
