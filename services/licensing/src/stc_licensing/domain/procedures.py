"""Per-regime procedures (issue 11, item 4). Pure rules.

- Referral to the State Council (Reg. 17: cases referred to the State Council are not bound by
  the 45-working-day time limit) for dual-use and other non-military cases; referral of a
  major military export to the State Council and the Central Military Commission (ECL Art. 24),
  which stops the clock until the referral ends. Either is opened by an officer of the
  competent authority on a case under review, one at a time.
- Art. 24: a military export licence is issued only after the export programme and the
  contract were approved (`missing_military_approvals`).
- The acceptance step (Reg. 17: the 45 working days run from acceptance): an application is
  taken as accepted on the day it is submitted complete; until an officer formally accepts it
  (`accept`), the officer may instead return it for missing materials (`return_for_materials`;
  state RETURNED, the clock has not started); once resubmitted with them, the acceptance day
  - and the clock's first day - is the resubmission day. A formally accepted application is
  no longer returned: missing information is then asked for with RequestInformation, which
  only pauses the clock.

The clock itself lives in `clock.py` (a referral is a pause of kind REFERRAL); this module
says what is allowed and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum

from .model import ItemRegime


class ReferralBody(str, Enum):
    """To whom a case is referred."""

    STATE_COUNCIL = "STATE_COUNCIL"
    STATE_COUNCIL_AND_CMC = "STATE_COUNCIL_AND_CMC"


class MilitaryApprovalKind(str, Enum):
    """Art. 24: what is approved before a military export licence."""

    EXPORT_PROGRAMME = "EXPORT_PROGRAMME"
    CONTRACT = "CONTRACT"


@dataclass(frozen=True)
class Referral:
    """A referral; `ended_on` None while it is open."""

    body: ReferralBody
    reason: str
    referred_on: dt.date
    officer: str
    ended_on: dt.date | None = None
    outcome: str = ""

    @property
    def open(self) -> bool:
        """The referral has not ended."""
        return self.ended_on is None


@dataclass(frozen=True)
class MilitaryApproval:
    """Art. 24: one approval (programme or contract) with its document reference."""

    kind: MilitaryApprovalKind
    document_ref: str
    approved_on: dt.date
    officer: str


@dataclass(frozen=True)
class Acceptance:
    """The acceptance step: formal acceptance, or the last return for missing materials."""

    accepted_by: str = ""
    accepted_on: dt.date | None = None
    missing_materials: tuple[str, ...] = ()
    returned_by: str = ""
    returned_on: dt.date | None = None


@dataclass(frozen=True)
class Procedures:
    """What the procedures add to one application."""

    application_id: str
    time_limit_exemption: str = ""
    referral: Referral | None = None
    military_approvals: tuple[MilitaryApproval, ...] = ()
    acceptance: Acceptance = Acceptance()


class ProcedureRefused(Exception):
    """A procedural step the law does not allow here; `reason` is the machine code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


STATE_COUNCIL_EXEMPTION = ("Reg. 17: referred to the State Council; the decision is not bound "
                           "by the time limit")


def refer(p: Procedures, regime: ItemRegime, body: ReferralBody, reason: str, day: dt.date,
          officer: str) -> Procedures:
    """Open a referral: military cases go to the State Council and the Central Military
    Commission (Art. 24), others to the State Council (Reg. 17)."""
    if p.referral is not None and p.referral.open:
        raise ProcedureRefused(f"the case is already referred to {p.referral.body.value} "
                               f"since {p.referral.referred_on.isoformat()}", "REFERRAL_OPEN")
    if regime == ItemRegime.MILITARY and body != ReferralBody.STATE_COUNCIL_AND_CMC:
        raise ProcedureRefused("a major military export is referred to the State Council and "
                               "the Central Military Commission together (Art. 24)",
                               "REFERRAL_BODY_FOR_REGIME")
    if regime != ItemRegime.MILITARY and body != ReferralBody.STATE_COUNCIL:
        raise ProcedureRefused("only military exports go to the Central Military Commission "
                               "(Art. 24); refer this case to the State Council (Reg. 17)",
                               "REFERRAL_BODY_FOR_REGIME")
    exemption = p.time_limit_exemption
    if body == ReferralBody.STATE_COUNCIL and not exemption:
        exemption = STATE_COUNCIL_EXEMPTION
    return replace(p, referral=Referral(body, reason, day, officer), time_limit_exemption=exemption)


def end_referral(p: Procedures, outcome: str, day: dt.date) -> Procedures:
    """Close the open referral (the clock runs again from the next working day)."""
    if p.referral is None or not p.referral.open:
        raise ProcedureRefused("no referral is open on this application", "NO_REFERRAL")
    return replace(p, referral=replace(p.referral, ended_on=max(day, p.referral.referred_on),
                                       outcome=outcome))


def record_military_approval(p: Procedures, regime: ItemRegime, approval: MilitaryApproval
                             ) -> Procedures:
    """Art. 24: add an approval of the export programme or the contract (military only; a
    newer approval of the same kind replaces the older)."""
    if regime != ItemRegime.MILITARY:
        raise ProcedureRefused("programme and contract approvals are for military exports "
                               "(Art. 24)", "NOT_MILITARY")
    kept = tuple(a for a in p.military_approvals if a.kind != approval.kind)
    return replace(p, military_approvals=kept + (approval,))


def missing_military_approvals(regime: ItemRegime, p: Procedures) -> tuple[MilitaryApprovalKind, ...]:
    """Art. 24: the approvals a military licence still waits for (none for other regimes)."""
    if regime != ItemRegime.MILITARY:
        return ()
    have = {a.kind for a in p.military_approvals}
    return tuple(k for k in MilitaryApprovalKind if k not in have)


def accept(p: Procedures, day: dt.date, officer: str) -> Procedures:
    """Formal acceptance by an officer (after it, no return for missing materials)."""
    if p.acceptance.accepted_by:
        raise ProcedureRefused(f"accepted already on {p.acceptance.accepted_on}",
                               "ALREADY_ACCEPTED")
    return replace(p, acceptance=replace(p.acceptance, accepted_by=officer, accepted_on=day))


def return_for_materials(p: Procedures, missing: tuple[str, ...], day: dt.date,
                         officer: str) -> Procedures:
    """Return the application for missing materials, before formal acceptance (Reg. 17)."""
    if p.acceptance.accepted_by:
        raise ProcedureRefused(
            f"the application was accepted on {p.acceptance.accepted_on}: ask for the missing "
            "information with RequestInformation (the clock pauses, Reg. 17)", "ALREADY_ACCEPTED")
    if not missing:
        raise ProcedureRefused("name the missing materials", "NO_MATERIALS_NAMED")
    return replace(p, acceptance=replace(p.acceptance, missing_materials=missing,
                                         returned_by=officer, returned_on=day))
