"""The licensing service's request limits: the one table the edge enforces (issue 10).

Defaults (stc_common.grpc.limits.FieldLimits): 256 characters a string, 20 entries a
repeated field or map, no control characters; the shared types (Party, Item, EndUse …) come
from `stc_common.grpc.limits.SHARED_*`. Names below are relative to `stc.licensing.v1`.
The service README lists the figures and the worst-case sizes they give.
"""

from stc_common.grpc.limits import service_limits

_TEXT = 4000  # free-form text: reasons, answers, statements (tab and newline allowed)
_FREE = (
    "AmendApplicationRequest.answer",
    "CatchAllDeclaration.statement",
    "RequestReconsiderationRequest.grounds",
    "WithdrawApplicationRequest.reason",
    "SuspendLicenceRequest.reason",
    "ReinstateLicenceRequest.reason",
    "RevokeLicenceRequest.reason",
    "StartExpertReviewRequest.reason",
    "EndExpertReviewRequest.outcome",
    "RequestInformationRequest.questions",
    "RegisterOperatorRequest.address",
    # issue 11: special case (Art. 18), referral (Reg. 17, Art. 24), officer's reasons
    "SpecialCaseRequest.justification",
    "ReferApplicationRequest.reason",
    "EndReferralRequest.outcome",
    "ResubmitApplicationRequest.note",
)
_SHORT = {  # identifiers and codes
    "SubmitApplicationRequest.request_id": 128,
    "ApplicationContent.exporter_uscc": 18,
    "ApplicationContent.destination": 64,
    "ApplicationContent.contract_reference": 128,
    "RecordIcpAuditRequest.report_ref": 128,
    "ExportRecord.export_id": 128,
    "ExportRecord.customs_declaration": 128,
    "ExportLine.quantity": 32,
    "MilitaryQualification.certificate_no": 128,
    "EnterHolidayScheduleRequest.request_id": 128,
    "HolidaySchedule.announcement": 300,
    "HolidayPeriod.name": 64,
    "CreateTemporaryControlRequest.request_id": 128,
    "TemporaryControl.measure_id": 64,
    "TemporaryControl.announcement": 300,
    "TemporarilyControlledItem.control_code": 32,
    "TemporarilyControlledItem.hs_code": 16,
    "DecideTemporaryControlRequest.measure_id": 64,
    "DecideTemporaryControlRequest.announcement": 300,
    "EvaluateReExportRequest.made_in": 2,
    "PrcContent.control_code": 32,
    # Art. 39: the legal representative and the person handling the application
    "NaturalPerson.name": 128,
    "NaturalPerson.id_number": 40,
}

LIMITS = service_limits(
    "stc.licensing.v1",
    strings={
        **{name: _TEXT for name in _FREE},
        **_SHORT,
        # conditions and reasons of a decision: each a paragraph (ECL Art. 13 factors)
        "DecideApplicationRequest.conditions": 2000,
        "DecideApplicationRequest.reasons": 2000,
        "FindingJudgement.reason": 1000,  # the officer's reason for one override
        "RegisterOperatorRequest.name_zh": 300,
        "RegisterOperatorRequest.name_en": 300,
        "IcpElementAssessment.evidence_refs": 200,
    },
    items={
        "ApplicationContent.items": 20,
        "ApplicationContent.parties": 10,
        "ApplicationContent.catch_all_declarations": 5,
        "ExportRecord.lines": 50,
        "IcpElementAssessment.evidence_refs": 10,
        "RegisterOperatorRequest.icp": 9,  # the nine ICP elements (Art. 14, MOFCOM 2021)
        "UpdateIcpSelfAssessmentRequest.icp": 9,
        "HolidaySchedule.holidays": 20,  # domain/holiday_calendar.MAX_PERIODS
        "HolidaySchedule.working_days": 20,
        "TemporaryControl.items": 50,
        "EvaluateReExportRequest.content": 50,
        "DecideApplicationRequest.finding_judgements": 60,  # one per finding at most
    },
    free_text=(*_FREE, "DecideApplicationRequest.conditions", "DecideApplicationRequest.reasons",
               "FindingJudgement.reason"),
)
