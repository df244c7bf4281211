"""Validation of ScreeningService requests: the per-request limits of screening's own work
(each name costs up to ~5 ms of matching) and the field checks every RPC shares. Bad input
is INVALID_ARGUMENT naming each field and the reason (``ViolationCollector``); the service
README lists the limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.screening.v1 import events_pb2 as ev
from stc_common.errors import ViolationCollector
from stc_common.idempotency import MAX_REQUEST_ID
from stc_common.paging import is_offset_token, offset_from_token

from stc_screening.convert import LIST_KIND_FROM_PB, PARTY_TYPE_FROM_PB
from stc_screening.domain.lists import ListKind

MAX_PAGE = 100
# Per-request limits of screening's own work: each name costs up to ~5 ms of matching. They
# agree with the edge's limits table (issue 10) where both bound the same field.
MAX_NAME = 300  # characters of a name, alias or search query
MAX_ADDRESS = 500
MAX_PARTY_ID = 64
MAX_ALIASES = 10  # per party
MAX_IDENTIFIERS = 10  # per party
MAX_IDENTIFIER = 100  # characters of an identifier's type or value
MAX_PARTIES = 10  # per ScreenTransaction
MAX_TRANSACTION_NAMES = 110  # names and aliases over the parties of one ScreenTransaction
MAX_ITEMS = 20  # per ScreenTransaction
MAX_FLAGS = 20  # per ScreenTransaction
MAX_BATCH = 1000  # parties per ScreenParties
MAX_BATCH_NAMES = 2000  # names and aliases over the parties of one ScreenParties
MAX_DESCRIPTION = 2000  # characters of an item description (ClassifyItem, items)
MAX_PARAMETERS = 10  # per ClassifyItem
MAX_LIST_KINDS = 10
MAX_ENTRY_ALIASES = 50  # per list entry (AddListEntry, UpdateListEntry)
MAX_ENTRY_IDENTIFIERS = 20
MAX_ENTRY_ID = 200
MAX_VIOLATIONS = 20  # field violations reported per request (and a count of the rest)
def page(c: ViolationCollector, size: int, token: str, default: int = 20) -> tuple[int, int]:
    c.require(0 <= size <= MAX_PAGE, "page_size", f"must be between 0 and {MAX_PAGE}")
    offset = 0
    if token:
        if c.require(is_offset_token(token), "page_token", "not a token this service issued"):
            offset = offset_from_token(token)
    return (size or default), offset


def clean(value: str) -> bool:
    """No NUL or other control characters (PostgreSQL text refuses NUL)."""
    return value.isprintable() or not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def text(c: ViolationCollector, value: str, field: str, limit: int) -> bool:
    """A string within ``limit`` characters and without control characters."""
    if len(value) > limit:
        c.add(field, f"at most {limit} characters")
        return False
    return c.require(clean(value), field, "no NUL or control characters")


def entry_id(c: ViolationCollector, value: str, field: str) -> str:
    """A list entry id as the service issues them: required, short, no control characters."""
    entry_id = value.strip()
    if c.require(bool(entry_id), field, "required"):
        text(c, entry_id, field, MAX_ENTRY_ID)
    return entry_id


def full(c: ViolationCollector) -> bool:
    """Enough violations to answer: the rest are counted, not listed."""
    return len(c.violations) >= MAX_VIOLATIONS


def count(c: ViolationCollector, n: int, limit: int, field: str, what: str) -> bool:
    return c.require(n <= limit, field, f"at most {limit} {what} (got {n})")


def kinds(c: ViolationCollector, kinds: Iterable[int], field: str
           ) -> tuple[ListKind, ...] | None:
    kinds = list(kinds)
    out = []
    if not count(c, len(kinds), MAX_LIST_KINDS, field, "list kinds"):
        return None
    for i, k in enumerate(kinds):
        if k not in LIST_KIND_FROM_PB:
            c.add(f"{field}[{i}]", "unknown list kind")
        else:
            out.append(LIST_KIND_FROM_PB[k])
    return tuple(out) or None


def date(c: ViolationCollector, d: date_pb2.Date, field: str) -> dt.date | None:
    """A google.type.Date as a date (None when unset); a violation when it is no date."""
    if not (d.year or d.month or d.day):
        return None
    try:
        return dt.date(d.year, d.month, d.day)
    except ValueError:
        c.add(field, "a valid date")
        return None


def country(code: str) -> bool:
    code = code.strip()
    return len(code) == 2 and code.isascii() and code.isalpha()


def validate_party(c: ViolationCollector, p: common_pb2.Party, field: str, *,
                    name_required: bool = True) -> None:
    """A party within the per-party limits (name, aliases, identifiers, address)."""
    if name_required:
        c.require(bool(p.name.strip()), f"{field}.name", "a name is required")
    text(c, p.name, f"{field}.name", MAX_NAME)
    text(c, p.party_id, f"{field}.party_id", MAX_PARTY_ID)
    text(c, p.address, f"{field}.address", MAX_ADDRESS)
    if p.country:
        c.require(len(p.country.strip()) == 2 and p.country.strip().isalpha(),
                  f"{field}.country", "an ISO 3166-1 alpha-2 code")
    if count(c, len(p.aliases), MAX_ALIASES, f"{field}.aliases", "aliases"):
        for i, a in enumerate(p.aliases):
            if full(c):
                return
            text(c, a, f"{field}.aliases[{i}]", MAX_NAME)
    if count(c, len(p.identifiers), MAX_IDENTIFIERS, f"{field}.identifiers", "identifiers"):
        for i, ident in enumerate(p.identifiers):
            if full(c):
                return
            text(c, ident.type, f"{field}.identifiers[{i}].type", MAX_IDENTIFIER)
            text(c, ident.value, f"{field}.identifiers[{i}].value", MAX_IDENTIFIER)


def validate_parties(c: ViolationCollector, parties: Any, field: str, max_parties: int,
                      max_names: int, *, name_required: bool = True) -> None:
    """Many parties: their count, each party, and the names and aliases they add up to."""
    if not count(c, len(parties), max_parties, field, "parties"):
        return
    names = sum(1 + len(p.aliases) for p in parties)
    if not count(c, names, max_names, field, "names and aliases in all"):
        return
    for i, p in enumerate(parties):
        if full(c):
            return
        validate_party(c, p, f"{field}[{i}]", name_required=name_required)


def validate_names(c: ViolationCollector, e: ev.ListEntry, field: str) -> None:
    text(c, e.primary_name, f"{field}.primary_name", MAX_NAME)
    if count(c, len(e.aliases), MAX_ENTRY_ALIASES, f"{field}.aliases", "aliases"):
        for i, a in enumerate(e.aliases):
            if not full(c):
                text(c, a, f"{field}.aliases[{i}]", MAX_NAME)
    if count(c, len(e.identifiers), MAX_ENTRY_IDENTIFIERS, f"{field}.identifiers",
              "identifiers"):
        for i, ident in enumerate(e.identifiers):
            if not full(c):
                text(c, ident.value, f"{field}.identifiers[{i}].value", MAX_IDENTIFIER)


def validate_entry(c: ViolationCollector, e: ev.ListEntry, field: str) -> None:
    c.require(bool(e.primary_name.strip()), f"{field}.primary_name", "a name is required")
    validate_names(c, e, field)
    if e.list_kind not in LIST_KIND_FROM_PB:
        c.add(f"{field}.list_kind", "a list kind is required")
    for i, cc in enumerate(e.countries):
        c.require(len(cc.strip()) == 2 and cc.strip().isalpha(), f"{field}.countries[{i}]",
                  "an ISO 3166-1 alpha-2 code")
    if e.party_type:
        c.require(e.party_type.strip().lower() in PARTY_TYPE_FROM_PB, f"{field}.party_type",
                  "entity, individual, vessel or aircraft")
    if e.control_measure:  # Art. 18: a measure belongs to a control-list designation
        c.require(e.list_kind == ev.LIST_KIND_CONTROL_LIST, f"{field}.control_measure",
                  "only a control-list entry carries a measure (Art. 18)")
        c.require(e.control_measure in ev.ControlMeasure.values(), f"{field}.control_measure",
                  "PROHIBIT, RESTRICT or SUSPEND")


def request_id(c: ViolationCollector, value: str) -> str:
    """An optional client request id (stc_common.idempotency): at most MAX_REQUEST_ID."""
    rid = value.strip()
    c.require(len(rid) <= MAX_REQUEST_ID, "request_id", f"at most {MAX_REQUEST_ID} characters")
    return rid


def add_all(c: ViolationCollector, violations: list[tuple[str, str]], prefix: str = "") -> None:
    for field, reason in violations:
        c.add(prefix + field, reason)
