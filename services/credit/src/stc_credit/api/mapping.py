"""Proto <-> domain mapping for stc.credit.v1 (no SQL, no business rules)."""

from __future__ import annotations

import datetime as dt
import uuid

from google.type import date_pb2
from stc.credit.v1 import credit_pb2, credit_service_pb2
from stc_common.errors import FieldViolation, ValidationFailed, ViolationCollector

from stc_credit.domain.penalties import Article, Sanction
from stc_credit.domain.publication import FeedEntry
from stc_credit.domain.records import (
    Case,
    CaseStatus,
    CreditRecord,
    Measure,
    MeasureKind,
    Penalty,
    PersonBan,
    ResponsiblePerson,
)
from stc_credit.domain.standing import CreditStanding
from stc_credit.events.outgoing import LEVELS, pb_date
from stc_credit.service.commands import RecordMeasureCmd, RecordViolationCmd
from stc_credit.service.publication import RecordView

_MEASURE_KINDS = {
    credit_pb2.MEASURE_KIND_WARNING_LETTER: MeasureKind.WARNING_LETTER,
    credit_pb2.MEASURE_KIND_SUPERVISORY_TALK: MeasureKind.SUPERVISORY_TALK,
}
_MEASURE_PB = {v: k for k, v in _MEASURE_KINDS.items()}
CASE_STATUS = {
    credit_pb2.CASE_STATUS_OPEN: CaseStatus.OPEN,
    credit_pb2.CASE_STATUS_PENALTY_RECORDED: CaseStatus.PENALTY_RECORDED,
    credit_pb2.CASE_STATUS_MEASURE_RECORDED: CaseStatus.MEASURE_RECORDED,
    credit_pb2.CASE_STATUS_DISMISSED: CaseStatus.DISMISSED,
}
_CASE_PB = {v: k for k, v in CASE_STATUS.items()}


def to_date(value: date_pb2.Date, field: str, errors: ViolationCollector) -> dt.date | None:
    """A google.type.Date as a date; a violation when unset or impossible."""
    if value.year == 0 and value.month == 0 and value.day == 0:
        errors.add(field, "required")
        return None
    try:
        return dt.date(value.year, value.month, value.day)
    except ValueError as exc:
        errors.add(field, f"not a calendar date: {exc}")
        return None


def violation_cmd(
    req: credit_service_pb2.RecordViolationRequest,
    officer: str,
    *,
    prefix: str = "",
    case_id: str | None = None,
) -> RecordViolationCmd:
    """The command of a RecordViolation request; ValidationFailed on malformed fields."""
    errors = ViolationCollector()
    p = prefix
    article: Article | None = None
    try:
        article = Article(req.article)
    except ValueError:
        errors.add(f"{p}article", f"{req.article!r} is not a penalty article of ECL Arts. 33-38")
    sanctions: set[Sanction] = set()
    for i, s in enumerate(req.penalty.sanctions):
        try:
            sanctions.add(Sanction(s))
        except ValueError:
            errors.add(f"{p}penalty.sanctions[{i}]", f"unknown sanction {s!r}")
    for name in ("fine_fen", "confiscated_fen"):
        if getattr(req.penalty, name) < 0:
            errors.add(f"{p}penalty.{name}", "must not be negative")
    if req.turnover_fen < 0:
        errors.add(f"{p}turnover_fen", "must not be negative")
    decision = to_date(req.decision_date, f"{p}decision_date", errors)
    effective = to_date(req.effective_date, f"{p}effective_date", errors)
    if req.publicity_months < 0:
        errors.add(f"{p}publicity_months", "must not be negative")
    for i, person in enumerate(req.responsible_persons):
        errors.require(bool(person.name.strip()), f"{p}responsible_persons[{i}].name", "required")
    errors.require(bool(req.request_id.strip()), f"{p}request_id", "required (idempotency key)")
    errors.raise_if_any()
    assert article is not None and decision is not None and effective is not None
    record = CreditRecord(
        record_id=f"cr-{uuid.uuid4().hex[:16]}",
        uscc=req.uscc.strip().upper(),
        enterprise_name=req.enterprise_name,
        article=article,
        decision_no=req.decision_no,
        decision_sha256=req.decision_sha256.lower(),
        penalty=Penalty.of(
            *sanctions,
            fine_fen=req.penalty.fine_fen or None,
            confiscated_fen=req.penalty.confiscated_fen or None,
        ),
        decision_date=decision,
        effective_date=effective,
        decided_by=officer,
        turnover_fen=req.turnover_fen or None,
        serious=req.serious,
        application_ban_months=req.application_ban_months,
        responsible_persons=tuple(
            ResponsiblePerson(x.name, x.id_number, x.criminally_convicted)
            for x in req.responsible_persons
        ),
    )
    return RecordViolationCmd(
        request_id=req.request_id, record=record,
        publicity_months=req.publicity_months or None, case_id=case_id,
        publication_hold=req.publication_hold_reason.strip() or None,
    )  # fmt: skip


def measure_cmd(
    req: credit_service_pb2.RecordMeasureRequest,
    officer: str,
    *,
    prefix: str = "",
    case_id: str | None = None,
) -> RecordMeasureCmd:
    """The command of a RecordMeasure request."""
    errors = ViolationCollector()
    kind = _MEASURE_KINDS.get(req.kind)
    errors.require(kind is not None, f"{prefix}kind", "warning letter or supervisory talk")
    issued = to_date(req.issued_on, f"{prefix}issued_on", errors)
    errors.require(bool(req.request_id.strip()), f"{prefix}request_id", "required")
    errors.raise_if_any()
    assert kind is not None and issued is not None
    m = Measure(
        f"ms-{uuid.uuid4().hex[:16]}",
        req.uscc.strip().upper(),
        kind,
        req.reference,
        issued,
        officer,
    )
    return RecordMeasureCmd(req.request_id, m, case_id)


def case_decision(
    req: credit_service_pb2.DecideCaseRequest, officer: str
) -> tuple[CaseStatus, RecordViolationCmd | None, RecordMeasureCmd | None]:
    """The decision of a DecideCase request and the penalty or measure it records."""
    decision = CASE_STATUS.get(req.decision)
    if decision is None or decision is CaseStatus.OPEN:
        raise ValidationFailed(
            FieldViolation("decision", "PENALTY_RECORDED, MEASURE_RECORDED or DISMISSED")
        )
    if decision is CaseStatus.PENALTY_RECORDED:
        return decision, violation_cmd(req.violation, officer, prefix="violation.",
                                       case_id=req.case_id), None
    if decision is CaseStatus.MEASURE_RECORDED:
        return decision, None, measure_cmd(req.measure, officer, prefix="measure.",
                                           case_id=req.case_id)
    return decision, None, None


def record_pb(view: RecordView, *, with_persons: bool) -> credit_pb2.CreditRecord:
    """A stored record as the API shows it; persons only for officers and auditors."""
    s, publication = view.stored, view.publication
    r = s.record
    msg = credit_pb2.CreditRecord(
        name=f"creditRecords/{r.record_id}",
        record_id=r.record_id,
        uscc=r.uscc,
        enterprise_name=r.enterprise_name,
        article=str(r.article),
        decision_no=r.decision_no,
        decision_sha256=r.decision_sha256,
        penalty=credit_pb2.Penalty(
            sanctions=sorted(str(x) for x in r.penalty.sanctions),
            fine_fen=r.penalty.fine_fen or 0,
            confiscated_fen=r.penalty.confiscated_fen or 0,
        ),
        turnover_fen=r.turnover_fen or 0,
        serious=r.serious,
        application_ban=r.application_ban,
        application_ban_months=r.application_ban_months,
        decision_date=pb_date(r.decision_date),
        effective_date=pb_date(r.effective_date),
        ban_until=pb_date(r.ban_until()),
        publication_deadline=pb_date(s.publication_deadline),
        decided_by=r.decided_by,
    )
    if publication is not None:
        msg.published = True
        msg.leaf_index = publication.leaf_index
        msg.published_on.CopyFrom(pb_date(publication.published_on))
        msg.publicity_ends_on.CopyFrom(pb_date(publication.publicity_ends_on))
        if publication.repaired_on is not None:
            msg.repaired_on.CopyFrom(pb_date(publication.repaired_on))
    if with_persons:
        msg.publication_hold_reason = s.publication_hold or ""
        msg.responsible_persons.extend(
            credit_pb2.ResponsiblePerson(
                name=p.name, id_number=p.id_number, criminally_convicted=p.criminally_convicted
            )
            for p in r.responsible_persons
        )
    return msg


def person_ban_pb(record: CreditRecord, ban: PersonBan, today: dt.date) -> credit_pb2.PersonBan:
    """A responsible person's Art. 39 ban as officers and auditors see it."""
    msg = credit_pb2.PersonBan(
        record_id=record.record_id, uscc=record.uscc, enterprise_name=record.enterprise_name,
        article=str(record.article), decision_no=record.decision_no, name=ban.person.name,
        id_number=ban.person.id_number, criminally_convicted=ban.person.criminally_convicted,
        banned_from=pb_date(record.effective_date), for_life=ban.for_life,
        in_force=ban.in_force(today),
    )  # fmt: skip
    if ban.until is not None:
        msg.until.CopyFrom(pb_date(ban.until))
    return msg


def measure_pb(m: Measure) -> credit_pb2.Measure:
    """A measure as the API shows it."""
    return credit_pb2.Measure(
        name=f"measures/{m.measure_id}", measure_id=m.measure_id, uscc=m.uscc,
        kind=_MEASURE_PB[m.kind], reference=m.reference, issued_on=pb_date(m.issued_on),
        decided_by=m.decided_by,
    )  # fmt: skip


def case_pb(c: Case) -> credit_pb2.Case:
    """A case as the API shows it."""
    msg = credit_pb2.Case(
        name=f"cases/{c.case_id}", case_id=c.case_id, uscc=c.uscc, source=str(c.source),
        licence_id=c.licence_id or "", summary=c.summary, status=_CASE_PB[c.status],
        opened_on=pb_date(c.opened_on), decided_by=c.decided_by or "",
        outcome_id=c.outcome_id or "",
    )  # fmt: skip
    if c.decided_on is not None:
        msg.decided_on.CopyFrom(pb_date(c.decided_on))
    return msg


def standing_pb(s: CreditStanding) -> credit_pb2.CreditStanding:
    """A standing as the API shows it."""
    msg = credit_pb2.CreditStanding(
        uscc=s.uscc, level=LEVELS[s.level], active_records=s.active_records,
        record_ids=list(s.record_ids), measure_ids=list(s.measure_ids), as_of=pb_date(s.as_of),
    )  # fmt: skip
    if s.ban_until is not None:
        msg.ban_until.CopyFrom(pb_date(s.ban_until))
    return msg


def publication_pb(e: FeedEntry) -> credit_pb2.Publication:
    """A feed entry as the publicity feed lists it."""
    msg = credit_pb2.Publication(leaf_index=e.seq, kind=e.kind, record_id=e.record_id,
                                 uscc=e.uscc, canonical=e.canonical, shown=e.shown)
    if e.published_on is not None:
        msg.published_on.CopyFrom(pb_date(e.published_on))
    if e.last_day_shown is not None:
        msg.publicity_ends_on.CopyFrom(pb_date(e.last_day_shown))
    return msg

