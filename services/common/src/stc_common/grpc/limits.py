"""Request limits, declared once per service and enforced at the edge (issue 10, item 1).

Every request message is parsed from its raw bytes by the platform interceptor and walked
here before the servicer runs. The walk checks, with the field's path
(`content.parties[3].aliases[0]`):

- every string: at most `max_string` characters (per-field overrides in the service's
  table), no NUL byte and no other C0 control character (tab, newline and carriage return
  are allowed only in fields the table declares free-form text);
- every bytes field: at most `max_bytes`;
- every repeated field and map: at most `max_items` entries (per-field overrides); the
  entries of an over-long list are not walked (the request is refused anyway);
- every enum value: known to the schema (proto3 keeps unknown numbers; the servicers must
  never see one);
- `google.protobuf.Timestamp`: inside its documented range; `google.type.Date`: unset (all
  zero) or a real calendar day (no partial dates: no service reads them);
- nested messages, recursively.

Violations are collected into one `ValidationFailed` (INVALID_ARGUMENT with a
google.rpc.BadRequest); the error mapping caps what is sent and logged (`MAX_VIOLATIONS`).

`worst_case_size` computes, from the same table, the largest encoded size a request can
have while passing the walk: the gRPC max receive message length of each service is sized
from it, and the event sizes a client can cause are bounded by it (each service README
writes the figures down).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message

from stc_common.errors import FieldViolation, ValidationFailed

# How many violations one error carries (and one log line shows); the rest are counted.
MAX_VIOLATIONS = 20
# A walk stops collecting after this many (a 100k-entry request costs no more than this).
_STOP_AFTER = 1000
# The C0 controls (and DEL) refused in every string; free-form text may hold these three.
_CONTROLS = frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
_TEXT_WHITESPACE = frozenset("\t\n\r")
# google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z (timestamp.proto)
_TS_MIN, _TS_MAX = -62135596800, 253402300799
_TIMESTAMP = "google.protobuf.Timestamp"
_DATE = "google.type.Date"


@dataclass(frozen=True)
class FieldLimits:
    """One service's limits: defaults plus overrides keyed by the field's full proto name."""

    max_string: int = 256  # characters
    max_bytes: int = 64 * 1024
    max_items: int = 20  # entries of a repeated field or map
    strings: Mapping[str, int] = field(default_factory=dict)
    items: Mapping[str, int] = field(default_factory=dict)
    free_text: frozenset[str] = frozenset()  # fields where tab/newline/CR are allowed
    # The gRPC max receive message length is the largest worst case of the service's
    # requests, rounded up, but never above this (the broker takes 1 MiB events).
    max_message_bytes: int = 768 * 1024

    def string_limit(self, f: FieldDescriptor) -> int:
        """The character limit of a string field."""
        return self.strings.get(f.full_name, self.max_string)

    def item_limit(self, f: FieldDescriptor) -> int:
        """The entry limit of a repeated field or map."""
        return self.items.get(f.full_name, self.max_items)

    def unknown_names(self, pools: Iterable[Descriptor]) -> list[str]:
        """Override keys that name no field reachable from `pools` (a typo in a table)."""
        known: set[str] = set()
        for d in pools:
            _collect_fields(d, known, set())
        keys = set(self.strings) | set(self.items) | set(self.free_text)
        shared = set(SHARED_STRINGS) | set(SHARED_ITEMS) | SHARED_FREE_TEXT
        return sorted(keys - known - shared)


def _collect_fields(d: Descriptor, out: set[str], seen: set[str]) -> None:
    if d.full_name in seen:
        return
    seen.add(d.full_name)
    for f in d.fields:
        out.add(f.full_name)
        if f.message_type is not None:
            _collect_fields(f.message_type, out, seen)


def _is_map(f: FieldDescriptor) -> bool:
    return (
        f.is_repeated
        and f.message_type is not None
        and f.message_type.GetOptions().map_entry
    )


class _Walk:
    def __init__(self, limits: FieldLimits) -> None:
        self.limits = limits
        self.violations: list[FieldViolation] = []
        self.count = 0

    def add(self, path: str, reason: str) -> None:
        self.count += 1
        if len(self.violations) < _STOP_AFTER:
            self.violations.append(FieldViolation(path, reason))

    @property
    def full(self) -> bool:
        return self.count >= _STOP_AFTER

    def string(self, f: FieldDescriptor, path: str, value: str) -> None:
        limit = self.limits.string_limit(f)
        if len(value) > limit:
            self.add(path, f"at most {limit} characters (got {len(value)})")
            return
        bad = _CONTROLS.intersection(value)
        if f.full_name in self.limits.free_text:
            bad -= _TEXT_WHITESPACE
        if bad:
            names = ", ".join(f"U+{ord(c):04X}" for c in sorted(bad)[:3])
            self.add(path, f"must not contain control characters ({names})")

    def scalar(self, f: FieldDescriptor, path: str, value) -> None:
        if f.type == FieldDescriptor.TYPE_STRING:
            self.string(f, path, value)
        elif f.type == FieldDescriptor.TYPE_BYTES:
            if len(value) > self.limits.max_bytes:
                self.add(path, f"at most {self.limits.max_bytes} bytes (got {len(value)})")
        elif f.type == FieldDescriptor.TYPE_ENUM:
            if f.enum_type.values_by_number.get(value) is None:
                self.add(path, f"unknown {f.enum_type.name} value {value}")
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            self.message(value, path)

    def message(self, msg: Message, prefix: str = "") -> None:
        name = msg.DESCRIPTOR.full_name
        if name == _TIMESTAMP:
            self.timestamp(msg, prefix)
            return
        if name == _DATE:
            self.date(msg, prefix)
            return
        for f, value in msg.ListFields():
            if self.full:
                return
            path = f"{prefix}.{f.name}" if prefix else f.name
            if _is_map(f):
                self.map(f, path, value)
            elif f.is_repeated:
                limit = self.limits.item_limit(f)
                if len(value) > limit:
                    self.add(path, f"at most {limit} entries (got {len(value)})")
                    continue
                for i, item in enumerate(value):
                    self.scalar(f, f"{path}[{i}]", item)
            else:
                self.scalar(f, path, value)

    def map(self, f: FieldDescriptor, path: str, value) -> None:
        limit = self.limits.item_limit(f)
        if len(value) > limit:
            self.add(path, f"at most {limit} entries (got {len(value)})")
            return
        key_f = f.message_type.fields_by_name["key"]
        val_f = f.message_type.fields_by_name["value"]
        for k in value:
            shown = str(k)[:40] if not _CONTROLS.intersection(str(k)) else "?"
            self.scalar(key_f, f"{path}[{shown}].key", k)
            self.scalar(val_f, f"{path}[{shown}]", value[k])

    def timestamp(self, ts, path: str) -> None:
        if not _TS_MIN <= ts.seconds <= _TS_MAX:
            self.add(path, "timestamp outside 0001-01-01..9999-12-31")
        if not 0 <= ts.nanos <= 999_999_999:
            self.add(path, "timestamp nanos outside 0..999999999")

    def date(self, d, path: str) -> None:
        # every service reads a Date as "none" (all zero) or one calendar day: a partial
        # date (month 0, day 0) or an impossible one (31 February) is refused here
        if not (d.year or d.month or d.day):
            return
        try:
            _dt.date(d.year, d.month, d.day)
        except ValueError:
            self.add(path, "not a calendar date (all fields zero for none, else a real day)")


def check_request(msg: Message, limits: FieldLimits) -> None:
    """Walk `msg`; raise ValidationFailed (INVALID_ARGUMENT) with every violation found."""
    walk = _Walk(limits)
    walk.message(msg)
    if walk.count:
        raise ValidationFailed(walk.violations, reason="REQUEST_LIMITS")


def parse_request(deserializer, raw: bytes) -> Message:
    """Parse raw request bytes; malformed protobuf is INVALID_ARGUMENT, not INTERNAL."""
    try:
        return deserializer(raw)
    except (DecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValidationFailed(
            FieldViolation("(request)", "not a valid protobuf message of this method's type"),
            reason="MALFORMED_REQUEST",
        ) from exc


# -------------------------------------------------------------------------- worst case sizes


def _varint_len(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def _len_delimited(n: int) -> int:
    return _varint_len(n) + n


_FIXED = {
    FieldDescriptor.TYPE_DOUBLE: 8, FieldDescriptor.TYPE_FIXED64: 8,
    FieldDescriptor.TYPE_SFIXED64: 8, FieldDescriptor.TYPE_FLOAT: 4,
    FieldDescriptor.TYPE_FIXED32: 4, FieldDescriptor.TYPE_SFIXED32: 4,
    FieldDescriptor.TYPE_BOOL: 1,
}


class RecursiveMessage(ValueError):
    """A message type contains itself: no finite worst case."""


def _value_size(f: FieldDescriptor, limits: FieldLimits, stack: tuple[str, ...]) -> int:
    if f.type == FieldDescriptor.TYPE_STRING:
        return _len_delimited(4 * limits.string_limit(f))  # UTF-8: at most 4 bytes a character
    if f.type == FieldDescriptor.TYPE_BYTES:
        return _len_delimited(limits.max_bytes)
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        return _len_delimited(_message_size(f.message_type, limits, stack))
    return _FIXED.get(f.type, 10)  # varints: at most 10 bytes


def _message_size(d: Descriptor, limits: FieldLimits, stack: tuple[str, ...]) -> int:
    if d.full_name in stack:
        raise RecursiveMessage(" -> ".join((*stack, d.full_name)))
    stack = (*stack, d.full_name)
    total = 0
    for f in d.fields:
        tag = _varint_len(f.number << 3)
        one = tag + _value_size(f, limits, stack)
        if _is_map(f):
            entry = sum(
                _varint_len(g.number << 3) + _value_size(g, limits, stack)
                for g in f.message_type.fields
            )
            one = tag + _len_delimited(entry)
        total += one * (limits.item_limit(f) if f.is_repeated else 1)
    return total


def worst_case_size(d: Descriptor, limits: FieldLimits) -> int:
    """The largest encoded size a message of type `d` can have within `limits`."""
    return _message_size(d, limits, ())


def worst_cases(service: ServiceDescriptor, limits: FieldLimits) -> dict[str, int]:
    """Method name -> worst-case request size in bytes."""
    return {m.name: worst_case_size(m.input_type, limits) for m in service.methods}


def max_receive_length(services: Iterable[ServiceDescriptor], limits: FieldLimits) -> int:
    """The gRPC max receive message length: the largest worst case (rounded up to 4 KiB,
    at least 64 KiB), capped at `limits.max_message_bytes`."""
    largest = max((n for s in services for n in worst_cases(s, limits).values()), default=0)
    rounded = max(64 * 1024, -(-largest // 4096) * 4096)
    return min(rounded, limits.max_message_bytes)


# ------------------------------------------------------------------ shared message types
# Types more than one service accepts (stc.common.v1, and the licensing Item, EndUse and
# TransactionFacts that screening's ScreenTransaction reuses). Each service table starts
# from these with `service_limits`.
SHARED_STRINGS: dict[str, int] = {
    "stc.common.v1.Money.currency_code": 3,
    "stc.common.v1.Party.name": 300,
    "stc.common.v1.Party.party_id": 64,
    "stc.common.v1.Party.country": 64,
    "stc.common.v1.Party.address": 500,
    "stc.common.v1.Party.business": 500,
    "stc.common.v1.PartyIdentifier.type": 40,
    "stc.common.v1.PartyIdentifier.value": 100,
    "stc.common.v1.PartyIdentifier.country": 64,
    "stc.common.v1.DocumentReference.document_id": 128,
    "stc.common.v1.DocumentReference.title": 300,
    "stc.common.v1.DocumentReference.sha256": 64,
    "stc.common.v1.DocumentReference.issuer": 300,
    "stc.licensing.v1.Item.control_code": 32,
    "stc.licensing.v1.Item.description": 1000,
    "stc.licensing.v1.Item.hs_code": 16,
    "stc.licensing.v1.Item.quantity": 32,
    "stc.licensing.v1.Item.unit": 32,
    "stc.licensing.v1.Item.ParametersEntry.key": 64,
    "stc.licensing.v1.Item.ParametersEntry.value": 200,
    "stc.licensing.v1.EndUse.statement": 4000,
    "stc.licensing.v1.EndUserCertificate.document_sha256": 64,
    "stc.licensing.v1.EndUserCertificate.issuer_name": 300,
    "stc.licensing.v1.TransactionFacts.routing_countries": 64,
    "stc.licensing.v1.TransactionFacts.payment_country": 64,
    "stc.licensing.v1.TransactionFacts.payer_name": 300,
    "stc.licensing.v1.TransactionFacts.delivery_terms": 64,
}
SHARED_ITEMS: dict[str, int] = {
    "stc.common.v1.Party.aliases": 10,
    "stc.common.v1.Party.identifiers": 10,
    "stc.licensing.v1.Item.parameters": 10,
    "stc.licensing.v1.TransactionFacts.routing_countries": 10,
}
SHARED_FREE_TEXT = frozenset({
    "stc.common.v1.Party.address",
    "stc.common.v1.Party.business",
    "stc.licensing.v1.Item.description",
    "stc.licensing.v1.EndUse.statement",
})


def service_limits(
    package: str,
    *,
    strings: Mapping[str, int] = {},  # noqa: B006 - read only
    items: Mapping[str, int] = {},  # noqa: B006 - read only
    free_text: Iterable[str] = (),
    **defaults,
) -> FieldLimits:
    """A service's table: the shared limits plus its own, names relative to `package`."""

    def full(name: str) -> str:
        return name if name.startswith(("stc.", "google.")) else f"{package}.{name}"

    return FieldLimits(
        strings={**SHARED_STRINGS, **{full(k): v for k, v in strings.items()}},
        items={**SHARED_ITEMS, **{full(k): v for k, v in items.items()}},
        free_text=SHARED_FREE_TEXT | {full(k) for k in free_text},
        **defaults,
    )
