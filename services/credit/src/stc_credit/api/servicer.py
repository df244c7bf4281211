"""grpc.aio servicer of stc.credit.v1.CreditService: authorise, map, call one use case.

Who may call what (the access table api/access.py, enforced before each RPC; cases and
records of another authority than the officer's answer NOT_FOUND and are filtered out):
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
from stc_common.db.uow import unit_of_work
from stc_common.errors import FieldViolation, NotFound, ValidationFailed
from stc_common.paging import offset_from_token

from stc_credit import service
from stc_credit.api import mapping
from stc_credit.api.access import ACCESS
from stc_credit.domain.records import CaseStatus
from stc_credit.service import LogContext
from stc_credit.storage import log as logstore
from stc_credit.storage import records as repo

SERVICE_NAME = "stc.credit.v1.CreditService"
PUBLIC_METHODS = public_methods(pb.DESCRIPTOR.services_by_name["CreditService"], ACCESS)
SOURCE = "credit"
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

    async def RecordViolation(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        cmd = replace(mapping.violation_cmd(request, officer.subject),
                      authority=_authority(officer))
        async with unit_of_work(self.pool, SOURCE) as uow:
            stored = await service.record_violation(uow=uow, cmd=cmd, ctx=self.ctx)
            publication = await repo.get_publication(uow.conn, stored.record.record_id)
        return pb.RecordViolationResponse(
            record=mapping.record_pb(stored, publication, with_persons=True)
        )

    async def RecordMeasure(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        cmd = replace(mapping.measure_cmd(request, officer.subject),
                      authority=_authority(officer))
        async with unit_of_work(self.pool, SOURCE) as uow:
            m = await service.record_measure(uow=uow, cmd=cmd, ctx=self.ctx)
        return pb.RecordMeasureResponse(measure=mapping.measure_pb(m))

    async def ListCases(self, request, context):  # noqa: N802
        p = require(Role.OFFICER, Role.AUDITOR)
        size, offset = _page(request.page_size, request.page_token)
        async with self.pool.acquire() as conn:
            cases = await repo.list_cases(
                conn, open_only=request.filter != "all", offset=offset, limit=size + 1,
                authority=_authority(p),
            )
        more = len(cases) > size
        return pb.ListCasesResponse(
            cases=[mapping.case_pb(c) for c in cases[:size]],
            next_page_token=str(offset + size) if more else "",
        )

    async def DecideCase(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        decision = mapping.CASE_STATUS.get(request.decision)
        if decision is None or decision is CaseStatus.OPEN:
            raise ValidationFailed(
                FieldViolation("decision", "PENALTY_RECORDED, MEASURE_RECORDED or DISMISSED")
            )
        violation = measure = None
        authority = _authority(officer)
        if decision is CaseStatus.PENALTY_RECORDED:
            violation = replace(mapping.violation_cmd(
                request.violation, officer.subject, prefix="violation.", case_id=request.case_id
            ), authority=authority)
        elif decision is CaseStatus.MEASURE_RECORDED:
            measure = replace(mapping.measure_cmd(
                request.measure, officer.subject, prefix="measure.", case_id=request.case_id
            ), authority=authority)
        cmd = service.DecideCaseCmd(request.case_id, decision, officer.subject, violation, measure,
                                    authority=authority,
                                    penalty_law_ground=request.penalty_law_ground.strip() or None,
                                    first_violation=request.first_violation)
        async with unit_of_work(self.pool, SOURCE) as uow:
            case, stored, m = await service.decide_case(uow=uow, cmd=cmd, ctx=self.ctx)
            publication = (
                await repo.get_publication(uow.conn, stored.record.record_id) if stored else None
            )
        response = pb.DecideCaseResponse(case=mapping.case_pb(case))
        if stored is not None:
            response.record.CopyFrom(mapping.record_pb(stored, publication, with_persons=True))
        if m is not None:
            response.measure.CopyFrom(mapping.measure_pb(m))
        return response

    async def RepairRecord(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        errors = mapping.ViolationCollector()
        decided_on = mapping.to_date(request.decided_on, "decided_on", errors)
        errors.raise_if_any()
        assert decided_on is not None
        cmd = service.RepairRecordCmd(
            request.request_id, request.record_id, request.repair_decision_no, decided_on,
            officer.subject, authority=_authority(officer),
        )  # fmt: skip
        async with unit_of_work(self.pool, SOURCE) as uow:
            stored, leaf = await service.repair_record(uow=uow, cmd=cmd, ctx=self.ctx)
            publication = await repo.get_publication(uow.conn, stored.record.record_id)
        return pb.RepairRecordResponse(
            record=mapping.record_pb(stored, publication, with_persons=True), leaf_index=leaf
        )

    async def ReleasePublicationHold(self, request, context):  # noqa: N802
        officer = require(Role.OFFICER)
        if not request.record_id.strip():
            raise ValidationFailed(FieldViolation("record_id", "required"))
        async with unit_of_work(self.pool, SOURCE) as uow:
            stored = await service.release_publication_hold(
                uow=uow, record_id=request.record_id.strip(), officer=officer.subject, ctx=self.ctx,
                authority=_authority(officer),
            )
            publication = await repo.get_publication(uow.conn, stored.record.record_id)
        return pb.ReleasePublicationHoldResponse(
            record=mapping.record_pb(stored, publication, with_persons=True)
        )

    async def GetCreditStanding(self, request, context):  # noqa: N802
        uscc = request.uscc.strip().upper()
        _reader_of(uscc)
        async with self.pool.acquire() as conn:
            standing = await service.current_standing(conn, uscc, self.ctx.today())
        return pb.GetCreditStandingResponse(standing=mapping.standing_pb(standing))

    async def ListCreditRecords(self, request, context):  # noqa: N802
        uscc = request.uscc.strip().upper()
        reader = _reader_of(uscc)
        size, offset = _page(request.page_size, request.page_token)
        async with self.pool.acquire() as conn:
            records = await repo.records_of(conn, uscc, authority=_authority(reader))
            page = records[offset : offset + size]
            pubs = await repo.publications_of(conn, [s.record.record_id for s in page])
        return pb.ListCreditRecordsResponse(
            records=[
                mapping.record_pb(
                    s, pubs.get(s.record.record_id), with_persons=reader.role is not Role.EXPORTER
                )
                for s in page
            ],
            next_page_token=str(offset + size) if offset + size < len(records) else "",
        )

    async def GetPersonBans(self, request, context):  # noqa: N802
        require(Role.OFFICER, Role.AUDITOR)
        id_number = request.id_number.strip()
        if not id_number:
            raise ValidationFailed(FieldViolation("id_number", "required"))
        today = self.ctx.today()
        async with self.pool.acquire() as conn:
            bans = await service.person_bans(conn, id_number)
        return pb.GetPersonBansResponse(
            bans=[mapping.person_ban_pb(record, ban, today) for record, ban in bans]
        )

    # -- public ---------------------------------------------------------------------------

    async def ListPublications(self, request, context):  # noqa: N802
        size, offset = _page(request.page_size, request.page_token)
        uscc = request.uscc.strip().upper() or None
        async with self.pool.acquire() as conn:
            entries, after = await service.list_publications(
                conn, uscc=uscc, after=offset - 1, size=size,
                include_ended=request.include_ended, today=self.ctx.today())
        out = [mapping.publication_pb(e) for e in entries]
        return pb.ListPublicationsResponse(
            publications=out, next_page_token=str(after + 1) if after >= 0 else ""
        )

    async def GetCheckpoint(self, request, context):  # noqa: N802
        if request.tree_size < 0:
            raise ValidationFailed(FieldViolation("tree_size", "must not be negative"))
        async with self.pool.acquire() as conn:
            if request.tree_size:
                cp = await logstore.checkpoint_at(conn, request.tree_size)
            else:
                cp = await logstore.latest_checkpoint(conn)
        if cp is None:
            raise NotFound(
                f"no checkpoint of size {request.tree_size}"
                if request.tree_size
                else "the publication log is empty: no checkpoint yet"
            )
        return pb.GetCheckpointResponse(
            note=cp.note, tree_size=cp.tree_size, root_hash=cp.root, origin=self.ctx.origin,
            verifier_key=self.verifier_key,
        )  # fmt: skip

    async def GetPublishedRecord(self, request, context):  # noqa: N802
        async with self.pool.acquire() as conn:
            cp = await logstore.latest_checkpoint(conn)
            latest = cp.tree_size if cp else 0
            tree_size = request.tree_size or latest
            errors = mapping.ViolationCollector()
            errors.require(
                0 < tree_size <= latest,
                "tree_size",
                f"must be 1..{latest} (the latest signed size)",
            )
            errors.require(
                0 <= request.leaf_index < max(tree_size, 1),
                "leaf_index",
                f"must be 0..{tree_size - 1}",
            )
            errors.raise_if_any()
            data = await logstore.entry(conn, request.leaf_index)
            proof = await logstore.inclusion(conn, request.leaf_index, tree_size)
        if data is None:
            raise NotFound(f"no entry {request.leaf_index}")
        return pb.GetPublishedRecordResponse(
            leaf_index=request.leaf_index, canonical=data, tree_size=tree_size,
            inclusion_proof=proof,
        )  # fmt: skip

    async def GetConsistencyProof(self, request, context):  # noqa: N802
        async with self.pool.acquire() as conn:
            cp = await logstore.latest_checkpoint(conn)
            latest = cp.tree_size if cp else 0
            errors = mapping.ViolationCollector()
            errors.require(0 < request.new_size <= latest, "new_size", f"must be 1..{latest}")
            errors.require(
                0 < request.old_size <= request.new_size, "old_size", "must be 1..new_size"
            )
            errors.raise_if_any()
            proof = await logstore.consistency(conn, request.old_size, request.new_size)
        return pb.GetConsistencyProofResponse(
            old_size=request.old_size, new_size=request.new_size, proof=proof
        )
