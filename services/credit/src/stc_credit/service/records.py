"""Record use cases: penalties (ECL Arts. 33-38) and measures (Art. 30) into the credit
record (Art. 39), and what officers, auditors and the enterprise read of it.

A penalty is stored with its 20-working-day publication deadline, announced
(CreditRecordCreated), published at once when its decision date has come and no officer
holds it, and the enterprise's standing is recomputed, all in one transaction. A measure is
not published but weighs on the standing.

Request ids follow stc_common.idempotency: the same request again answers the stored
resource and writes nothing; a different request under a used request_id is refused with
ALREADY_EXISTS / REQUEST_ID_REUSED.
"""

from __future__ import annotations

import dataclasses

from stc_common.errors import FieldViolation, ValidationFailed
from stc_common.idempotency import RequestIdReused, fingerprint, replay_or_refuse
from stc_common.kafka.topics import CREDIT_RECORD
from stc_common.logging import get_logger
from stc_common.uscc import is_valid_uscc

from stc_credit.domain import publication as pub
from stc_credit.domain.records import CreditRecord, Measure, PersonBan, validate_record
from stc_credit.events import outgoing
from stc_credit.service.commands import (
    ListRecordsQuery,
    LogContext,
    RecordMeasureCmd,
    RecordViolationCmd,
)
from stc_credit.service.publication import RecordView, publish_record, same_authority, view_of
from stc_credit.service.standing import refresh_standing
from stc_credit.storage.records import StoredMeasure, StoredRecord
from stc_credit.storage.uow import CreditUnitOfWork

log = get_logger("stc_credit.service.records")

#: Request field paths of the domain's violation fields (one place for the mapping).
_FIELD_PATHS = {
    "fine_fen": "penalty.fine_fen",
    "sanctions": "penalty.sanctions",
    "decided_by": "authorization",
}


def violation_fingerprint(cmd: RecordViolationCmd) -> str:
    """The fingerprint of a penalty decision, without the ids the servicer assigns."""
    return fingerprint(dataclasses.replace(cmd, record=dataclasses.replace(cmd.record,
                                                                           record_id="")))


def measure_fingerprint(cmd: RecordMeasureCmd) -> str:
    """The fingerprint of a measure, without the id the servicer assigns."""
    return fingerprint(dataclasses.replace(cmd, measure=dataclasses.replace(cmd.measure,
                                                                            measure_id="")))


def _replay_or_refuse(stored_fp: str | None, fp: str, owner: str | None, caller: str | None,
                      what: str, existing_id: str) -> None:
    """Return when a used request id may be answered with what it created; raise
    RequestIdReused for a different request, or another authority's (a row from before
    fingerprints were kept names no request, but still its authority)."""
    replay_or_refuse(stored_fp, fp, what=what, existing_id=existing_id)
    if not same_authority(owner, caller):
        raise RequestIdReused(what, existing_id)


async def record_violation(*, uow: CreditUnitOfWork, cmd: RecordViolationCmd,
                           ctx: LogContext) -> RecordView:
    """Record a penalty (Arts. 33-38, Art. 39 credit record); publish it if due."""
    fp = violation_fingerprint(cmd)
    if cmd.request_id:
        existing = await uow.records.by_request(cmd.request_id)
        if existing is not None:
            _replay_or_refuse(existing.request_fingerprint, fp, existing.authority,
                              cmd.authority, "penalty decision", existing.record.record_id)
            return await view_of(uow, existing.record.record_id)
    record = cmd.record
    violations = [
        FieldViolation(_FIELD_PATHS.get(v.field, v.field), v.reason)
        for v in validate_record(record)
    ]
    months = None
    try:
        months = pub.publicity_months(record, cmd.publicity_months)
    except ValueError as exc:
        violations.append(FieldViolation("publicity_months", str(exc)))
    if violations:
        raise ValidationFailed(violations)
    assert months is not None
    deadline = pub.publication_deadline(record)
    await uow.records.add(StoredRecord(
        record, months, deadline.date, deadline.exact, cmd.request_id or None, cmd.case_id,
        cmd.publication_hold, cmd.authority, fp,
    ))  # fmt: skip
    await uow.publish(CREDIT_RECORD.name, record.uscc,
                      outgoing.record_created(record, deadline.date))
    log.info(
        "credit_record.created", record_id=record.record_id, uscc=record.uscc,
        article=str(record.article), deadline=deadline.date.isoformat(),
    )  # fmt: skip
    today = ctx.today()
    if record.decision_date <= today and not cmd.publication_hold:
        await publish_record(uow, record, months, today, ctx)
    elif cmd.publication_hold:
        log.info("credit_record.publication_held", record_id=record.record_id,
                 reason=cmd.publication_hold)
    await refresh_standing(uow=uow, uscc=record.uscc, today=today)
    return await view_of(uow, record.record_id)


async def record_measure(*, uow: CreditUnitOfWork, cmd: RecordMeasureCmd, ctx: LogContext
                         ) -> Measure:
    """Record a measure (Art. 30); not published, but it weighs on standing."""
    fp = measure_fingerprint(cmd)
    if cmd.request_id:
        existing = await uow.measures.by_request(cmd.request_id)
        if existing is not None:
            _replay_or_refuse(existing.request_fingerprint, fp, existing.authority,
                              cmd.authority, "measure", existing.measure.measure_id)
            return existing.measure
    m = cmd.measure
    problems = []
    if not is_valid_uscc(m.uscc):
        problems.append(FieldViolation("uscc", "not a valid Unified Social Credit Code"))
    if not m.reference.strip():
        problems.append(FieldViolation("reference", "required"))
    if m.issued_on > ctx.today():
        problems.append(FieldViolation("issued_on", "must not be in the future"))
    if problems:
        raise ValidationFailed(problems)
    await uow.measures.add(StoredMeasure(m, cmd.request_id or None, cmd.case_id, cmd.authority,
                                         fp))
    log.info("measure.recorded", measure_id=m.measure_id, uscc=m.uscc, kind=str(m.kind))
    await refresh_standing(uow=uow, uscc=m.uscc, today=ctx.today())
    return m


async def list_records(*, uow: CreditUnitOfWork, query: ListRecordsQuery
                       ) -> tuple[list[RecordView], bool]:
    """A page of one enterprise's records (its authority's only, for an officer), and
    whether more follow."""
    records = await uow.records.of_enterprise(query.uscc, authority=query.authority)
    page = records[query.offset: query.offset + query.size]
    pubs = await uow.publications.of_records([s.record.record_id for s in page])
    views = [RecordView(s, pubs.get(s.record.record_id)) for s in page]
    return views, query.offset + query.size < len(records)


async def person_bans(*, uow: CreditUnitOfWork, id_number: str
                      ) -> list[tuple[CreditRecord, PersonBan]]:
    """Art. 39 bans of the person with `id_number`, one per decision naming them."""
    wanted = id_number.strip().upper()
    if not wanted:
        raise ValidationFailed(FieldViolation("id_number", "required"))
    out = []
    for stored in await uow.records.naming_person(wanted):
        for ban in stored.record.person_bans():
            if ban.person.id_number.strip().upper() == wanted:
                out.append((stored.record, ban))
    return out
