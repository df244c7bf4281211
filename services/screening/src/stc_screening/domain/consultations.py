"""Art. 12(4) consultations: an exporter asks the competent authority whether an item is
controlled; the authority answers. Who may see one is a rule of the law's routing: the
exporter that asked and the authority it addressed (auditors read all)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class ConsultationState(str, Enum):
    """Where a consultation stands."""

    SUBMITTED = "SUBMITTED"
    ANSWERED = "ANSWERED"


@dataclass(frozen=True)
class Consultation:
    """One exporter's question and, once given, the authority's answer."""

    consultation_id: str
    exporter_uscc: str
    authority: str
    question: str
    submitted_at: dt.datetime
    state: ConsultationState = ConsultationState.SUBMITTED
    item_description: str = ""
    hs_code: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    controlled: bool = False
    control_code: str = ""
    answer: str = ""
    officer: str = ""
    answered_at: dt.datetime | None = None
    request_id: str = ""
    request_fingerprint: str | None = None

    @property
    def answered(self) -> bool:
        """True once the authority answered."""
        return self.state is ConsultationState.ANSWERED


def visible_to(c: Consultation, *, exporter_uscc: str | None, authority: str | None) -> bool:
    """Whether a caller may see the consultation: an exporter only its own, an officer only
    those addressed to its authority (Art. 12(4)); None: no restriction (auditors)."""
    if exporter_uscc is not None and c.exporter_uscc != exporter_uscc:
        return False
    return authority is None or c.authority == authority
