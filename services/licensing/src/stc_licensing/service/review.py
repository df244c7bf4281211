"""Use cases of the officer's review: the queue (oldest deadline first), information
requests and expert reviews (both stop the Reg. 17 clock), and the decision (Art. 13), which
issues the licence on approval. Only an officer of the competent authority acts (Art. 5)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import (
    FailedPrecondition,
    FieldViolation,
    ValidationFailed,
    ViolationCollector,
)
from stc_common.logging import get_logger
from stc_common.prc_time import prc_date

from stc_licensing import wire
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain.clock import (
    Pause,
    PauseKind,
    clock_status,
    end_pause,
    open_pause,
    start_pause,
)
from stc_licensing.domain.model import Application, ApplicationState, LicenceType
from stc_licensing.domain.states import PENDING_STATES, Action, transition
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common, procedures, temporary_controls
from stc_licensing.service.applications import close_open_pauses
from stc_licensing.service.views import ApplicationView, Decision, LicenceView, Page
from stc_licensing.storage.ports import AppRow, LicensingUnitOfWork

log = get_logger("stc_licensing.service.review")

# What awaits an officer: a case to review or to reconsider (Art. 41). Cases waiting for the
# applicant's answer are listed only when asked for; cases still in screening never are.
REVIEW_QUEUE_STATES = (ApplicationState.UNDER_REVIEW, ApplicationState.RECONSIDERATION)
REVIEW_QUEUE_ALLOWED = frozenset(REVIEW_QUEUE_STATES + (ApplicationState.INFORMATION_REQUESTED,))


def domain_application(row: AppRow) -> Application:
    """The domain's Application of a stored row."""
    return Application(id=row.id, content=wire.content_to_domain_from_json(row.content),
                       state=row.state, submitted_on=prc_date(row.submitted_at),
                       accepted_on=row.accepted_on, reference=row.reference,
                       authority=row.authority)


async def list_review_queue(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.ListReviewQueue) -> Page[ApplicationView]:
    """The officer's authority's cases (an auditor's: every authority's) awaiting an officer
    (UNDER_REVIEW, RECONSIDERATION; or the states asked for, INFORMATION_REQUESTED included),
    oldest deadline first; each shows its working days remaining."""
    offset, size = common.page(cmd.page_token, cmd.page_size)
    states: list[ApplicationState] = list(REVIEW_QUEUE_STATES)
    if cmd.states:
        if any(s not in REVIEW_QUEUE_ALLOWED for s in cmd.states):
            raise ValidationFailed(FieldViolation(
                "states", "the review queue lists UNDER_REVIEW, RECONSIDERATION and "
                          "INFORMATION_REQUESTED applications only"))
        states = sorted({s for s in cmd.states if s is not None}, key=lambda s: s.value)
    rows = await uow.applications.find(
        uscc=None, authority=common.authority_of(caller) if caller.role is Role.OFFICER
        else None, states=[s.value for s in states], offset=offset, limit=size + 1,
        by_deadline=True)
    return Page([common.application_view(r) for r in rows[:size]],
                str(offset + size) if len(rows) > size else "")


async def request_information(*, uow: LicensingUnitOfWork, caller: Principal,
                              cmd: commands.RequestInformation) -> ApplicationView:
    """An officer of the competent authority asks the applicant; the clock stops (Reg. 17)."""
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    common.require_competent(caller, row.authority)
    questions = [q.strip() for q in cmd.questions if q.strip()]
    if not questions:
        raise ValidationFailed(FieldViolation("questions", "at least one question is required"))
    row.state = transition(row.state, Action.REQUEST_INFORMATION)
    row.pauses = row.pauses + (Pause(common.today()),)
    view = await common.record_step(uow, row, "STATE_CHANGED", "information requested: "
                                    + " | ".join(questions))
    await publish(uow, outgoing.information_requested(row, questions, caller.subject,
                                                      common.now()))
    return view


async def start_expert_review(*, uow: LicensingUnitOfWork, caller: Principal,
                              cmd: commands.StartExpertReview) -> ApplicationView:
    """An officer of the competent authority sends the case to expert review: the clock
    stops (Reg. 17: expert review time does not count toward the 45 working days)."""
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    common.require_competent(caller, row.authority)
    if row.state not in (ApplicationState.UNDER_REVIEW, ApplicationState.RECONSIDERATION):
        raise FailedPrecondition(f"an expert review is started on a case under review; this "
                                 f"one is {row.state.value}", reason="ILLEGAL_TRANSITION")
    try:
        row.pauses = start_pause(row.pauses, PauseKind.EXPERT_REVIEW, common.today())
    except ValueError as exc:
        raise FailedPrecondition(str(exc), reason="EXPERT_REVIEW_OPEN") from exc
    reason = cmd.reason.strip()
    view = await common.record_step(uow, row, "EXPERT_REVIEW_STARTED",
                                    "expert review started (Reg. 17: the clock stops)"
                                    + (f": {reason}" if reason else ""))
    await publish(uow, outgoing.expert_review_started(row, caller.subject, reason,
                                                      common.now()))
    log.info("application.expert_review_started", application_id=row.id)
    return view


async def end_expert_review(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.EndExpertReview) -> ApplicationView:
    """The expert review ends; the clock runs again from the next working day (Reg. 17)."""
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    common.require_competent(caller, row.authority)
    day = common.today()
    started = open_pause(row.pauses, PauseKind.EXPERT_REVIEW)
    if started is None or row.state not in PENDING_STATES:
        raise FailedPrecondition("no expert review is under way on this application",
                                 reason="NO_EXPERT_REVIEW")
    row.pauses = end_pause(row.pauses, PauseKind.EXPERT_REVIEW, day)
    closed = Pause(started.start, max(day, started.start), PauseKind.EXPERT_REVIEW)
    kept_off = clock_status(row.accepted_on, day, (closed,)).paused_working_days
    outcome = cmd.outcome.strip()
    view = await common.record_step(uow, row, "EXPERT_REVIEW_ENDED",
                                    f"expert review ended; {kept_off} working day(s) off the "
                                    "clock" + (f": {outcome}" if outcome else ""))
    await publish(uow, outgoing.expert_review_ended(row, caller.subject, outcome, kept_off,
                                                    view.clock.deadline, common.now()))
    log.info("application.expert_review_ended", application_id=row.id, paused_days=kept_off)
    return view


async def _check_general_licence(uow: LicensingUnitOfWork, row: AppRow) -> None:
    """Art. 14: a general licence is a facilitation for an exporter whose ICP works, and
    never for a watch-listed party (Reg. 26), a control-list party, items outside the general
    licence regimes, or an application the assessment does not support. The officer may not
    issue one where the newest assessment found the application ineligible."""
    if domain_application(row).content.licence_type is not LicenceType.GENERAL:
        return
    body = await uow.assessments.latest(row.id)
    if body is None:
        raise FailedPrecondition(
            "a general licence needs an assessment of Art. 14 eligibility first",
            reason="GENERAL_LICENCE_NOT_ASSESSED")
    eligible, reasons = wire.general_licence_verdict(body)
    if not eligible:
        why = ", ".join(reasons) or "no reason recorded"
        raise FailedPrecondition(
            f"no general licence: not eligible under Art. 14 ({why}; the assessment's "
            "general_licence_reasons say why); deny, or the exporter applies for single "
            "licences", reason="GENERAL_LICENCE_NOT_ELIGIBLE")


async def decide_application(*, uow: LicensingUnitOfWork, caller: Principal,
                             cmd: commands.DecideApplication) -> Decision:
    """Approve (issues the licence), approve with conditions, or deny with reasons (Art. 41
    review needs them); only an officer of the competent authority."""
    vc = ViolationCollector()
    action = cmd.action if cmd.action in (Action.APPROVE, Action.APPROVE_WITH_CONDITIONS,
                                          Action.DENY) else None
    vc.require(action is not None, "decision", "approve, approve with conditions or deny")
    conditions = [c.strip() for c in cmd.conditions if c.strip()]
    reasons = [r.strip() for r in cmd.reasons if r.strip()]
    if action == Action.APPROVE_WITH_CONDITIONS:
        vc.require(bool(conditions), "conditions", "an approval with conditions states them")
    if action == Action.DENY:
        vc.require(bool(reasons), "reasons", "a denial states its reasons (Art. 41 review)")
    vc.raise_if_any()
    assert action is not None
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    common.require_competent(caller, row.authority)
    approve = action in (Action.APPROVE, Action.APPROVE_WITH_CONDITIONS)
    if approve:
        await _check_general_licence(uow, row)
    # issue 11: Arts. 18, 23, 24, 39 guards and the officer's judgement of every finding
    ctx = await procedures.check_decision(uow, row, approve, cmd.judgements)
    was = row.state
    row.state = transition(row.state, action, reconsideration_used=row.reconsideration_used)
    if was == ApplicationState.RECONSIDERATION:
        row.reconsideration_used = True
    at, day = common.now(), common.today()
    row.decided_on = day  # a refusal starts the 60 days to request reconsideration
    row.pauses = close_open_pauses(row.pauses, day)  # a decision ends an expert review
    issued = None
    if approve:
        app = replace(domain_application(row), state=row.state)
        issued = licence_rules.issue_licence(str(uuid.uuid4()), app, day,
                                             valid_until=cmd.valid_until,
                                             conditions=tuple(conditions))
        # issue 11 item 5: never valid beyond the temporary controls it rests on (Art. 9(2))
        issued = await temporary_controls.cap_licence(uow, issued, app, day)
        await uow.licences.add(issued, row.authority)
        row.licence_id = issued.id
    view = await common.record_step(uow, row, "STATE_CHANGED",
                                    "; ".join(conditions or reasons) or "approved")
    await publish(uow, outgoing.application_decided(row, action, conditions, reasons,
                                                    caller.subject, at, ctx.recommendation,
                                                    ctx.judgements))
    await procedures.record_decision(uow, row, caller.subject, outgoing.decision_name(action),
                                     ctx, at)
    licence_view = None
    if issued is not None:
        await publish(uow, outgoing.licence_issued(issued, row, at))
        licence_view = LicenceView(issued, row.authority, row.reference, row.content, at)
        log.info("licence.issued", licence_id=issued.id, application_id=row.id)
    log.info("application.decided", application_id=row.id, state=row.state.value)
    # the procedures as check_decision read them under the row lock (a decision changes none
    # of them): not read a second time (issue 14)
    view = replace(view, procedures=ctx.procedures)
    return Decision(view, licence_view, ctx.judgements)
