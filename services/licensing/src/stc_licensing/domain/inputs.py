"""Inputs the assessment receives from other services: the screening outcome (screening
service, `ScreeningCompleted`) and the exporter's credit standing (credit service,
`CreditStandingChanged`, projected locally). Plain frozen dataclasses; the wiring step maps
the protobuf messages onto them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from .canonical import OMIT_DEFAULT
from .personal_bans import PersonBan
from .special_cases import ControlMeasure


class ListKind(str, Enum):
    """Which list a screening hit comes from; the legal basis differs per list."""

    PRC_CONTROL_LIST = "PRC_CONTROL_LIST"  # Art. 18 / Reg. 28: 管控名单
    PRC_WATCH_LIST = "PRC_WATCH_LIST"  # Reg. 26: 关注名单
    UNRELIABLE_ENTITY_LIST = "UNRELIABLE_ENTITY_LIST"  # MOFCOM UEL, a different legal basis
    UN_CONSOLIDATED = "UN_CONSOLIDATED"  # UN Security Council sanctions list
    OFAC_SDN = "OFAC_SDN"  # foreign list, not binding in the PRC
    BIS_DPL = "BIS_DPL"  # foreign list, not binding in the PRC
    OTHER = "OTHER"


class HitDecision(str, Enum):
    """The screening service's conclusion on one hit."""

    MATCH = "MATCH"
    POTENTIAL_MATCH = "POTENTIAL_MATCH"


class Severity(str, Enum):
    """Severity of a red flag or destination finding."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@dataclass(frozen=True)
class PartyHit:
    """A party matched against a list entry.

    `party_index` is the index into `ApplicationContent.parties`, or None for the exporter.
    """

    party_index: int | None
    list_kind: ListKind
    entry_id: str
    score: float
    decision: HitDecision
    entry_name: str = ""
    # control-list hits: the listing's measure (Art. 18); None = not stated (PROHIBIT)
    measure: ControlMeasure | None = field(default=None, metadata={OMIT_DEFAULT: True})


@dataclass(frozen=True)
class DestinationFinding:
    """Something the screening service found about the destination (a measure, an embargo)."""

    code: str
    description: str
    severity: Severity = Severity.MEDIUM
    measure_ref: str = ""


@dataclass(frozen=True)
class RedFlag:
    """A diversion red flag (see notes/law-tables.md), e.g. code 'RF10' for a forwarder as
    final destination."""

    code: str
    severity: Severity
    description: str = ""


@dataclass(frozen=True)
class ScreeningOutcome:
    """The result of screening one application (all parties, destination, items)."""

    screening_id: str
    party_hits: tuple[PartyHit, ...] = ()
    destination_findings: tuple[DestinationFinding, ...] = ()
    red_flags: tuple[RedFlag, ...] = ()


class CreditLevel(str, Enum):
    """The exporter's credit standing as the credit service summarises it (Art. 39)."""

    GOOD = "GOOD"
    WARNED = "WARNED"
    PENALISED = "PENALISED"
    BANNED = "BANNED"


@dataclass(frozen=True)
class CreditStanding:
    """The exporter's credit standing; `ban_until` is the end of an Art. 39 application ban."""

    uscc: str
    level: CreditLevel = CreditLevel.GOOD
    active_record_count: int = 0
    ban_until: dt.date | None = None
    record_refs: tuple[str, ...] = ()
    # Art. 39 personal bans in force of the enterprise's responsible persons (hashed ID
    # numbers); left out of the canonical inputs while empty
    person_bans: tuple[PersonBan, ...] = field(default=(), metadata={OMIT_DEFAULT: True})

    def is_banned_on(self, day: dt.date) -> bool:
        """Art. 39: applications may be refused while `ban_until` is after `day`."""
        return self.ban_until is not None and self.ban_until > day

    def is_clean(self, day: dt.date) -> bool:
        """GOOD, no active records and no ban."""
        return (
            self.level == CreditLevel.GOOD
            and self.active_record_count == 0
            and not self.is_banned_on(day)
        )
