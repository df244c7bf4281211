"""Restricted-party list entries, their stable ids and content hashes, and the diff of two
imports of the same list (what was added, updated, removed).

Which list a hit comes from matters legally: the control list (管控名单, ECL Art. 18 /
Reg. 28-29), the watch list (关注名单, Reg. 26) and the Unreliable Entity List have
different legal bases and consequences, and foreign lists are information only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class ListKind(str, Enum):
    """The list an entry belongs to."""

    CONTROL_LIST = "CONTROL_LIST"  # 管控名单, ECL Art. 18
    WATCH_LIST = "WATCH_LIST"  # 关注名单, Reg. 26
    UNRELIABLE_ENTITY_LIST = "UNRELIABLE_ENTITY_LIST"  # 不可靠实体清单
    OFAC_SDN = "OFAC_SDN"
    UN_CONSOLIDATED = "UN_CONSOLIDATED"
    BIS_DPL = "BIS_DPL"
    OTHER_FOREIGN = "OTHER_FOREIGN"

    @property
    def is_prc(self) -> bool:
        """True for the PRC lists that have legal effect on a licence decision."""
        return self in (
            ListKind.CONTROL_LIST,
            ListKind.WATCH_LIST,
            ListKind.UNRELIABLE_ENTITY_LIST,
        )


LEGAL_BASIS: dict[ListKind, str] = {
    ListKind.CONTROL_LIST: "Export Control Law Art. 18; Dual-use Regulations Arts. 28-29",
    ListKind.WATCH_LIST: "Dual-use Items Export Control Regulations Art. 26",
    ListKind.UNRELIABLE_ENTITY_LIST:
        "Provisions on the Unreliable Entity List (MOFCOM Order 2020 No. 4)",
    ListKind.OFAC_SDN: "US Treasury OFAC SDN list (foreign list, information only)",
    ListKind.UN_CONSOLIDATED: "UN Security Council consolidated sanctions list",
    ListKind.BIS_DPL: "US Commerce BIS Denied Persons List (foreign list, information only)",
    ListKind.OTHER_FOREIGN: "foreign list (information only)",
}


class PartyType(str, Enum):
    """What kind of party an entry or a screened party is."""

    ENTITY = "ENTITY"
    INDIVIDUAL = "INDIVIDUAL"
    VESSEL = "VESSEL"
    AIRCRAFT = "AIRCRAFT"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier of a party: USCC, passport, registration number, IMO number ..."""

    type: str
    value: str
    country: str = ""

    @property
    def key(self) -> str:
        """Comparable form of the value: upper case, letters and digits only."""
        return normalise_identifier(self.value)


def normalise_identifier(value: str) -> str:
    """Upper-case the identifier and keep only letters and digits."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address as the list gives it; country is a name or ISO code as published."""

    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def text(self) -> str:
        """The address as one line."""
        return ", ".join(p for p in (self.street, self.city, self.region, self.postal_code,
                                     self.country) if p)


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One designation on one list. ``names[0]`` is the primary name, the rest aliases."""

    entry_id: str
    list_kind: ListKind
    names: tuple[str, ...]
    party_type: PartyType = PartyType.UNKNOWN
    legal_basis: str = ""
    source: str = ""
    countries: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    programs: tuple[str, ...] = ()
    announcement: str = ""
    listed_on: dt.date | None = None
    remarks: str = ""
    content_hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.names or not self.names[0].strip():
            raise ValueError(f"list entry {self.entry_id!r} has no name")
        if not self.legal_basis:
            object.__setattr__(self, "legal_basis", LEGAL_BASIS[self.list_kind])
        if not self.content_hash:
            object.__setattr__(self, "content_hash", compute_content_hash(self))

    @property
    def primary_name(self) -> str:
        """The entry's primary name."""
        return self.names[0]

    @property
    def aliases(self) -> tuple[str, ...]:
        """The entry's alternative names."""
        return self.names[1:]


def make_entry_id(source: str, record_key: str) -> str:
    """Stable entry id from the source and the record's own key, e.g. ``ofac-sdn:1234``."""
    key = record_key.strip()
    if not key:
        raise ValueError("empty record key")
    return f"{source}:{key}"


def slug_key(*parts: str) -> str:
    """A record key for sources without ids: a short hash of the identifying fields."""
    text = "\x1f".join(" ".join(p.casefold().split()) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def compute_content_hash(entry: ListEntry) -> str:
    """SHA-256 over every field except the hash itself, in a canonical JSON form."""
    payload = {
        "entry_id": entry.entry_id,
        "list_kind": entry.list_kind.value,
        "names": list(entry.names),
        "party_type": entry.party_type.value,
        "legal_basis": entry.legal_basis,
        "source": entry.source,
        "countries": list(entry.countries),
        "addresses": [[a.street, a.city, a.region, a.postal_code, a.country]
                      for a in entry.addresses],
        "identifiers": [[i.type, i.value, i.country] for i in entry.identifiers],
        "programs": list(entry.programs),
        "announcement": entry.announcement,
        "listed_on": entry.listed_on.isoformat() if entry.listed_on else None,
        "remarks": entry.remarks,
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ListDiff:
    """What a re-import changed: entries added, updated (old, new), removed."""

    added: tuple[ListEntry, ...] = ()
    updated: tuple[tuple[ListEntry, ListEntry], ...] = ()
    removed: tuple[ListEntry, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the re-import changed nothing."""
        return not (self.added or self.updated or self.removed)


def diff_entries(old: Iterable[ListEntry], new: Iterable[ListEntry]) -> ListDiff:
    """Compare two imports by entry id and content hash; result ordered by entry id."""
    old_by_id = _by_id(old)
    new_by_id = _by_id(new)
    added = tuple(new_by_id[k] for k in sorted(new_by_id.keys() - old_by_id.keys()))
    removed = tuple(old_by_id[k] for k in sorted(old_by_id.keys() - new_by_id.keys()))
    updated = tuple(
        (old_by_id[k], new_by_id[k])
        for k in sorted(old_by_id.keys() & new_by_id.keys())
        if old_by_id[k].content_hash != new_by_id[k].content_hash
    )
    return ListDiff(added=added, updated=updated, removed=removed)


def _by_id(entries: Iterable[ListEntry]) -> dict[str, ListEntry]:
    out: dict[str, ListEntry] = {}
    for e in entries:
        if e.entry_id in out:
            raise ValueError(f"duplicate entry id {e.entry_id!r}")
        out[e.entry_id] = e
    return out


@dataclass(frozen=True, slots=True)
class EntryContent:
    """What an officer (or the end-use check flow) says about a party to list: the entry's
    content before the service gives it an id, a list and a source."""

    names: tuple[str, ...]
    party_type: PartyType = PartyType.ENTITY
    countries: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    programs: tuple[str, ...] = ()
    announcement: str = ""
    listed_on: dt.date | None = None
    remarks: str = ""

    def entry(self, *, entry_id: str, list_kind: ListKind, source: str) -> ListEntry:
        """The list entry with this content (its hash computed)."""
        return ListEntry(entry_id=entry_id, list_kind=list_kind, names=self.names,
                         party_type=self.party_type, source=source, countries=self.countries,
                         addresses=self.addresses, identifiers=self.identifiers,
                         programs=self.programs, announcement=self.announcement,
                         listed_on=self.listed_on, remarks=self.remarks)


@dataclass
class ListChange:
    """What a committed list change does to the in-memory index (applied after the commit),
    and what it published."""

    put: list[ListEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    events: int = 0
    rescreening_matches: int = 0
