"""Case use cases: end-use check findings open cases; an officer decides each one.

A case never becomes a credit record by itself: an officer closes it with a penalty
(Arts. 33-38), a measure (Art. 30) or a dismissal. Cases come from enduser's
EndUseCheckCompleted: diversion found (Art. 17 end-use checks) or a change not reported
(Art. 16; Regulations Art. 25). A case belongs to the competent authority of the licence
whose check opened it; another authority's officer finds nothing.
"""

from __future__ import annotations

import dataclasses
import uuid

from stc_common.errors import FailedPrecondition, FieldViolation, NotFound, ValidationFailed
from stc_common.kafka.topics import CREDIT_RECORD
from stc_common.logging import get_logger

from stc_credit.domain.records import (
    Case,
    CaseAlreadyDecided,
    CaseStatus,
    Measure,
    case_from_end_use_check,
    case_from_unreported_change,
)
from stc_credit.domain.records import decide_case as decide
from stc_credit.events import outgoing
from stc_credit.service.commands import (
    DecideCaseCmd,
    ListCasesQuery,
    LogContext,
    OpenCasesFromCheckCmd,
)
from stc_credit.service.publication import RecordView, same_authority
from stc_credit.service.records import record_measure, record_violation
from stc_credit.storage.uow import CreditUnitOfWork

log = get_logger("stc_credit.service.cases")


def _case_id() -> str:
    return f"case-{uuid.uuid4().hex[:12]}"


async def open_cases_from_check(*, uow: CreditUnitOfWork, cmd: OpenCasesFromCheckCmd
                                ) -> list[Case]:
    """Cases for an end-use check's findings (Art. 17 diversion; Art. 16 / Reg. 25 report);
    they belong to the licence's competent authority, whose officer checked it. An event
    seen before opens nothing again."""
    candidates: list[Case] = []
    diversion = case_from_end_use_check(
        case_id=_case_id(), uscc=cmd.uscc, event_id=cmd.event_id, completed_on=cmd.day,
        licence_id=cmd.licence_id, diversion_found=cmd.diverted, findings=cmd.details,
    )  # fmt: skip
    if diversion is not None:
        candidates.append(diversion)
    if cmd.failure_to_report:
        candidates.append(case_from_unreported_change(
            case_id=_case_id(), uscc=cmd.uscc, event_id=cmd.event_id, found_on=cmd.day,
            licence_id=cmd.licence_id, details=cmd.details,
        ))  # fmt: skip
    opened = []
    for case in candidates:
        case = dataclasses.replace(case, authority=cmd.authority or None)
        if not await uow.cases.add(case):
            continue
        await uow.publish(CREDIT_RECORD.name, cmd.uscc, outgoing.case_opened(case))
        log.info("case.opened", case_id=case.case_id, uscc=cmd.uscc, source=str(case.source))
        opened.append(case)
    return opened


@dataclasses.dataclass(frozen=True)
class CaseDecided:
    """A decided case and what its decision recorded (a penalty, a measure, or nothing)."""

    case: Case
    record: RecordView | None = None
    measure: Measure | None = None


async def decide_case(*, uow: CreditUnitOfWork, cmd: DecideCaseCmd, ctx: LogContext
                      ) -> CaseDecided:
    """Close a case: record a penalty or a measure (nothing becomes a record otherwise)."""
    if cmd.decision is CaseStatus.OPEN:
        raise ValidationFailed(
            FieldViolation("decision", "PENALTY_RECORDED, MEASURE_RECORDED or DISMISSED"))
    case = await uow.cases.get(cmd.case_id, for_update=True)
    if case is None or not same_authority(case.authority, cmd.authority):
        raise NotFound(f"case {cmd.case_id} not found")
    if case.status is not CaseStatus.OPEN:
        raise FailedPrecondition(
            f"case {case.case_id} is already {case.status}", reason="CASE_ALREADY_DECIDED"
        )
    record: RecordView | None = None
    measure: Measure | None = None
    outcome: str | None = None
    if cmd.decision is CaseStatus.PENALTY_RECORDED:
        if cmd.violation is None:
            raise ValidationFailed(FieldViolation("violation", "required for a penalty"))
        if cmd.violation.record.uscc != case.uscc:
            raise ValidationFailed(FieldViolation("violation.uscc", "must be the case's USCC"))
        record = await record_violation(uow=uow, cmd=cmd.violation, ctx=ctx)
        outcome = record.stored.record.record_id
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
        )  # fmt: skip
    except CaseAlreadyDecided as exc:
        raise FailedPrecondition(str(exc), reason="CASE_ALREADY_DECIDED") from exc
    except ValueError as exc:
        raise ValidationFailed(FieldViolation("decision", str(exc))) from exc
    await uow.cases.update(decided)
    log.info("case.decided", case_id=case.case_id, status=str(decided.status), outcome=outcome)
    return CaseDecided(decided, record, measure)


async def list_cases(*, uow: CreditUnitOfWork, query: ListCasesQuery) -> tuple[list[Case], bool]:
    """A page of cases (of one authority, for an officer), and whether more follow."""
    cases = await uow.cases.list(open_only=query.open_only, offset=query.offset,
                                 limit=query.size + 1, authority=query.authority)
    return cases[:query.size], len(cases) > query.size
