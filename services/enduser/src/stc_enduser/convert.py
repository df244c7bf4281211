"""Conversions between protobuf values and domain values shared by the API and the events.

Parties and documents are kept as protobuf JSON (`MessageToDict`, proto field names) in the
database, so aliases, addresses and identifier countries the domain does not model reach the
consumers of our events unchanged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import json_format, timestamp_pb2
from stc.common.v1 import common_pb2

from stc_enduser.domain.model import Document, Identifier, Party


def to_dict(message: Any) -> dict:
    """A protobuf message as JSON-ready dict with proto field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def party_pb(data: dict | None) -> common_pb2.Party:
    """The stored party JSON as a stc.common.v1.Party."""
    return json_format.ParseDict(data or {}, common_pb2.Party(), ignore_unknown_fields=True)


def party_from_pb(p: common_pb2.Party) -> Party:
    """The domain party of a protobuf party (identifier type becomes the scheme)."""
    return Party(
        name=p.name,
        country=p.country,
        identifiers=tuple(Identifier(i.type, i.value) for i in p.identifiers),
        party_id=p.party_id or None,
    )


def document_from_pb(d: common_pb2.DocumentReference) -> Document:
    """The domain document: its title (or id when untitled) and SHA-256."""
    return Document(name=d.title or d.document_id, sha256=d.sha256)


def ts(at: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp of an aware datetime (None stays None)."""
    if at is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(at.astimezone(dt.UTC))
    return out


def from_ts(t: timestamp_pb2.Timestamp) -> dt.datetime:
    """An aware UTC datetime of a Timestamp."""
    return t.ToDatetime(tzinfo=dt.UTC)
