"""The commands the licensing use cases take: frozen dataclasses of plain and domain values,
built by api/mapping.py from the gRPC requests and by events/handlers.py from the events
consumed. No protobuf here: a use case never sees the wire.

Application content travels twice: as the domain `ApplicationContent` the rules run on, and
as `content_json`, the submitted content in its stored form (proto JSON with party ids
assigned), which is stored verbatim and sent on in ApplicationSubmitted / ApplicationAmended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stc_licensing.domain import (
    extraterritorial,
    holiday_calendar,
    inputs,
    model,
    temporary_controls,
)
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import procedures as procedure_rules
from stc_licensing.domain.discretion import Judgement
from stc_licensing.domain.states import Action

# --------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class RegisterOperator:
    """An enterprise registers as an export operator (its ICP optional, Art. 14)."""

    uscc: str
    name_zh: str
    name_en: str = ""
    address: str = ""
    icp: tuple[model.IcpElementAssessment, ...] = ()


@dataclass(frozen=True)
class GetOperator:
    """Read one operator."""

    uscc: str


@dataclass(frozen=True)
class UpdateIcpSelfAssessment:
    """The exporter's ICP self-assessment over the nine elements (Art. 14)."""

    uscc: str
    icp: tuple[model.IcpElementAssessment, ...]


@dataclass(frozen=True)
class RecordIcpAudit:
    """An officer's ICP audit; `outcome` None when the request left it unset."""

    uscc: str
    outcome: model.IcpAuditOutcome | None
    audited_on: dt.date | None = None
    report_ref: str = ""


@dataclass(frozen=True)
class QualificationInput:
    """An Art. 23 qualification as asked for (checked by the use case)."""

    certificate_no: str
    scope: tuple[str, ...]
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True)
class SetMilitaryQualification:
    """SASTIND sets (a qualification) or clears (None) an Art. 23 qualification."""

    uscc: str
    qualification: QualificationInput | None


# --------------------------------------------------------------------------- applications


@dataclass(frozen=True)
class SubmitApplication:
    """A licence application (Art. 12); `request_id` makes a retry safe."""

    request_id: str
    content: model.ApplicationContent
    content_json: dict[str, Any]


@dataclass(frozen=True)
class GetApplication:
    """Read one application."""

    application_id: str


@dataclass(frozen=True)
class ListApplications:
    """Applications the caller may see, filtered, one page."""

    page_token: str = ""
    page_size: int = 0
    exporter_uscc: str = ""
    authority: str = ""
    state: model.ApplicationState | None = None


@dataclass(frozen=True)
class WithdrawApplication:
    """The exporter withdraws a pending application."""

    application_id: str
    reason: str = ""


@dataclass(frozen=True)
class AmendApplication:
    """The answer to an information request, with changed content or without (None)."""

    application_id: str
    answer: str = ""
    content: model.ApplicationContent | None = None
    content_json: dict[str, Any] | None = None


@dataclass(frozen=True)
class RequestReconsideration:
    """Art. 41: the applicant asks for reconsideration of a refusal."""

    application_id: str
    grounds: str = ""


@dataclass(frozen=True)
class GetAssessment:
    """Read the newest Art. 13 assessment of an application."""

    application_id: str


# --------------------------------------------------------------------------- review


@dataclass(frozen=True)
class ListReviewQueue:
    """The officer's queue; `states` empty for the default states, None for an unknown one."""

    page_token: str = ""
    page_size: int = 0
    states: tuple[model.ApplicationState | None, ...] = ()


@dataclass(frozen=True)
class RequestInformation:
    """An officer asks the applicant; the Reg. 17 clock stops."""

    application_id: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class StartExpertReview:
    """An officer sends the case to expert review (Reg. 17: the clock stops)."""

    application_id: str
    reason: str = ""


@dataclass(frozen=True)
class EndExpertReview:
    """The expert review ends."""

    application_id: str
    outcome: str = ""


@dataclass(frozen=True)
class DecideApplication:
    """Approve, approve with conditions or deny; `action` None when the request named none."""

    application_id: str
    action: Action | None
    conditions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    valid_until: dt.date | None = None
    # issue 11 item 2: the officer's judgement of findings (verdict None when unset)
    judgements: tuple[Judgement, ...] = ()


# --------------------------------------------------------------------------- procedures
# issue 11 items 2 and 4 (service/procedures.py)


@dataclass(frozen=True)
class ReferApplication:
    """Refer a case to the State Council (Reg. 17) or with the CMC (Art. 24); `body` None
    when the request named none."""

    application_id: str
    body: procedure_rules.ReferralBody | None
    reason: str = ""


@dataclass(frozen=True)
class EndReferral:
    """The referral answered, with its outcome."""

    application_id: str
    outcome: str = ""


@dataclass(frozen=True)
class RecordMilitaryApproval:
    """Art. 24: the export programme or the contract approved; `kind` None when unset."""

    application_id: str
    kind: procedure_rules.MilitaryApprovalKind | None
    document_ref: str = ""


@dataclass(frozen=True)
class AcceptApplication:
    """The officer formally accepts an application (Reg. 17)."""

    application_id: str


@dataclass(frozen=True)
class ReturnApplication:
    """The officer returns an application for missing materials before accepting it."""

    application_id: str
    missing_materials: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResubmitApplication:
    """The exporter resubmits a returned application (content None when absent)."""

    application_id: str
    note: str = ""
    content: model.ApplicationContent | None = None
    content_json: dict[str, Any] | None = None


# --------------------------------------------------------------------------- assessment


@dataclass(frozen=True)
class AssessApplication:
    """Screening finished for an application: assess it (Art. 13). `screening` maps the
    screening result onto the domain once the stored content (its party ids) is known."""

    application_id: str
    screening_id: str
    # the screening result as the domain's ScreeningOutcome, given the stored content (its
    # hits name parties by the party ids assigned at submission)
    outcome: Callable[[dict[str, Any]], inputs.ScreeningOutcome]


# --------------------------------------------------------------------------- licences


@dataclass(frozen=True)
class GetLicence:
    """Read one licence."""

    licence_id: str


@dataclass(frozen=True)
class ListLicences:
    """Licences the caller may see, filtered by status, one page."""

    page_token: str = ""
    page_size: int = 0
    holder_uscc: str = ""
    status: licence_rules.LicenceStatus | None = None


@dataclass(frozen=True)
class RecordExport:
    """An export against a licence."""

    licence_id: str
    export: licence_rules.ExportRecord


@dataclass(frozen=True)
class SuspendLicence:
    """An officer suspends a licence."""

    licence_id: str
    reason: str


@dataclass(frozen=True)
class ReinstateLicence:
    """An officer reinstates a suspended licence."""

    licence_id: str
    reason: str


@dataclass(frozen=True)
class RevokeLicence:
    """An officer revokes a licence (final)."""

    licence_id: str
    reason: str


# --------------------------------------------------------------------------- other services' events


@dataclass(frozen=True)
class HandleRescreeningMatch:
    """A control-list change matched a licence or a pending application (Art. 18)."""

    subject_kind: str  # "LICENCE" or "APPLICATION"
    subject_id: str
    entry_id: str
    what: str  # the match, as the licence's suspension reason / the application's flag


@dataclass(frozen=True)
class RecordCreditStanding:
    """credit's CreditStandingChanged for the local projection (factor 7, Art. 39)."""

    standing: inputs.CreditStanding
    as_of: dt.date | None


@dataclass(frozen=True)
class HoldLicence:
    """An end-user change report holds the licence (Art. 16, Reg. 25)."""

    licence_id: str
    report_id: str


class Resolution:
    """How an officer resolved a change report (enduser's ChangeResolved)."""

    NO_ACTION = "NO_ACTION"
    ACCEPT_AMENDMENT = "ACCEPT_AMENDMENT"
    SUSPEND_LICENCE = "SUSPEND_LICENCE"
    REVOKE_LICENCE = "REVOKE_LICENCE"
    REQUIRE_REAPPLICATION = "REQUIRE_REAPPLICATION"


@dataclass(frozen=True)
class ApplyChangeResolution:
    """Release the report's hold and apply its resolution (a Resolution value)."""

    licence_id: str
    report_id: str
    resolution: str
    reasons: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuspendAfterEndUseCheck:
    """An end-use check found the goods diverted (Art. 17)."""

    licence_id: str
    check_id: str
    details: str = ""


# ------------------------------------------------ the law as data (issue 11 items 3, 5, 6)


@dataclass(frozen=True)
class EnterHolidaySchedule:
    """Enter (or correct) a year's State Council holiday schedule (Reg. 17 working days)."""

    entry: holiday_calendar.ScheduleEntry
    entered_by: str  # AUTHORITY/subject of the officer, or data-file:NAME
    request_id: str | None = None


@dataclass(frozen=True)
class ListHolidaySchedules:
    """Every entered schedule and the years the package knows."""


@dataclass(frozen=True)
class CreateTemporaryControl:
    """Register a measure announced under ECL Art. 9(2)."""

    measure: temporary_controls.TemporaryControl
    registered_by: str
    request_id: str | None = None


@dataclass(frozen=True)
class DecideTemporaryControl:
    """The authority's evaluation of a measure (Art. 9(2)): CANCEL, EXTEND or LIST."""

    measure_id: str
    decision: str
    new_end: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class ListTemporaryControls:
    """The register; only what is in force on `in_force_on` when given."""

    in_force_on: dt.date | None = None


@dataclass(frozen=True)
class EvaluateReExport:
    """A described re-export of a foreign-made item with PRC-controlled content (ECL Arts.
    45, 44), on `on_date` (today when None)."""

    description: str
    made_in: str
    item_value_minor: int
    content: tuple[extraterritorial.PrcContent, ...]
    on_date: dt.date | None = None
