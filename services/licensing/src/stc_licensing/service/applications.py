"""Use cases of the exporter's side of an application: submit (Art. 12), read, list,
withdraw, answer an information request or amend (Reg. 17), ask for reconsideration
(Art. 41), read the assessment. One transaction each (the caller's unit of work); the events
go into the outbox of that transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import (
    FailedPrecondition,
    FieldViolation,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from stc_common.idempotency import check_request_id, fingerprint, replay_or_refuse
from stc_common.logging import get_logger
from stc_common.prc_time import prc_date

from stc_licensing.domain import reconsideration
from stc_licensing.domain.clock import Pause, PauseKind, end_pause, open_pause
from stc_licensing.domain.model import ApplicationContent, ApplicationState
from stc_licensing.domain.personal_bans import banned_person_fields
from stc_licensing.domain.routing import route
from stc_licensing.domain.states import Action, check_amendment, transition
from stc_licensing.domain.validation import validate_submission
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.service.admission import Admission
from stc_licensing.service.views import ApplicationView, Page
from stc_licensing.storage.ports import AppRow, LicensingUnitOfWork
from stc_licensing.wire import content_to_domain_from_json

log = get_logger("stc_licensing.service.applications")


# the process's admission (issue 14 item 3); main.py configures it from the settings
ADMISSION = Admission()


async def check_content(uow: LicensingUnitOfWork, content: ApplicationContent, applicant: str,
                        day: dt.date) -> None:
    """The same checks on a submission and on an amendment's new content: every field
    violation at once (ValidationFailed), an exporter applying for another USCC included."""
    found = await uow.operators.get(content.exporter_uscc)
    standing = await uow.standings.get(content.exporter_uscc)
    violations = validate_submission(content, found[0] if found else None, standing, day)
    if content.exporter_uscc != applicant and not any(v.field == "exporter_uscc"
                                                      for v in violations):
        violations.append(FieldViolation("exporter_uscc",
                                         "an exporter applies only for its own USCC"))
    if violations:
        raise ValidationFailed(violations)
    banned = banned_person_fields({"legal_representative": content.legal_representative,
                                   "handling_person": content.handling_person},
                                  standing.person_bans, day)
    if banned:  # Art. 39; the field is named, never the ID number
        raise FailedPrecondition(
            f"{banned[0]} is barred from export control business (Export Control Law "
            "Art. 39: a directly responsible person's ban is in force)",
            reason="PERSON_BANNED", metadata={"field": ",".join(banned), "article": "ECL 39"})


def _replay(existing: AppRow, request_fp: str) -> ApplicationView:
    """The stored application for a retry; RequestIdReused for a different request with the
    same id (stc_common.idempotency)."""
    replay_or_refuse(existing.request_fingerprint, request_fp, what="application",
                     existing_id=existing.id)
    return common.application_view(existing)


async def submit_application(*, uow: LicensingUnitOfWork, caller: Principal,
                             cmd: commands.SubmitApplication) -> ApplicationView:
    """Validate, route (Art. 5) and store an application; it goes straight to SCREENING and
    its ApplicationSubmitted (with the full content) is the request to screen it.

    A retry with the same request_id returns the stored application, never a second one.
    """
    request_id = check_request_id(cmd.request_id)
    applicant = caller.uscc or ""
    request_fp = fingerprint(cmd)
    existing = await uow.applications.get_by_request_id(applicant, request_id)
    if existing is not None:
        return _replay(existing, request_fp)
    content = cmd.content
    day = common.today()
    await check_content(uow, content, applicant, day)
    # a stored retry above is answered even when the pipeline is full (the servicer's early
    # refusal, before any transaction, does not look for one: see service/admission.py)
    await ADMISSION.admit(uow.applications.count_awaiting_assessment)
    authority = common.AUTHORITY_NAME[route(content).authority]
    at = common.now()
    row = AppRow(
        id=str(uuid.uuid4()), reference="",  # numbered as it is stored (add_numbered)
        exporter_uscc=content.exporter_uscc, request_id=request_id, authority=authority,
        state=ApplicationState.SUBMITTED, content=cmd.content_json, submitted_at=at,
        accepted_on=day, pauses=(), deadline=None, deadline_exact=True, flags=[],
        licence_id=None, reconsideration_used=False, breach_reported=False, updated_at=at,
        request_fingerprint=request_fp)
    clock = common.application_view(row, day).clock
    row.deadline, row.deadline_exact = clock.deadline, clock.exact
    if not await uow.applications.add_numbered(row, authority, day.year):  # a retry won
        existing = await uow.applications.get_by_request_id(applicant, request_id)
        if existing is None:
            raise AssertionError("the insert was refused without a stored request id")
        return _replay(existing, request_fp)
    view = await common.record_steps(uow, row, [
        (row.state, "STATE_CHANGED", "submitted", None),
        (transition(row.state, Action.START_SCREENING), "STATE_CHANGED", "screening requested",
         None)])
    await publish(uow, outgoing.application_submitted(row))
    log.info("application.submitted", application_id=row.id, reference=row.reference,
             authority=authority)
    return view


async def get_application(*, uow: LicensingUnitOfWork, caller: Principal,
                          cmd: commands.GetApplication) -> ApplicationView:
    """One application the caller may see."""
    row = await uow.applications.get(cmd.application_id)
    return common.application_view(common.visible_application(caller, row))


async def watch_steps(*, uow: LicensingUnitOfWork, caller: Principal, application_id: str,
                      after: int) -> list:
    """A watch's first read: the history steps after `after` of an application the caller may
    see (NOT_FOUND otherwise), checked and read with one statement."""
    owner, steps = await uow.applications.owner_and_history(application_id, after)
    if owner is None or not common.may_see_application(caller, *owner):
        raise NotFound("no such application", reason="APPLICATION_NOT_FOUND")
    return steps


async def list_applications(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.ListApplications) -> Page[ApplicationView]:
    """Applications the caller may see, filtered by state and authority, paged."""
    offset, size = common.page(cmd.page_token, cmd.page_size)
    uscc = caller.uscc if caller.role is Role.EXPORTER \
        else (cmd.exporter_uscc.strip().upper() or None)
    authority = cmd.authority.strip().upper() or None
    if caller.role is Role.OFFICER:
        if authority and authority != common.authority_of(caller):
            return Page([])
        authority = common.authority_of(caller)
    states = [cmd.state.value] if cmd.state is not None else None
    rows = await uow.applications.find(uscc=uscc, authority=authority, states=states,
                                       offset=offset, limit=size + 1)
    return Page([common.application_view(r) for r in rows[:size]],
                str(offset + size) if len(rows) > size else "")


def close_open_pauses(pauses: tuple[Pause, ...], day: dt.date) -> tuple[Pause, ...]:
    """Every open pause closed on `day` (the application leaves the officer's hands)."""
    return tuple(replace(pz, end=max(day, pz.start)) if pz.end is None else pz for pz in pauses)


async def withdraw_application(*, uow: LicensingUnitOfWork, caller: Principal,
                               cmd: commands.WithdrawApplication) -> ApplicationView:
    """The exporter withdraws a pending application."""
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    row.state = transition(row.state, Action.WITHDRAW)
    row.pauses = close_open_pauses(row.pauses, common.today())
    view = await common.record_step(uow, row, "STATE_CHANGED", cmd.reason or "withdrawn")
    await publish(uow, outgoing.application_withdrawn(row, common.now()))
    log.info("application.withdrawn", application_id=row.id)
    return view


async def amend_application(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.AmendApplication) -> ApplicationView:
    """The answer to an information request (Reg. 17: the clock runs again from the next
    working day). Content absent or unchanged: an answer only, back to UNDER_REVIEW
    (InformationProvided). Changed content: screened again (SCREENING, ApplicationAmended);
    a key-element change is refused (re-apply, the Dual-use Regulations' licence
    provisions)."""
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    if row.state != ApplicationState.INFORMATION_REQUESTED:
        transition(row.state, Action.AMEND)  # raises IllegalTransition with the reason
    answer = cmd.answer.strip()
    new = cmd.content if cmd.content_json != row.content else None  # the same content resent
    day = common.today()
    if new is None or cmd.content_json is None:
        if not answer:
            raise ValidationFailed(FieldViolation(
                "answer", "an answer (or changed content) is required"))
        row.state = transition(row.state, Action.ANSWER)
        row.pauses = end_pause(row.pauses, PauseKind.INFORMATION_REQUEST, day) \
            if open_pause(row.pauses, PauseKind.INFORMATION_REQUEST) else row.pauses
        view = await common.record_step(uow, row, "INFORMATION_PROVIDED",
                                        f"information provided: {answer}")
        await publish(uow, outgoing.information_provided(row, answer, common.now()))
        log.info("application.information_provided", application_id=row.id)
        return view
    check_amendment(content_to_domain_from_json(row.content), new)  # AmendmentRefused: RE_APPLY
    await check_content(uow, new, row.exporter_uscc, day)
    row.state = transition(row.state, Action.AMEND)
    if open_pause(row.pauses, PauseKind.INFORMATION_REQUEST) is not None:
        row.pauses = end_pause(row.pauses, PauseKind.INFORMATION_REQUEST, day)
    row.content = cmd.content_json
    view = await common.record_step(uow, row, "STATE_CHANGED", "amended; screening again"
                                    + (f": {answer}" if answer else ""))
    await publish(uow, outgoing.application_amended(row, cmd.answer, common.now()))
    log.info("application.amended", application_id=row.id)
    return view


async def request_reconsideration(*, uow: LicensingUnitOfWork, caller: Principal,
                                  cmd: commands.RequestReconsideration) -> ApplicationView:
    """Art. 41: the exporter asks for reconsideration of a denial (once; that decision is
    final), within the Administrative Reconsideration Law's time limit."""
    if caller.role is not Role.EXPORTER:
        raise PermissionDenied("only the applicant requests reconsideration",
                               reason="ROLE_NOT_ALLOWED")
    row = common.visible_application(
        caller, await uow.applications.get(cmd.application_id, for_update=True))
    row.state = transition(row.state, Action.REQUEST_RECONSIDERATION,
                           reconsideration_used=row.reconsideration_used)
    day = common.today()
    refused_on = row.decided_on or prc_date(row.updated_at)
    late = reconsideration.late_reason(refused_on, day)
    if late:
        raise FailedPrecondition(late, reason="RECONSIDERATION_TIME_LIMIT")
    dates = reconsideration.open_reconsideration(refused_on, day)
    row.reconsideration_requested_on, row.reconsideration_due = dates.requested_on, dates.due
    return await common.record_step(
        uow, row, "STATE_CHANGED", f"reconsideration requested (Art. 41), to be decided by "
        f"{dates.due.isoformat()}: {cmd.grounds}".strip())


async def get_assessment(*, uow: LicensingUnitOfWork, caller: Principal,
                         cmd: commands.GetAssessment) -> bytes:
    """The newest Art. 13 assessment of an application (the stored Assessment document)."""
    common.visible_application(caller, await uow.applications.get(cmd.application_id))
    body = await uow.assessments.latest(cmd.application_id)
    if body is None:
        raise NotFound("the application has not been assessed yet",
                       reason="ASSESSMENT_NOT_FOUND")
    return body
