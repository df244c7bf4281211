"""CloudEvents binary-mode envelopes for protobuf payloads on Kafka.

Headers: `ce_specversion`, `ce_id`, `ce_type` (the message's full protobuf name), `ce_source`,
`ce_time`, `ce_subject` (the aggregate id), `content-type: application/protobuf` and the W3C
`traceparent`; the value is the serialized message. The cloudevents package does the mapping
between attributes and `ce_` headers; protobuf does the payload.
"""

from __future__ import annotations

import builtins
import datetime as dt
import os
import uuid
from dataclasses import dataclass
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from google.protobuf.message import DecodeError, Message

CONTENT_TYPE = "application/protobuf"


class _BytesFormat(JSONFormat):
    """Keeps the event data as the raw protobuf bytes in both directions."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> Any:  # noqa: D102
        return bytes(body)


_FORMAT = _BytesFormat()


class EnvelopeError(ValueError):
    """A Kafka record that is not a valid CloudEvent carrying a known protobuf message."""


def new_traceparent() -> str:
    """A fresh W3C trace context header value."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


@dataclass(frozen=True)
class Envelope:
    """The CloudEvent attributes of one Kafka record, with the raw payload."""

    id: str
    type: str
    source: str
    time: dt.datetime
    subject: str | None
    traceparent: str | None
    data: bytes
    key: bytes | None = None

    def parse(self, message_cls: builtins.type[Message]) -> Message:  # `type` is a field
        """Decode the payload as `message_cls`; raise EnvelopeError when it does not fit."""
        if message_cls.DESCRIPTOR.full_name != self.type:
            raise EnvelopeError(f"ce_type {self.type} is not {message_cls.DESCRIPTOR.full_name}")
        msg = message_cls()
        try:
            msg.ParseFromString(self.data)
        except DecodeError as exc:
            raise EnvelopeError(f"payload is not a valid {self.type}: {exc}") from exc
        return msg


def encode(
    message: Message,
    *,
    source: str,
    subject: str | None = None,
    event_id: str | None = None,
    time: dt.datetime | None = None,
    traceparent: str | None = None,
) -> tuple[str, list[tuple[str, bytes]], bytes]:
    """Build (event id, Kafka headers, value) for one protobuf message in binary mode."""
    eid = event_id or str(uuid.uuid4())
    attrs: dict[str, Any] = {
        "id": eid,
        "type": message.DESCRIPTOR.full_name,
        "source": source,
        "specversion": "1.0",
        "time": (time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        "datacontenttype": CONTENT_TYPE,
        "traceparent": traceparent or new_traceparent(),
    }
    if subject:
        attrs["subject"] = subject
    km = to_binary(CloudEvent(attributes=attrs, data=message.SerializeToString()), _FORMAT)
    headers = [(k, v) for k, v in km.headers.items()]
    # the plain W3C header too, for tracing tools that know nothing of CloudEvents
    headers.append(("traceparent", attrs["traceparent"].encode()))
    return eid, headers, km.value


def decode(
    headers: list[tuple[str, bytes]] | tuple, value: bytes | None, key: bytes | None = None
) -> Envelope:
    """Read the CloudEvent attributes of a Kafka record; raise EnvelopeError if not one."""
    hmap = {k: (v or b"") for k, v in (headers or ())}
    if "ce_type" not in hmap or "ce_id" not in hmap:
        raise EnvelopeError("record has no ce_id/ce_type headers (not a binary-mode CloudEvent)")
    ctype = hmap.get("content-type", b"").decode("utf-8", "replace")
    if ctype != CONTENT_TYPE:
        raise EnvelopeError(f"content-type is {ctype!r}, expected {CONTENT_TYPE}")
    try:
        event = from_binary(KafkaMessage(headers=hmap, key=None, value=value or b""), _FORMAT)
    except Exception as exc:  # the library raises several types for bad attributes
        raise EnvelopeError(f"invalid CloudEvent headers: {exc}") from exc
    return Envelope(
        id=event.get_id(),
        type=event.get_type(),
        source=event.get_source(),
        time=event.get_time() or dt.datetime.now(dt.UTC),
        subject=event.get_subject(),
        traceparent=event.get_extension("traceparent")
        or hmap.get("traceparent", b"").decode()
        or None,
        data=bytes(event.get_data() or b""),  # type: ignore[arg-type]  # binary mode: bytes
        key=key,
    )
