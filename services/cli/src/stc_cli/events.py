"""Readable Kafka events: decode any platform event by its ce_type."""

from __future__ import annotations

import importlib
import json
from typing import Any

from google.protobuf import symbol_database
from google.protobuf.json_format import MessageToDict
from stc_common import envelope

_EVENT_MODULES = [
    "stc.licensing.v1.events_pb2",
    "stc.screening.v1.events_pb2",
    "stc.enduser.v1.events_pb2",
    "stc.credit.v1.events_pb2",
]


def load_event_types() -> None:
    """Import every events module so their messages are in the symbol database."""
    for name in _EVENT_MODULES:
        importlib.import_module(name)


def readable(headers, value: bytes | None, key: bytes | None) -> dict[str, Any]:
    """A dict with the CloudEvent attributes and the payload as JSON (or the decode error)."""
    load_event_types()
    out: dict[str, Any] = {"key": key.decode("utf-8", "replace") if key else None}
    try:
        env = envelope.decode(headers, value, key)
    except envelope.EnvelopeError as exc:
        out["error"] = str(exc)
        dlq = {k: v.decode("utf-8", "replace") for k, v in (headers or ()) if k.startswith("dlq_")}
        if dlq:
            out["dead_letter"] = dlq
        return out
    out.update(
        type=env.type, id=env.id, source=env.source, time=env.time.isoformat(), subject=env.subject
    )
    try:
        cls = symbol_database.Default().GetSymbol(env.type)
        out["data"] = MessageToDict(env.parse(cls), preserving_proto_field_name=True)
    except KeyError:
        out["data"] = f"<{len(env.data)} bytes of unknown type>"
    return out


def to_json(event: dict[str, Any]) -> str:
    """One-line JSON for piping."""
    return json.dumps(event, ensure_ascii=False, default=str)
