"""The commands screening's use cases take: frozen dataclasses of domain values (and of the
shared party and item messages other services publish), built by the servicer from a request
or by a handler from a consumed event. ``request_id`` is never part of a request's
fingerprint (``stc_common.idempotency``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2

from stc_screening.domain.lists import EntryContent, ListKind
from stc_screening.domain.matching import Party
from stc_screening.domain.policy import CountryMeasure

# ----------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class AddListEntry:
    """An officer puts a party on a PRC list (ECL Art. 18; the entry id is assigned)."""

    list_kind: ListKind
    content: EntryContent
    reason: str
    officer: str
    request_id: str = ""


@dataclass(frozen=True)
class UpdateListEntry:
    """An officer changes a PRC list entry; ``list_kind`` None keeps the entry's list."""

    entry_id: str
    list_kind: ListKind | None
    content: EntryContent
    reason: str
    officer: str


@dataclass(frozen=True)
class RemoveListEntry:
    """An officer takes a party off a PRC list (delisting, Reg. 29)."""

    entry_id: str
    reason: str
    officer: str


@dataclass(frozen=True)
class WatchListNonCooperating:
    """Reg. 26: the party of an end-use check that did not cooperate."""

    check_id: str
    party: common_pb2.Party
    officer: str


# ----------------------------------------------------------------------------- screening


@dataclass(frozen=True)
class SearchListEntries:
    """The public list search (ECL Art. 18): a query, or every entry of the lists."""

    query: str
    kinds: tuple[ListKind, ...] | None = None


@dataclass(frozen=True)
class ScreenParty:
    """One party against all lists or a chosen few."""

    party: Party
    kinds: tuple[ListKind, ...] | None = None
    threshold: float | None = None
    limit: int = 20


@dataclass(frozen=True)
class ScreenParties:
    """Batch screening: many parties, the hits of each in the order given."""

    parties: tuple[Party, ...]
    kinds: tuple[ListKind, ...] | None = None
    threshold: float | None = None
    limit: int = 20


@dataclass(frozen=True)
class ScreenTransaction:
    """What transaction screening needs: the parties, destination, items, end use,
    certificate, payment facts and red-flag indicators (the shared licensing messages)."""

    parties: tuple[common_pb2.Party, ...]
    destination: str
    items: tuple[application_pb2.Item, ...]
    end_use: application_pb2.EndUse
    certificate: application_pb2.EndUserCertificate | None
    facts: application_pb2.TransactionFacts | None
    flags: frozenset[str] = frozenset()
    end_use_quantity: float | None = None
    on: dt.date | None = None


@dataclass(frozen=True)
class ScreenApplication:
    """Flow 2: screen a submitted or amended application."""

    application_id: str
    exporter_uscc: str
    content: application_pb2.ApplicationContent
    trigger_event_id: str
    on: dt.date | None


@dataclass(frozen=True)
class ScreenNewEndUser:
    """ECL Art. 16: the new end user of a change report."""

    licence_id: str
    exporter_uscc: str
    party: common_pb2.Party
    trigger_event_id: str


@dataclass(frozen=True)
class KeepLicence:
    """An issued licence: keep its parties for re-screening."""

    licence_id: str
    application_id: str
    exporter_uscc: str
    parties: tuple[common_pb2.Party, ...]


@dataclass(frozen=True)
class DropSubject:
    """A decided or withdrawn application, an ended licence: no more re-screening."""

    kind: str
    subject_id: str


# ----------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class ClassifyItem:
    """Ranked control-list candidates for an item (help for Art. 12(4))."""

    description: str
    parameters: Mapping[str, float] = field(default_factory=dict)
    hs_code: str = ""
    limit: int = 5


# ----------------------------------------------------------------------------- consultations


@dataclass(frozen=True)
class SubmitConsultation:
    """An exporter's question (Art. 12(4))."""

    exporter_uscc: str
    authority: str
    question: str
    item_description: str = ""
    hs_code: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""


@dataclass(frozen=True)
class AnswerConsultation:
    """The authority the consultation was addressed to answers it."""

    consultation_id: str
    authority: str
    officer: str
    controlled: bool
    control_code: str
    answer: str


@dataclass(frozen=True)
class GetConsultation:
    """One consultation, for a caller: an exporter (its USCC), an officer (its authority) or
    an auditor (both None)."""

    consultation_id: str
    exporter_uscc: str | None = None
    authority: str | None = None


@dataclass(frozen=True)
class ListConsultations:
    """The consultations routed to an authority (None: all, for auditors), oldest first."""

    authority: str | None
    state: str | None
    offset: int
    limit: int


# ----------------------------------------------------------------------------- country measures


@dataclass(frozen=True)
class AddCountryMeasure:
    """An officer enters a measure the authority announced (ECL Art. 8)."""

    measure: CountryMeasure
    officer: str
    reason: str
    request_id: str = ""


@dataclass(frozen=True)
class SuspendCountryMeasure:
    """An officer suspends a measure for a window (or until further notice)."""

    measure_id: str
    suspended_from: dt.date
    suspended_until: dt.date | None
    officer: str
    reason: str


@dataclass(frozen=True)
class ListCountryMeasures:
    """The stored measures (of one destination; in force on a date)."""

    country: str = ""
    on: dt.date | None = None
