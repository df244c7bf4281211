"""Routing: the competent authority that reviews an application, by item regime.

- DUAL_USE -> MOFCOM (Art. 5; Dual-use Regulations 2024)
- TEMPORARY_CONTROL -> MOFCOM (Art. 9: temporary controls announced by MOFCOM)
- CATCH_ALL -> MOFCOM (Art. 12(3); catch-all is a dual-use instrument)
- MILITARY -> SASTIND (Art. 5, Art. 23; Regulations on the Administration of Arms Export,
  with the CMC's equipment department)
- NUCLEAR -> CAEA, MOFCOM consulted (Regulations on Nuclear Export Control)
- CONTROLLED_CHEMICAL -> CWC_OFFICE (Regulations on the Administration of Controlled
  Chemicals: CWC-scheduled chemicals, the National CWC Implementation Office in MIIT)

Thought given to chemicals: "controlled chemical" here means the CWC-scheduled chemicals
(监控化学品) only. Chemicals and chemical equipment that sit on the dual-use list (category
1C35x and 2B35x, the Australia Group precursors) are DUAL_USE items and go to MOFCOM, even
though they are chemicals. So routing is by regime, never by control-code category; an
applicant who files a listed precursor as CONTROLLED_CHEMICAL is routed to the CWC office,
and `route` reports a note asking the officer to check the regime.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .model import ApplicationContent, ItemRegime


class Authority(str, Enum):
    """Competent authorities (state export control administrative departments)."""

    MOFCOM = "MOFCOM"
    SASTIND = "SASTIND"
    CAEA = "CAEA"
    CWC_OFFICE = "CWC_OFFICE"


AUTHORITY_BY_REGIME: dict[ItemRegime, Authority] = {
    ItemRegime.DUAL_USE: Authority.MOFCOM,
    ItemRegime.TEMPORARY_CONTROL: Authority.MOFCOM,
    ItemRegime.CATCH_ALL: Authority.MOFCOM,
    ItemRegime.MILITARY: Authority.SASTIND,
    ItemRegime.NUCLEAR: Authority.CAEA,
    ItemRegime.CONTROLLED_CHEMICAL: Authority.CWC_OFFICE,
}

# Authorities consulted (not deciding) for a regime.
CONSULTED_BY_REGIME: dict[ItemRegime, tuple[Authority, ...]] = {
    ItemRegime.NUCLEAR: (Authority.MOFCOM,),
}

# Dual-use list categories that hold chemicals and chemical equipment (Australia Group).
_DUAL_USE_CHEMICAL_PREFIXES = ("1C35", "2B35", "1E35", "2E35")


@dataclass(frozen=True)
class Routing:
    """Where an application goes: the deciding authority, those consulted, and notes."""

    authority: Authority
    consulted: tuple[Authority, ...] = ()
    notes: tuple[str, ...] = ()


def competent_authority(regime: ItemRegime) -> Authority:
    """The authority that reviews and decides applications of `regime`."""
    return AUTHORITY_BY_REGIME[regime]


def route(content: ApplicationContent) -> Routing:
    """Route an application by its regime, with notes when the codes suggest another regime."""
    notes: list[str] = []
    if content.regime == ItemRegime.CONTROLLED_CHEMICAL and any(
        i.control_code.startswith(_DUAL_USE_CHEMICAL_PREFIXES) for i in content.items
    ):
        notes.append(
            "items carry dual-use list chemical codes (1C35x/2B35x): check whether the "
            "regime should be DUAL_USE (MOFCOM) rather than CONTROLLED_CHEMICAL"
        )
    return Routing(
        authority=competent_authority(content.regime),
        consulted=CONSULTED_BY_REGIME.get(content.regime, ()),
        notes=tuple(notes),
    )
