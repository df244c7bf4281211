"""Publication use cases: the append-only log, its checkpoints, repair and ended publicity.

Publication (Interim Regulations on Enterprise Information Publicity; ECL Art. 39): a
record whose decision date has come is appended to the log and published in the very
transaction that records it; a record dated later, or held by an officer, waits for
`publish_pending`, which the publication ticker runs and which also raises
`PublicationDeadlineAtRisk` (20 working days from the decision). Credit repair (信用修复)
ends a record's publicity early with a repair entry on the log. Every append signs a
checkpoint; the log, the checkpoint and the events announcing them commit together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stc_common.errors import FailedPrecondition, FieldViolation, NotFound, ValidationFailed
from stc_common.idempotency import RequestIdReused, fingerprint, replay_or_refuse
from stc_common.kafka.topics import CREDIT_PUBLICATION, CREDIT_RECORD
from stc_common.logging import get_logger

from stc_credit.domain import publication as pub
from stc_credit.domain.canonical import CanonicalError, decode_entry, penalty_entry, repair_entry
from stc_credit.domain.records import CreditRecord
from stc_credit.events import outgoing
from stc_credit.service.commands import (
    ConsistencyQuery,
    ListPublicationsQuery,
    LogContext,
    PublishedRecordQuery,
    ReleasePublicationHoldCmd,
    RepairRecordCmd,
)
from stc_credit.service.standing import refresh_standing
from stc_credit.storage.log import Appended, StoredCheckpoint
from stc_credit.storage.records import PublicationRow, StoredRecord
from stc_credit.storage.uow import CreditUnitOfWork

log = get_logger("stc_credit.service.publication")


@dataclass(frozen=True)
class RecordView:
    """A stored record and its publication state (None: not published yet)."""

    stored: StoredRecord
    publication: PublicationRow | None


@dataclass(frozen=True)
class Repaired:
    """A repaired record and the log position of its repair entry."""

    view: RecordView
    leaf_index: int


@dataclass(frozen=True)
class PublishedEntry:
    """One log entry with its inclusion proof in the tree of `tree_size` entries."""

    leaf_index: int
    canonical: bytes
    tree_size: int
    inclusion_proof: list[bytes]


def same_authority(owner: str | None, caller: str | None) -> bool:
    """True when `caller` (None: an internal caller or an auditor) may see what `owner`'s
    officers imposed or opened; another authority finds nothing (Arts. 33-39)."""
    return caller is None or owner == caller


async def view_of(uow: CreditUnitOfWork, record_id: str) -> RecordView:
    """The record `record_id` (which exists) with its publication state."""
    stored = await uow.records.get(record_id)
    assert stored is not None
    return RecordView(stored, await uow.publications.get(record_id))


async def publish_record(uow: CreditUnitOfWork, record: CreditRecord, months: int,
                         today: dt.date, ctx: LogContext) -> None:
    """Append `record` to the log, sign a checkpoint, announce both (one transaction)."""
    view = pub.published_view(record, today, months)
    appended = await uow.log.append(
        lambda seq: penalty_entry(seq, view), record_id=record.record_id, uscc=record.uscc,
        signer=ctx.signer, origin=ctx.origin,
    )  # fmt: skip
    await uow.publications.add(record, appended.seq, today, view.publicity_ends_on)
    published = outgoing.record_published(record, appended.seq, today, view.publicity_ends_on,
                                          appended.canonical)
    await uow.publish(CREDIT_RECORD.name, record.uscc, published)
    await uow.publish(CREDIT_PUBLICATION.name, record.uscc, published)
    await _announce_checkpoint(uow, appended)
    log.info(
        "credit_record.published", record_id=record.record_id, leaf_index=appended.seq,
        in_time=pub.published_in_time(record, today),
    )  # fmt: skip


async def _announce_checkpoint(uow: CreditUnitOfWork, appended: Appended) -> None:
    await uow.publish(
        CREDIT_PUBLICATION.name, "checkpoint",
        outgoing.checkpoint_published(appended.note, appended.tree_size, appended.root),
    )  # fmt: skip


async def publish_pending(*, uow: CreditUnitOfWork, ctx: LogContext) -> tuple[int, int]:
    """Publish every due record not yet published; alert on those near their deadline.

    A record still unpublished after this (held by an officer, or its publication failed)
    with at most `ctx.deadline_margin_working_days` working days left before its
    20-working-day deadline raises PublicationDeadlineAtRisk, once per record.
    Returns (published, alerts raised).
    """
    today = ctx.today()
    published = alerts = 0
    for stored in await uow.records.unpublished():
        record = stored.record
        if record.decision_date <= today and not stored.publication_hold:
            try:
                async with uow.savepoint():  # one bad record blocks no other
                    await publish_record(uow, record, stored.publicity_months, today, ctx)
                    await refresh_standing(uow=uow, uscc=record.uscc, today=today)
                published += 1
                continue
            except Exception:
                log.exception("credit_record.publication_failed", record_id=record.record_id)
        if pub.at_risk(record, today, ctx.deadline_margin_working_days) and \
                await uow.records.alert_once(record.record_id, today):
            status = pub.deadline_status(record, today)
            await uow.publish(CREDIT_PUBLICATION.name, record.uscc,
                              outgoing.deadline_at_risk(record, status))
            log.warning(
                "credit_record.deadline_at_risk", record_id=record.record_id,
                working_days_left=status.working_days_left,
            )  # fmt: skip
            alerts += 1
    return published, alerts


async def release_publication_hold(*, uow: CreditUnitOfWork, cmd: ReleasePublicationHoldCmd,
                                   ctx: LogContext) -> RecordView:
    """Lift a record's publication hold; publish it at once when its decision date has come.
    Only the authority that imposed the penalty may (another's record is NOT_FOUND)."""
    record_id = cmd.record_id.strip()
    if not record_id:
        raise ValidationFailed(FieldViolation("record_id", "required"))
    stored = await uow.records.get(record_id, for_update=True)
    if stored is None or not same_authority(stored.authority, cmd.authority):
        raise NotFound(f"credit record {record_id} not found")
    if not stored.publication_hold:
        raise FailedPrecondition(
            f"credit record {record_id} is not held", reason="PUBLICATION_NOT_HELD"
        )
    await uow.records.release_hold(record_id)
    log.info("credit_record.publication_released", record_id=record_id, officer=cmd.officer)
    today = ctx.today()
    if stored.record.decision_date <= today:
        await publish_record(uow, stored.record, stored.publicity_months, today, ctx)
        await refresh_standing(uow=uow, uscc=stored.record.uscc, today=today)
    return await view_of(uow, record_id)


async def _announce_end(uow: CreditUnitOfWork, record_id: str, uscc: str, ended_on: dt.date,
                        reason: str) -> bool:
    """PublicityEnded, once per record (the publications row remembers it)."""
    if not await uow.publications.mark_ended(record_id, ended_on, reason):
        return False
    await uow.publish(CREDIT_PUBLICATION.name, uscc,
                      outgoing.publicity_ended(record_id, uscc, ended_on, reason))
    log.info("credit_record.publicity_ended", record_id=record_id, reason=reason,
             ended_on=ended_on.isoformat())
    return True


async def end_elapsed_publicity(*, uow: CreditUnitOfWork, ctx: LogContext) -> int:
    """Announce PublicityEnded for every record whose publicity period has run out."""
    ended = 0
    for row in await uow.publications.elapsed_unannounced(ctx.today()):
        ended += await _announce_end(
            uow, row.record_id, row.uscc, row.publicity_ends_on, "period_elapsed"
        )
    return ended


async def repair_record(*, uow: CreditUnitOfWork, cmd: RepairRecordCmd, ctx: LogContext
                        ) -> Repaired:
    """End a published record's publicity early; appends a repair entry to the log.

    The request-id rule (stc_common.idempotency): the same repair again answers the stored
    repair; a different request under a used request_id is REQUEST_ID_REUSED.
    """
    stored = await uow.records.get(cmd.record_id, for_update=True)
    if stored is None or not same_authority(stored.authority, cmd.authority):
        raise NotFound(f"credit record {cmd.record_id} not found")
    fp = fingerprint(cmd)
    if cmd.request_id:
        earlier = await uow.publications.repaired_by_request(cmd.request_id)
        if earlier is not None:
            replay_or_refuse(earlier.repair_request_fingerprint, fp, what="credit repair",
                             existing_id=earlier.record_id)
            if earlier.record_id != cmd.record_id:  # an old row, without a fingerprint
                raise RequestIdReused("credit repair", earlier.record_id)
            assert earlier.repair_leaf_index is not None
            return Repaired(await view_of(uow, earlier.record_id), earlier.repair_leaf_index)
    row = await uow.publications.get(cmd.record_id, for_update=True)
    if row is None:
        raise FailedPrecondition("the record is not published yet", reason="NOT_PUBLISHED")
    if not cmd.repair_decision_no.strip():
        raise ValidationFailed(FieldViolation("repair_decision_no", "required"))
    window = pub.publicity(stored.record, row.published_on, stored.publicity_months)
    if row.repaired_on is not None:
        window = pub.Publicity(
            window.record_id, window.severity, window.months, window.published_on,
            window.scheduled_end, row.repaired_on,
        )  # fmt: skip
    repair = pub.Repair(cmd.record_id, cmd.repair_decision_no, cmd.decided_on, cmd.decided_by)
    problems = pub.check_repair(window, repair)
    if problems:
        raise ValidationFailed([FieldViolation(p.field, p.reason) for p in problems])
    ended = pub.apply_repair(window, repair)
    record = stored.record
    appended = await uow.log.append(
        lambda seq: repair_entry(seq, record.uscc, ended, repair),
        record_id=record.record_id, uscc=record.uscc, signer=ctx.signer, origin=ctx.origin,
    )  # fmt: skip
    await uow.publications.mark_repaired(
        record.record_id, repaired_on=cmd.decided_on, decision_no=cmd.repair_decision_no,
        leaf_index=appended.seq, request_id=cmd.request_id or None, request_fingerprint=fp,
    )  # fmt: skip
    repaired = outgoing.record_repaired(record, cmd.repair_decision_no, cmd.decided_on,
                                        appended.seq)
    await uow.publish(CREDIT_RECORD.name, record.uscc, repaired)
    await uow.publish(CREDIT_PUBLICATION.name, record.uscc, repaired)
    await _announce_checkpoint(uow, appended)
    log.info("credit_record.repaired", record_id=record.record_id, leaf_index=appended.seq)
    await _announce_end(uow, record.record_id, record.uscc, ended.last_day_shown, "credit_repair")
    # Repair ends publicity, not the Art. 39 ban; the standing is recomputed all the same.
    await refresh_standing(uow=uow, uscc=record.uscc, today=ctx.today())
    return Repaired(RecordView(stored, await uow.publications.get(record.record_id)),
                    appended.seq)


async def list_publications(*, uow: CreditUnitOfWork, query: ListPublicationsQuery,
                            today: dt.date) -> tuple[list[pub.FeedEntry], int]:
    """Up to `size` feed entries after log position `after` (those still shown unless
    `include_ended`); returns them and the position to continue after (-1: no more)."""
    out: list[pub.FeedEntry] = []
    after, size = query.after, query.size
    while len(out) < size:
        rows = await uow.log.entries(uscc=query.uscc, after=after, limit=size)
        if not rows:
            return out, -1
        repairs = await uow.publications.of_records([r.record_id for r in rows])
        for r in rows:
            after = r.seq
            try:
                body = decode_entry(r.canonical).body
            except CanonicalError:
                body = None
            p = repairs.get(r.record_id)
            entry = pub.feed_entry(r.seq, r.kind, r.record_id, r.uscc, r.canonical, body,
                                   p.repaired_on if p else None, today)
            if query.include_ended or entry.shown:
                out.append(entry)
            if len(out) >= size:
                break
    return out, after


async def get_checkpoint(*, uow: CreditUnitOfWork, tree_size: int) -> StoredCheckpoint:
    """The checkpoint signed at `tree_size` (0: the latest)."""
    if tree_size < 0:
        raise ValidationFailed(FieldViolation("tree_size", "must not be negative"))
    cp = (await uow.log.checkpoint_at(tree_size) if tree_size
          else await uow.log.latest_checkpoint())
    if cp is None:
        raise NotFound(f"no checkpoint of size {tree_size}" if tree_size
                       else "the publication log is empty: no checkpoint yet")
    return cp


async def get_published_record(*, uow: CreditUnitOfWork, query: PublishedRecordQuery
                               ) -> PublishedEntry:
    """One log entry and its inclusion proof in a signed tree size."""
    cp = await uow.log.latest_checkpoint()
    latest = cp.tree_size if cp else 0
    tree_size = query.tree_size or latest
    problems = []
    if not 0 < tree_size <= latest:
        problems.append(FieldViolation("tree_size", f"must be 1..{latest} (the latest signed "
                                                    "size)"))
    if not 0 <= query.leaf_index < max(tree_size, 1):
        problems.append(FieldViolation("leaf_index", f"must be 0..{tree_size - 1}"))
    if problems:
        raise ValidationFailed(problems)
    data = await uow.log.entry(query.leaf_index)
    if data is None:
        raise NotFound(f"no entry {query.leaf_index}")
    proof = await uow.log.inclusion(query.leaf_index, tree_size)
    return PublishedEntry(query.leaf_index, data, tree_size, proof)


async def get_consistency_proof(*, uow: CreditUnitOfWork, query: ConsistencyQuery
                                ) -> list[bytes]:
    """The consistency proof between two signed tree sizes."""
    cp = await uow.log.latest_checkpoint()
    latest = cp.tree_size if cp else 0
    problems = []
    if not 0 < query.new_size <= latest:
        problems.append(FieldViolation("new_size", f"must be 1..{latest}"))
    if not 0 < query.old_size <= query.new_size:
        problems.append(FieldViolation("old_size", "must be 1..new_size"))
    if problems:
        raise ValidationFailed(problems)
    return await uow.log.consistency(query.old_size, query.new_size)
