"""Use cases of the law's procedures and of officer discretion (issue 11, items 1, 2, 4).
The other use cases call in at a few places:

- `after_assessment` (from `assessment.assess_application`): an application involving a
  watch-listed party is not bound by the Reg. 17 time limit (Reg. 26); the exemption is stored
  and shown on the application (`time_limit_exemption`, no deadline) and the ticker raises no
  DeadlineApproaching/DeadlineBreached for it (`time_limit_exempt`, from service/deadlines.py).
- `check_decision` / `record_decision` (from `review.decide_application`): the officer's
  judgement of every finding (domain/discretion.py), the guards of Arts. 18, 23, 24 and 39,
  and the decision record (migration 0010, `decision_records`).
- `refer_application` / `end_referral`: referral to the State Council (Reg. 17) or, for a
  major military export, to the State Council and the Central Military Commission (Art. 24);
  the clock stops (a pause of kind REFERRAL) until it ends.
- `record_military_approval`: Art. 24, the export programme and the contract approved before
  a military licence.
- `accept_application` / `return_application` / `resubmit_application`: the acceptance step
  (Reg. 17; domain/procedures.py): formal acceptance, or a return for missing materials
  before it (state RETURNED, no clock), and the resubmission that starts the clock.
- `get_application` / `with_procedures`: the application with its procedures' fields.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

from stc_common.auth.jwt import Principal
from stc_common.errors import FailedPrecondition, FieldViolation, ValidationFailed
from stc_common.logging import get_logger

from stc_licensing import wire
from stc_licensing.domain import discretion as discretion_rules
from stc_licensing.domain import inputs as domain_inputs
from stc_licensing.domain import procedures as procedure_rules
from stc_licensing.domain import special_cases as special_case_rules
from stc_licensing.domain.assessment import AssessmentSnapshot
from stc_licensing.domain.canonical import from_plain
from stc_licensing.domain.clock import PauseKind, end_pause, open_pause, start_pause
from stc_licensing.domain.model import ApplicationContent, ApplicationState
from stc_licensing.domain.states import (
    CLOCK_STATES,
    PENDING_STATES,
    Action,
    check_amendment,
    transition,
)
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.service.applications import check_content
from stc_licensing.service.views import ApplicationView
from stc_licensing.storage.ports import AppRow, DecisionRecord, LicensingUnitOfWork

log = get_logger("stc_licensing.service.procedures")


def _content(row: AppRow) -> ApplicationContent:
    return wire.content_to_domain_from_json(row.content)


async def with_procedures(uow: LicensingUnitOfWork, view: ApplicationView) -> ApplicationView:
    """The view with the application's stored procedures."""
    return replace(view, procedures=await uow.procedures.get(view.application.id))


async def get_application(*, uow: LicensingUnitOfWork, caller: Principal,
                          cmd: commands.GetApplication) -> ApplicationView:
    """One application the caller may see, with its procedures."""
    row = common.visible_application(caller, await uow.applications.get(cmd.application_id))
    return await with_procedures(uow, common.application_view(row))


# --------------------------------------------------------------------------- Reg. 26


async def after_assessment(uow: LicensingUnitOfWork, application_id: str,
                           screening: domain_inputs.ScreeningOutcome) -> None:
    """Reg. 26: a party on the watch list frees the decision from the Reg. 17 time limit."""
    watch_listed = any(h.list_kind == domain_inputs.ListKind.PRC_WATCH_LIST
                       for h in screening.party_hits)
    exemption = special_case_rules.time_limit_exemption(watch_listed)
    if not exemption:
        return
    procs = await uow.procedures.get(application_id, for_update=True)
    if procs.time_limit_exemption != exemption:
        await uow.procedures.save(replace(procs, time_limit_exemption=exemption))


async def time_limit_exempt(uow: LicensingUnitOfWork, application_id: str) -> bool:
    """Whether the Reg. 17 time limit does not bind the application (the ticker skips it)."""
    return bool((await uow.procedures.get(application_id)).time_limit_exemption)


# --------------------------------------------------------------------------- discretion


@dataclass(frozen=True)
class DecisionContext:
    """What `check_decision` found: the recommendation and the judgements to record."""

    recommendation: str  # the Recommendation name the officer had
    assessment_id: str
    judgements: tuple[discretion_rules.Judgement, ...]
    procedures: procedure_rules.Procedures  # as read (locked) for the guards


async def _findings(uow: LicensingUnitOfWork, assessment_id: str,
                    factors: list[tuple[str, bool]]) -> list[discretion_rules.FindingView]:
    """The newest assessment's findings with their levels, replayed from its snapshot under
    its own policy version; from the factor levels where it has no snapshot."""
    rec = await uow.assessments.record(assessment_id)
    if rec and rec.get("inputs") and rec.get("policy_content"):
        policy = common.stored_policy(rec["policy_content"])
        again = from_plain(AssessmentSnapshot, json.loads(rec["inputs"])).replay(policy)
        return [discretion_rules.FindingView(f.code, f.level.value)
                for fa in again.factors for f in fa.findings]
    return [discretion_rules.FindingView(code, "PROHIBITIVE" if prohibitive else "CONCERN")
            for code, prohibitive in factors]


async def check_decision(uow: LicensingUnitOfWork, row: AppRow, approving: bool,
                         given: tuple[discretion_rules.Judgement, ...]) -> DecisionContext:
    """The guards the law sets on a decision and the officer's judgements of the findings
    (domain/discretion.py, domain/procedures.py). Raises FAILED_PRECONDITION naming the
    article, or INVALID_ARGUMENT on `finding_judgements`."""
    procs = await uow.procedures.get(row.id, for_update=True)
    if procs.referral is not None and procs.referral.open:
        raise FailedPrecondition(
            f"the case is referred to {procs.referral.body.value} (Reg. 17, Art. 24); end the "
            "referral with its outcome before deciding", reason="REFERRAL_OPEN")
    raw = await uow.assessments.latest(row.id, with_record=True)  # `_findings` reads it
    latest = wire.assessment_summary(raw) if raw else None
    findings = await _findings(uow, latest.assessment_id, latest.findings) \
        if latest is not None else []
    ruling = discretion_rules.judge(findings, list(given), approving=approving)
    if ruling.forbidden:
        raise FailedPrecondition(
            "the law forbids this approval whatever the officer's judgement: "
            + "; ".join(f"{code}: {article}" for code, article in ruling.forbidden),
            reason="APPROVAL_FORBIDDEN_BY_LAW")
    content = _content(row)
    if approving:
        found = await uow.operators.get(row.exporter_uscc)
        gap = discretion_rules.military_qualification_gap(
            content.regime, found[0].military_qualification if found else None,
            [(i.control_code, i.description) for i in content.items], common.today())
        if gap:
            raise FailedPrecondition(f"no military export licence: {gap}",
                                     reason="MILITARY_QUALIFICATION_REQUIRED")
        missing = procedure_rules.missing_military_approvals(content.regime, procs)
        if missing:
            raise FailedPrecondition(
                "Art. 24: the export programme and the contract are approved before a military "
                "export licence; missing: " + ", ".join(k.value for k in missing),
                reason="MILITARY_APPROVAL_REQUIRED")
    if ruling.violations:
        raise ValidationFailed([FieldViolation(f, r) for f, r in ruling.violations])
    return DecisionContext(latest.recommendation if latest is not None
                           else "RECOMMENDATION_UNSPECIFIED",
                           latest.assessment_id if latest is not None else "",
                           tuple(ruling.judgements), procs)


async def record_decision(uow: LicensingUnitOfWork, row: AppRow, officer: str, decision: str,
                          ctx: DecisionContext, at: dt.datetime) -> None:
    """Keep the decision with the recommendation and every judgement (decision_records)."""
    await uow.procedures.add_decision(DecisionRecord(
        row.id, at, officer, decision, ctx.recommendation,
        ctx.assessment_id, ctx.judgements))
    overridden = [j.code for j in ctx.judgements
                  if j.verdict == discretion_rules.Verdict.OVERRIDDEN]
    log.info("application.decision_recorded", application_id=row.id, overridden=overridden)


# --------------------------------------------------------------------------- referrals, Art. 24


async def _officer_case(uow: LicensingUnitOfWork, caller: Principal,
                        application_id: str) -> AppRow:
    row = common.visible_application(
        caller, await uow.applications.get(application_id, for_update=True))
    common.require_competent(caller, row.authority)
    return row


def _refused(exc: procedure_rules.ProcedureRefused) -> FailedPrecondition:
    return FailedPrecondition(str(exc), reason=exc.reason)


async def refer_application(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.ReferApplication) -> ApplicationView:
    """Refer a case under review to the State Council (Reg. 17) or, a major military export,
    to the State Council and the Central Military Commission (Art. 24); the clock stops."""
    reason = cmd.reason.strip()
    violations = []
    if cmd.body is None:
        violations.append(FieldViolation("body", "STATE_COUNCIL or STATE_COUNCIL_AND_CMC"))
    if not reason:
        violations.append(FieldViolation("reason", "a referral states why (Reg. 17, Art. 24)"))
    if violations:
        raise ValidationFailed(violations)
    assert cmd.body is not None
    row = await _officer_case(uow, caller, cmd.application_id)
    if row.state not in (ApplicationState.UNDER_REVIEW, ApplicationState.RECONSIDERATION):
        raise FailedPrecondition(f"a case under review is referred; this one is "
                                 f"{row.state.value}", reason="ILLEGAL_TRANSITION")
    day = common.today()
    try:
        procs = procedure_rules.refer(await uow.procedures.get(row.id, for_update=True),
                                      _content(row).regime, cmd.body, reason,
                                      day, caller.subject)
    except procedure_rules.ProcedureRefused as exc:
        raise _refused(exc) from exc
    assert procs.referral is not None
    if open_pause(row.pauses, PauseKind.REFERRAL) is None:
        row.pauses = start_pause(row.pauses, PauseKind.REFERRAL, day)
    await uow.procedures.save(procs)
    view = await common.record_step(uow, row, "REFERRED", f"referred to {cmd.body.value} "
                                    f"(the clock stops): {reason}")
    await publish(uow, outgoing.application_referred(row, procs.referral))
    log.info("application.referred", application_id=row.id, body=cmd.body.value)
    return replace(view, procedures=procs)


async def end_referral(*, uow: LicensingUnitOfWork, caller: Principal,
                       cmd: commands.EndReferral) -> ApplicationView:
    """The referral answered: the outcome recorded, the clock runs again (a State Council
    referral of a dual-use case stays free of the time limit, Reg. 17)."""
    outcome = cmd.outcome.strip()
    if not outcome:
        raise ValidationFailed(FieldViolation("outcome", "the referral's outcome is required"))
    row = await _officer_case(uow, caller, cmd.application_id)
    day = common.today()
    try:
        procs = procedure_rules.end_referral(await uow.procedures.get(row.id, for_update=True),
                                             outcome, day)
    except procedure_rules.ProcedureRefused as exc:
        raise _refused(exc) from exc
    assert procs.referral is not None
    if open_pause(row.pauses, PauseKind.REFERRAL) is not None:
        row.pauses = end_pause(row.pauses, PauseKind.REFERRAL, day)
    await uow.procedures.save(procs)
    view = await common.record_step(uow, row, "REFERRAL_ENDED", f"referral ended: {outcome}")
    await publish(uow, outgoing.referral_ended(row, procs.referral))
    return replace(view, procedures=procs)


async def record_military_approval(*, uow: LicensingUnitOfWork, caller: Principal,
                                   cmd: commands.RecordMilitaryApproval) -> ApplicationView:
    """Art. 24: record the approval of the export programme or the contract (SASTIND, the
    competent authority of military cases)."""
    ref = cmd.document_ref.strip()
    violations = []
    if cmd.kind is None:
        violations.append(FieldViolation("kind", "EXPORT_PROGRAMME or CONTRACT"))
    if not ref:
        violations.append(FieldViolation("document_ref", "the approval document's reference"))
    if violations:
        raise ValidationFailed(violations)
    assert cmd.kind is not None
    row = await _officer_case(uow, caller, cmd.application_id)
    if row.state not in PENDING_STATES:
        raise FailedPrecondition(f"approvals are recorded before the decision; the case is "
                                 f"{row.state.value}", reason="ILLEGAL_TRANSITION")
    approval = procedure_rules.MilitaryApproval(cmd.kind, ref, common.today(), caller.subject)
    try:
        procs = procedure_rules.record_military_approval(
            await uow.procedures.get(row.id, for_update=True),
            _content(row).regime, approval)
    except procedure_rules.ProcedureRefused as exc:
        raise _refused(exc) from exc
    await uow.procedures.save(procs)
    view = await common.record_step(uow, row, "MILITARY_APPROVAL",
                                    f"Art. 24: {cmd.kind.value} approved ({ref})")
    await publish(uow, outgoing.military_approval_recorded(row, approval))
    return replace(view, procedures=procs)


# --------------------------------------------------------------------------- acceptance step


async def accept_application(*, uow: LicensingUnitOfWork, caller: Principal,
                             cmd: commands.AcceptApplication) -> ApplicationView:
    """The officer formally accepts the application (Reg. 17: the clock runs from its
    acceptance day, the submission day or the resubmission day after a return)."""
    row = await _officer_case(uow, caller, cmd.application_id)
    if row.state not in CLOCK_STATES:
        raise FailedPrecondition(f"a pending application is accepted; this one is "
                                 f"{row.state.value}", reason="ILLEGAL_TRANSITION")
    try:
        procs = procedure_rules.accept(await uow.procedures.get(row.id, for_update=True),
                                       common.today(), caller.subject)
    except procedure_rules.ProcedureRefused as exc:
        raise _refused(exc) from exc
    await uow.procedures.save(procs)
    view = replace(await common.record_step(
        uow, row, "ACCEPTED", f"accepted (Reg. 17: the clock runs from "
        f"{row.accepted_on.isoformat()})"), procedures=procs)
    deadline = None if procs.time_limit_exemption else view.clock.deadline
    await publish(uow, outgoing.application_accepted(row, procs.acceptance, deadline))
    return view


async def return_application(*, uow: LicensingUnitOfWork, caller: Principal,
                             cmd: commands.ReturnApplication) -> ApplicationView:
    """The officer returns an application for missing materials before accepting it: state
    RETURNED, the clock has not started (Reg. 17)."""
    missing = tuple(x.strip() for x in cmd.missing_materials if x.strip())
    if not missing:
        raise ValidationFailed(FieldViolation("missing_materials",
                                              "name at least one missing material"))
    row = await _officer_case(uow, caller, cmd.application_id)
    try:
        procs = procedure_rules.return_for_materials(
            await uow.procedures.get(row.id, for_update=True), missing, common.today(),
            caller.subject)
    except procedure_rules.ProcedureRefused as exc:
        raise _refused(exc) from exc
    row.state = transition(row.state, Action.RETURN)
    await uow.procedures.save(procs)
    view = await common.record_step(uow, row, "RETURNED",
                                    "returned for missing materials: " + "; ".join(missing))
    await publish(uow, outgoing.application_returned(row, procs.acceptance))
    log.info("application.returned", application_id=row.id)
    return replace(view, procedures=procs)


async def resubmit_application(*, uow: LicensingUnitOfWork, caller: Principal,
                               cmd: commands.ResubmitApplication) -> ApplicationView:
    """The exporter resubmits a returned application with the missing materials: screened
    again (ApplicationAmended, which screening consumes) and accepted that day, so the Reg. 17
    clock starts then (ApplicationResubmitted). Key elements may not change."""
    if cmd.content is None or cmd.content_json is None:
        raise ValidationFailed(FieldViolation("content", "the completed application"))
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    new_state = transition(row.state, Action.RESUBMIT)
    check_amendment(_content(row), cmd.content)  # RE_APPLY on a key element
    day = common.today()
    await check_content(uow, cmd.content, row.exporter_uscc, day)
    row.state, row.accepted_on, row.pauses = new_state, day, ()
    row.content = cmd.content_json
    row.warning_reported = row.breach_reported = False
    note = cmd.note.strip()
    await uow.procedures.set_accepted_on(row.id, day)
    view = await common.record_step(uow, row, "RESUBMITTED",
                                    f"resubmitted with the missing materials; accepted "
                                    f"{day.isoformat()}" + (f": {note}" if note else ""))
    procs = await uow.procedures.get(row.id)
    await publish(uow, outgoing.application_amended(row, note, common.now()))
    await publish(uow, outgoing.application_resubmitted(row, day, view.clock.deadline))
    log.info("application.resubmitted", application_id=row.id)
    return replace(view, procedures=procs)
