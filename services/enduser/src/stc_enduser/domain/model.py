"""Values of the end-user service: change reports, resolutions, end-use checks, consequences.

Everything here is a frozen dataclass or an enum; the rules in `rules.py` build new values
instead of mutating. Times are timezone-aware `datetime`s (UTC by convention).

Law (ECL = Export Control Law 2020; Reg. = Regulations on Export Control of Dual-use Items):
- ECL Art. 15: end-user and end-use certificates (forged, altered, expired, obtained by fraud).
- ECL Art. 16 / Reg. 25: the exporter or the importer reports at once when the end user or
  the end use has changed or may change, or a certificate is forged, altered or expired.
- ECL Art. 17: end-use checks (evaluation and verification).
- ECL Art. 18: the control list of importers and end users (a diversion may lead there).
- Reg. 26: the watch list of parties that did not cooperate with an end-use check.
- Key elements of a licence (end user, destination, item): a change means re-applying
  (the Dual-use Regulations' licence provisions; docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from stc_common.prc_time import prc_date

REFERENCE_PREFIX = "CR"
REFERENCE_RE = re.compile(r"^CR-(\d{4})-(\d{6})$")
MAX_SEQUENCE = 999_999


class LicenceStatus(StrEnum):
    """Status of a licence as the licensing service announced it (the local projection)."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"

    @property
    def closed(self) -> bool:
        """Revoked and expired are final: nothing is left to report on."""
        return self in (LicenceStatus.REVOKED, LicenceStatus.EXPIRED)


class Authority(StrEnum):
    """Competent authorities (SECADs) an officer or a licence belongs to."""

    MOFCOM = "MOFCOM"
    SASTIND = "SASTIND"
    CAEA = "CAEA"
    CWC = "CWC"


class ReporterRole(StrEnum):
    """Who files a change report (ECL Art. 16: the exporter or the importer)."""

    EXPORTER = "EXPORTER"
    IMPORTER = "IMPORTER"


class ChangeKind(StrEnum):
    """What happened, per ECL Art. 15-16 and Reg. 25."""

    END_USER_CHANGED = "END_USER_CHANGED"
    END_USER_MAY_CHANGE = "END_USER_MAY_CHANGE"
    END_USE_CHANGED = "END_USE_CHANGED"
    END_USE_MAY_CHANGE = "END_USE_MAY_CHANGE"
    TRANSFER_TO_THIRD_PARTY = "TRANSFER_TO_THIRD_PARTY"
    CERTIFICATE_FORGED = "CERTIFICATE_FORGED"
    CERTIFICATE_ALTERED = "CERTIFICATE_ALTERED"
    CERTIFICATE_EXPIRED = "CERTIFICATE_EXPIRED"
    CERTIFICATE_BY_FRAUD = "CERTIFICATE_BY_FRAUD"


# Kinds about the end user (a new or different party receives the items).
END_USER_KINDS = frozenset(
    {
        ChangeKind.END_USER_CHANGED,
        ChangeKind.END_USER_MAY_CHANGE,
        ChangeKind.TRANSFER_TO_THIRD_PARTY,
    }
)
# Kinds about the end use.
END_USE_KINDS = frozenset(
    {
        ChangeKind.END_USE_CHANGED,
        ChangeKind.END_USE_MAY_CHANGE,
        ChangeKind.TRANSFER_TO_THIRD_PARTY,
    }
)
# Kinds about the end-user / end-use certificate (ECL Art. 15).
CERTIFICATE_KINDS = frozenset(
    {
        ChangeKind.CERTIFICATE_FORGED,
        ChangeKind.CERTIFICATE_ALTERED,
        ChangeKind.CERTIFICATE_EXPIRED,
        ChangeKind.CERTIFICATE_BY_FRAUD,
    }
)


class ReportStatus(StrEnum):
    """A report is open (the licence is on hold) until an officer resolves it."""

    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class ResolutionKind(StrEnum):
    """What an officer decides on a change report."""

    ACCEPT_AMENDMENT = "ACCEPT_AMENDMENT"  # a non-key element only
    REQUIRE_REAPPLICATION = "REQUIRE_REAPPLICATION"  # a key element: end user, destination, item
    SUSPEND_LICENCE = "SUSPEND_LICENCE"
    REVOKE_LICENCE = "REVOKE_LICENCE"
    NO_ACTION = "NO_ACTION"


class LicenceElement(StrEnum):
    """Elements of a licence a change can touch; the first three are key elements."""

    END_USER = "END_USER"
    DESTINATION = "DESTINATION"
    ITEM = "ITEM"
    END_USE = "END_USE"
    END_USER_CERTIFICATE = "END_USER_CERTIFICATE"
    CONSIGNEE = "CONSIGNEE"
    QUANTITY = "QUANTITY"
    DELIVERY_SCHEDULE = "DELIVERY_SCHEDULE"


KEY_ELEMENTS = frozenset({LicenceElement.END_USER, LicenceElement.DESTINATION, LicenceElement.ITEM})


class CheckStatus(StrEnum):
    """State of an end-use check (ECL Art. 17)."""

    SCHEDULED = "SCHEDULED"
    VERIFIED = "VERIFIED"
    NOT_COOPERATING = "NOT_COOPERATING"
    DIVERTED = "DIVERTED"


class ViolationKind(StrEnum):
    """Kinds of violation case the end-user service opens for the credit service."""

    DIVERSION = "DIVERSION"
    FAILURE_TO_REPORT = "FAILURE_TO_REPORT"


# --- parties, documents, officers, licences ---------------------------------------------


@dataclass(frozen=True)
class Identifier:
    """An identifier of a foreign or domestic party (scheme such as ``LEI``, ``USCC``, ``REG``)."""

    scheme: str
    value: str


@dataclass(frozen=True)
class Party:
    """A party: name in any script, ISO 3166-1 alpha-2 country, identifiers.

    `party_id` is the id the party has on the licence (licensing's party id); a newly named
    end user has none until licensing or screening assigns one.
    """

    name: str
    country: str
    identifiers: tuple[Identifier, ...] = ()
    party_id: str | None = None


@dataclass(frozen=True)
class Document:
    """A supporting document, stored elsewhere and identified by its SHA-256 (lower-case hex)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class Officer:
    """An officer acting for one competent authority (from the JWT)."""

    officer_id: str
    authority: Authority


@dataclass(frozen=True)
class LicenceView:
    """What the rules need to know about a licence (a local projection of licensing's events).

    `party_ids` are all parties on the licence (importer, consignee, end users, intermediaries);
    `end_user_ids` the end users among them.
    """

    licence_id: str
    exporter_uscc: str
    authority: Authority
    destination_country: str
    importer_id: str
    party_ids: frozenset[str] = frozenset()
    end_user_ids: frozenset[str] = frozenset()
    item_codes: tuple[str, ...] = ()

    def has_party(self, party_id: str | None) -> bool:
        """True when `party_id` is the importer or one of the licence's parties."""
        return party_id is not None and (party_id == self.importer_id or party_id in self.party_ids)


# --- change reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeReportDraft:
    """The input of ReportChange, before validation (field names are the violation paths).

    `reporter_id` is the exporter's USCC for EXPORTER, the importer's party id for IMPORTER.
    `subject_party_id` optionally names the party on the licence the report is about (the
    current end user who changes use, for example); it matters for failure-to-report marking.
    """

    licence_id: str
    reporter_role: ReporterRole
    reporter_id: str
    kind: ChangeKind
    details: str
    new_end_user: Party | None = None
    new_end_use: str | None = None
    documents: tuple[Document, ...] = ()
    subject_party_id: str | None = None


@dataclass(frozen=True)
class Resolution:
    """An officer's decision on a change report; `reasons` are required.

    `amended_elements` lists what an ACCEPT_AMENDMENT changes on the licence (non-key elements
    only) and is empty for the other kinds.
    """

    kind: ResolutionKind
    reasons: tuple[str, ...]
    amended_elements: frozenset[LicenceElement] = frozenset()


@dataclass(frozen=True)
class ChangeReport:
    """A report under ECL Art. 16 / Reg. 25, accepted at once and open until resolved.

    `authority` is the licence's competent authority (the officers who see and resolve it);
    `exporter_uscc` the licence's exporter (tenant isolation: an exporter sees only its own).
    `resolution`, `resolved_by` and `resolved_at` are set once RESOLVED.
    """

    report_id: str
    reference: str
    licence_id: str
    exporter_uscc: str
    authority: Authority
    reporter_role: ReporterRole
    reporter_id: str
    kind: ChangeKind
    details: str
    reported_at: dt.datetime
    new_end_user: Party | None = None
    new_end_use: str | None = None
    documents: tuple[Document, ...] = ()
    subject_party_id: str | None = None
    status: ReportStatus = ReportStatus.OPEN
    resolution: Resolution | None = None
    resolved_by: Officer | None = None
    resolved_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        """True while the report is unresolved (and so the licence is on hold)."""
        return self.status is ReportStatus.OPEN


# --- end-use checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """What an end-use check found; `details` are required unless VERIFIED."""

    status: CheckStatus
    details: str = ""


@dataclass(frozen=True)
class EndUseCheck:
    """An end-use check (ECL Art. 17) of one party on one licence, due by `deadline`.

    `overdue_confirmed` is True when NOT_COOPERATING was recorded because an officer confirmed
    that the deadline passed without an outcome. `failure_to_report` is True when a diversion
    was found with no earlier change report about that party or use (ECL Art. 16).
    """

    check_id: str
    licence_id: str
    exporter_uscc: str
    authority: Authority
    party: Party
    deadline: dt.datetime
    scheduled_by: Officer
    scheduled_at: dt.datetime
    status: CheckStatus = CheckStatus.SCHEDULED
    outcome_details: str = ""
    recorded_by: Officer | None = None
    recorded_at: dt.datetime | None = None
    overdue_confirmed: bool = False
    failure_to_report: bool = False


# --- consequences: what other services must do ---------------------------------------------
#
# Every effect names the licence it concerns. Licensing keeps one hold per report
# (HoldLicence / ReleaseHold carry the report id) so two open reports on one licence keep it
# on hold until both are resolved. Effects are listed in the order they are to be applied.


@dataclass(frozen=True)
class HoldLicence:
    """Licensing: hold the licence while this report is open (ECL Art. 16, Reg. 25)."""

    licence_id: str
    report_id: str


@dataclass(frozen=True)
class ReleaseHold:
    """Licensing: remove this report's hold (after any stronger measure listed before it)."""

    licence_id: str
    report_id: str


@dataclass(frozen=True)
class AmendLicence:
    """Licensing: amend the licence's non-key elements as reported."""

    licence_id: str
    report_id: str
    elements: frozenset[LicenceElement]


@dataclass(frozen=True)
class RequireReapplication:
    """Licensing: the licence cannot be used for the change; a new application is needed."""

    licence_id: str
    report_id: str
    elements: frozenset[LicenceElement]


@dataclass(frozen=True)
class SuspendLicence:
    """Licensing: suspend the licence; `source_id` is the report or check that caused it."""

    licence_id: str
    source_id: str
    reason: str
    basis: str


@dataclass(frozen=True)
class RevokeLicence:
    """Licensing: revoke the licence."""

    licence_id: str
    report_id: str
    reason: str


@dataclass(frozen=True)
class ScreenParty:
    """Screening: screen a newly reported end user against every list."""

    licence_id: str
    report_id: str
    party: Party


@dataclass(frozen=True)
class AddToWatchList:
    """Screening: put the party on the watch list (Reg. 26: did not cooperate with a check)."""

    licence_id: str
    check_id: str
    party: Party
    basis: str = "Regulations Art. 26"


@dataclass(frozen=True)
class OpenViolationCase:
    """Credit: open a violation case against the exporter, with the article and kind."""

    licence_id: str
    exporter_uscc: str
    kind: ViolationKind
    article: str
    check_id: str
    party_id: str | None = None


Effect = (
    HoldLicence
    | ReleaseHold
    | AmendLicence
    | RequireReapplication
    | SuspendLicence
    | RevokeLicence
    | ScreenParty
    | AddToWatchList
    | OpenViolationCase
)

_E = TypeVar("_E")


@dataclass(frozen=True)
class Consequence:
    """What follows from one decision: the effects other services must apply, in order.

    `recommended` is advice to the officer (set when a report is accepted), `basis` the
    articles the decision rests on. The wiring step maps each effect to event fields.
    """

    effects: tuple[Effect, ...] = ()
    recommended: ResolutionKind | None = None
    basis: tuple[str, ...] = ()

    def of_type(self, kind: type[_E]) -> tuple[_E, ...]:
        """The effects of one type, in order."""
        return tuple(e for e in self.effects if isinstance(e, kind))

    @property
    def puts_on_hold(self) -> bool:
        """True when the licence goes on hold."""
        return bool(self.of_type(HoldLicence))


@dataclass(frozen=True)
class ReportAccepted:
    """Result of accept_report: the new open report and its immediate consequence."""

    report: ChangeReport
    consequence: Consequence


@dataclass(frozen=True)
class ReportResolved:
    """Result of resolve: the resolved report and what licensing must do."""

    report: ChangeReport
    consequence: Consequence


@dataclass(frozen=True)
class CheckRecorded:
    """Result of record_outcome / confirm_overdue: the closed check and its consequence."""

    check: EndUseCheck
    consequence: Consequence


def format_reference(year: int, sequence: int) -> str:
    """The reference number of a report, e.g. ``CR-2026-000123`` (sequence 1..999999)."""
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be 1..{MAX_SEQUENCE}, got {sequence}")
    if not 1000 <= year <= 9999:
        raise ValueError(f"year must have four digits, got {year}")
    return f"{REFERENCE_PREFIX}-{year:04d}-{sequence:06d}"


def parse_reference(reference: str) -> tuple[int, int]:
    """Split ``CR-2026-000123`` into (2026, 123); ValueError when malformed."""
    m = REFERENCE_RE.match(reference)
    if not m or int(m.group(2)) == 0:
        raise ValueError(f"not a change report reference: {reference!r}")
    return int(m.group(1)), int(m.group(2))


def reference_year(at: dt.datetime) -> int:
    """The year a reference is numbered in: the calendar year in China (UTC+8)."""
    if at.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return prc_date(at).year
