"""Use cases of the licensing service: one transaction each (the caller's unit of work), the
events they emit written to the outbox in that same transaction.

Visibility (DESIGN.md, Security): an exporter sees only its own USCC's operator,
applications and licences; an officer sees the applications and licences of its authority;
an auditor reads everything. Anything a caller may not see answers NOT_FOUND. An officer
of another authority does not see the case at all (NOT_FOUND); a caller who sees a case but
may not act on it as its competent authority (e.g. an exporter suspending a licence, a MOFCOM
officer setting a military qualification) gets PERMISSION_DENIED (NOT_COMPETENT_AUTHORITY):
only the competent authority decides (Art. 5, routing.py).

Domain errors (IllegalTransition, LicenceRefused, AmendmentRefused ...) propagate from here;
`api/errors.py` maps them to gRPC statuses in one place.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import assessment_pb2, events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.screening.v1 import events_pb2 as scr
from stc_common.auth.jwt import Principal, Role
from stc_common.db.uow import UnitOfWork
from stc_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    ViolationCollector,
)
from stc_common.kafka.topics import APPLICATION, LICENCE, OPERATOR
from stc_common.logging import get_logger
from stc_common.paging import offset_from_token
from stc_common.uscc import UsccError, validate_uscc

from stc_licensing import procedures as proc
from stc_licensing.api import mapping as m
from stc_licensing.domain import licence as dl
from stc_licensing.domain import model as dm
from stc_licensing.domain import reconsideration as drc
from stc_licensing.domain.assessment import AssessmentSnapshot
from stc_licensing.domain.canonical import canonical_json, from_plain
from stc_licensing.domain.clock import (
    Pause,
    PauseKind,
    clock_status,
    end_pause,
    open_pause,
    start_pause,
)
from stc_licensing.domain.errors import SubmissionInvalid
from stc_licensing.domain.inputs import CreditLevel, CreditStanding
from stc_licensing.domain.policy import (
    Policy,
    bundled_embargoes_path,
    load_bundled_policies,
    policy_in_force,
)
from stc_licensing.domain.routing import Authority as RoutingAuthority
from stc_licensing.domain.routing import route
from stc_licensing.domain.states import PENDING_STATES, Action, check_amendment, transition
from stc_licensing.domain.validation import validate_submission
from stc_licensing.storage import repo
from stc_licensing.storage.repository import repository as _repo

log = get_logger("stc_licensing.service")
SHANGHAI = ZoneInfo("Asia/Shanghai")
S = dm.ApplicationState
# routing.Authority -> the authority names of tokens and reference numbers
AUTHORITY_NAME = {RoutingAuthority.MOFCOM: "MOFCOM", RoutingAuthority.SASTIND: "SASTIND",
                  RoutingAuthority.CAEA: "CAEA", RoutingAuthority.CWC_OFFICE: "CWC"}
_POLICIES: tuple[Policy, ...] | None = None
# States in which the Reg. 17 clock runs: pending, but not a reconsideration (Art. 41), whose
# time limits are the Administrative Reconsideration Law's (domain/reconsideration.py).
CLOCK_STATES = PENDING_STATES - {S.RECONSIDERATION}


def now() -> dt.datetime:
    """The current instant (UTC)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today in China (the statutory clock counts PRC working days)."""
    return dt.datetime.now(SHANGHAI).date()


def configure_policies(embargoes_path: str | Path | None = None) -> tuple[Policy, ...]:
    """Load the bundled policy versions with the UNSC arms embargoes (Art. 13(2)) from
    `embargoes_path`, or from the table shipped with the package when it is empty; the
    service uses them from now on (main.py calls this at start-up from the settings)."""
    global _POLICIES
    _POLICIES = load_bundled_policies(embargoes_path or bundled_embargoes_path())
    return _POLICIES


def policies() -> tuple[Policy, ...]:
    """The policy versions in use (loaded once, with the bundled embargo table, unless
    `configure_policies` chose another)."""
    if _POLICIES is None:
        return configure_policies()
    return _POLICIES


# --------------------------------------------------------------------------- helpers


def _visible_app(p: Principal, row: repo.AppRow | None) -> repo.AppRow:
    if row is None or (p.role is Role.EXPORTER and row.exporter_uscc != p.uscc) or (
            p.role is Role.OFFICER and row.authority != p.authority.value):
        raise NotFound("no such application", reason="APPLICATION_NOT_FOUND")
    return row


def _competent(p: Principal, authority: str) -> None:
    if p.role is not Role.OFFICER or p.authority.value != authority:
        raise PermissionDenied(f"only an officer of {authority} may act on this case (Art. 5)",
                               reason="NOT_COMPETENT_AUTHORITY")


def _clock(row: repo.AppRow, as_of: dt.date):
    """Clock status; an open pause is projected to end on `as_of` so a deadline is shown."""
    pauses = tuple(Pause(p.start, p.end or max(as_of, p.start), p.kind) for p in row.pauses)
    cs = clock_status(row.accepted_on, as_of, pauses)
    paused = any(p.end is None for p in row.pauses)
    return cs, paused


def app_to_pb(row: repo.AppRow, as_of: dt.date | None = None) -> apb.Application:
    """The Application resource with the Reg. 17 clock as of today (or as of its last change
    once it left the pending states)."""
    if as_of is None:
        as_of = today() if row.state in CLOCK_STATES \
            else row.decided_on or row.updated_at.astimezone(SHANGHAI).date()
    cs, paused = _clock(row, as_of)
    return apb.Application(
        name=f"applications/{row.id}", application_id=row.id, reference=row.reference,
        content=m.content_from_json(row.content), state=m.STATE_TO_PB[row.state],
        authority=row.authority, submitted_at=m.ts(row.submitted_at),
        accepted_on=m.date_to_pb(row.accepted_on), deadline=m.date_to_pb(cs.deadline),
        deadline_exact=cs.exact, working_days_used=cs.used,
        working_days_remaining=cs.remaining, clock_paused=paused, flags=row.flags,
        licence_id=row.licence_id or "", updated_at=m.ts(row.updated_at),
        reconsideration_requested_on=m.date_to_pb(row.reconsideration_requested_on),
        reconsideration_due=m.date_to_pb(row.reconsideration_due),
        under_expert_review=open_pause(row.pauses, PauseKind.EXPERT_REVIEW) is not None)


def _domain_app(row: repo.AppRow) -> dm.Application:
    return dm.Application(id=row.id, content=m.content_to_domain(m.content_from_json(row.content)),
                          state=row.state,
                          submitted_on=row.submitted_at.astimezone(SHANGHAI).date(),
                          accepted_on=row.accepted_on, reference=row.reference,
                          authority=row.authority)


async def _record(uow: UnitOfWork, row: repo.AppRow, kind: str, note: str = "",
                  assessment_id: str | None = None) -> apb.Application:
    """Save the application and append a history step (WatchApplication sees it)."""
    row.updated_at = now()
    cs, _ = _clock(row, today())
    row.deadline, row.deadline_exact = cs.deadline, cs.exact
    if row.state == S.RECONSIDERATION and row.reconsideration_due:
        # the review queue orders by this: the reconsideration's own due day (calendar days)
        row.deadline, row.deadline_exact = row.reconsideration_due, True
    await _repo(uow).save_application(row)
    pb = app_to_pb(row)
    await _repo(uow).append_history(row.id, kind, row.state.value, note,
                              pb.SerializeToString(), assessment_id)
    return pb


def _page(token: str, size: int) -> tuple[int, int]:
    offset = offset_from_token(token)
    if size < 0:
        raise ValidationFailed(FieldViolation("page_size", "must not be negative"))
    return offset, min(size or 50, 500)


# --------------------------------------------------------------------------- operators


def _uscc(value: str, field: str = "uscc") -> str:
    try:
        return validate_uscc(value.strip().upper())
    except UsccError as exc:
        raise ValidationFailed(FieldViolation(field, f"malformed USCC: {exc}")) from exc


async def _operator_visible(uow: UnitOfWork, p: Principal, uscc: str, *, for_update=False):
    if p.role is Role.EXPORTER and p.uscc != uscc:
        raise NotFound("no such operator", reason="OPERATOR_NOT_FOUND")
    found = await _repo(uow).get_operator(uscc, for_update=for_update)
    if found is None:
        raise NotFound("no such operator", reason="OPERATOR_NOT_FOUND")
    return found


async def register_operator(*, uow: UnitOfWork, p: Principal, req: spb.RegisterOperatorRequest):
    """An exporter registers its own enterprise (officers may register any)."""
    vc = ViolationCollector()
    try:
        uscc = validate_uscc(req.uscc.strip().upper())
    except UsccError as exc:
        vc.add("uscc", f"malformed USCC: {exc}")
        uscc = ""
    vc.require(bool(req.name_zh.strip()), "name_zh", "the registered Chinese name is required")
    icp = m.icp_from_pb(req.icp, vc)
    vc.raise_if_any()
    if p.role is Role.EXPORTER and p.uscc != uscc:
        raise PermissionDenied("an exporter registers only its own USCC", reason="OTHER_TENANT")
    op = dm.ExportOperator(uscc=uscc, name_zh=req.name_zh.strip(), name_en=req.name_en.strip(),
                           address=req.address.strip(), icp=icp)
    if not await _repo(uow).insert_operator(op):
        raise AlreadyExists(f"operator {uscc} is registered already",
                            reason="OPERATOR_EXISTS")
    at = now()
    await uow.publish(OPERATOR.name, uscc, events_pb2.OperatorRegistered(
        uscc=uscc, name_zh=op.name_zh, name_en=op.name_en, registered_at=m.ts(at)))
    if icp:
        await uow.publish(OPERATOR.name, uscc, _icp_event(op, "self", "", at))
    log.info("operator.registered", uscc=uscc)
    return m.operator_to_pb(op, at)


def _icp_event(op: dm.ExportOperator, kind: str, officer: str, at: dt.datetime,
               outcome: str = "") -> events_pb2.IcpAssessed:
    done = sum(1 for e in op.icp if e.status == dm.IcpStatus.IMPLEMENTED)
    return events_pb2.IcpAssessed(uscc=op.uscc, kind=kind,
                                  outcome=outcome or f"{done}/9 elements implemented",
                                  elements_implemented=done, officer=officer,
                                  assessed_at=m.ts(at))


async def get_operator(*, uow: UnitOfWork, p: Principal, uscc: str):
    """One operator (exporters: their own)."""
    op, at = await _operator_visible(uow, p, _uscc(uscc))
    return m.operator_to_pb(op, at)


async def update_icp_self_assessment(*, uow: UnitOfWork, p: Principal,
                                     req: spb.UpdateIcpSelfAssessmentRequest):
    """The exporter's ICP self-assessment over the nine elements (Art. 14)."""
    uscc = _uscc(req.uscc)
    vc = ViolationCollector()
    icp = m.icp_from_pb(req.icp, vc)
    vc.raise_if_any()
    op, at = await _operator_visible(uow, p, uscc, for_update=True)
    op = replace(op, icp=icp)
    await _repo(uow).save_operator(op)
    await uow.publish(OPERATOR.name, uscc, _icp_event(op, "self", "", now()))
    return m.operator_to_pb(op, at)


async def _audits_icp(uow: UnitOfWork, p: Principal, op: dm.ExportOperator) -> bool:
    """Whether the officer's authority may audit the operator's ICP (Art. 14): MOFCOM for
    every exporter; SASTIND for a military-qualified one (Art. 23); any authority to which
    the exporter has applied (its regime)."""
    authority = p.authority.value if p.role is Role.OFFICER and p.authority else ""
    if authority == "MOFCOM" or (authority == "SASTIND" and op.military_qualification):
        return True
    return bool(authority) and bool(await _repo(uow).list_applications(
        uscc=op.uscc, authority=authority, states=None, offset=0, limit=1))


async def record_icp_audit(*, uow: UnitOfWork, p: Principal, req: spb.RecordIcpAuditRequest):
    """An officer of MOFCOM or of the exporter's regime records an ICP audit (Art. 14)."""
    uscc = _uscc(req.uscc)
    vc = ViolationCollector()
    outcome = m.ICP_OUTCOME.get(req.outcome)
    vc.require(outcome is not None, "outcome", "must be set")
    vc.raise_if_any()
    op, at = await _operator_visible(uow, p, uscc, for_update=True)
    if not await _audits_icp(uow, p, op):
        raise PermissionDenied(
            f"an officer of {p.authority} does not audit this exporter's ICP: MOFCOM, or the "
            "authority of a regime it exports under (Art. 14)", reason="NOT_COMPETENT_AUTHORITY")
    audit = dm.IcpAudit(m.date_from_pb(req.audited_on) or today(), outcome, p.subject,
                        req.report_ref)
    op = replace(op, icp_audits=op.icp_audits + (audit,))
    await _repo(uow).save_operator(op)
    await uow.publish(OPERATOR.name, uscc, _icp_event(op, "audit", p.subject, now(),
                                                      outcome.value))
    return m.operator_to_pb(op, at)


async def set_military_qualification(*, uow: UnitOfWork, p: Principal,
                                     req: spb.SetMilitaryQualificationRequest):
    """A SASTIND officer sets (or clears) the Art. 23 military export qualification."""
    if p.authority is None or p.authority.value != "SASTIND":
        raise PermissionDenied("military export qualifications are set by SASTIND (Art. 23)",
                               reason="NOT_COMPETENT_AUTHORITY")
    uscc = _uscc(req.uscc)
    qual = None
    if req.HasField("qualification"):
        q = req.qualification
        vc = ViolationCollector()
        vf, vt = m.date_from_pb(q.valid_from), m.date_from_pb(q.valid_to)
        vc.require(bool(q.certificate_no.strip()), "qualification.certificate_no", "required")
        vc.require(vf is not None, "qualification.valid_from", "required")
        vc.require(vt is not None, "qualification.valid_to", "required")
        if vf and vt:
            vc.require(vf <= vt, "qualification.valid_to", "is before valid_from")
        vc.raise_if_any()
        qual = dm.MilitaryQualification(q.certificate_no.strip(), tuple(q.scope), vf, vt)
    op, at = await _operator_visible(uow, p, uscc, for_update=True)
    op = replace(op, military_qualification=qual)
    await _repo(uow).save_operator(op)
    await uow.publish(OPERATOR.name, uscc, events_pb2.QualificationChanged(
        uscc=uscc, certificate_no=qual.certificate_no if qual else "",
        scope=list(qual.scope) if qual else [],
        valid_from=m.date_to_pb(qual.valid_from) if qual else None,
        valid_to=m.date_to_pb(qual.valid_to) if qual else None, officer=p.subject))
    log.info("operator.qualification_changed", uscc=uscc, qualified=qual is not None)
    return m.operator_to_pb(op, at)


# --------------------------------------------------------------------------- applications


def _violations(found) -> list[FieldViolation]:
    return [FieldViolation(v.field, v.reason) for v in found]


async def submit_application(*, uow: UnitOfWork, p: Principal,
                             req: spb.SubmitApplicationRequest) -> apb.Application:
    """Validate, route and store an application; it goes straight to SCREENING and its
    ApplicationSubmitted (with the full content) is the request to screen it (DESIGN flow 1).

    A retry with the same request_id returns the stored application, never a second one.
    """
    request_id = req.request_id.strip()
    if not request_id or len(request_id) > 200:
        raise ValidationFailed(FieldViolation("request_id", "a client request id (1-200 "
                                              "characters) is required for safe retries"))
    content_pb = apb.ApplicationContent()
    content_pb.CopyFrom(req.content)
    if not content_pb.exporter_uscc:
        content_pb.exporter_uscc = p.uscc or ""
    content_pb.exporter_uscc = content_pb.exporter_uscc.strip().upper()
    m.assign_party_ids(content_pb)
    existing = await _repo(uow).get_by_request_id(p.uscc, request_id)
    if existing is not None:
        return _same_request(existing, content_pb)
    content = m.content_to_domain(content_pb)
    day = today()
    found = await _repo(uow).get_operator(content.exporter_uscc)
    operator = found[0] if found else None
    standing = await _repo(uow).get_standing(content.exporter_uscc)
    violations = _violations(validate_submission(content, operator, standing, day))
    if content.exporter_uscc != p.uscc and not any(v.field == "exporter_uscc"
                                                   for v in violations):
        violations.append(FieldViolation("exporter_uscc",
                                         "an exporter applies only for its own USCC"))
    if violations:
        raise ValidationFailed(violations)
    authority = AUTHORITY_NAME[route(content).authority]
    at = now()
    row = repo.AppRow(
        id=str(uuid.uuid4()), reference=await _repo(uow).next_reference(authority, day.year),
        exporter_uscc=content.exporter_uscc, request_id=request_id, authority=authority,
        state=S.SUBMITTED, content=m.content_to_json(content_pb), submitted_at=at,
        accepted_on=day, pauses=(), deadline=None, deadline_exact=True, flags=[],
        licence_id=None, reconsideration_used=False, breach_reported=False, updated_at=at)
    cs, _ = _clock(row, day)
    row.deadline, row.deadline_exact = cs.deadline, cs.exact
    if not await _repo(uow).insert_application(row):  # a concurrent retry won
        existing = await _repo(uow).get_by_request_id(p.uscc, request_id)
        return _same_request(existing, content_pb)
    await _record(uow, row, "STATE_CHANGED", "submitted")
    row.state = transition(row.state, Action.START_SCREENING)
    pb = await _record(uow, row, "STATE_CHANGED", "screening requested")
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationSubmitted(
        application_id=row.id, reference=row.reference, exporter_uscc=row.exporter_uscc,
        authority=authority, content=content_pb, submitted_at=m.ts(at),
        deadline=m.date_to_pb(row.deadline)))
    log.info("application.submitted", application_id=row.id, reference=row.reference,
             authority=authority)
    return pb


def _same_request(existing: repo.AppRow, content_pb: apb.ApplicationContent) -> apb.Application:
    if existing.content != m.content_to_json(content_pb):
        raise AlreadyExists("this request_id was used for a different application",
                            reason="REQUEST_ID_REUSED",
                            metadata={"application_id": existing.id})
    return app_to_pb(existing)


async def get_application(*, uow: UnitOfWork, p: Principal, application_id: str):
    """One application the caller may see."""
    return app_to_pb(_visible_app(p, await _repo(uow).get_application(application_id)))


async def list_applications(*, uow: UnitOfWork, p: Principal,
                            req: spb.ListApplicationsRequest) -> spb.ListApplicationsResponse:
    """Applications the caller may see, filtered by state and authority, paged."""
    offset, size = _page(req.page_token, req.page_size)
    uscc = p.uscc if p.role is Role.EXPORTER else (req.exporter_uscc.strip().upper() or None)
    authority = req.authority.strip().upper() or None
    if p.role is Role.OFFICER:
        if authority and authority != p.authority.value:
            return spb.ListApplicationsResponse()
        authority = p.authority.value
    states = None
    if req.state:
        if req.state not in m.STATE_FROM_PB:
            raise ValidationFailed(FieldViolation("state", "unknown state"))
        states = [m.STATE_FROM_PB[req.state].value]
    rows = await _repo(uow).list_applications(uscc=uscc, authority=authority, states=states,
                                        offset=offset, limit=size + 1)
    return spb.ListApplicationsResponse(
        applications=[app_to_pb(r) for r in rows[:size]],
        next_page_token=str(offset + size) if len(rows) > size else "")


# What awaits an officer: a case to review or to reconsider (Art. 41). Cases waiting for the
# applicant's answer are listed only when asked for; cases still in screening never are.
REVIEW_QUEUE_STATES = (S.UNDER_REVIEW, S.RECONSIDERATION)
REVIEW_QUEUE_ALLOWED = frozenset({S.UNDER_REVIEW, S.RECONSIDERATION, S.INFORMATION_REQUESTED})


async def list_review_queue(*, uow: UnitOfWork, p: Principal,
                            req: spb.ListReviewQueueRequest) -> spb.ListApplicationsResponse:
    """The officer's authority's cases (an auditor's: every authority's) awaiting an officer
    (UNDER_REVIEW, RECONSIDERATION; or
    the states asked for, INFORMATION_REQUESTED included), oldest deadline first; each shows
    its working days remaining."""
    offset, size = _page(req.page_token, req.page_size)
    states = list(REVIEW_QUEUE_STATES)
    if req.states:
        asked = [m.STATE_FROM_PB.get(s) for s in req.states]
        if any(s not in REVIEW_QUEUE_ALLOWED for s in asked):
            raise ValidationFailed(FieldViolation(
                "states", "the review queue lists UNDER_REVIEW, RECONSIDERATION and "
                          "INFORMATION_REQUESTED applications only"))
        states = sorted(set(asked), key=lambda s: s.value)
    rows = await _repo(uow).list_applications(
        uscc=None, authority=p.authority.value if p.role is Role.OFFICER else None,
        states=[s.value for s in states], offset=offset, limit=size + 1, by_deadline=True)
    return spb.ListApplicationsResponse(
        applications=[app_to_pb(r) for r in rows[:size]],
        next_page_token=str(offset + size) if len(rows) > size else "")


async def withdraw_application(*, uow: UnitOfWork, p: Principal,
                               req: spb.WithdrawApplicationRequest):
    """The exporter withdraws a pending application."""
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                     for_update=True))
    row.state = transition(row.state, Action.WITHDRAW)
    row.pauses = _close_open_pauses(row.pauses, today())
    pb = await _record(uow, row, "STATE_CHANGED", req.reason or "withdrawn")
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationWithdrawn(
        application_id=row.id, exporter_uscc=row.exporter_uscc, withdrawn_at=m.ts(now())))
    log.info("application.withdrawn", application_id=row.id)
    return pb


async def amend_application(*, uow: UnitOfWork, p: Principal, req: spb.AmendApplicationRequest):
    """The answer to an information request (Reg. 17: the clock runs again from the next
    working day). Content absent or unchanged: an answer only, back to UNDER_REVIEW
    (InformationProvided). Changed content: screened again (SCREENING, ApplicationAmended);
    a key-element change is refused (re-apply)."""
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                             for_update=True))
    if row.state != S.INFORMATION_REQUESTED:
        transition(row.state, Action.AMEND)  # raises IllegalTransition with the reason
    answer = req.answer.strip()
    new_pb = None
    if req.HasField("content"):
        new_pb = apb.ApplicationContent()
        new_pb.CopyFrom(req.content)
        new_pb.exporter_uscc = (new_pb.exporter_uscc or row.exporter_uscc).strip().upper()
        m.assign_party_ids(new_pb)
        if m.content_to_json(new_pb) == row.content:
            new_pb = None  # the same content resent with the answer
    day = today()
    if new_pb is None:
        if not answer:
            raise ValidationFailed(FieldViolation(
                "answer", "an answer (or changed content) is required"))
        row.state = transition(row.state, Action.ANSWER)
        row.pauses = end_pause(row.pauses, PauseKind.INFORMATION_REQUEST, day) \
            if open_pause(row.pauses, PauseKind.INFORMATION_REQUEST) else row.pauses
        pb = await _record(uow, row, "INFORMATION_PROVIDED", f"information provided: {answer}")
        await uow.publish(APPLICATION.name, row.id, events_pb2.InformationProvided(
            application_id=row.id, exporter_uscc=row.exporter_uscc, answer=answer,
            provided_at=m.ts(now())))
        log.info("application.information_provided", application_id=row.id)
        return pb
    old = _domain_app(row).content
    new = m.content_to_domain(new_pb)
    check_amendment(old, new)  # AmendmentRefused -> INVALID_ARGUMENT, reason RE_APPLY
    found = await _repo(uow).get_operator(row.exporter_uscc)
    standing = await _repo(uow).get_standing(row.exporter_uscc)
    violations = validate_submission(new, found[0] if found else None, standing, day)
    if violations:
        raise SubmissionInvalid(violations)
    row.state = transition(row.state, Action.AMEND)
    if open_pause(row.pauses, PauseKind.INFORMATION_REQUEST) is not None:
        row.pauses = end_pause(row.pauses, PauseKind.INFORMATION_REQUEST, day)
    row.content = m.content_to_json(new_pb)
    pb = await _record(uow, row, "STATE_CHANGED", "amended; screening again"
                       + (f": {answer}" if answer else ""))
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationAmended(
        application_id=row.id, exporter_uscc=row.exporter_uscc, content=new_pb,
        answer=req.answer, amended_at=m.ts(now())))
    log.info("application.amended", application_id=row.id)
    return pb


async def request_reconsideration(*, uow: UnitOfWork, p: Principal,
                                  req: spb.RequestReconsiderationRequest):
    """Art. 41: the exporter asks for reconsideration of a denial (once; that decision is
    final)."""
    if p.role is not Role.EXPORTER:
        raise PermissionDenied("only the applicant requests reconsideration",
                               reason="ROLE_NOT_ALLOWED")
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                     for_update=True))
    row.state = transition(row.state, Action.REQUEST_RECONSIDERATION,
                           reconsideration_used=row.reconsideration_used)
    day = today()
    refused_on = row.decided_on or row.updated_at.astimezone(SHANGHAI).date()
    late = drc.late_reason(refused_on, day)
    if late:
        raise FailedPrecondition(late, reason="RECONSIDERATION_TIME_LIMIT")
    dates = drc.open_reconsideration(refused_on, day)
    row.reconsideration_requested_on, row.reconsideration_due = dates.requested_on, dates.due
    return await _record(uow, row, "STATE_CHANGED",
                         f"reconsideration requested (Art. 41), to be decided by "
                         f"{dates.due.isoformat()}: {req.grounds}".strip())


async def get_assessment(*, uow: UnitOfWork, p: Principal, application_id: str):
    """The newest Art. 13 assessment of an application."""
    _visible_app(p, await _repo(uow).get_application(application_id))
    body = await _repo(uow).latest_assessment(application_id)
    if body is None:
        raise NotFound("the application has not been assessed yet",
                       reason="ASSESSMENT_NOT_FOUND")
    return assessment_pb2.Assessment.FromString(body)


async def request_information(*, uow: UnitOfWork, p: Principal,
                              req: spb.RequestInformationRequest):
    """An officer of the competent authority asks the applicant; the clock stops (Reg. 17)."""
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                     for_update=True))
    _competent(p, row.authority)
    questions = [q.strip() for q in req.questions if q.strip()]
    if not questions:
        raise ValidationFailed(FieldViolation("questions", "at least one question is required"))
    row.state = transition(row.state, Action.REQUEST_INFORMATION)
    row.pauses = row.pauses + (Pause(today()),)
    pb = await _record(uow, row, "STATE_CHANGED", "information requested: "
                       + " | ".join(questions))
    await uow.publish(APPLICATION.name, row.id, events_pb2.InformationRequested(
        application_id=row.id, exporter_uscc=row.exporter_uscc, questions=questions,
        officer=p.subject, requested_at=m.ts(now())))
    return pb


def _close_open_pauses(pauses: tuple[Pause, ...], day: dt.date) -> tuple[Pause, ...]:
    """Every open pause closed on `day` (the application leaves the officer's hands)."""
    return tuple(replace(pz, end=max(day, pz.start)) if pz.end is None else pz for pz in pauses)


async def start_expert_review(*, uow: UnitOfWork, p: Principal,
                              req: spb.StartExpertReviewRequest) -> apb.Application:
    """An officer of the competent authority sends the case to expert review: the clock
    stops (Reg. 17: expert review time does not count toward the 45 working days)."""
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                             for_update=True))
    _competent(p, row.authority)
    if row.state not in (S.UNDER_REVIEW, S.RECONSIDERATION):
        raise FailedPrecondition(f"an expert review is started on a case under review; this "
                                 f"one is {row.state.value}", reason="ILLEGAL_TRANSITION")
    day = today()
    try:
        row.pauses = start_pause(row.pauses, PauseKind.EXPERT_REVIEW, day)
    except ValueError as exc:
        raise FailedPrecondition(str(exc), reason="EXPERT_REVIEW_OPEN") from exc
    reason = req.reason.strip()
    pb = await _record(uow, row, "EXPERT_REVIEW_STARTED",
                       "expert review started (Reg. 17: the clock stops)"
                       + (f": {reason}" if reason else ""))
    await uow.publish(APPLICATION.name, row.id, events_pb2.ExpertReviewStarted(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        officer=p.subject, reason=reason, started_at=m.ts(now())))
    log.info("application.expert_review_started", application_id=row.id)
    return pb


async def end_expert_review(*, uow: UnitOfWork, p: Principal,
                            req: spb.EndExpertReviewRequest) -> apb.Application:
    """The expert review ends; the clock runs again from the next working day (Reg. 17)."""
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                             for_update=True))
    _competent(p, row.authority)
    day = today()
    started = open_pause(row.pauses, PauseKind.EXPERT_REVIEW)
    if started is None or row.state not in PENDING_STATES:
        raise FailedPrecondition("no expert review is under way on this application",
                                 reason="NO_EXPERT_REVIEW")
    row.pauses = end_pause(row.pauses, PauseKind.EXPERT_REVIEW, day)
    closed = Pause(started.start, max(day, started.start), PauseKind.EXPERT_REVIEW)
    kept_off = clock_status(row.accepted_on, day, (closed,)).paused_working_days
    outcome = req.outcome.strip()
    pb = await _record(uow, row, "EXPERT_REVIEW_ENDED",
                       f"expert review ended; {kept_off} working day(s) off the clock"
                       + (f": {outcome}" if outcome else ""))
    await uow.publish(APPLICATION.name, row.id, events_pb2.ExpertReviewEnded(
        application_id=row.id, exporter_uscc=row.exporter_uscc, authority=row.authority,
        officer=p.subject, outcome=outcome, paused_working_days=kept_off,
        deadline=pb.deadline if pb.HasField("deadline") else None, ended_at=m.ts(now())))
    log.info("application.expert_review_ended", application_id=row.id, paused_days=kept_off)
    return pb


_DECISION = {events_pb2.DECISION_APPROVE: Action.APPROVE,
             events_pb2.DECISION_APPROVE_WITH_CONDITIONS: Action.APPROVE_WITH_CONDITIONS,
             events_pb2.DECISION_DENY: Action.DENY}


async def _check_general_licence(uow: UnitOfWork, row: repo.AppRow) -> None:
    """Art. 14: a general licence is a facilitation for an exporter whose ICP works, and
    never for a watch-listed party (Reg. 26), a control-list party, items outside the general
    licence regimes, or an application the assessment does not support. The officer may not
    issue one where the newest assessment found the application ineligible."""
    if _domain_app(row).content.licence_type is not dm.LicenceType.GENERAL:
        return
    body = await _repo(uow).latest_assessment(row.id)
    if body is None:
        raise FailedPrecondition(
            "a general licence needs an assessment of Art. 14 eligibility first",
            reason="GENERAL_LICENCE_NOT_ASSESSED")
    a = assessment_pb2.Assessment.FromString(body)
    if not a.general_licence_eligible:
        why = ", ".join(r.code for r in a.general_licence_reasons) or "no reason recorded"
        raise FailedPrecondition(
            f"no general licence: not eligible under Art. 14 ({why}; the assessment's "
            "general_licence_reasons say why); deny, or the exporter applies for single "
            "licences", reason="GENERAL_LICENCE_NOT_ELIGIBLE")


async def decide_application(*, uow: UnitOfWork, p: Principal,
                             req: spb.DecideApplicationRequest) -> spb.DecideApplicationResponse:
    """Approve (issues the licence), approve with conditions, or deny with reasons; only an
    officer of the competent authority."""
    vc = ViolationCollector()
    action = _DECISION.get(req.decision)
    vc.require(action is not None, "decision", "approve, approve with conditions or deny")
    conditions = [c.strip() for c in req.conditions if c.strip()]
    reasons = [r.strip() for r in req.reasons if r.strip()]
    if action == Action.APPROVE_WITH_CONDITIONS:
        vc.require(bool(conditions), "conditions", "an approval with conditions states them")
    if action == Action.DENY:
        vc.require(bool(reasons), "reasons", "a denial states its reasons (Art. 41 review)")
    vc.raise_if_any()
    row = _visible_app(p, await _repo(uow).get_application(req.application_id,
                                                     for_update=True))
    _competent(p, row.authority)
    if action in (Action.APPROVE, Action.APPROVE_WITH_CONDITIONS):
        await _check_general_licence(uow, row)
    # issue 11: Arts. 18, 23, 24, 39 guards and the officer's judgement of every finding
    ctx = await proc.check_decision(uow, row, action != Action.DENY, req)
    was = row.state
    row.state = transition(row.state, action, reconsideration_used=row.reconsideration_used)
    if was == S.RECONSIDERATION:
        row.reconsideration_used = True
    at, day = now(), today()
    row.decided_on = day  # a refusal starts the 60 days to request reconsideration
    row.pauses = _close_open_pauses(row.pauses, day)  # a decision ends an expert review
    licence_pb = None
    if action in (Action.APPROVE, Action.APPROVE_WITH_CONDITIONS):
        app = replace(_domain_app(row), state=row.state)
        lic = dl.issue_licence(str(uuid.uuid4()), app, day,
                               valid_until=m.date_from_pb(req.valid_until),
                               conditions=tuple(conditions))
        await _repo(uow).insert_licence(lic, row.authority)
        row.licence_id = lic.id
        content_pb = m.content_from_json(row.content)
        licence_pb = m.licence_to_pb(lic, content_pb, row.reference, row.authority, at)
    pb = await _record(uow, row, "STATE_CHANGED", "; ".join(conditions or reasons)
                       or "approved")
    await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationDecided(
        application_id=row.id, exporter_uscc=row.exporter_uscc, decision=req.decision,
        conditions=conditions, reasons=reasons, officer=p.subject, authority=row.authority,
        licence_id=row.licence_id or "", decided_at=m.ts(at),
        recommendation=ctx.recommendation, judgements=ctx.judgements_pb()))
    await proc.record_decision(uow, row, p.subject, req.decision, ctx, at)
    if licence_pb is not None:
        await uow.publish(LICENCE.name, licence_pb.licence_id, events_pb2.LicenceIssued(
            licence_id=licence_pb.licence_id, application_id=row.id,
            exporter_uscc=row.exporter_uscc, authority=row.authority,
            licence_type=licence_pb.licence_type, valid_from=licence_pb.valid_from,
            valid_until=licence_pb.valid_until, destination=licence_pb.destination,
            parties=licence_pb.parties, items=m.content_from_json(row.content).items,
            end_use=licence_pb.end_use, conditions=conditions))
        log.info("licence.issued", licence_id=licence_pb.licence_id, application_id=row.id)
    log.info("application.decided", application_id=row.id, state=row.state.value)
    return spb.DecideApplicationResponse(application=await proc.decorate(uow, pb),
                                         licence=licence_pb, judgements=ctx.judgements_pb())


# --------------------------------------------------------------------------- assessment


_POLICY_JSON: dict[str, str] = {}


def _policy_json(policy: Policy) -> str:
    """The canonical JSON of a policy version (kept by its content hash with assessments)."""
    if policy.content_hash not in _POLICY_JSON:
        _POLICY_JSON[policy.content_hash] = canonical_json(policy).decode()
    return _POLICY_JSON[policy.content_hash]


@dataclass(frozen=True)
class Replay:
    """An old assessment replayed from its snapshot under its own policy version."""

    assessment_id: str
    policy_version: str
    stored_inputs_hash: str
    inputs_hash: str
    stored_recommendation: str
    recommendation: str

    @property
    def reproduced(self) -> bool:
        """The same inputs hash and the same recommendation as when it was made."""
        return (self.inputs_hash == self.stored_inputs_hash
                and self.recommendation == self.stored_recommendation)


async def replay_assessment(*, uow: UnitOfWork, assessment_id: str) -> Replay:
    """Re-check an old assessment: read back the exporter's record, standing, screening and
    application it used and the policy version it ran under (by content hash), recompute its
    inputs hash and recommendation. Independent of today's record, standing and policy."""
    rec = await _repo(uow).assessment_record(assessment_id)
    if rec is None:
        raise NotFound("no such assessment", reason="ASSESSMENT_NOT_FOUND")
    if rec["inputs"] is None or rec["policy_content"] is None:
        raise FailedPrecondition("the assessment predates input snapshots (migration 0004)",
                                 reason="ASSESSMENT_NOT_REPLAYABLE")
    policy = from_plain(Policy, json.loads(rec["policy_content"]))
    if policy.content_hash != rec["policy_hash"]:
        raise FailedPrecondition("the stored policy version does not match its hash",
                                 reason="POLICY_VERSION_CORRUPT")
    snapshot = from_plain(AssessmentSnapshot, json.loads(rec["inputs"]))
    again = snapshot.replay(policy)
    return Replay(assessment_id, policy.version, rec["inputs_hash"], again.inputs_hash,
                  rec["recommendation"], again.recommendation.value)


async def assess_application(*, uow: UnitOfWork, msg: scr.ScreeningCompleted) -> bool:
    """ScreeningCompleted for an application: UNDER_REVIEW, Art. 13 assessment stored with its
    inputs hash and policy version, ApplicationAssessed published. False when not applicable
    (unknown application, or no longer screening: a stale or repeated result)."""
    row = await _repo(uow).get_application(msg.subject_id, for_update=True)
    if row is None or row.state != S.SCREENING:
        log.debug("application.screening_ignored", application_id=msg.subject_id,
                 state=row.state.value if row else None)
        return False
    content_pb = m.content_from_json(row.content)
    screening = m.screening_to_domain(msg, content_pb)
    found = await _repo(uow).get_operator(row.exporter_uscc)
    standing = await _repo(uow).get_standing(row.exporter_uscc)
    day = today()
    app = _domain_app(row)
    policy = policy_in_force(policies(), day)
    snapshot = AssessmentSnapshot(app, found[0], screening, standing, day)
    result = snapshot.replay(policy)
    at = now()
    assessment_id = str(uuid.uuid4())
    body = m.assessment_to_pb(result, assessment_id, at)
    await _repo(uow).insert_assessment(
        assessment_id=assessment_id, application_id=row.id,
        screening_id=result.screening_id, recommendation=result.recommendation.value,
        policy_version=result.policy_version, policy_hash=result.policy_hash,
        inputs_hash=result.inputs_hash, assessed_on=day, assessed_at=at,
        body=body.SerializeToString(), inputs=canonical_json(snapshot).decode(),
        policy_content=_policy_json(policy))
    await proc.after_assessment(uow, row.id, screening)  # issue 11: Reg. 26 time limit
    row.state = transition(row.state, Action.COMPLETE_ASSESSMENT)
    await _record(uow, row, "STATE_CHANGED", "screening completed; under review")
    await _record(uow, row, "ASSESSED", result.recommendation.value, assessment_id)
    await uow.publish(APPLICATION.name, row.id, m.assessed_event(body, row.exporter_uscc))
    log.info("application.assessed", application_id=row.id,
             recommendation=result.recommendation.value, policy=result.policy_version)
    return True


# --------------------------------------------------------------------------- licences


async def _visible_licence(uow: UnitOfWork, p: Principal, licence_id: str,
                           for_update: bool = False) -> repo.LicenceRow:
    lr = await _repo(uow).get_licence(licence_id, for_update=for_update)
    if lr is None or (p.role is Role.EXPORTER and lr.licence.holder_uscc != p.uscc) or (
            p.role is Role.OFFICER and lr.authority != p.authority.value):
        raise NotFound("no such licence", reason="LICENCE_NOT_FOUND")
    return lr


async def _licence_pb(uow: UnitOfWork, lic: dl.Licence, lr: repo.LicenceRow):
    row = await _repo(uow).get_application(lic.application_id)
    return m.licence_to_pb(lic, m.content_from_json(row.content), row.reference, lr.authority,
                           now())


async def get_licence(*, uow: UnitOfWork, p: Principal, licence_id: str):
    """One licence the caller may see."""
    lr = await _visible_licence(uow, p, licence_id)
    return await _licence_pb(uow, lr.licence, lr)


async def list_licences(*, uow: UnitOfWork, p: Principal, req: spb.ListLicencesRequest):
    """Licences the caller may see, filtered by status, paged."""
    offset, size = _page(req.page_token, req.page_size)
    uscc = p.uscc if p.role is Role.EXPORTER else (req.holder_uscc.strip().upper() or None)
    authority = p.authority.value if p.role is Role.OFFICER else None
    status = m.LICENCE_STATUS_FROM_PB.get(req.status)
    states = None
    if status is not None:
        states = ["ACTIVE"] if status == dl.LicenceStatus.ON_HOLD else [status.value]
    rows = await _repo(uow).list_licences(uscc=uscc, authority=authority, states=states,
                                    offset=offset, limit=size + 1)
    out = [await _licence_pb(uow, r.licence, r) for r in rows[:size]]
    if status is not None:
        out = [x for x in out if x.status == req.status]
    return spb.ListLicencesResponse(licences=out,
                                    next_page_token=str(offset + size) if len(rows) > size
                                    else "")


async def record_export(*, uow: UnitOfWork, p: Principal, req: spb.RecordExportRequest):
    """An export against a licence (a single licence is used up by it: Dual-use Regulations,
    licence provisions: a single licence is void once used)."""
    record = m.export_record_from_pb(req.export)
    lr = await _visible_licence(uow, p, req.licence_id, for_update=True)
    before = len(lr.licence.exports)
    lic = dl.record_export(lr.licence, record)
    await _repo(uow).save_licence(lic)
    if len(lic.exports) != before:
        await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceUsed(
            licence_id=lic.id, exporter_uscc=lic.holder_uscc, export_id=record.export_id,
            exhausted=lic.state == dl.LicenceState.USED,
            exported_on=m.date_to_pb(record.exported_on)))
        log.info("licence.used", licence_id=lic.id, export_id=record.export_id)
    return await _licence_pb(uow, lic, lr)


async def suspend_licence_as(uow: UnitOfWork, lr: repo.LicenceRow, reason: str, source: str,
                             source_id: str = "") -> dl.Licence:
    """Suspend and publish LicenceSuspended (officers, rescreening and enduser handlers)."""
    lic = dl.suspend(lr.licence, reason)
    await _repo(uow).save_licence(lic)
    await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceSuspended(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, reason=reason, source=source,
        source_id=source_id, suspended_at=m.ts(now())))
    log.info("licence.suspended", licence_id=lic.id, source=source)
    return lic


async def revoke_licence_as(uow: UnitOfWork, lr: repo.LicenceRow, reason: str, source: str,
                            source_id: str = "") -> dl.Licence:
    """Revoke and publish LicenceRevoked."""
    lic = dl.revoke(lr.licence, reason)
    await _repo(uow).save_licence(lic)
    await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceRevoked(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, reason=reason, source=source,
        source_id=source_id, revoked_at=m.ts(now())))
    log.info("licence.revoked", licence_id=lic.id, source=source)
    return lic


def _reason(reason: str) -> str:
    if not reason.strip():
        raise ValidationFailed(FieldViolation("reason", "a reason is required"))
    return reason.strip()


async def suspend_licence(*, uow: UnitOfWork, p: Principal, req: spb.SuspendLicenceRequest):
    """An officer of the issuing authority suspends a licence."""
    reason = _reason(req.reason)
    lr = await _visible_licence(uow, p, req.licence_id, for_update=True)
    _competent(p, lr.authority)
    lic = await suspend_licence_as(uow, lr, reason, "officer", p.subject)
    return await _licence_pb(uow, lic, lr)


async def reinstate_licence(*, uow: UnitOfWork, p: Principal, req: spb.ReinstateLicenceRequest):
    """An officer reinstates a suspended licence within its validity."""
    reason = _reason(req.reason)
    lr = await _visible_licence(uow, p, req.licence_id, for_update=True)
    _competent(p, lr.authority)
    lic = dl.reinstate(lr.licence, reason, today())
    await _repo(uow).save_licence(lic)
    await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceReinstated(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, reason=reason,
        reinstated_at=m.ts(now())))
    return await _licence_pb(uow, lic, lr)


async def revoke_licence(*, uow: UnitOfWork, p: Principal, req: spb.RevokeLicenceRequest):
    """An officer revokes a licence (final)."""
    reason = _reason(req.reason)
    lr = await _visible_licence(uow, p, req.licence_id, for_update=True)
    _competent(p, lr.authority)
    lic = await revoke_licence_as(uow, lr, reason, "officer", p.subject)
    return await _licence_pb(uow, lic, lr)


# --------------------------------------------------------------------------- consumers' cases


async def on_rescreening_match(*, uow: UnitOfWork, msg: scr.RescreeningMatch) -> None:
    """A list change hit a licence (suspend, source "rescreening") or a pending application
    (flag it for the officer); a hit on an application that became a licence meanwhile
    suspends that licence (once: a suspended licence is not suspended again)."""
    hit = msg.hit
    what = (f"re-screening match: {hit.party_name or hit.party_id} ~ {hit.entry_name} "
            f"({scr.ListKind.Name(hit.list_kind)} {hit.entry_id})")
    if msg.subject_kind == scr.SUBJECT_KIND_LICENCE:
        lr = await _repo(uow).get_licence(msg.subject_id, for_update=True)
        if lr is None or lr.licence.state != dl.LicenceState.ACTIVE:
            return
        await suspend_licence_as(uow, lr, what, "rescreening", hit.entry_id)
    elif msg.subject_kind == scr.SUBJECT_KIND_APPLICATION:
        row = await _repo(uow).get_application(msg.subject_id, for_update=True)
        if row is not None and row.licence_id:
            # approved between the list change and screening learning of the licence
            # (LicenceIssued not yet consumed there): the match is the licence's (Art. 18)
            lr = await _repo(uow).get_licence(row.licence_id, for_update=True)
            if lr is not None and lr.licence.state == dl.LicenceState.ACTIVE:
                await suspend_licence_as(uow, lr, what, "rescreening", hit.entry_id)
            return
        if row is None or row.state not in PENDING_STATES:
            return
        row.flags = row.flags + [what]
        await _record(uow, row, "FLAGGED", what)
        await uow.publish(APPLICATION.name, row.id, events_pb2.ApplicationFlagged(
            application_id=row.id, exporter_uscc=row.exporter_uscc, reason=what,
            list_entry_id=hit.entry_id, flagged_at=m.ts(now())))
        log.info("application.flagged", application_id=row.id, entry_id=hit.entry_id)


_LEVEL = {1: CreditLevel.GOOD, 2: CreditLevel.WARNED, 3: CreditLevel.PENALISED,
          4: CreditLevel.BANNED}
KNOWN_CREDIT_LEVELS = frozenset(_LEVEL)


async def on_credit_standing(*, uow: UnitOfWork, msg) -> None:
    """Project CreditStandingChanged into credit_standing (factor 7, the Art. 39 ban)."""
    try:
        uscc = validate_uscc(msg.uscc)
    except UsccError:
        log.warning("credit.standing_bad_uscc", uscc=msg.uscc)
        return
    if msg.level not in _LEVEL:  # fail closed: an unknown level never counts as GOOD (Art. 39)
        raise ValueError(f"unknown credit standing level {msg.level}")
    standing = CreditStanding(uscc=uscc, level=_LEVEL[msg.level],
                              active_record_count=msg.active_records,
                              ban_until=m.date_from_pb(msg.ban_until)
                              if msg.HasField("ban_until") else None,
                              record_refs=tuple(msg.record_ids))
    await _repo(uow).upsert_standing(standing,
                               m.date_from_pb(msg.as_of) if msg.HasField("as_of") else None)


async def on_change_reported(*, uow: UnitOfWork, msg) -> None:
    """Art. 16 / Reg. 25: hold the licence while the change report is open."""
    if not msg.hold_licence:
        return
    lr = await _repo(uow).get_licence(msg.licence_id, for_update=True)
    if lr is None or msg.report_id in lr.licence.holds or lr.licence.state not in (
            dl.LicenceState.ACTIVE, dl.LicenceState.SUSPENDED):
        return
    lic = dl.place_on_hold(lr.licence, msg.report_id)
    await _repo(uow).save_licence(lic)
    await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceHeld(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc, report_id=msg.report_id,
        held_at=m.ts(now())))
    log.info("licence.held", licence_id=lic.id, report_id=msg.report_id)


async def on_change_resolved(*, uow: UnitOfWork, msg) -> None:
    """Release the hold, then apply the resolution: ACCEPT_AMENDMENT -> LicenceAmended;
    SUSPEND_LICENCE -> suspend; REVOKE_LICENCE -> revoke; REQUIRE_REAPPLICATION -> revoke with
    reason "re-apply" (Dual-use Regulations, licence provisions: a changed key element needs
    a new application, and the old licence no longer describes the transaction, so it must
    not stay usable); NO_ACTION -> release only."""
    from stc.enduser.v1 import events_pb2 as eu

    lr = await _repo(uow).get_licence(msg.licence_id, for_update=True)
    if lr is None:
        return
    lic = lr.licence
    at = m.ts(now())
    if msg.report_id in lic.holds:
        lic = dl.release_hold(lic, msg.report_id)
        await _repo(uow).save_licence(lic)
        await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceHoldReleased(
            licence_id=lic.id, exporter_uscc=lic.holder_uscc, report_id=msg.report_id,
            released_at=at))
    lr = repo.LicenceRow(lic, lr.authority, lr.updated_at)
    reasons = "; ".join(msg.reasons)
    live = lic.state in (dl.LicenceState.ACTIVE, dl.LicenceState.SUSPENDED)
    if msg.resolution == eu.RESOLUTION_KIND_ACCEPT_AMENDMENT:
        await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceAmended(
            licence_id=lic.id, exporter_uscc=lic.holder_uscc, report_id=msg.report_id,
            elements=list(msg.elements), amended_at=at))
    elif msg.resolution == eu.RESOLUTION_KIND_SUSPEND_LICENCE and \
            lic.state == dl.LicenceState.ACTIVE:
        await suspend_licence_as(uow, lr, reasons or "end-user change", "enduser", msg.report_id)
    elif msg.resolution == eu.RESOLUTION_KIND_REVOKE_LICENCE and live:
        await revoke_licence_as(uow, lr, reasons or "end-user change", "enduser", msg.report_id)
    elif msg.resolution == eu.RESOLUTION_KIND_REQUIRE_REAPPLICATION and live:
        await revoke_licence_as(
            uow, lr, "re-apply: a key element changed (Dual-use Regulations, licence "
            "provisions: a changed key element means re-applying)"
            + (f"; {reasons}" if reasons else ""), "enduser", msg.report_id)


async def on_end_use_check_completed(*, uow: UnitOfWork, msg) -> None:
    """An end-use check found the goods diverted (Art. 17): suspend the licence pending the
    violation case; other outcomes leave the licence as it is."""
    if not msg.suspend_licence:
        return
    lr = await _repo(uow).get_licence(msg.licence_id, for_update=True)
    if lr is None or lr.licence.state != dl.LicenceState.ACTIVE:
        return
    await suspend_licence_as(uow, lr, f"end-use check {msg.check_id}: {msg.details}"[:500],
                             "enduser", msg.check_id)


# --------------------------------------------------------------------------- ticker


DEADLINE_WARNING_WORKING_DAYS = 5


async def warn_deadline(*, uow: UnitOfWork, application_id: str, as_of: dt.date,
                        within: int = DEADLINE_WARNING_WORKING_DAYS) -> bool:
    """DeadlineApproaching once when at most `within` working days of the Reg. 17 clock are
    left on a pending application whose clock is running (for the officer's queue)."""
    row = await _repo(uow).get_application(application_id, for_update=True)
    if row is not None and await proc.time_limit_exempt(uow, row.id):
        return False  # Reg. 26 / Reg. 17 referral: not bound by the time limit (issue 11)
    if row is None or row.warning_reported or row.breach_reported or \
            row.state not in CLOCK_STATES or any(p.end is None for p in row.pauses):
        return False
    cs = clock_status(row.accepted_on, as_of, row.pauses)
    if cs.breached or cs.remaining > within:
        return False
    row.warning_reported = True
    await _record(uow, row, "DEADLINE_APPROACHING",
                  f"{cs.remaining} working day(s) left before the Reg. 17 deadline {cs.deadline}")
    await uow.publish(APPLICATION.name, row.id, events_pb2.DeadlineApproaching(
        application_id=row.id, authority=row.authority, deadline=m.date_to_pb(cs.deadline),
        working_days_remaining=cs.remaining))
    log.info("application.deadline_approaching", application_id=row.id,
             remaining=cs.remaining)
    return True


async def mark_breach(*, uow: UnitOfWork, application_id: str, as_of: dt.date) -> bool:
    """DeadlineBreached once when the Reg. 17 clock ran out without a decision. A
    reconsideration (Art. 41) does not run that clock: it is checked against its own due day
    (Administrative Reconsideration Law Art. 62) and noted once in the history when overdue."""
    row = await _repo(uow).get_application(application_id, for_update=True)
    if row is not None and row.state == S.RECONSIDERATION:
        if row.reconsideration_overdue_reported or row.reconsideration_due is None or \
                not drc.overdue(drc.ReconsiderationDates(
                    row.reconsideration_requested_on or row.reconsideration_due,
                    row.reconsideration_due), as_of):
            return False
        row.reconsideration_overdue_reported = True
        await _record(uow, row, "RECONSIDERATION_OVERDUE",
                      f"reconsideration due {row.reconsideration_due.isoformat()} not decided "
                      "(Art. 41; Administrative Reconsideration Law Art. 62)")
        log.warning("application.reconsideration_overdue", application_id=row.id)
        return False
    if row is None or row.breach_reported or row.state not in CLOCK_STATES or \
            await proc.time_limit_exempt(uow, row.id):  # issue 11: Reg. 26, Reg. 17 referral
        return False
    cs = clock_status(row.accepted_on, as_of, row.pauses)
    if not cs.breached:
        return False
    row.breach_reported = True
    await _record(uow, row, "DEADLINE_BREACHED", f"Reg. 17 deadline {cs.deadline} passed")
    await uow.publish(APPLICATION.name, row.id, events_pb2.DeadlineBreached(
        application_id=row.id, authority=row.authority, deadline=m.date_to_pb(cs.deadline)))
    log.warning("application.deadline_breached", application_id=row.id)
    return True


async def expire_licence(*, uow: UnitOfWork, licence_id: str, as_of: dt.date) -> bool:
    """LicenceExpired for a licence past valid_until."""
    lr = await _repo(uow).get_licence(licence_id, for_update=True)
    if lr is None or not dl.is_due_to_expire(lr.licence, as_of):
        return False
    lic = dl.expire(lr.licence, as_of)
    await _repo(uow).save_licence(lic)
    await uow.publish(LICENCE.name, lic.id, events_pb2.LicenceExpired(
        licence_id=lic.id, exporter_uscc=lic.holder_uscc,
        expired_on=m.date_to_pb(lic.valid_until + dt.timedelta(days=1))))
    log.info("licence.expired", licence_id=lic.id)
    return True

