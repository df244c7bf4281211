"""Use cases of the credit service: one transaction each, events through the outbox.

Every use case takes a `UnitOfWork` (connection in an open transaction) and writes its
state change, its log entries and checkpoints, and the events announcing them in that one
transaction: nothing is published that was not stored, nothing stored goes unannounced.

Publication (Interim Regulations on Enterprise Information Publicity; ECL Art. 39): a
record whose decision date has come is appended to the log and published in the very
transaction that records it; a record dated later waits for `publish_pending`, which the
publication ticker runs and which also raises `PublicationDeadlineAtRisk`.

Standing: `refresh_standing` recomputes the enterprise's standing from the records in this
database (authoritative) and, only when it differs from the last one published, writes
`CreditStandingChanged` to the outbox in the same transaction. So a standing change is
never lost (it commits with the record) and never duplicated (compared with the stored one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from google.protobuf import timestamp_pb2
from google.type import date_pb2
from stc.credit.v1 import events_pb2
from stc_common.db.uow import UnitOfWork, unit_of_work
from stc_common.errors import FailedPrecondition, FieldViolation, NotFound, ValidationFailed
from stc_common.kafka.topics import CREDIT_PUBLICATION, CREDIT_RECORD, CREDIT_STANDING
from stc_common.logging import get_logger
from stc_common.uscc import is_valid_uscc

from stc_credit.domain import penalty_path as paths
from stc_credit.domain import publication as pub
from stc_credit.domain.canonical import CanonicalError, decode_entry, penalty_entry, repair_entry
from stc_credit.domain.checkpoint import SignerKey
from stc_credit.domain.records import (
    Case,
    CaseAlreadyDecided,
    CaseSource,
    CaseStatus,
    CreditRecord,
    Measure,
    PersonBan,
    case_from_end_use_check,
    case_from_unreported_change,
    validate_record,
)
from stc_credit.domain.records import (
    decide_case as decide,
)
from stc_credit.domain.standing import CreditStanding, StandingLevel, compute_standing
from stc_credit.storage import log as logstore
from stc_credit.storage import records as repo

log = get_logger("stc_credit.service")

#: First key of the per-USCC advisory lock taken by `refresh_standing`.

#: Request field paths of the domain's violation fields (one place for the mapping).
_FIELD_PATHS = {
    "fine_fen": "penalty.fine_fen",
    "sanctions": "penalty.sanctions",
    "decided_by": "authorization",
}

_LEVELS = {
    StandingLevel.GOOD: events_pb2.STANDING_LEVEL_GOOD,
    StandingLevel.WARNED: events_pb2.STANDING_LEVEL_WARNED,
    StandingLevel.PENALISED: events_pb2.STANDING_LEVEL_PENALISED,
    StandingLevel.BANNED: events_pb2.STANDING_LEVEL_BANNED,
}

#: CaseOpened.source of each case source (the event contract's words).
CASE_EVENT_SOURCE = {
    CaseSource.END_USE_CHECK_DIVERSION: "diversion",
    CaseSource.CHANGE_NOT_REPORTED: "failure_to_report",
}


@dataclass(frozen=True)
class LogContext:
    """What the use cases need besides the unit of work: the log key and the clock."""

    signer: SignerKey
    origin: str
    today: Callable[[], dt.date]
    deadline_margin_working_days: int = 5


def pb_date(day: dt.date | None) -> date_pb2.Date | None:
    """A google.type.Date (None stays None)."""
    return None if day is None else date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _now_ts() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordViolationCmd:
    """An officer's penalty decision to record; `record.record_id` is freshly assigned."""

    request_id: str
    record: CreditRecord
    publicity_months: int | None = None
    case_id: str | None = None
    publication_hold: str | None = None
    authority: str | None = None  # the imposing officer's; None only for internal callers


async def record_violation(
    *, uow: UnitOfWork, cmd: RecordViolationCmd, ctx: LogContext
) -> repo.StoredRecord:
    """Record a penalty (Arts. 33-38, Art. 39 credit record); publish it if due."""
    if cmd.request_id:
        existing = await repo.record_by_request(uow.conn, cmd.request_id)
        if existing is not None:
            _same_request(existing.record, cmd.record)
            if not _same_authority(existing.authority, cmd.authority):
                raise FailedPrecondition("request_id was already used for another decision",
                                         reason="REQUEST_ID_REUSED")
            return existing
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
    await repo.insert_record(
        uow.conn, record, request_id=cmd.request_id or None, publicity_months=months,
        deadline=deadline.date, deadline_exact=deadline.exact, case_id=cmd.case_id,
        publication_hold=cmd.publication_hold, authority=cmd.authority,
    )  # fmt: skip
    await uow.publish(
        CREDIT_RECORD.name,
        record.uscc,
        events_pb2.CreditRecordCreated(
            record_id=record.record_id,
            uscc=record.uscc,
            enterprise_name=record.enterprise_name,
            article=str(record.article),
            decision_no=record.decision_no,
            sanctions=sorted(str(s) for s in record.penalty.sanctions),
            fine_fen=record.penalty.fine_fen or 0,
            decision_date=pb_date(record.decision_date),
            effective_date=pb_date(record.effective_date),
            ban_until=pb_date(record.ban_until()),
            publication_deadline=pb_date(deadline.date),
            officer=record.decided_by,
        ),
    )
    log.info(
        "credit_record.created", record_id=record.record_id, uscc=record.uscc,
        article=str(record.article), deadline=deadline.date.isoformat(),
    )  # fmt: skip
    today = ctx.today()
    if record.decision_date <= today and not cmd.publication_hold:
        await _publish(uow, record, months, today, ctx)
    elif cmd.publication_hold:
        log.info("credit_record.publication_held", record_id=record.record_id,
                 reason=cmd.publication_hold)
    await refresh_standing(uow=uow, uscc=record.uscc, today=today)
    stored = await repo.get_record(uow.conn, record.record_id)
    assert stored is not None
    return stored


def _same_authority(owner: str | None, caller: str | None) -> bool:
    """True when `caller` (None: an internal caller, not an officer) may see what `owner`'s
    officers imposed or opened; another authority's finds nothing (Arts. 33-39)."""
    return caller is None or owner == caller


def _same_request(existing: CreditRecord, new: CreditRecord) -> None:
    if (existing.uscc, existing.decision_no, existing.article) != (
        new.uscc,
        new.decision_no,
        new.article,
    ):
        raise FailedPrecondition(
            "request_id was already used for another decision", reason="REQUEST_ID_REUSED"
        )


async def _publish(
    uow: UnitOfWork, record: CreditRecord, months: int, today: dt.date, ctx: LogContext
) -> None:
    """Append `record` to the log, sign a checkpoint, announce both (one transaction)."""
    view = pub.published_view(record, today, months)
    appended = await logstore.append(
        uow.conn, lambda seq: penalty_entry(seq, view), record_id=record.record_id,
        uscc=record.uscc, signer=ctx.signer, origin=ctx.origin,
    )  # fmt: skip
    await repo.insert_publication(uow.conn, record, appended.seq, today, view.publicity_ends_on)
    published = events_pb2.CreditRecordPublished(
        record_id=record.record_id,
        uscc=record.uscc,
        leaf_index=appended.seq,
        published_on=pb_date(today),
        publicity_ends_on=pb_date(view.publicity_ends_on),
        canonical=appended.canonical,
    )
    await uow.publish(CREDIT_RECORD.name, record.uscc, published)
    await uow.publish(CREDIT_PUBLICATION.name, record.uscc, published)
    await _announce_checkpoint(uow, appended)
    log.info(
        "credit_record.published", record_id=record.record_id, leaf_index=appended.seq,
        in_time=pub.published_in_time(record, today),
    )  # fmt: skip


async def _announce_checkpoint(uow: UnitOfWork, appended: logstore.Appended) -> None:
    await uow.publish(
        CREDIT_PUBLICATION.name,
        "checkpoint",
        events_pb2.CheckpointPublished(
            note=appended.note,
            tree_size=appended.tree_size,
            root_hash=appended.root,
            published_at=_now_ts(),
        ),
    )


async def publish_pending(*, uow: UnitOfWork, ctx: LogContext) -> tuple[int, int]:
    """Publish every due record not yet published; alert on those near their deadline.

    A record still unpublished after this (held by an officer, or its publication failed)
    with at most `ctx.deadline_margin_working_days` working days left before its
    20-working-day deadline raises PublicationDeadlineAtRisk, once per record.
    Returns (published, alerts raised).
    """
    today = ctx.today()
    published = alerts = 0
    for stored in await repo.unpublished(uow.conn):
        record = stored.record
        if record.decision_date <= today and not stored.publication_hold:
            try:
                async with uow.conn.transaction():  # a savepoint: one bad record blocks no other
                    await _publish(uow, record, stored.publicity_months, today, ctx)
                    await refresh_standing(uow=uow, uscc=record.uscc, today=today)
                published += 1
                continue
            except Exception:
                log.exception("credit_record.publication_failed", record_id=record.record_id)
        if pub.at_risk(record, today, ctx.deadline_margin_working_days) and await repo.alert_once(
            uow.conn, record.record_id, today
        ):
            status = pub.deadline_status(record, today)
            await uow.publish(
                CREDIT_PUBLICATION.name,
                record.uscc,
                events_pb2.PublicationDeadlineAtRisk(
                    record_id=record.record_id,
                    uscc=record.uscc,
                    deadline=pb_date(status.deadline),
                    working_days_left=status.working_days_left,
                ),
            )
            log.warning(
                "credit_record.deadline_at_risk", record_id=record.record_id,
                working_days_left=status.working_days_left,
            )  # fmt: skip
            alerts += 1
    return published, alerts


async def release_publication_hold(
    *, uow: UnitOfWork, record_id: str, officer: str, ctx: LogContext,
    authority: str | None = None,
) -> repo.StoredRecord:
    """Lift a record's publication hold; publish it at once when its decision date has come.
    Only the authority that imposed the penalty may (another's record is NOT_FOUND)."""
    stored = await repo.get_record(uow.conn, record_id, for_update=True)
    if stored is None or not _same_authority(stored.authority, authority):
        raise NotFound(f"credit record {record_id} not found")
    if not stored.publication_hold:
        raise FailedPrecondition(
            f"credit record {record_id} is not held", reason="PUBLICATION_NOT_HELD"
        )
    await repo.release_hold(uow.conn, record_id)
    log.info("credit_record.publication_released", record_id=record_id, officer=officer)
    today = ctx.today()
    if stored.record.decision_date <= today:
        await _publish(uow, stored.record, stored.publicity_months, today, ctx)
        await refresh_standing(uow=uow, uscc=stored.record.uscc, today=today)
    released = await repo.get_record(uow.conn, record_id)
    assert released is not None
    return released


async def _announce_end(
    uow: UnitOfWork, record_id: str, uscc: str, ended_on: dt.date, reason: str
) -> bool:
    """PublicityEnded, once per record (the publications row remembers it)."""
    if not await repo.mark_ended(uow.conn, record_id, ended_on, reason):
        return False
    await uow.publish(
        CREDIT_PUBLICATION.name,
        uscc,
        events_pb2.PublicityEnded(
            record_id=record_id, uscc=uscc, ended_on=pb_date(ended_on),
            reason=_END_REASONS[reason],
        ),  # fmt: skip
    )
    log.info("credit_record.publicity_ended", record_id=record_id, reason=reason,
             ended_on=ended_on.isoformat())
    return True


_END_REASONS = {
    "period_elapsed": events_pb2.PUBLICITY_END_REASON_PERIOD_ELAPSED,
    "credit_repair": events_pb2.PUBLICITY_END_REASON_CREDIT_REPAIR,
}


async def end_elapsed_publicity(*, uow: UnitOfWork, ctx: LogContext) -> int:
    """Announce PublicityEnded for every record whose publicity period has run out."""
    ended = 0
    for row in await repo.elapsed_unannounced(uow.conn, ctx.today()):
        ended += await _announce_end(
            uow, row.record_id, row.uscc, row.publicity_ends_on, "period_elapsed"
        )
    return ended


# -- personal bans ------------------------------------------------------------------------


async def person_bans(conn, id_number: str) -> list[tuple[CreditRecord, PersonBan]]:  # type: ignore[no-untyped-def]
    """Art. 39 bans of the person with `id_number`, one per decision naming them."""
    wanted = id_number.strip().upper()
    out = []
    for stored in await repo.records_naming_person(conn, wanted):
        for ban in stored.record.person_bans():
            if ban.person.id_number.strip().upper() == wanted:
                out.append((stored.record, ban))
    return out


# -- measures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordMeasureCmd:
    """A warning letter or supervisory talk to record (Art. 30)."""

    request_id: str
    measure: Measure
    case_id: str | None = None
    authority: str | None = None  # the imposing officer's


async def record_measure(*, uow: UnitOfWork, cmd: RecordMeasureCmd, ctx: LogContext) -> Measure:
    """Record a measure (Art. 30); not published, but it weighs on standing."""
    if cmd.request_id:
        existing = await repo.measure_by_request(uow.conn, cmd.request_id)
        if existing is not None:
            if not _same_authority(
                    await repo.measure_authority(uow.conn, existing.measure_id), cmd.authority):
                raise FailedPrecondition("request_id was already used for another measure",
                                         reason="REQUEST_ID_REUSED")
            return existing
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
    await repo.insert_measure(uow.conn, m, request_id=cmd.request_id or None, case_id=cmd.case_id,
                              authority=cmd.authority)
    log.info("measure.recorded", measure_id=m.measure_id, uscc=m.uscc, kind=str(m.kind))
    await refresh_standing(uow=uow, uscc=m.uscc, today=ctx.today())
    return m


# -- repair -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepairRecordCmd:
    """Credit repair (信用修复) decided by an officer."""

    request_id: str
    record_id: str
    repair_decision_no: str
    decided_on: dt.date
    decided_by: str
    authority: str | None = None  # the repairing officer's: must have imposed the penalty


async def repair_record(
    *, uow: UnitOfWork, cmd: RepairRecordCmd, ctx: LogContext
) -> tuple[repo.StoredRecord, int]:
    """End a published record's publicity early; appends a repair entry to the log."""
    stored = await repo.get_record(uow.conn, cmd.record_id, for_update=True)
    if stored is None or not _same_authority(stored.authority, cmd.authority):
        raise NotFound(f"credit record {cmd.record_id} not found")
    if cmd.request_id and await repo.repaired_by_request(uow.conn, cmd.request_id):
        row = await repo.get_publication(uow.conn, cmd.record_id)
        assert row is not None and row.repair_leaf_index is not None
        return stored, row.repair_leaf_index
    row = await repo.get_publication(uow.conn, cmd.record_id, for_update=True)
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
    appended = await logstore.append(
        uow.conn, lambda seq: repair_entry(seq, record.uscc, ended, repair),
        record_id=record.record_id, uscc=record.uscc, signer=ctx.signer, origin=ctx.origin,
    )  # fmt: skip
    await repo.mark_repaired(
        uow.conn, record.record_id, repaired_on=cmd.decided_on, decision_no=cmd.repair_decision_no,
        leaf_index=appended.seq, request_id=cmd.request_id or None,
    )  # fmt: skip
    repaired = events_pb2.CreditRecordRepaired(
        record_id=record.record_id,
        uscc=record.uscc,
        repair_decision_no=cmd.repair_decision_no,
        repaired_on=pb_date(cmd.decided_on),
        leaf_index=appended.seq,
    )
    await uow.publish(CREDIT_RECORD.name, record.uscc, repaired)
    await uow.publish(CREDIT_PUBLICATION.name, record.uscc, repaired)
    await _announce_checkpoint(uow, appended)
    log.info("credit_record.repaired", record_id=record.record_id, leaf_index=appended.seq)
    await _announce_end(uow, record.record_id, record.uscc, ended.last_day_shown, "credit_repair")
    # Repair ends publicity, not the Art. 39 ban; the standing is recomputed all the same.
    await refresh_standing(uow=uow, uscc=record.uscc, today=ctx.today())
    return stored, appended.seq


# -- standing -----------------------------------------------------------------------------


async def current_standing(conn, uscc: str, today: dt.date) -> CreditStanding:  # type: ignore[no-untyped-def]
    """The standing of `uscc` computed from the stored records and measures."""
    records = [s.record for s in await repo.records_of(conn, uscc)]
    measures = await repo.measures_of(conn, uscc)
    return compute_standing(uscc, records, measures, today)


def _changed(old: CreditStanding | None, new: CreditStanding) -> bool:
    if old is None:
        return new.level is not StandingLevel.GOOD
    return (old.level, old.ban_until, old.record_ids, old.measure_ids) != (
        new.level,
        new.ban_until,
        new.record_ids,
        new.measure_ids,
    )


def standing_message(s: CreditStanding) -> events_pb2.CreditStandingChanged:
    """The CreditStandingChanged event of a standing."""
    return events_pb2.CreditStandingChanged(
        uscc=s.uscc,
        level=_LEVELS[s.level],
        active_records=s.active_records,
        ban_until=pb_date(s.ban_until),
        record_ids=list(s.record_ids),
        as_of=pb_date(s.as_of),
        measure_ids=list(s.measure_ids),
    )


async def refresh_standing(*, uow: UnitOfWork, uscc: str, today: dt.date) -> CreditStanding:
    """Recompute the standing; publish CreditStandingChanged when it changed.

    A transaction-scoped lock per USCC serialises recomputations of one enterprise: a
    second transaction waits until the first commits, and its next statements then see the
    first one's records (READ COMMITTED), so the stored standing never goes backwards.
    """
    await repo.lock_standing(uow.conn, uscc)
    previous = await repo.last_standing(uow.conn, uscc)
    standing = await current_standing(uow.conn, uscc, today)
    if _changed(previous, standing):
        await repo.save_standing(uow.conn, standing)
        await uow.publish(CREDIT_STANDING.name, uscc, standing_message(standing))
        log.info(
            "credit_standing.changed", uscc=uscc, level=str(standing.level),
            ban_until=standing.ban_until.isoformat() if standing.ban_until else None,
        )  # fmt: skip
    return standing


async def refresh_all_standings(*, pool: asyncpg.Pool, source: str, today: dt.date) -> int:
    """Recompute every enterprise's standing (bans and measures run out with time).

    One transaction per enterprise, so the sweep never holds many locks at once.
    """
    async with pool.acquire() as conn:
        usccs = await repo.known_usccs(conn)
    changed = 0
    for uscc in usccs:
        async with unit_of_work(pool, source) as uow:
            await refresh_standing(uow=uow, uscc=uscc, today=today)
            changed += bool(uow.published)
    return changed


# -- cases --------------------------------------------------------------------------------


async def open_cases_from_check(
    *,
    uow: UnitOfWork,
    event_id: str,
    uscc: str,
    licence_id: str | None,
    diverted: bool,
    failure_to_report: bool,
    details: str,
    day: dt.date,
    authority: str | None = None,
) -> list[Case]:
    """Cases for an end-use check's findings (Art. 17 diversion; Art. 16 / Reg. 25 report);
    they belong to the licence's competent authority, whose officer checked it."""
    candidates: list[Case] = []
    diversion = case_from_end_use_check(
        case_id=f"case-{uuid.uuid4().hex[:12]}", uscc=uscc, event_id=event_id, completed_on=day,
        licence_id=licence_id, diversion_found=diverted, findings=details,
    )  # fmt: skip
    if diversion is not None:
        candidates.append(diversion)
    if failure_to_report:
        candidates.append(
            case_from_unreported_change(
                case_id=f"case-{uuid.uuid4().hex[:12]}",
                uscc=uscc,
                event_id=event_id,
                found_on=day,
                licence_id=licence_id,
                details=details,
            )  # fmt: skip
        )
    opened = []
    for case in candidates:
        case = dataclasses.replace(case, authority=authority or None)
        if not await repo.insert_case(uow.conn, case):
            continue
        await uow.publish(
            CREDIT_RECORD.name,
            uscc,
            events_pb2.CaseOpened(
                case_id=case.case_id,
                uscc=uscc,
                source=CASE_EVENT_SOURCE[case.source],
                licence_id=licence_id or "",
                summary=case.summary,
                opened_at=_now_ts(),
            ),
        )
        log.info("case.opened", case_id=case.case_id, uscc=uscc, source=str(case.source))
        opened.append(case)
    return opened


@dataclass(frozen=True)
class DecideCaseCmd:
    """An officer's decision on a case."""

    case_id: str
    decision: CaseStatus
    officer: str
    violation: RecordViolationCmd | None = None
    measure: RecordMeasureCmd | None = None
    authority: str | None = None  # the deciding officer's: must be the case's
    # issue 11 item 7: on DISMISSED, the APL ground of a violation not penalised
    penalty_law_ground: str | None = None
    first_violation: bool = False


def _check_penalty_path(case: Case, cmd: DecideCaseCmd) -> None:
    """Issue 11 item 7: a penalty rests on an article that fits the case (penalty rows of
    `case_penalties`); a dismissal with an Administrative Penalty Law ground is a violation not
    penalised (APL Arts. 33, 36) and must name a ground that waives."""
    if cmd.decision is CaseStatus.PENALTY_RECORDED and cmd.violation is not None:
        r = cmd.violation.record
        decision = paths.PenaltyDecision(paths.Closing.PENALTY, article=r.article,
                                         fine_fen=r.penalty.fine_fen,
                                         turnover_fen=r.turnover_fen,
                                         sanctions=frozenset(r.penalty.sanctions),
                                         serious=r.serious, ground=r.penalty_law_ground)
        # the fine and sanctions are checked with the record (validate_record)
        problems = [v for v in paths.check_decision(case.source, decision)
                    if v.field in ("article", "ground")]
        prefix = "violation."
    elif cmd.decision is CaseStatus.DISMISSED and cmd.penalty_law_ground:
        problems = paths.check_decision(case.source, paths.PenaltyDecision(
            paths.Closing.NOT_PENALISED, ground=cmd.penalty_law_ground,
            first_violation=cmd.first_violation))
        prefix = ""
    else:
        return
    if problems:
        raise ValidationFailed([FieldViolation(
            prefix + ("penalty_law_ground" if v.field == "ground" else v.field), v.reason)
            for v in problems])


async def decide_case(
    *, uow: UnitOfWork, cmd: DecideCaseCmd, ctx: LogContext
) -> tuple[Case, repo.StoredRecord | None, Measure | None]:
    """Close a case: record a penalty or a measure (nothing becomes a record otherwise)."""
    case = await repo.get_case(uow.conn, cmd.case_id, for_update=True)
    if case is None or not _same_authority(case.authority, cmd.authority):
        raise NotFound(f"case {cmd.case_id} not found")
    if case.status is not CaseStatus.OPEN:
        raise FailedPrecondition(
            f"case {case.case_id} is already {case.status}", reason="CASE_ALREADY_DECIDED"
        )
    stored: repo.StoredRecord | None = None
    measure: Measure | None = None
    outcome: str | None = None
    _check_penalty_path(case, cmd)  # issue 11 item 7 (domain/penalty_path.py)
    if cmd.decision is CaseStatus.PENALTY_RECORDED:
        if cmd.violation is None:
            raise ValidationFailed(FieldViolation("violation", "required for a penalty"))
        if cmd.violation.record.uscc != case.uscc:
            raise ValidationFailed(FieldViolation("violation.uscc", "must be the case's USCC"))
        stored = await record_violation(uow=uow, cmd=cmd.violation, ctx=ctx)
        outcome = stored.record.record_id
    elif cmd.decision is CaseStatus.MEASURE_RECORDED:
        if cmd.measure is None:
            raise ValidationFailed(FieldViolation("measure", "required for a measure"))
        if cmd.measure.measure.uscc != case.uscc:
            raise ValidationFailed(FieldViolation("measure.uscc", "must be the case's USCC"))
        measure = await record_measure(uow=uow, cmd=cmd.measure, ctx=ctx)
        outcome = measure.measure_id
    elif cmd.decision is not CaseStatus.DISMISSED:
        raise ValidationFailed(FieldViolation("decision", "must close the case"))
    try:
        decided = decide(
            case, status=cmd.decision, officer_id=cmd.officer, decided_on=ctx.today(),
            outcome_id=outcome,
            penalty_law_ground=stored.record.penalty_law_ground if stored
            else cmd.penalty_law_ground,
        )  # fmt: skip
    except CaseAlreadyDecided as exc:
        raise FailedPrecondition(str(exc), reason="CASE_ALREADY_DECIDED") from exc
    except ValueError as exc:
        raise ValidationFailed(FieldViolation("decision", str(exc))) from exc
    await repo.update_case(uow.conn, decided)
    log.info("case.decided", case_id=case.case_id, status=str(decided.status), outcome=outcome)
    return decided, stored, measure


async def list_publications(conn: asyncpg.Connection, *, uscc: str | None, after: int, size: int,
                            include_ended: bool, today: dt.date
                            ) -> tuple[list[pub.FeedEntry], int]:
    """Up to `size` feed entries after log position `after` (those still shown unless
    `include_ended`); returns them and the position to continue after (-1: no more)."""
    out: list[pub.FeedEntry] = []
    while len(out) < size:
        rows = await logstore.list_entries(conn, uscc=uscc, after=after, limit=size)
        if not rows:
            return out, -1
        repairs = await repo.publications_of(conn, [r.record_id for r in rows])
        for r in rows:
            after = r.seq
            try:
                body = decode_entry(r.canonical).body
            except CanonicalError:
                body = None
            p = repairs.get(r.record_id)
            entry = pub.feed_entry(r.seq, r.kind, r.record_id, r.uscc, r.canonical, body,
                                   p.repaired_on if p else None, today)
            if include_ended or entry.shown:
                out.append(entry)
            if len(out) >= size:
                break
    return out, after
