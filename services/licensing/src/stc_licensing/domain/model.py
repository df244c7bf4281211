"""The licensing aggregates' data: export operators and application content.

Frozen dataclasses and enums only; the rules live in validation, states, assessment and
licence. Collections are tuples so every value is immutable and hashable where its fields
are. Money is integer minor units plus an ISO 4217 code; quantities are `Decimal`.
Article numbers: Export Control Law 2020 (ECL); "Reg." = State Council Regulations on
Export Control of Dual-use Items (2024).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from .canonical import OMIT_DEFAULT
from .personal_bans import NaturalPerson
from .special_cases import SpecialCaseRequest, WatchListMaterials

_OMIT = {OMIT_DEFAULT: True}

# --------------------------------------------------------------------------- operators


class IcpElement(str, Enum):
    """The nine elements of MOFCOM's 2021 ICP guideline (Art. 14 facilitation)."""

    POLICY_STATEMENT = "POLICY_STATEMENT"
    ORGANISATION = "ORGANISATION"
    RISK_ASSESSMENT = "RISK_ASSESSMENT"
    REVIEW_PROCEDURES = "REVIEW_PROCEDURES"
    EMERGENCY_MEASURES = "EMERGENCY_MEASURES"
    TRAINING = "TRAINING"
    COMPLIANCE_AUDIT = "COMPLIANCE_AUDIT"
    RECORD_KEEPING = "RECORD_KEEPING"
    MANUAL = "MANUAL"


class IcpStatus(str, Enum):
    """Self-assessed status of one ICP element."""

    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    PARTIAL = "PARTIAL"
    IMPLEMENTED = "IMPLEMENTED"


class IcpAuditOutcome(str, Enum):
    """An officer's conclusion on an operator's ICP (Art. 14)."""

    EFFECTIVE = "EFFECTIVE"
    NEEDS_IMPROVEMENT = "NEEDS_IMPROVEMENT"
    INEFFECTIVE = "INEFFECTIVE"


@dataclass(frozen=True)
class MilitaryQualification:
    """Military export qualification (Art. 23): only qualified operators export military items."""

    certificate_no: str
    scope: tuple[str, ...]
    valid_from: dt.date
    valid_to: dt.date

    def is_valid_on(self, day: dt.date) -> bool:
        """True when `day` lies within [valid_from, valid_to]."""
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class IcpElementAssessment:
    """The operator's self-assessment of one ICP element, with evidence document refs."""

    element: IcpElement
    status: IcpStatus
    evidence_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class IcpAudit:
    """An officer's audit of the operator's ICP (Art. 14)."""

    audited_on: dt.date
    outcome: IcpAuditOutcome
    officer_id: str = ""
    report_ref: str = ""


@dataclass(frozen=True)
class ExportOperator:
    """An export operator identified by its USCC.

    `licensed_exports` (exports recorded against its licences) and `established_end_users`
    (party keys, see `party_key`, of end users it has exported to under licence) are the
    export history the service projects; Art. 14 general-licence eligibility uses them.
    """

    uscc: str
    name_zh: str
    name_en: str
    address: str
    military_qualification: MilitaryQualification | None = None
    icp: tuple[IcpElementAssessment, ...] = ()
    icp_audits: tuple[IcpAudit, ...] = ()
    licensed_exports: int = 0
    established_end_users: frozenset[str] = frozenset()

    def icp_element(self, element: IcpElement) -> IcpElementAssessment | None:
        """The self-assessment of one element, if given."""
        return next((e for e in self.icp if e.element == element), None)

    def latest_icp_audit(self) -> IcpAudit | None:
        """The most recent officer audit, if any."""
        return max(self.icp_audits, key=lambda a: a.audited_on, default=None)

    def has_valid_military_qualification(self, day: dt.date) -> bool:
        """Art. 23: a military export qualification valid on `day`."""
        q = self.military_qualification
        return q is not None and q.is_valid_on(day)


# --------------------------------------------------------------------------- applications


class LicenceType(str, Enum):
    """A single licence (one export, one end user) or a general licence (the Dual-use
    Regulations' licence provisions)."""

    SINGLE = "SINGLE"
    GENERAL = "GENERAL"


class ItemRegime(str, Enum):
    """The control regime of the items applied for (decides the competent authority)."""

    DUAL_USE = "DUAL_USE"
    MILITARY = "MILITARY"
    NUCLEAR = "NUCLEAR"
    CONTROLLED_CHEMICAL = "CONTROLLED_CHEMICAL"
    TEMPORARY_CONTROL = "TEMPORARY_CONTROL"  # Art. 9
    CATCH_ALL = "CATCH_ALL"  # Art. 12(3)


class ExportType(str, Enum):
    """Kinds of export the law covers (Art. 2, Art. 45)."""

    PERMANENT = "PERMANENT"
    TEMPORARY_EXHIBITION = "TEMPORARY_EXHIBITION"
    TEMPORARY_REPAIR = "TEMPORARY_REPAIR"
    TRANSIT = "TRANSIT"
    TRANSSHIPMENT = "TRANSSHIPMENT"
    RE_EXPORT = "RE_EXPORT"
    TECHNOLOGY_TRANSFER = "TECHNOLOGY_TRANSFER"
    PROVISION_TO_FOREIGN_PERSONS_IN_CHINA = "PROVISION_TO_FOREIGN_PERSONS_IN_CHINA"


class PartyRole(str, Enum):
    """Roles of the foreign (and service) parties named in an application."""

    IMPORTER = "IMPORTER"
    CONSIGNEE = "CONSIGNEE"
    END_USER = "END_USER"
    INTERMEDIARY = "INTERMEDIARY"
    FREIGHT_FORWARDER = "FREIGHT_FORWARDER"
    BANK = "BANK"


class CertificateIssuer(str, Enum):
    """Who issued the end-user certificate; Art. 15 accepts the end user or its government."""

    END_USER = "END_USER"
    GOVERNMENT = "GOVERNMENT"
    OTHER = "OTHER"


class EndUseCategory(str, Enum):
    """Declared nature of the end use (destination measures often target military use)."""

    CIVIL = "CIVIL"
    MILITARY = "MILITARY"
    GOVERNMENT = "GOVERNMENT"
    RESEARCH = "RESEARCH"
    OTHER = "OTHER"


class CatchAllConcern(str, Enum):
    """Art. 12(3): what the exporter knows, should know or was told the item may serve."""

    WMD = "WMD"  # weapons of mass destruction and their means of delivery
    TERRORISM = "TERRORISM"
    NATIONAL_SECURITY = "NATIONAL_SECURITY"


class ApplicationState(str, Enum):
    """States of a licence application; see `states.py` for the transitions."""

    SUBMITTED = "SUBMITTED"
    SCREENING = "SCREENING"
    UNDER_REVIEW = "UNDER_REVIEW"
    INFORMATION_REQUESTED = "INFORMATION_REQUESTED"
    APPROVED = "APPROVED"
    APPROVED_WITH_CONDITIONS = "APPROVED_WITH_CONDITIONS"
    DENIED = "DENIED"
    WITHDRAWN = "WITHDRAWN"
    RECONSIDERATION = "RECONSIDERATION"  # Art. 41
    RETURNED = "RETURNED"  # Reg. 17: returned for missing materials before acceptance


@dataclass(frozen=True)
class Money:
    """An amount in integer minor units (fen, cents) of an ISO 4217 currency."""

    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Item:
    """One line of controlled items; `control_code` is empty only for catch-all items."""

    control_code: str
    description: str
    hs_code: str
    quantity: Decimal
    unit: str
    value: Money


@dataclass(frozen=True)
class PartyIdentifier:
    """A registration or tax number of a party, with its kind (e.g. 'LEI', 'VAT', 'REG')."""

    kind: str
    value: str


@dataclass(frozen=True)
class Party:
    """A party by role; `name` in any script, `name_latin` an optional transliteration."""

    role: PartyRole
    name: str
    country: str
    identifiers: tuple[PartyIdentifier, ...] = ()
    address: str = ""
    name_latin: str = ""


@dataclass(frozen=True)
class EndUse:
    """Declared end use: a category and the applicant's statement."""

    category: EndUseCategory
    statement: str


@dataclass(frozen=True)
class EndUserCertificate:
    """End-user / end-use certificate (Art. 15) identified by the document's SHA-256."""

    issuer_kind: CertificateIssuer
    issuer_name: str
    document_sha256: str
    issued_on: dt.date
    expires_on: dt.date | None = None

    def is_valid_on(self, day: dt.date) -> bool:
        """Issued on or before `day` and not expired on `day`."""
        return self.issued_on <= day and (self.expires_on is None or day <= self.expires_on)


@dataclass(frozen=True)
class CatchAllDeclaration:
    """A catch-all declaration (Art. 12(3)): whether the exporter knows or was informed."""

    concern: CatchAllConcern
    knows_or_informed: bool
    statement: str = ""


@dataclass(frozen=True)
class ApplicationContent:
    """What an exporter submits (and may amend in answer to an information request)."""

    exporter_uscc: str
    licence_type: LicenceType
    regime: ItemRegime
    export_type: ExportType
    items: tuple[Item, ...]
    destination: str  # ISO 3166-1 alpha-2
    parties: tuple[Party, ...]
    end_use: EndUse
    end_user_certificate: EndUserCertificate | None = None
    contract_reference: str = ""
    catch_all_declarations: tuple[CatchAllDeclaration, ...] = ()
    # issue 11 (special_cases.py): Art. 18 special case, Reg. 26 documents; left out of the
    # canonical inputs while unset (older snapshots replay with the same hash)
    special_case: SpecialCaseRequest | None = field(default=None, metadata=_OMIT)
    watch_list_materials: WatchListMaterials | None = field(default=None, metadata=_OMIT)
    # Art. 39 (personal_bans.py): the legal representative and the person handling it
    legal_representative: NaturalPerson | None = field(default=None, metadata=_OMIT)
    handling_person: NaturalPerson | None = field(default=None, metadata=_OMIT)

    def parties_with_role(self, role: PartyRole) -> tuple[Party, ...]:
        """The parties of one role, in submission order."""
        return tuple(p for p in self.parties if p.role == role)

    @property
    def end_users(self) -> tuple[Party, ...]:
        """The END_USER parties."""
        return self.parties_with_role(PartyRole.END_USER)


@dataclass(frozen=True)
class Application:
    """A submitted application: identity, content, state and its acceptance date."""

    id: str
    content: ApplicationContent
    state: ApplicationState = ApplicationState.SUBMITTED
    submitted_on: dt.date | None = None
    accepted_on: dt.date | None = None
    reference: str = ""
    authority: str = ""


def normalise_name(name: str) -> str:
    """NFKC, case-folded, whitespace-collapsed form of a name in any script."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def party_key(party: Party) -> str:
    """A stable key for a party: country plus its first identifier, else its normalised name.

    Used for 'stable end users' (Art. 14) and to detect an end-user change (the Dual-use
    Regulations' licence provisions).
    """
    if party.identifiers:
        ident = sorted(party.identifiers, key=lambda i: (i.kind, i.value))[0]
        return f"{party.country.upper()}|{ident.kind.upper()}:{ident.value.strip().upper()}"
    return f"{party.country.upper()}|{normalise_name(party.name)}"
