"""grpc.aio servicer of stc.licensing.v1.LicensingService: authorise, call one use case in
one unit of work, map the answer. No SQL and no business rules here."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import licensing_service_pb2_grpc as grpc_pb
from stc.licensing.v1.application_pb2 import Application
from stc.licensing.v1.assessment_pb2 import Assessment
from stc_common.auth.access import guard
from stc_common.auth.jwt import Role, require
from stc_common.db.uow import unit_of_work

from stc_licensing import procedures as proc
from stc_licensing import service as svc
from stc_licensing.api.access import ACCESS
from stc_licensing.api.errors import mapped
from stc_licensing.api.mapping import STATE_FROM_PB
from stc_licensing.api.watch import HistoryNotifier
from stc_licensing.storage import repo

SERVICE_NAME = "stc.licensing.v1.LicensingService"
SOURCE = "stc-licensing"
EXP, OFF, AUD = Role.EXPORTER, Role.OFFICER, Role.AUDITOR
_KIND = {"STATE_CHANGED": spb.UPDATE_KIND_STATE_CHANGED, "ASSESSED": spb.UPDATE_KIND_ASSESSED,
         "FLAGGED": spb.UPDATE_KIND_FLAGGED,
         "DEADLINE_BREACHED": spb.UPDATE_KIND_DEADLINE_BREACHED,
         "EXPERT_REVIEW_STARTED": spb.UPDATE_KIND_EXPERT_REVIEW_STARTED,
         "EXPERT_REVIEW_ENDED": spb.UPDATE_KIND_EXPERT_REVIEW_ENDED,
         "DEADLINE_APPROACHING": spb.UPDATE_KIND_DEADLINE_APPROACHING,
         "INFORMATION_PROVIDED": spb.UPDATE_KIND_INFORMATION_PROVIDED,
         "RECONSIDERATION_OVERDUE": spb.UPDATE_KIND_RECONSIDERATION_OVERDUE,
         "REFERRED": spb.UPDATE_KIND_REFERRED, "REFERRAL_ENDED": spb.UPDATE_KIND_REFERRAL_ENDED,
         "MILITARY_APPROVAL": spb.UPDATE_KIND_MILITARY_APPROVAL,
         "ACCEPTED": spb.UPDATE_KIND_ACCEPTED, "RETURNED": spb.UPDATE_KIND_RETURNED,
         "RESUBMITTED": spb.UPDATE_KIND_RESUBMITTED}
_STATE = {state.value: number for number, state in STATE_FROM_PB.items()}


class LicensingServicer(grpc_pb.LicensingServiceServicer):
    """Each RPC: roles allowed, then one use case inside one transaction."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, fallback_s: float = 2.0) -> None:
        self.pool = pool
        self.notifier = HistoryNotifier(dsn)
        self.fallback_s = fallback_s

    async def _run(self, roles, use_case, **kw):
        p = require(*roles)
        with mapped():
            async with unit_of_work(self.pool, SOURCE) as uow:
                return await use_case(uow=uow, p=p, **kw)

    # operators
    async def RegisterOperator(self, request, context):
        return await self._run((EXP, OFF), svc.register_operator, req=request)

    async def GetOperator(self, request, context):
        return await self._run((EXP, OFF, AUD), svc.get_operator, uscc=request.uscc)

    async def UpdateIcpSelfAssessment(self, request, context):
        return await self._run((EXP,), svc.update_icp_self_assessment, req=request)

    async def RecordIcpAudit(self, request, context):
        return await self._run((OFF,), svc.record_icp_audit, req=request)

    async def SetMilitaryQualification(self, request, context):
        return await self._run((OFF,), svc.set_military_qualification, req=request)

    # applications
    async def SubmitApplication(self, request, context):
        return await self._run((EXP,), svc.submit_application, req=request)

    async def GetApplication(self, request, context):
        return await self._run((EXP, OFF, AUD), proc.get_application,
                               application_id=request.application_id)

    async def ListApplications(self, request, context):
        return await self._run((EXP, OFF, AUD), svc.list_applications, req=request)

    async def WithdrawApplication(self, request, context):
        return await self._run((EXP,), svc.withdraw_application, req=request)

    async def AmendApplication(self, request, context):
        return await self._run((EXP,), svc.amend_application, req=request)

    async def GetAssessment(self, request, context):
        return await self._run((EXP, OFF, AUD), svc.get_assessment,
                               application_id=request.application_id)

    async def RequestReconsideration(self, request, context):
        return await self._run((EXP,), svc.request_reconsideration, req=request)

    async def WatchApplication(self, request, context):
        """Every step after `after_sequence`, then live ones (LISTEN/NOTIFY wake-ups, the
        history table read after each; see api/watch.py)."""
        await self._run((EXP, OFF, AUD), svc.get_application, application_id=request.application_id)
        app_id = request.application_id
        last = max(request.after_sequence, 0)
        woken = await self.notifier.subscribe(app_id)  # before the first read: nothing slips
        try:
            while True:
                woken.clear()
                async with self.pool.acquire() as conn:
                    rows = await repo.history_after(conn, app_id, last)
                for r in rows:
                    last = r["sequence"]
                    yield spb.ApplicationUpdate(
                        sequence=r["sequence"], kind=_KIND.get(r["kind"], 0),
                        state=_STATE[r["state"]], note=r["note"],
                        application=Application.FromString(r["snapshot"]),
                        assessment=Assessment.FromString(r["assessment_body"])
                        if r["assessment_body"] else None)
                if not rows:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(woken.wait(), timeout=self.fallback_s)
        finally:
            await self.notifier.unsubscribe(app_id, woken)

    # officers
    async def ListReviewQueue(self, request, context):
        return await self._run((OFF, AUD), svc.list_review_queue, req=request)

    async def RequestInformation(self, request, context):
        return await self._run((OFF,), svc.request_information, req=request)

    async def DecideApplication(self, request, context):
        return await self._run((OFF,), svc.decide_application, req=request)

    async def StartExpertReview(self, request, context):
        return await self._run((OFF,), svc.start_expert_review, req=request)

    async def EndExpertReview(self, request, context):
        return await self._run((OFF,), svc.end_expert_review, req=request)

    # issue 11: referrals (Reg. 17, Art. 24) and Art. 24 approvals (procedures.py)
    async def ReferApplication(self, request, context):
        return await self._run((OFF,), proc.refer_application, req=request)

    async def EndReferral(self, request, context):
        return await self._run((OFF,), proc.end_referral, req=request)

    async def AcceptApplication(self, request, context):
        return await self._run((OFF,), proc.accept_application, req=request)

    async def ReturnApplication(self, request, context):
        return await self._run((OFF,), proc.return_application, req=request)

    async def ResubmitApplication(self, request, context):
        return await self._run((EXP,), proc.resubmit_application, req=request)

    async def RecordMilitaryApproval(self, request, context):
        return await self._run((OFF,), proc.record_military_approval, req=request)

    # licences
    async def GetLicence(self, request, context):
        return await self._run((EXP, OFF, AUD), svc.get_licence, licence_id=request.licence_id)

    async def ListLicences(self, request, context):
        return await self._run((EXP, OFF, AUD), svc.list_licences, req=request)

    async def RecordExport(self, request, context):
        return await self._run((EXP, OFF), svc.record_export, req=request)

    async def SuspendLicence(self, request, context):
        return await self._run((OFF,), svc.suspend_licence, req=request)

    async def ReinstateLicence(self, request, context):
        return await self._run((OFF,), svc.reinstate_licence, req=request)

    async def RevokeLicence(self, request, context):
        return await self._run((OFF,), svc.revoke_licence, req=request)


def register(server, pool: asyncpg.Pool, *, dsn: str) -> None:
    """Add the servicer to a grpc.aio server."""
    servicer = guard(LicensingServicer(pool, dsn),
                     spb.DESCRIPTOR.services_by_name["LicensingService"], ACCESS)
    grpc_pb.add_LicensingServiceServicer_to_server(servicer, server)
