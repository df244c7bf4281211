"""One rule for client request ids, in every service (issue 13).

Every creating call takes a `request_id` chosen by the client, so a retry after a lost answer
cannot create a second application, report, record or list entry. The rule, everywhere:

- the same caller sending the same request_id with the same request gets the original
  answer again (the stored resource), and nothing is written or published a second time;
- the same request_id with a *different* request is refused with ALREADY_EXISTS, reason
  `REQUEST_ID_REUSED`, and metadata naming the resource that holds the id.

Why ALREADY_EXISTS: the id exists and is bound to another resource, which is exactly what the
code means (google.rpc: "the entity that a client attempted to create already exists"); it is
also what AIP-155 suggests. FAILED_PRECONDITION would tell a client to fix the resource's
state, which is not the problem; answering silently with the earlier resource (screening did)
hides a client bug that would otherwise lose the second request.

A request's fingerprint is a SHA-256 over a canonical JSON of what the caller asked for (the
command without its request_id), so "the same request" does not depend on field order or on
how a client encoded it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
from typing import Any

from stc_common.errors import AlreadyExists, FieldViolation, ValidationFailed

#: request ids are stored in index rows: at most this many characters.
MAX_REQUEST_ID = 200


class RequestIdReused(AlreadyExists):
    """A request id already bound to a different request (ALREADY_EXISTS, REQUEST_ID_REUSED)."""

    def __init__(self, what: str, existing_id: str = "") -> None:
        meta = {"existing_id": existing_id} if existing_id else {}
        super().__init__(f"this request_id was already used for a different {what}",
                         reason="REQUEST_ID_REUSED", metadata=meta)


def check_request_id(value: str, *, required: bool = True, field: str = "request_id") -> str:
    """The request id stripped of surrounding blanks; INVALID_ARGUMENT when missing (if
    required) or longer than MAX_REQUEST_ID."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(FieldViolation(field, "a client request id is required, so a "
                                                     "retry cannot create a second resource"))
    if len(value) > MAX_REQUEST_ID:
        raise ValidationFailed(FieldViolation(field, f"at most {MAX_REQUEST_ID} characters"))
    return value


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, bytes)):
        return str(value) if isinstance(value, decimal.Decimal) else value.hex()
    return value


def fingerprint(request: Any, *, ignore: tuple[str, ...] = ("request_id",)) -> str:
    """SHA-256 (hex) of the canonical JSON of a command (a dataclass, dict or plain value),
    leaving out `ignore`d top-level fields (the request id itself)."""
    plain = _plain(request)
    if isinstance(plain, dict):
        plain = {k: v for k, v in plain.items() if k not in ignore}
    text = json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def replay_or_refuse(stored_fingerprint: str | None, request_fingerprint: str, *, what: str,
                     existing_id: str = "") -> None:
    """Return when a stored request with this id is the same request (the caller then answers
    with the stored resource); raise RequestIdReused when it is a different one.

    A stored fingerprint of None (a row written before fingerprints were kept) counts as the
    same request: the earlier behaviour, never a refusal of a genuine retry."""
    if stored_fingerprint is not None and stored_fingerprint != request_fingerprint:
        raise RequestIdReused(what, existing_id)
