"""gRPC requests to commands and the use cases' answers to responses: the only module that
knows stc.licensing.v1's request and response types. Shapes the use cases cannot represent
(unspecified enums, a quantity that is not a decimal, a malformed USCC at registration) are
INVALID_ARGUMENT here, all violations of a request together; the rules of the law are the
use cases' and the domain's."""

from __future__ import annotations

import uuid

from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import assessment_pb2, events_pb2, licence_pb2, operator_pb2
from stc.licensing.v1 import extraterritorial_pb2 as epb
from stc.licensing.v1 import holiday_schedule_pb2 as hpb
from stc.licensing.v1 import licensing_service_pb2 as service_pb2
from stc.licensing.v1 import temporary_control_pb2 as tpb
from stc_common.auth.jwt import Principal
from stc_common.errors import FieldViolation, ValidationFailed, ViolationCollector
from stc_common.idempotency import check_request_id

from stc_licensing import wire
from stc_licensing.domain import discretion as discretion_rules
from stc_licensing.domain import extraterritorial as et
from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.domain import procedures as procedure_rules
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.domain.states import Action
from stc_licensing.events import outgoing
from stc_licensing.service import commands
from stc_licensing.service.views import (
    ApplicationView,
    Decision,
    EnteredSchedule,
    HolidaySchedules,
    LicenceView,
    OperatorView,
    Page,
    ReExportEvaluation,
)
from stc_licensing.storage.ports import StoredMeasure, StoredSchedule

_DECISION = {events_pb2.DECISION_APPROVE: Action.APPROVE,
             events_pb2.DECISION_APPROVE_WITH_CONDITIONS: Action.APPROVE_WITH_CONDITIONS,
             events_pb2.DECISION_DENY: Action.DENY}

# --------------------------------------------------------------------------- requests


def _icp(items: object, prefix: str = "icp") -> tuple:
    vc = ViolationCollector()
    icp = wire.icp_from_pb(items, vc, prefix)
    vc.raise_if_any()
    return icp


def register_operator(req: service_pb2.RegisterOperatorRequest) -> commands.RegisterOperator:
    """RegisterOperatorRequest -> RegisterOperator."""
    return commands.RegisterOperator(uscc=req.uscc, name_zh=req.name_zh, name_en=req.name_en,
                                     address=req.address, icp=_icp(req.icp))


def get_operator(req: service_pb2.GetOperatorRequest) -> commands.GetOperator:
    """GetOperatorRequest -> GetOperator."""
    return commands.GetOperator(req.uscc)


def update_icp_self_assessment(req: service_pb2.UpdateIcpSelfAssessmentRequest
                               ) -> commands.UpdateIcpSelfAssessment:
    """UpdateIcpSelfAssessmentRequest -> UpdateIcpSelfAssessment."""
    return commands.UpdateIcpSelfAssessment(req.uscc, _icp(req.icp))


def record_icp_audit(req: service_pb2.RecordIcpAuditRequest) -> commands.RecordIcpAudit:
    """RecordIcpAuditRequest -> RecordIcpAudit (outcome None when unset)."""
    return commands.RecordIcpAudit(req.uscc, wire.ICP_OUTCOME.get(req.outcome),
                                   wire.date_from_pb(req.audited_on), req.report_ref)


def set_military_qualification(req: service_pb2.SetMilitaryQualificationRequest
                               ) -> commands.SetMilitaryQualification:
    """SetMilitaryQualificationRequest -> SetMilitaryQualification (None clears)."""
    qual = None
    if req.HasField("qualification"):
        q = req.qualification
        qual = commands.QualificationInput(q.certificate_no, tuple(q.scope),
                                           wire.date_from_pb(q.valid_from),
                                           wire.date_from_pb(q.valid_to))
    return commands.SetMilitaryQualification(req.uscc, qual)


def _content(content: apb.ApplicationContent, applicant: str) -> apb.ApplicationContent:
    """The content as stored: the exporter defaults to the caller's USCC, upper case, and
    every party has an id screening can refer to."""
    out = apb.ApplicationContent()
    out.CopyFrom(content)
    out.exporter_uscc = (out.exporter_uscc or applicant).strip().upper()
    wire.assign_party_ids(out)
    return out


def submit_application(caller: Principal, req: service_pb2.SubmitApplicationRequest
                       ) -> commands.SubmitApplication:
    """SubmitApplicationRequest -> SubmitApplication."""
    request_id = check_request_id(req.request_id)
    content = _content(req.content, caller.uscc or "")
    return commands.SubmitApplication(request_id, wire.content_to_domain(content),
                                      wire.content_to_json(content))


def amend_application(caller: Principal, req: service_pb2.AmendApplicationRequest
                      ) -> commands.AmendApplication:
    """AmendApplicationRequest -> AmendApplication (content None when absent). Only the
    applicant amends, so the caller's USCC is the application's."""
    if not req.HasField("content"):
        return commands.AmendApplication(req.application_id, req.answer)
    content = _content(req.content, caller.uscc or "")
    return commands.AmendApplication(req.application_id, req.answer,
                                     wire.content_to_domain(content),
                                     wire.content_to_json(content))


def list_applications(req: service_pb2.ListApplicationsRequest) -> commands.ListApplications:
    """ListApplicationsRequest -> ListApplications."""
    vc = ViolationCollector()
    state = None
    if req.state:
        state = wire.STATE_FROM_PB.get(req.state)
        vc.require(state is not None, "state", "unknown state")
    vc.raise_if_any()
    return commands.ListApplications(req.page_token, req.page_size, req.exporter_uscc,
                                     req.authority, state)


def list_review_queue(req: service_pb2.ListReviewQueueRequest) -> commands.ListReviewQueue:
    """ListReviewQueueRequest -> ListReviewQueue (an unknown state stays None: refused)."""
    return commands.ListReviewQueue(req.page_token, req.page_size,
                                    tuple(wire.STATE_FROM_PB.get(s) for s in req.states))


def decide_application(req: service_pb2.DecideApplicationRequest
                       ) -> commands.DecideApplication:
    """DecideApplicationRequest -> DecideApplication (action None when unset)."""
    return commands.DecideApplication(
        req.application_id, _DECISION.get(req.decision), tuple(req.conditions),
        tuple(req.reasons), wire.date_from_pb(req.valid_until),
        tuple(discretion_rules.Judgement(j.code.strip(), _VERDICT.get(j.verdict), j.reason)
              for j in req.finding_judgements))


_VERDICT = {events_pb2.FINDING_VERDICT_ACCEPTED: discretion_rules.Verdict.ACCEPTED,
            events_pb2.FINDING_VERDICT_OVERRIDDEN: discretion_rules.Verdict.OVERRIDDEN}
_BODY = {apb.REFERRAL_BODY_STATE_COUNCIL: procedure_rules.ReferralBody.STATE_COUNCIL,
         apb.REFERRAL_BODY_STATE_COUNCIL_AND_CMC:
             procedure_rules.ReferralBody.STATE_COUNCIL_AND_CMC}
_APPROVAL = {
    apb.MILITARY_APPROVAL_KIND_EXPORT_PROGRAMME: procedure_rules.MilitaryApprovalKind.EXPORT_PROGRAMME,
    apb.MILITARY_APPROVAL_KIND_CONTRACT: procedure_rules.MilitaryApprovalKind.CONTRACT}


def refer_application(req: service_pb2.ReferApplicationRequest) -> commands.ReferApplication:
    """ReferApplicationRequest -> ReferApplication (body None when unset)."""
    return commands.ReferApplication(req.application_id, _BODY.get(req.body), req.reason)


def end_referral(req: service_pb2.EndReferralRequest) -> commands.EndReferral:
    """EndReferralRequest -> EndReferral."""
    return commands.EndReferral(req.application_id, req.outcome)


def record_military_approval(req: service_pb2.RecordMilitaryApprovalRequest
                             ) -> commands.RecordMilitaryApproval:
    """RecordMilitaryApprovalRequest -> RecordMilitaryApproval (kind None when unset)."""
    return commands.RecordMilitaryApproval(req.application_id, _APPROVAL.get(req.kind),
                                           req.document_ref)


def return_application(req: service_pb2.ReturnApplicationRequest
                       ) -> commands.ReturnApplication:
    """ReturnApplicationRequest -> ReturnApplication."""
    return commands.ReturnApplication(req.application_id, tuple(req.missing_materials))


def resubmit_application(caller: Principal, req: service_pb2.ResubmitApplicationRequest
                         ) -> commands.ResubmitApplication:
    """ResubmitApplicationRequest -> ResubmitApplication (content None when absent; only
    the applicant resubmits, so the caller's USCC is the application's)."""
    if not req.HasField("content"):
        return commands.ResubmitApplication(req.application_id, req.note)
    content = _content(req.content, caller.uscc or "")
    return commands.ResubmitApplication(req.application_id, req.note,
                                        wire.content_to_domain(content),
                                        wire.content_to_json(content))


def list_licences(req: service_pb2.ListLicencesRequest) -> commands.ListLicences:
    """ListLicencesRequest -> ListLicences."""
    return commands.ListLicences(req.page_token, req.page_size, req.holder_uscc,
                                 wire.LICENCE_STATUS_FROM_PB.get(req.status))


def record_export(req: service_pb2.RecordExportRequest) -> commands.RecordExport:
    """RecordExportRequest -> RecordExport (INVALID_ARGUMENT for a malformed record)."""
    return commands.RecordExport(req.licence_id, wire.export_record_from_pb(req.export))


# --------------------------------------------------------------------------- responses


def operator(view: OperatorView) -> operator_pb2.Operator:
    """The Operator resource."""
    return wire.operator_to_pb(view.operator, view.registered_at)


def application(view: ApplicationView) -> apb.Application:
    """The Application resource."""
    return wire.application_to_pb(view)


def applications(page: Page[ApplicationView]) -> service_pb2.ListApplicationsResponse:
    """A page of applications."""
    return service_pb2.ListApplicationsResponse(
        applications=[application(v) for v in page.items],
        next_page_token=page.next_page_token)


def licence(view: LicenceView) -> licence_pb2.Licence:
    """The Licence resource."""
    return wire.licence_to_pb(view.licence, wire.content_from_json(view.content_json),
                              view.reference, view.authority, view.shown_at)


def licences(page: Page[LicenceView]) -> service_pb2.ListLicencesResponse:
    """A page of licences."""
    return service_pb2.ListLicencesResponse(licences=[licence(v) for v in page.items],
                                            next_page_token=page.next_page_token)


def decision(d: Decision) -> service_pb2.DecideApplicationResponse:
    """The decided application and the licence an approval issued."""
    return service_pb2.DecideApplicationResponse(
        application=application(d.application),
        licence=licence(d.licence) if d.licence is not None else None,
        judgements=outgoing.judgements_to_pb(d.judgements))


def assessment(body: bytes) -> assessment_pb2.Assessment:
    """The stored Assessment document."""
    return assessment_pb2.Assessment.FromString(body)


_KIND = {"STATE_CHANGED": service_pb2.UPDATE_KIND_STATE_CHANGED,
         "ASSESSED": service_pb2.UPDATE_KIND_ASSESSED,
         "FLAGGED": service_pb2.UPDATE_KIND_FLAGGED,
         "DEADLINE_BREACHED": service_pb2.UPDATE_KIND_DEADLINE_BREACHED,
         "EXPERT_REVIEW_STARTED": service_pb2.UPDATE_KIND_EXPERT_REVIEW_STARTED,
         "EXPERT_REVIEW_ENDED": service_pb2.UPDATE_KIND_EXPERT_REVIEW_ENDED,
         "DEADLINE_APPROACHING": service_pb2.UPDATE_KIND_DEADLINE_APPROACHING,
         "INFORMATION_PROVIDED": service_pb2.UPDATE_KIND_INFORMATION_PROVIDED,
         "RECONSIDERATION_OVERDUE": service_pb2.UPDATE_KIND_RECONSIDERATION_OVERDUE,
         "DEADLINE_RECOMPUTED": service_pb2.UPDATE_KIND_DEADLINE_RECOMPUTED,
         # issue 11 items 2 and 4
         "REFERRED": service_pb2.UPDATE_KIND_REFERRED,
         "REFERRAL_ENDED": service_pb2.UPDATE_KIND_REFERRAL_ENDED,
         "MILITARY_APPROVAL": service_pb2.UPDATE_KIND_MILITARY_APPROVAL,
         "ACCEPTED": service_pb2.UPDATE_KIND_ACCEPTED,
         "RETURNED": service_pb2.UPDATE_KIND_RETURNED,
         "RESUBMITTED": service_pb2.UPDATE_KIND_RESUBMITTED}
_STATE = {state.value: number for number, state in wire.STATE_FROM_PB.items()}


def application_update(step: dict) -> service_pb2.ApplicationUpdate:
    """One history step of WatchApplication (the application as it was after the step)."""
    return service_pb2.ApplicationUpdate(
        sequence=step["sequence"], kind=_KIND.get(step["kind"], service_pb2.UPDATE_KIND_UNSPECIFIED),
        state=_STATE[step["state"]], note=step["note"],
        application=apb.Application.FromString(step["snapshot"]),
        assessment=assessment_pb2.Assessment.FromString(step["assessment_body"])
        if step["assessment_body"] else None)


# ------------------------------------------ the holiday calendar as data (issue 11 item 3)


def _officer(caller: Principal) -> str:
    return f"{caller.authority.value if caller.authority else '?'}/{caller.subject}"


def schedule_entry(s: hpb.HolidaySchedule) -> hc.ScheduleEntry:
    """The domain entry of a request's schedule; INVALID_ARGUMENT names unset dates."""
    missing: list[FieldViolation] = []
    periods = []
    for i, p in enumerate(s.holidays):
        first = wire.date_from_pb(p.first_day)
        last = wire.date_from_pb(p.last_day) if p.HasField("last_day") else None
        if first is None:
            missing.append(FieldViolation(f"schedule.holidays[{i}].first_day", "required"))
            continue
        periods.append(hc.HolidayPeriod(p.name, first, last or first))
    working = []
    for i, d in enumerate(s.working_days):
        day = wire.date_from_pb(d)
        if day is None:
            missing.append(FieldViolation(f"schedule.working_days[{i}]", "not a date"))
        else:
            working.append(day)
    if missing:
        raise ValidationFailed(missing)
    return hc.ScheduleEntry(year=s.year, announcement=s.announcement, periods=tuple(periods),
                            working_days=tuple(working),
                            published_on=wire.date_from_pb(s.published_on)
                            if s.HasField("published_on") else None)


def enter_holiday_schedule(caller: Principal, req: hpb.EnterHolidayScheduleRequest
                           ) -> commands.EnterHolidaySchedule:
    """EnterHolidayScheduleRequest -> EnterHolidaySchedule (the entry records the authority
    and officer; the State Council's schedule binds every authority)."""
    if not req.HasField("schedule"):
        raise ValidationFailed(FieldViolation("schedule", "required"))
    request_id = check_request_id(req.request_id, required=False) or None
    return commands.EnterHolidaySchedule(schedule_entry(req.schedule), _officer(caller),
                                         request_id)


def holiday_schedule(stored: StoredSchedule, recomputed: int = 0) -> hpb.HolidaySchedule:
    """The HolidaySchedule resource."""
    e = stored.entry
    return hpb.HolidaySchedule(
        name=f"holidaySchedules/{e.year}", year=e.year, announcement=e.announcement,
        published_on=wire.date_to_pb(e.published_on),
        holidays=[hpb.HolidayPeriod(name=p.name, first_day=wire.date_to_pb(p.first_day),
                                    last_day=wire.date_to_pb(p.last_day)) for p in e.periods],
        working_days=[wire.date_to_pb(d) for d in e.working_days],
        entered_by=stored.entered_by, entered_at=wire.ts(stored.entered_at),
        deadlines_recomputed=recomputed)


def entered_schedule(done: EnteredSchedule) -> hpb.HolidaySchedule:
    """EnterHolidaySchedule's answer."""
    return holiday_schedule(done.stored, done.recomputed)


def holiday_schedules(found: HolidaySchedules) -> hpb.ListHolidaySchedulesResponse:
    """ListHolidaySchedules' answer."""
    return hpb.ListHolidaySchedulesResponse(
        schedules=[holiday_schedule(s) for s in found.schedules],
        package_first_year=found.package_first_year, package_last_year=found.package_last_year)


# ---------------------------------------- temporary controls, Art. 9(2) (issue 11 item 5)

_MEASURE_STATUS = {
    tc.MeasureStatus.ACTIVE: tpb.TEMPORARY_CONTROL_STATUS_ACTIVE,
    tc.MeasureStatus.CANCELLED: tpb.TEMPORARY_CONTROL_STATUS_CANCELLED,
    tc.MeasureStatus.LISTED: tpb.TEMPORARY_CONTROL_STATUS_LISTED,
    tc.MeasureStatus.EXPIRED: tpb.TEMPORARY_CONTROL_STATUS_EXPIRED,
}
_MEASURE_DECISION = {tpb.TEMPORARY_CONTROL_DECISION_CANCEL: "CANCEL",
                     tpb.TEMPORARY_CONTROL_DECISION_EXTEND: "EXTEND",
                     tpb.TEMPORARY_CONTROL_DECISION_LIST: "LIST"}


def create_temporary_control(caller: Principal, req: tpb.CreateTemporaryControlRequest
                             ) -> commands.CreateTemporaryControl:
    """CreateTemporaryControlRequest -> CreateTemporaryControl (a measure id is assigned when
    the request names none)."""
    t = req.temporary_control
    start, end = wire.date_from_pb(t.start), wire.date_from_pb(t.end)
    missing = [FieldViolation(f"temporary_control.{n}", "required")
               for n, v in (("start", start), ("end", end)) if v is None]
    if missing:
        raise ValidationFailed(missing)
    assert start is not None and end is not None
    request_id = check_request_id(req.request_id, required=False) or None
    measure = tc.TemporaryControl(
        measure_id=t.measure_id.strip() or f"tc-{uuid.uuid4().hex[:12]}",
        announcement=t.announcement,
        items=tuple(tc.ControlledItem(i.control_code.strip(), i.hs_code.strip(),
                                      i.description) for i in t.items),
        start=start, end=end, note=t.note)
    return commands.CreateTemporaryControl(measure, _officer(caller), request_id)


def decide_temporary_control(req: tpb.DecideTemporaryControlRequest
                             ) -> commands.DecideTemporaryControl:
    """DecideTemporaryControlRequest -> DecideTemporaryControl."""
    decision = _MEASURE_DECISION.get(req.decision)
    if decision is None:
        raise ValidationFailed(FieldViolation("decision", "CANCEL, EXTEND or LIST"))
    return commands.DecideTemporaryControl(
        req.measure_id, decision,
        wire.date_from_pb(req.new_end) if req.HasField("new_end") else None, req.announcement)


def list_temporary_controls(req: tpb.ListTemporaryControlsRequest
                            ) -> commands.ListTemporaryControls:
    """ListTemporaryControlsRequest -> ListTemporaryControls."""
    return commands.ListTemporaryControls(
        wire.date_from_pb(req.in_force_on) if req.HasField("in_force_on") else None)


def temporary_control(found: StoredMeasure) -> tpb.TemporaryControl:
    """The TemporaryControl resource."""
    x = found.measure
    return tpb.TemporaryControl(
        name=f"temporaryControls/{x.measure_id}", measure_id=x.measure_id,
        announcement=x.announcement,
        items=[tpb.TemporarilyControlledItem(control_code=i.control_code, hs_code=i.hs_code,
                                             description=i.description) for i in x.items],
        start=wire.date_to_pb(x.start), end=wire.date_to_pb(x.end),
        status=_MEASURE_STATUS[x.status], ended_on=wire.date_to_pb(x.ended_on), note=x.note,
        registered_by=found.registered_by, updated_at=wire.ts(found.updated_at))


def temporary_controls(found: list[StoredMeasure]) -> tpb.ListTemporaryControlsResponse:
    """ListTemporaryControls' answer."""
    return tpb.ListTemporaryControlsResponse(
        temporary_controls=[temporary_control(f) for f in found])


# ------------------------------------ extraterritorial de minimis, Arts. 45, 44 (item 6)

_PPM = 1_000_000


def evaluate_re_export(req: epb.EvaluateReExportRequest) -> commands.EvaluateReExport:
    """EvaluateReExportRequest -> EvaluateReExport; INVALID_ARGUMENT names every bad field."""
    errors = ViolationCollector()
    made_in = req.made_in.strip().upper()
    errors.require(len(made_in) == 2 and made_in.isalpha(), "made_in",
                   "an ISO 3166-1 alpha-2 country code")
    errors.require(made_in != "CN", "made_in", "an item made in the PRC is exported, not "
                                               "re-exported as a foreign-made item")
    currency = req.item_value.currency_code
    errors.require(req.item_value.amount_minor > 0, "item_value.amount_minor", "must be > 0")
    for i, c in enumerate(req.content):
        errors.require(bool(c.control_code.strip()), f"content[{i}].control_code", "required")
        errors.require(c.value.amount_minor >= 0, f"content[{i}].value.amount_minor",
                       "must not be negative")
        errors.require(c.value.currency_code == currency, f"content[{i}].value.currency_code",
                       f"must be the item value's currency {currency!r}")
    errors.raise_if_any()
    return commands.EvaluateReExport(
        req.description, made_in, req.item_value.amount_minor,
        tuple(et.PrcContent(c.control_code.strip(), c.value.amount_minor) for c in req.content),
        wire.date_from_pb(req.on_date) if req.HasField("on_date") else None)


def re_export_evaluation(r: ReExportEvaluation) -> epb.EvaluateReExportResponse:
    """EvaluateReExport's answer: each rule's decision with its figures (ppm)."""
    return epb.EvaluateReExportResponse(
        licence_required=r.licence_required,
        outcomes=[epb.DeMinimisOutcome(
            rule_id=o.rule.rule_id, announcement=o.rule.announcement, basis=o.rule.basis,
            share_ppm=int(o.share * _PPM), de_minimis_ppm=int(o.rule.share * _PPM),
            licence_required=o.licence_required, reason=o.reason) for o in r.outcomes])
