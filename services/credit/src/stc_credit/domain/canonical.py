"""Canonical bytes of publication-log entries: what the Merkle leaves hash.

Format `stc-credit-log/1` (versioned in the `format` field; a new format gets a new name
and old entries keep theirs):

- one JSON object, UTF-8, keys sorted by code point (all keys are ASCII, so this equals
  RFC 8785 ordering), no insignificant whitespace (separators `,` and `:`), non-ASCII
  characters written as themselves (not `\\u` escapes), strings NFC-normalised;
- only strings, integers, booleans, null, arrays and objects: money is integer fen, dates
  are ISO 8601 `YYYY-MM-DD` strings, no floats anywhere;
- envelope `{"body": {...}, "format": "stc-credit-log/1", "kind": "penalty"|"repair",
  "seq": <0-based position in the log>}`. `seq` makes a dropped or reordered entry show
  up at its position, not only as a different root.

`decode_entry` accepts only bytes that `encode_entry` would produce for the decoded
entry, so a verifier can rebuild every leaf hash (`merkle.leaf_hash(bytes)`) and detect
any byte changed, even one that leaves valid JSON.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from stc_credit.domain.penalties import Article
from stc_credit.domain.publication import Publicity, PublishedRecord, Repair

FORMAT = "stc-credit-log/1"


class CanonicalError(ValueError):
    """Bytes that are not a canonical log entry of a known format."""


class EntryKind(enum.StrEnum):
    """Kinds of log entries."""

    PENALTY = "penalty"  # a published penalty (`PublishedRecord`)
    REPAIR = "repair"  # credit repair ending a record's publicity early


@dataclass(frozen=True)
class RepairEntry:
    """The published fact that a record's publicity ended early by credit repair."""

    record_id: str
    uscc: str
    repair_decision_no: str
    decided_on: dt.date
    last_day_shown: dt.date


@dataclass(frozen=True)
class LogEntry:
    """One entry of the publication log at position `seq`."""

    seq: int
    kind: EntryKind
    body: PublishedRecord | RepairEntry


def penalty_entry(seq: int, record: PublishedRecord) -> LogEntry:
    """The log entry publishing `record`."""
    return LogEntry(seq, EntryKind.PENALTY, record)


def repair_entry(seq: int, uscc: str, window: Publicity, repair: Repair) -> LogEntry:
    """The log entry publishing a repair (`window` already ended by `repair`)."""
    return LogEntry(
        seq,
        EntryKind.REPAIR,
        RepairEntry(
            record_id=repair.record_id,
            uscc=uscc,
            repair_decision_no=repair.decision_no,
            decided_on=repair.decided_on,
            last_day_shown=window.last_day_shown,
        ),
    )


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _body_to_json(body: PublishedRecord | RepairEntry) -> dict[str, Any]:
    if isinstance(body, PublishedRecord):
        return {
            "record_id": _text(body.record_id),
            "uscc": _text(body.uscc),
            "enterprise_name": _text(body.enterprise_name),
            "article": str(body.article),
            "article_title": _text(body.article_title),
            "decision_no": _text(body.decision_no),
            "decision_sha256": body.decision_sha256,
            "sanctions": sorted(body.sanctions),
            "fine_fen": body.fine_fen,
            "confiscated_fen": body.confiscated_fen,
            "decision_date": body.decision_date.isoformat(),
            "effective_date": body.effective_date.isoformat(),
            "published_on": body.published_on.isoformat(),
            "publicity_ends_on": body.publicity_ends_on.isoformat(),
        }
    return {
        "record_id": _text(body.record_id),
        "uscc": _text(body.uscc),
        "repair_decision_no": _text(body.repair_decision_no),
        "decided_on": body.decided_on.isoformat(),
        "last_day_shown": body.last_day_shown.isoformat(),
    }


def _dump(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def encode_entry(entry: LogEntry) -> bytes:
    """Canonical bytes of `entry` (format `stc-credit-log/1`)."""
    if entry.seq < 0:
        raise ValueError("seq must be >= 0")
    expected = PublishedRecord if entry.kind is EntryKind.PENALTY else RepairEntry
    if not isinstance(entry.body, expected):
        raise ValueError(f"a {entry.kind} entry needs a {expected.__name__} body")
    return _dump(
        {
            "format": FORMAT,
            "seq": entry.seq,
            "kind": str(entry.kind),
            "body": _body_to_json(entry.body),
        }
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_floats(text: str) -> Any:
    raise CanonicalError(f"floating-point number {text} is not allowed")


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise CanonicalError(f"{key}: string expected")
    return value


def _date(obj: dict[str, Any], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(_str(obj, key))
    except ValueError as exc:
        raise CanonicalError(f"{key}: date expected") from exc


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CanonicalError(f"{key}: non-negative integer or null expected")
    return value


def _keys(obj: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise CanonicalError(f"{where}: fields must be exactly {sorted(keys)}")
    return obj


_PENALTY_KEYS = {
    "record_id", "uscc", "enterprise_name", "article", "article_title", "decision_no",
    "decision_sha256", "sanctions", "fine_fen", "confiscated_fen", "decision_date",
    "effective_date", "published_on", "publicity_ends_on",
}  # fmt: skip
_REPAIR_KEYS = {"record_id", "uscc", "repair_decision_no", "decided_on", "last_day_shown"}


def decode_entry(data: bytes) -> LogEntry:
    """Parse canonical entry bytes; CanonicalError unless `data` is exactly canonical."""
    try:
        text = data.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_floats)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalError(f"not UTF-8 JSON: {exc}") from exc
    obj = _keys(obj, {"format", "seq", "kind", "body"}, "entry")
    if obj["format"] != FORMAT:
        raise CanonicalError(f"unknown format {obj['format']!r}")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise CanonicalError("seq: non-negative integer expected")
    try:
        kind = EntryKind(obj["kind"])
    except ValueError as exc:
        raise CanonicalError(f"unknown kind {obj['kind']!r}") from exc
    body: PublishedRecord | RepairEntry
    if kind is EntryKind.PENALTY:
        b = _keys(obj["body"], _PENALTY_KEYS, "body")
        sanctions = b["sanctions"]
        if not isinstance(sanctions, list) or not all(isinstance(s, str) for s in sanctions):
            raise CanonicalError("sanctions: list of strings expected")
        try:
            article = Article(_str(b, "article"))
        except ValueError as exc:
            raise CanonicalError("article: unknown") from exc
        body = PublishedRecord(
            record_id=_str(b, "record_id"),
            uscc=_str(b, "uscc"),
            enterprise_name=_str(b, "enterprise_name"),
            article=article,
            article_title=_str(b, "article_title"),
            decision_no=_str(b, "decision_no"),
            decision_sha256=_str(b, "decision_sha256"),
            sanctions=tuple(sanctions),
            fine_fen=_opt_int(b, "fine_fen"),
            confiscated_fen=_opt_int(b, "confiscated_fen"),
            decision_date=_date(b, "decision_date"),
            effective_date=_date(b, "effective_date"),
            published_on=_date(b, "published_on"),
            publicity_ends_on=_date(b, "publicity_ends_on"),
        )
    else:
        b = _keys(obj["body"], _REPAIR_KEYS, "body")
        body = RepairEntry(
            record_id=_str(b, "record_id"),
            uscc=_str(b, "uscc"),
            repair_decision_no=_str(b, "repair_decision_no"),
            decided_on=_date(b, "decided_on"),
            last_day_shown=_date(b, "last_day_shown"),
        )
    entry = LogEntry(seq, kind, body)
    if encode_entry(entry) != data:
        raise CanonicalError("bytes are valid JSON but not in canonical form")
    return entry
