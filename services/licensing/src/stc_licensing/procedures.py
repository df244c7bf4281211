"""Use cases of the law's procedures and of officer discretion (issue 11, items 1, 2, 4), kept
apart from `service.py`, which calls in through a few delimited hooks:

- `after_assessment` (from `service.assess_application`): an application involving a
  watch-listed party is not bound by the Reg. 17 time limit (Reg. 26); the exemption is stored
  and shown on the application (`time_limit_exemption`, no deadline) and the ticker raises no
  DeadlineApproaching/DeadlineBreached for it (`time_limit_exempt`).
- `check_decision` / `record_decision` (from `service.decide_application`): the officer's
  judgement of every finding (domain/discretion.py), the guards of Art. 18, 23, 24 and 39,
  and the decision record (migration 0010, `decision_records`).
- `refer_application` / `end_referral`: referral to the State Council (Reg. 17) or, for a
  major military export, to the State Council and the Central Military Commission (Art. 24);
  the clock stops (a pause of kind REFERRAL) until it ends.
- `record_military_approval`: Art. 24, the export programme and the contract approved before
  a military licence.
- `accept_application` / `return_application` / `resubmit_application`: the acceptance step
  (Reg. 17; domain/procedures.py): formal acceptance, or a return for missing materials
  before it (state RETURNED, no clock), and the resubmission that starts the clock.
- `decorate`: the procedures' fields on an Application resource.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import assessment_pb2, events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.auth.jwt import Principal
from stc_common.db.uow import UnitOfWork
from stc_common.errors import FailedPrecondition, FieldViolation, ValidationFailed
from stc_common.kafka.topics import APPLICATION
from stc_common.logging import get_logger

from stc_licensing import service as svc
from stc_licensing.api import mapping as m
from stc_licensing.domain import discretion as dd
from stc_licensing.domain import inputs as di
from stc_licensing.domain import procedures as dp
from stc_licensing.domain import special_cases as dsc
from stc_licensing.domain.assessment import AssessmentSnapshot
from stc_licensing.domain.canonical import from_plain
from stc_licensing.domain.clock import PauseKind, end_pause, open_pause, start_pause
from stc_licensing.domain.errors import SubmissionInvalid
from stc_licensing.domain.policy import Policy
from stc_licensing.domain.states import Action, check_amendment, transition
from stc_licensing.domain.validation import validate_submission
from stc_licensing.storage.procedures import DecisionRecord, procedures_store
from stc_licensing.storage.repository import repository as _repo

log = get_logger("stc_licensing.procedures")

_BODY = {apb.REFERRAL_BODY_STATE_COUNCIL: dp.ReferralBody.STATE_COUNCIL,
         apb.REFERRAL_BODY_STATE_COUNCIL_AND_CMC: dp.ReferralBody.STATE_COUNCIL_AND_CMC}
_BODY_PB = {v: k for k, v in _BODY.items()}
_APPROVAL = {apb.MILITARY_APPROVAL_KIND_EXPORT_PROGRAMME: dp.MilitaryApprovalKind.EXPORT_PROGRAMME,
             apb.MILITARY_APPROVAL_KIND_CONTRACT: dp.MilitaryApprovalKind.CONTRACT}
_APPROVAL_PB = {v: k for k, v in _APPROVAL.items()}
_VERDICT = {events_pb2.FINDING_VERDICT_ACCEPTED: dd.Verdict.ACCEPTED,
            events_pb2.FINDING_VERDICT_OVERRIDDEN: dd.Verdict.OVERRIDDEN}
_VERDICT_PB = {v: k for k, v in _VERDICT.items()}


# --------------------------------------------------------------------------- mapping


def referral_to_pb(r: dp.Referral) -> apb.Referral:
    """The Referral message of a domain referral."""
    return apb.Referral(body=_BODY_PB[r.body], reason=r.reason,
                        referred_on=m.date_to_pb(r.referred_on),
                        ended_on=m.date_to_pb(r.ended_on), outcome=r.outcome, officer=r.officer)


def approval_to_pb(a: dp.MilitaryApproval) -> apb.MilitaryApproval:
    """The MilitaryApproval message of a domain approval."""
    return apb.MilitaryApproval(kind=_APPROVAL_PB[a.kind], document_ref=a.document_ref,
                                approved_on=m.date_to_pb(a.approved_on), officer=a.officer)


def judgement_to_pb(j: dd.Judgement) -> events_pb2.FindingJudgement:
    """The FindingJudgement message of a domain judgement."""
    return events_pb2.FindingJudgement(code=j.code, verdict=_VERDICT_PB.get(j.verdict, 0),
                                       reason=j.reason)


def apply_to_pb(pb: apb.Application, procs: dp.Procedures) -> apb.Application:
    """Set the procedures' fields on an Application (no deadline while it is exempt)."""
    if procs.time_limit_exemption:
        pb.time_limit_exemption = procs.time_limit_exemption
        pb.ClearField("deadline")
        pb.deadline_exact = False
        pb.working_days_remaining = 0
    if procs.referral is not None:
        pb.referral.CopyFrom(referral_to_pb(procs.referral))
    pb.military_approvals.extend(approval_to_pb(a) for a in procs.military_approvals)
    acc = procs.acceptance
    if acc != dp.Acceptance():
        pb.acceptance.CopyFrom(acceptance_to_pb(acc))
    if pb.state == apb.APPLICATION_STATE_RETURNED:  # the clock has not started (Reg. 17)
        pb.ClearField("deadline")
        pb.working_days_used = pb.working_days_remaining = 0
    return pb


def acceptance_to_pb(a: dp.Acceptance) -> apb.Acceptance:
    """The Acceptance message of the domain acceptance step."""
    return apb.Acceptance(accepted_by=a.accepted_by, accepted_on=m.date_to_pb(a.accepted_on),
                          missing_materials=list(a.missing_materials),
                          returned_by=a.returned_by, returned_on=m.date_to_pb(a.returned_on))


async def decorate(uow: UnitOfWork, pb: apb.Application) -> apb.Application:
    """The Application with its procedures' fields (stored ones)."""
    return apply_to_pb(pb, await procedures_store(uow).get(pb.application_id))


async def get_application(*, uow: UnitOfWork, p: Principal, application_id: str):
    """One application the caller may see, with its procedures."""
    return await decorate(uow, await svc.get_application(uow=uow, p=p,
                                                         application_id=application_id))


# --------------------------------------------------------------------------- Reg. 26


async def after_assessment(uow: UnitOfWork, application_id: str,
                           screening: di.ScreeningOutcome) -> None:
    """Reg. 26: a party on the watch list frees the decision from the Reg. 17 time limit."""
    watch_listed = any(h.list_kind == di.ListKind.PRC_WATCH_LIST for h in screening.party_hits)
    exemption = dsc.time_limit_exemption(watch_listed)
    if not exemption:
        return
    store = procedures_store(uow)
    procs = await store.get(application_id, for_update=True)
    if procs.time_limit_exemption != exemption:
        await store.save(replace(procs, time_limit_exemption=exemption))


async def time_limit_exempt(uow: UnitOfWork, application_id: str) -> bool:
    """Whether the Reg. 17 time limit does not bind the application (the ticker skips it)."""
    return bool((await procedures_store(uow).get(application_id)).time_limit_exemption)


# --------------------------------------------------------------------------- discretion


@dataclass(frozen=True)
class DecisionContext:
    """What `check_decision` found: the recommendation and the judgements to record."""

    recommendation: int
    assessment_id: str
    judgements: tuple[dd.Judgement, ...]

    def judgements_pb(self) -> list[events_pb2.FindingJudgement]:
        """The judgements as messages."""
        return [judgement_to_pb(j) for j in self.judgements]


async def _findings(uow: UnitOfWork, body: assessment_pb2.Assessment) -> list[dd.FindingView]:
    """The newest assessment's findings with their levels, replayed from its snapshot under
    its own policy version; from the factor levels where it has no snapshot."""
    rec = await _repo(uow).assessment_record(body.assessment_id)
    if rec and rec.get("inputs") and rec.get("policy_content"):
        policy = from_plain(Policy, json.loads(rec["policy_content"]))
        again = from_plain(AssessmentSnapshot, json.loads(rec["inputs"])).replay(policy)
        return [dd.FindingView(f.code, f.level.value)
                for fa in again.factors for f in fa.findings]
    names = {events_pb2.FACTOR_LEVEL_PROHIBITIVE: "PROHIBITIVE"}
    return [dd.FindingView(f.code, names.get(fa.level, "CONCERN"))
            for fa in body.factors for f in fa.findings]


async def check_decision(uow: UnitOfWork, row, approving: bool,
                         req: spb.DecideApplicationRequest) -> DecisionContext:
    """The guards the law sets on a decision and the officer's judgements of the findings
    (domain/discretion.py, domain/procedures.py). Raises FAILED_PRECONDITION naming the
    article, or INVALID_ARGUMENT on `finding_judgements`."""
    procs = await procedures_store(uow).get(row.id, for_update=True)
    if procs.referral is not None and procs.referral.open:
        raise FailedPrecondition(
            f"the case is referred to {procs.referral.body.value} (Reg. 17, Art. 24); end the "
            "referral with its outcome before deciding", reason="REFERRAL_OPEN")
    raw = await _repo(uow).latest_assessment(row.id)
    body = assessment_pb2.Assessment.FromString(raw) if raw else None
    findings = await _findings(uow, body) if body is not None else []
    given = [dd.Judgement(j.code.strip(), _VERDICT.get(j.verdict), j.reason)
             for j in req.finding_judgements]
    ruling = dd.judge(findings, given, approving=approving)
    if ruling.forbidden:
        raise FailedPrecondition(
            "the law forbids this approval whatever the officer's judgement: "
            + "; ".join(f"{code}: {article}" for code, article in ruling.forbidden),
            reason="APPROVAL_FORBIDDEN_BY_LAW")
    content = svc._domain_app(row).content
    if approving:
        found = await _repo(uow).get_operator(row.exporter_uscc)
        gap = dd.military_qualification_gap(
            content.regime, found[0].military_qualification if found else None,
            [(i.control_code, i.description) for i in content.items], svc.today())
        if gap:
            raise FailedPrecondition(f"no military export licence: {gap}",
                                     reason="MILITARY_QUALIFICATION_REQUIRED")
        missing = dp.missing_military_approvals(content.regime, procs)
        if missing:
            raise FailedPrecondition(
                "Art. 24: the export programme and the contract are approved before a military "
                "export licence; missing: " + ", ".join(k.value for k in missing),
                reason="MILITARY_APPROVAL_REQUIRED")
    if ruling.violations:
        raise ValidationFailed([FieldViolation(f, r) for f, r in ruling.violations])
    return DecisionContext(body.recommendation if body is not None else 0,
                           body.assessment_id if body is not None else "", ruling.judgements)


async def record_decision(uow: UnitOfWork, row, officer: str, decision: int,
                          ctx: DecisionContext, at: dt.datetime) -> None:
    """Keep the decision with the recommendation and every judgement (decision_records)."""
    await procedures_store(uow).add_decision(DecisionRecord(
        row.id, at, officer, events_pb2.Decision.Name(decision),
        events_pb2.Recommendation.Name(ctx.recommendation), ctx.assessment_id, ctx.judgements))
    overridden = [j.code for j in ctx.judgements if j.verdict == dd.Verdict.OVERRIDDEN]
    log.info("application.decision_recorded", application_id=row.id, overridden=overridden)


# --------------------------------------------------------------------------- referrals, Art. 24


async def _officer_case(uow: UnitOfWork, p: Principal, application_id: str):
    row = svc._visible_app(p, await _repo(uow).get_application(application_id,
                                                              for_update=True))
    svc._competent(p, row.authority)
    return row


async def refer_application(*, uow: UnitOfWork, p: Principal,
                            req: spb.ReferApplicationRequest) -> apb.Application:
    """Refer a case under review to the State Council (Reg. 17) or, a major military export,
    to the State Council and the Central Military Commission (Art. 24); the clock stops."""
    body = _BODY.get(req.body)
    reason = req.reason.strip()
    violations = []
    if body is None:
        violations.append(FieldViolation("body", "STATE_COUNCIL or STATE_COUNCIL_AND_CMC"))
    if not reason:
        violations.append(FieldViolation("reason", "a referral states why (Reg. 17, Art. 24)"))
    if violations:
        raise ValidationFailed(violations)
    row = await _officer_case(uow, p, req.application_id)
    if row.state not in (svc.S.UNDER_REVIEW, svc.S.RECONSIDERATION):
        raise FailedPrecondition(f"a case under review is referred; this one is "
                                 f"{row.state.value}", reason="ILLEGAL_TRANSITION")
    day = svc.today()
    store = procedures_store(uow)
    try:
        procs = dp.refer(await store.get(row.id, for_update=True),
                         svc._domain_app(row).content.regime, body, reason, day, p.subject)
    except dp.ProcedureRefused as exc:
        raise FailedPrecondition(str(exc), reason=exc.reason) from exc
    if open_pause(row.pauses, PauseKind.REFERRAL) is None:
        row.pauses = start_pause(row.pauses, PauseKind.REFERRAL, day)
    await store.save(procs)
    pb = await svc._record(uow, row, "REFERRED",
                           f"referred to {body.value} (the clock stops): {reason}")
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationReferred(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        referral=referral_to_pb(procs.referral)))
    log.info("application.referred", application_id=row.id, body=body.value)
    return apply_to_pb(pb, procs)


async def end_referral(*, uow: UnitOfWork, p: Principal,
                       req: spb.EndReferralRequest) -> apb.Application:
    """The referral answered: the outcome recorded, the clock runs again (a State Council
    referral of a dual-use case stays free of the time limit, Reg. 17)."""
    outcome = req.outcome.strip()
    if not outcome:
        raise ValidationFailed(FieldViolation("outcome", "the referral's outcome is required"))
    row = await _officer_case(uow, p, req.application_id)
    day = svc.today()
    store = procedures_store(uow)
    try:
        procs = dp.end_referral(await store.get(row.id, for_update=True), outcome, day)
    except dp.ProcedureRefused as exc:
        raise FailedPrecondition(str(exc), reason=exc.reason) from exc
    if open_pause(row.pauses, PauseKind.REFERRAL) is not None:
        row.pauses = end_pause(row.pauses, PauseKind.REFERRAL, day)
    await store.save(procs)
    pb = await svc._record(uow, row, "REFERRAL_ENDED", f"referral ended: {outcome}")
    await uow.publish(APPLICATION.name, row.id, events_pb2.ReferralEnded(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        referral=referral_to_pb(procs.referral)))
    return apply_to_pb(pb, procs)


async def record_military_approval(*, uow: UnitOfWork, p: Principal,
                                   req: spb.RecordMilitaryApprovalRequest) -> apb.Application:
    """Art. 24: record the approval of the export programme or the contract (SASTIND, the
    competent authority of military cases)."""
    kind = _APPROVAL.get(req.kind)
    ref = req.document_ref.strip()
    violations = []
    if kind is None:
        violations.append(FieldViolation("kind", "EXPORT_PROGRAMME or CONTRACT"))
    if not ref:
        violations.append(FieldViolation("document_ref", "the approval document's reference"))
    if violations:
        raise ValidationFailed(violations)
    row = await _officer_case(uow, p, req.application_id)
    if row.state not in svc.PENDING_STATES:
        raise FailedPrecondition(f"approvals are recorded before the decision; the case is "
                                 f"{row.state.value}", reason="ILLEGAL_TRANSITION")
    store = procedures_store(uow)
    approval = dp.MilitaryApproval(kind, ref, svc.today(), p.subject)
    try:
        procs = dp.record_military_approval(await store.get(row.id, for_update=True),
                                            svc._domain_app(row).content.regime, approval)
    except dp.ProcedureRefused as exc:
        raise FailedPrecondition(str(exc), reason=exc.reason) from exc
    await store.save(procs)
    pb = await svc._record(uow, row, "MILITARY_APPROVAL",
                           f"Art. 24: {kind.value} approved ({ref})")
    await uow.publish(APPLICATION.name, row.id, events_pb2.MilitaryApprovalRecorded(
        application_id=row.id, exporter_uscc=row.exporter_uscc,
        approval=approval_to_pb(approval)))
    return apply_to_pb(pb, procs)


# --------------------------------------------------------------------------- acceptance step


async def accept_application(*, uow: UnitOfWork, p: Principal,
                             req: spb.AcceptApplicationRequest) -> apb.Application:
    """The officer formally accepts the application (Reg. 17: the clock runs from its
    acceptance day, the submission day or the resubmission day after a return)."""
    row = await _officer_case(uow, p, req.application_id)
    if row.state not in svc.CLOCK_STATES:
        raise FailedPrecondition(f"a pending application is accepted; this one is "
                                 f"{row.state.value}", reason="ILLEGAL_TRANSITION")
    store = procedures_store(uow)
    try:
        procs = dp.accept(await store.get(row.id, for_update=True), svc.today(), p.subject)
    except dp.ProcedureRefused as exc:
        raise FailedPrecondition(str(exc), reason=exc.reason) from exc
    await store.save(procs)
    pb = apply_to_pb(await svc._record(uow, row, "ACCEPTED",
                                       f"accepted (Reg. 17: the clock runs from "
                                       f"{row.accepted_on.isoformat()})"), procs)
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationAccepted(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        acceptance=acceptance_to_pb(procs.acceptance),
        deadline=pb.deadline if pb.HasField("deadline") else None))
    return pb


async def return_application(*, uow: UnitOfWork, p: Principal,
                             req: spb.ReturnApplicationRequest) -> apb.Application:
    """The officer returns an application for missing materials before accepting it: state
    RETURNED, the clock has not started (Reg. 17)."""
    missing = tuple(x.strip() for x in req.missing_materials if x.strip())
    if not missing:
        raise ValidationFailed(FieldViolation("missing_materials",
                                              "name at least one missing material"))
    row = await _officer_case(uow, p, req.application_id)
    store = procedures_store(uow)
    try:
        procs = dp.return_for_materials(await store.get(row.id, for_update=True), missing,
                                        svc.today(), p.subject)
    except dp.ProcedureRefused as exc:
        raise FailedPrecondition(str(exc), reason=exc.reason) from exc
    row.state = transition(row.state, Action.RETURN)
    await store.save(procs)
    pb = apply_to_pb(await svc._record(uow, row, "RETURNED",
                                       "returned for missing materials: " + "; ".join(missing)),
                     procs)
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationReturned(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        acceptance=acceptance_to_pb(procs.acceptance)))
    log.info("application.returned", application_id=row.id)
    return pb


async def resubmit_application(*, uow: UnitOfWork, p: Principal,
                               req: spb.ResubmitApplicationRequest) -> apb.Application:
    """The exporter resubmits a returned application with the missing materials: screened
    again (ApplicationAmended, which screening consumes) and accepted that day, so the Reg. 17
    clock starts then (ApplicationResubmitted). Key elements may not change."""
    if not req.HasField("content"):
        raise ValidationFailed(FieldViolation("content", "the completed application"))
    row = svc._visible_app(p, await _repo(uow).get_application(req.application_id,
                                                              for_update=True))
    row_state = transition(row.state, Action.RESUBMIT)
    new_pb = apb.ApplicationContent()
    new_pb.CopyFrom(req.content)
    new_pb.exporter_uscc = (new_pb.exporter_uscc or row.exporter_uscc).strip().upper()
    m.assign_party_ids(new_pb)
    new = m.content_to_domain(new_pb)
    check_amendment(svc._domain_app(row).content, new)  # RE_APPLY on a key element
    day = svc.today()
    found = await _repo(uow).get_operator(row.exporter_uscc)
    standing = await _repo(uow).get_standing(row.exporter_uscc)
    violations = validate_submission(new, found[0] if found else None, standing, day)
    if violations:
        raise SubmissionInvalid(violations)
    row.state, row.accepted_on, row.pauses = row_state, day, ()
    row.content = m.content_to_json(new_pb)
    row.warning_reported = row.breach_reported = False
    note = req.note.strip()
    pb = await svc._record(uow, row, "RESUBMITTED", f"resubmitted with the missing materials; "
                           f"accepted {day.isoformat()}" + (f": {note}" if note else ""))
    await procedures_store(uow).set_accepted_on(row.id, day)
    procs = await procedures_store(uow).get(row.id)
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationAmended(
        application_id=row.id, exporter_uscc=row.exporter_uscc, content=new_pb, answer=note,
        amended_at=m.ts(svc.now())))
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationResubmitted(
        application_id=row.id, exporter_uscc=row.exporter_uscc, content=new_pb,
        accepted_on=m.date_to_pb(day), deadline=pb.deadline if pb.HasField("deadline") else None))
    log.info("application.resubmitted", application_id=row.id)
    return apply_to_pb(pb, procs)
