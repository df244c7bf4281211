"""CloudEvents binary-mode envelope for protobuf payloads."""

import pytest
from google.protobuf import wrappers_pb2
from stc_common import envelope
from stc_common.envelope import EnvelopeError


def test_round_trip_keeps_attributes_and_payload():
    msg = wrappers_pb2.StringValue(value="出口许可")
    eid, headers, value = envelope.encode(msg, source="/stc/licensing", subject="app-1")
    names = dict(headers)
    assert names["ce_type"] == b"google.protobuf.StringValue"
    assert names["content-type"] == b"application/protobuf"
    assert names["ce_specversion"] == b"1.0"
    assert names["traceparent"].startswith(b"00-")
    env = envelope.decode(headers, value, b"app-1")
    assert env.id == eid and env.subject == "app-1" and env.source == "/stc/licensing"
    assert env.parse(wrappers_pb2.StringValue).value == "出口许可"


def test_record_without_ce_headers_is_rejected():
    with pytest.raises(EnvelopeError, match="ce_id"):
        envelope.decode([("x", b"y")], b"\x00")


def test_wrong_content_type_is_rejected():
    _, headers, value = envelope.encode(wrappers_pb2.StringValue(value="x"), source="/t")
    headers = [(k, b"application/json" if k == "content-type" else v) for k, v in headers]
    with pytest.raises(EnvelopeError, match="content-type"):
        envelope.decode(headers, value)


def test_payload_of_another_type_is_rejected():
    _, headers, value = envelope.encode(wrappers_pb2.StringValue(value="x"), source="/t")
    env = envelope.decode(headers, value)
    with pytest.raises(EnvelopeError, match="is not google.protobuf.Int64Value"):
        env.parse(wrappers_pb2.Int64Value)


def test_garbage_payload_is_rejected():
    _, headers, _ = envelope.encode(wrappers_pb2.StringValue(value="x"), source="/t")
    env = envelope.decode(headers, b"\xff\xff\xff\xff")
    with pytest.raises(EnvelopeError, match="not a valid"):
        env.parse(wrappers_pb2.StringValue)
