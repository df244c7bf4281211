"""grpc.aio servicer of stc.credit.v1.CreditService: authorise, map, call one use case.

Each RPC maps its request to a command (api/mapping.py), runs one use case of
stc_credit.service inside one unit of work, and maps the domain answer back; no SQL and no
business rule here. Who may call what (the access table api/access.py, enforced before each
RPC; cases and records of another authority than the officer's answer NOT_FOUND and are
filtered out):
- officers: RecordViolation, RecordMeasure, DecideCase, RepairRecord, ReleasePublicationHold;
  ListCases (and auditors);
- officers, auditors and the enterprise itself (an exporter token bound to that USCC):
  GetCreditStanding, ListCreditRecords. Another enterprise's answer is NOT_FOUND. Only
  officers and auditors see the directly responsible persons;
- officers and auditors only: GetPersonBans (Art. 39 personal bans; never public, never the
  enterprise itself);
- everyone, without a token: ListPublications, GetCheckpoint, GetPublishedRecord,
  GetConsistencyProof (what the law makes public, and the proofs over it).
"""

from __future__ import annotations

from dataclasses import replace

import asyncpg
from stc.credit.v1 import credit_service_pb2 as pb
from stc.credit.v1 import credit_service_pb2_grpc as pb_grpc
from stc_common.auth.access import public_methods
from stc_common.auth.jwt import Principal, Role, require
from stc_common.errors import NotFound, ViolationCollector
from stc_common.paging import offset_from_token

from stc_credit.api import mapping
from stc_credit.api.access import ACCESS
from stc_credit.service import cases, publication, records, standing
from stc_credit.service.commands import (
    ConsistencyQuery,
    DecideCaseCmd,
    ListCasesQuery,
    ListPublicationsQuery,
    ListRecordsQuery,
    LogContext,
    PublishedRecordQuery,
    ReleasePublicationHoldCmd,
    RepairRecordCmd,
)
from stc_credit.storage.uow import SOURCE, credit_unit_of_work

SERVICE_NAME = "stc.credit.v1.CreditService"
PUBLIC_METHODS = public_methods(pb.DESCRIPTOR.services_by_name["CreditService"], ACCESS)
__all__ = ["PUBLIC_METHODS", "SERVICE_NAME", "SOURCE", "CreditServicer"]
MAX_PAGE = 500


def _page(size: int, token: str, default: int = 100) -> tuple[int, int]:
    size = default if size <= 0 else min(size, MAX_PAGE)
    return size, offset_from_token(token)


def _reader_of(uscc: str) -> Principal:
    """An officer, an auditor, or the enterprise itself; NOT_FOUND for another tenant."""
    p = require(Role.OFFICER, Role.AUDITOR, Role.EXPORTER)
    if p.role is Role.EXPORTER and p.uscc != uscc:
        raise NotFound(f"no credit data for {uscc}")
    return p


def _authority(p: Principal) -> str | None:
    """An officer's authority (cases and records are its own only); None for auditors."""
    if p.role is Role.OFFICER:
        return p.authority.value if p.authority else ""
    return None


class CreditServicer(pb_grpc.CreditServiceServicer):
    """The CreditService RPCs over one pool."""

    def __init__(self, pool: asyncpg.Pool, ctx: LogContext, verifier_key: str) -> None:
        self.pool, self.ctx, self.verifier_key = pool, ctx, verifier_key

    def _uow(self):  # type: ignore[no-untyped-def]
        return credit_unit_of_work(self.pool)

    async def RecordViolation(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        cmd = replace(mapping.violation_cmd(request, officer.subject),
                      authority=_authority(officer))
        async with self._uow() as uow:
            view = await records.record_violation(uow=uow, cmd=cmd, ctx=self.ctx)
        return pb.RecordViolationResponse(record=mapping.record_pb(view, with_persons=True))

    async def RecordMeasure(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        cmd = replace(mapping.measure_cmd(request, officer.subject),
                      authority=_authority(officer))
        async with self._uow() as uow:
            m = await records.record_measure(uow=uow, cmd=cmd, ctx=self.ctx)
        return pb.RecordMeasureResponse(measure=mapping.measure_pb(m))

    async def ListCases(self, request, context):  # noqa: N802
        p = require(Role.OFFICER, Role.AUDITOR)
        size, offset = _page(request.page_size, request.page_token)
        query = ListCasesQuery(open_only=request.filter != "all", offset=offset, size=size,
                               authority=_authority(p))
        async with self._uow() as uow:
            found, more = await cases.list_cases(uow=uow, query=query)
        return pb.ListCasesResponse(
            cases=[mapping.case_pb(c) for c in found],
            next_page_token=str(offset + size) if more else "",
        )

    async def DecideCase(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        authority = _authority(officer)
        decision, violation, measure = mapping.case_decision(request, officer.subject)
        cmd = DecideCaseCmd(
            request.case_id, decision, officer.subject,
            violation=replace(violation, authority=authority) if violation else None,
            measure=replace(measure, authority=authority) if measure else None,
            authority=authority,
        )  # fmt: skip
        async with self._uow() as uow:
            decided = await cases.decide_case(uow=uow, cmd=cmd, ctx=self.ctx)
        response = pb.DecideCaseResponse(case=mapping.case_pb(decided.case))
        if decided.record is not None:
            response.record.CopyFrom(mapping.record_pb(decided.record, with_persons=True))
        if decided.measure is not None:
            response.measure.CopyFrom(mapping.measure_pb(decided.measure))
        return response

    async def RepairRecord(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        errors = ViolationCollector()
        decided_on = mapping.to_date(request.decided_on, "decided_on", errors)
        errors.raise_if_any()
        assert decided_on is not None
        cmd = RepairRecordCmd(
            request.request_id, request.record_id, request.repair_decision_no, decided_on,
            officer.subject, authority=_authority(officer),
        )  # fmt: skip
        async with self._uow() as uow:
            repaired = await publication.repair_record(uow=uow, cmd=cmd, ctx=self.ctx)
        return pb.RepairRecordResponse(
            record=mapping.record_pb(repaired.view, with_persons=True),
            leaf_index=repaired.leaf_index,
        )

    async def ReleasePublicationHold(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        cmd = ReleasePublicationHoldCmd(request.record_id, officer.subject, _authority(officer))
        async with self._uow() as uow:
            view = await publication.release_publication_hold(uow=uow, cmd=cmd, ctx=self.ctx)
        return pb.ReleasePublicationHoldResponse(record=mapping.record_pb(view, with_persons=True))

    async def GetCreditStanding(self, request, context):  # noqa: N802
        uscc = request.uscc.strip().upper()
        _reader_of(uscc)
        async with self._uow() as uow:
            current = await standing.current_standing(uow, uscc, self.ctx.today())
        return pb.GetCreditStandingResponse(standing=mapping.standing_pb(current))

    async def ListCreditRecords(self, request, context):  # noqa: N802
        uscc = request.uscc.strip().upper()
        reader = _reader_of(uscc)
        size, offset = _page(request.page_size, request.page_token)
        query = ListRecordsQuery(uscc, offset, size, authority=_authority(reader))
        async with self._uow() as uow:
            views, more = await records.list_records(uow=uow, query=query)
        with_persons = reader.role is not Role.EXPORTER
        return pb.ListCreditRecordsResponse(
            records=[mapping.record_pb(v, with_persons=with_persons) for v in views],
            next_page_token=str(offset + size) if more else "",
        )

    async def GetPersonBans(self, request, context):  # noqa: N802
        require(Role.OFFICER, Role.AUDITOR)
        today = self.ctx.today()
        async with self._uow() as uow:
            bans = await records.person_bans(uow=uow, id_number=request.id_number)
        return pb.GetPersonBansResponse(
            bans=[mapping.person_ban_pb(record, ban, today) for record, ban in bans]
        )

    # -- public ---------------------------------------------------------------------------

    async def ListPublications(self, request, context):  # noqa: N802
        size, offset = _page(request.page_size, request.page_token)
        query = ListPublicationsQuery(uscc=request.uscc.strip().upper() or None,
                                      after=offset - 1, size=size,
                                      include_ended=request.include_ended)
        async with self._uow() as uow:
            entries, after = await publication.list_publications(uow=uow, query=query,
                                                                 today=self.ctx.today())
        return pb.ListPublicationsResponse(
            publications=[mapping.publication_pb(e) for e in entries],
            next_page_token=str(after + 1) if after >= 0 else "",
        )

    async def GetCheckpoint(self, request, context):  # noqa: N802
        async with self._uow() as uow:
            cp = await publication.get_checkpoint(uow=uow, tree_size=request.tree_size)
        return pb.GetCheckpointResponse(
            note=cp.note, tree_size=cp.tree_size, root_hash=cp.root, origin=self.ctx.origin,
            verifier_key=self.verifier_key,
        )  # fmt: skip

    async def GetPublishedRecord(self, request, context):  # noqa: N802
        query = PublishedRecordQuery(request.leaf_index, request.tree_size)
        async with self._uow() as uow:
            e = await publication.get_published_record(uow=uow, query=query)
        return pb.GetPublishedRecordResponse(
            leaf_index=e.leaf_index, canonical=e.canonical, tree_size=e.tree_size,
            inclusion_proof=e.inclusion_proof,
        )  # fmt: skip

    async def GetConsistencyProof(self, request, context):  # noqa: N802
        query = ConsistencyQuery(request.old_size, request.new_size)
        async with self._uow() as uow:
            proof = await publication.get_consistency_proof(uow=uow, query=query)
        return pb.GetConsistencyProofResponse(
            old_size=request.old_size, new_size=request.new_size, proof=proof
        )
