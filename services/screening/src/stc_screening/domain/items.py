"""Entries of the PRC dual-use items control list (2024 list, Announcement 2024 No. 51) and
the control code format."""

from __future__ import annotations

import re
from dataclasses import dataclass

# category digit, type letter A-E, reason digit, two sequence digits; optional .a / .a.1
CONTROL_CODE_RE = re.compile(r"^[0-9][A-E][0-9]{3}(\.[a-z](\.[0-9]+)?)?$")

CATEGORIES = {
    "0": "nuclear materials, facilities and equipment",
    "1": "special materials, chemicals, microorganisms and toxins",
    "2": "materials processing",
    "3": "electronics",
    "4": "computers",
    "5": "telecommunications and information security",
    "6": "sensors and lasers",
    "7": "navigation and avionics",
    "8": "marine",
    "9": "aerospace and propulsion",
}
TYPES = {
    "A": "systems, equipment and components",
    "B": "test, inspection and production equipment",
    "C": "materials",
    "D": "software",
    "E": "technology",
}


def is_valid_control_code(code: str) -> bool:
    """True when the code has the control-list format (e.g. ``1C902.a``)."""
    return bool(CONTROL_CODE_RE.match(code))


@dataclass(frozen=True, slots=True)
class ControlItem:
    """One entry of the control list: code, description and reference HS codes."""

    code: str
    category: str
    type: str
    description_en: str
    reference_hs: tuple[str, ...] = ()
    source: str = ""
    description_zh: str = ""

    def __post_init__(self) -> None:
        if not is_valid_control_code(self.code):
            raise ValueError(f"bad control code {self.code!r}")

    @property
    def parent_code(self) -> str:
        """The five-character heading of the code (``1C902.a`` -> ``1C902``)."""
        return self.code[:5]
