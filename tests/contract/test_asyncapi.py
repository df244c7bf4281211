"""The AsyncAPI document of the platform's events (docs/asyncapi/) is complete, valid and current.

It is generated from the protos (`python -m stc_apidocs asyncapi`); these tests compare the
committed file with a fresh generation, check every event and topic is in it, and check its
structure against AsyncAPI 3.0 by hand (no AsyncAPI validator is installed).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.protobuf import descriptor_pb2, descriptor_pool
from stc_apidocs import asyncapi
from stc_common.kafka.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "asyncapi" / "stc-platform.asyncapi.yaml"
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")
EVENT_PROTOS = sorted((ROOT / "protos").glob("stc/*/v1/events.proto"))


@pytest.fixture(scope="module")
def generated() -> str:
    return asyncapi.generate(ROOT)


@pytest.fixture(scope="module")
def doc(generated) -> dict:
    return yaml.safe_load(generated)


@pytest.fixture(scope="module")
def committed() -> str:
    assert DOC_PATH.exists(), f"{DOC_PATH} is missing: run python -m stc_apidocs asyncapi"
    return DOC_PATH.read_text(encoding="utf-8")


def _event_modules():
    return [
        importlib.import_module(
            ".".join(p.relative_to(ROOT / "protos").with_suffix("").parts) + "_pb2"
        )
        for p in EVENT_PROTOS
    ]


def _resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), f"only local refs are used: {ref}"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _walk(node, path="$"):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


# --- the committed document is the generated one ------------------------------------------


def test_committed_document_equals_a_fresh_generation(generated, committed):
    assert committed == generated, (
        "docs/asyncapi/stc-platform.asyncapi.yaml is out of date with the protos; regenerate "
        "with `.venv/bin/python -m stc_apidocs asyncapi`\n"
        + asyncapi.diff_summary(committed, generated)
    )


def test_check_mode_passes_on_a_current_file_and_fails_on_a_stale_one(tmp_path, generated):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        str(ROOT / "services" / p / "src") for p in ("common", "apidocs"))}
    cmd = [sys.executable, "-m", "stc_apidocs", "asyncapi", "--check", "--root", str(ROOT)]
    good = tmp_path / "good.yaml"
    good.write_text(generated, encoding="utf-8")
    ok = subprocess.run([*cmd, "--out", str(good)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr

    stale = tmp_path / "stale.yaml"
    stale.write_text(
        generated.replace("  stc.enduser.v1.ChangeResolved:\n", "  stc.enduser.v1.ChangeGone:\n"),
        encoding="utf-8",
    )
    bad = subprocess.run([*cmd, "--out", str(stale)], capture_output=True, text=True, env=env)
    assert bad.returncode == 1
    assert "out of date" in bad.stderr and "stc.enduser.v1.ChangeResolved" in bad.stderr
    assert stale.read_text(encoding="utf-8") != generated, "--check must not write"


def test_generation_is_deterministic(generated):
    assert asyncapi.generate(ROOT) == generated


# --- completeness ------------------------------------------------------------------------


def test_every_event_of_every_events_proto_is_on_a_channel(doc):
    on_channels: dict[str, set[str]] = {}
    for ch in doc["channels"].values():
        for ref in ch["messages"].values():
            msg = _resolve(doc, ref["$ref"])
            if "x-protobuf-message" in msg:
                on_channels.setdefault(msg["x-protobuf-message"], set()).add(ch["address"])
    modules = _event_modules()
    assert len(modules) == len(EVENT_PROTOS) >= 4
    # an "event" is a top-level message of an events.proto that no other message uses as a
    # field type; the rest are building blocks and must be component schemas
    msgs = [m for mod in modules for m in mod.DESCRIPTOR.message_types_by_name.values()]
    used = {f.message_type.full_name for m in msgs for f in m.fields if f.message_type}
    events = [m.full_name for m in msgs if m.full_name not in used]
    assert len(events) >= 30
    missing = [name for name in events if name not in on_channels]
    assert not missing, f"events on no channel: {missing}"
    for m in msgs:
        assert m.full_name in doc["components"]["schemas"], m.full_name
    for name, msg in doc["components"]["messages"].items():
        if "x-protobuf-message" in msg:
            assert msg["x-ce-type"] == msg["x-protobuf-message"] == name
            ce_type = msg["headers"]["allOf"][1]["properties"]["ce_type"]["const"]
            assert ce_type == name
            assert sorted(msg["x-topics"]) == sorted(on_channels[name])


def test_every_declared_topic_and_its_dlq_has_a_channel(doc):
    by_address = {ch["address"]: ch for ch in doc["channels"].values()}
    assert len(by_address) == len(doc["channels"]) == 2 * len(TOPICS)
    for t in TOPICS:
        ch = by_address.get(t.name)
        assert ch is not None, f"no channel for {t.name}"
        assert ch["x-key"] == t.key and ch["x-partitions"] == t.partitions
        assert ch["x-compacted"] is t.compacted
        policy = ch["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"]
        assert policy == (["compact"] if t.compacted else ["delete"])
        dlq = by_address.get(t.dlq)
        assert dlq is not None, f"no channel for {t.dlq}"
        assert list(dlq["messages"]) == ["DeadLetter"]
        owner_ops = [
            op for op in doc["operations"].values()
            if op["action"] == "send" and _resolve(doc, op["channel"]["$ref"]) is ch
        ]  # fmt: skip
        assert owner_ops and owner_ops[0]["tags"] == [{"name": t.owner}]
    assert by_address["stc.credit.standing.v1"]["x-compacted"] is True


def test_routes_agree_with_the_events_proto_header_comments(doc):
    """Each event's topic is named in the header comment of its events.proto."""
    for proto in EVENT_PROTOS:
        header = "\n".join(
            ln for ln in proto.read_text(encoding="utf-8").splitlines()
            if ln.startswith("//")
        ).split("syntax")[0]  # fmt: skip
        rel = str(proto.relative_to(ROOT / "protos"))
        for name, msg in doc["components"]["messages"].items():
            if msg.get("x-proto-file") == rel:
                for topic in msg["x-topics"]:
                    assert topic in header, f"{name} on {topic}, not in {rel}'s header"


def test_an_unrouted_event_fails_generation_with_a_clear_message():
    """A new message in an events.proto that nobody routed cannot go undocumented."""
    pool = descriptor_pool.DescriptorPool()
    fdp = descriptor_pb2.FileDescriptorProto(
        name="stc/licensing/v1/events_probe.proto", package="stc.licensing.v1", syntax="proto3"
    )
    new = fdp.message_type.add(name="ApplicationTeleported")
    new.field.add(name="application_id", number=1, type=9, label=1)
    routed = fdp.message_type.add(name="ApplicationSubmitted")
    routed.field.add(name="application_id", number=1, type=9, label=1)
    pool.AddSerializedFile(fdp.SerializeToString())
    fd = pool.FindFileByName(fdp.name)
    with pytest.raises(asyncapi.GenerationError) as err:
        asyncapi.classify([fd])
    text = str(err.value)
    assert "stc.licensing.v1.ApplicationTeleported" in text and "EVENT_ROUTES" in text
    assert "stc.licensing.v1.ApplicationSubmitted is on no topic" not in text
    # a routing to a topic of another service is refused too
    bad = {"stc.licensing.v1.ApplicationTeleported": asyncapi.Route(("stc.credit.record.v1",))}
    with pytest.raises(asyncapi.GenerationError, match="owned by credit"):
        asyncapi.classify([fd], {**asyncapi.EVENT_ROUTES, **bad})


# --- payload schemas follow the protos -----------------------------------------------------


def test_payload_schemas_follow_the_descriptors(doc):
    schemas = doc["components"]["schemas"]
    sub = schemas["stc.licensing.v1.ApplicationSubmitted"]["properties"]
    assert sub["submitted_at"]["type"] == "string" and sub["submitted_at"]["format"] == "date-time"
    assert sub["deadline"]["allOf"][0]["$ref"] == "#/components/schemas/google.type.Date"
    assert set(schemas["google.type.Date"]["properties"]) == {"year", "month", "day"}
    assert sub["content"]["allOf"][0]["$ref"].endswith("/stc.licensing.v1.ApplicationContent")
    hits = schemas["stc.screening.v1.ScreeningCompleted"]["properties"]["party_hits"]
    assert hits["type"] == "array"
    assert hits["items"]["$ref"] == "#/components/schemas/stc.screening.v1.PartyHit"
    kind = schemas["stc.screening.v1.ListKind"]
    assert (
        "LIST_KIND_WATCH_LIST" in kind["enum"]
        and kind["x-enum-numbers"]["LIST_KIND_WATCH_LIST"] == 2
    )
    assert "Regulations Art. 26" in kind["description"]  # value comments from the source
    # field comments come from the proto source
    assert (
        "Art. 39"
        in schemas["stc.credit.v1.CreditStandingChanged"]["properties"]["ban_until"]["description"]
    )
    # every field of every event payload is there with its number
    for mod in _event_modules():
        for m in mod.DESCRIPTOR.message_types_by_name.values():
            props = schemas[m.full_name]["properties"]
            assert [(f.name, f.number) for f in m.fields] == [
                (n, p["x-protobuf-field"]) for n, p in props.items()
            ], m.full_name


def test_map_fields_become_objects():
    pool = descriptor_pool.DescriptorPool()
    fdp = descriptor_pb2.FileDescriptorProto(name="probe.proto", package="probe", syntax="proto3")
    m = fdp.message_type.add(name="WithMap")
    entry = m.nested_type.add(name="LabelsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=9, label=1)
    entry.field.add(name="value", number=2, type=3, label=1)
    m.field.add(name="labels", number=1, type=11, label=3, type_name=".probe.WithMap.LabelsEntry")
    pool.AddSerializedFile(fdp.SerializeToString())
    builder = asyncapi.SchemaBuilder(asyncapi.Comments(descriptor_pb2.FileDescriptorSet()))
    builder.message(pool.FindMessageTypeByName("probe.WithMap"))
    labels = builder.schemas["probe.WithMap"]["properties"]["labels"]
    assert labels["type"] == "object"
    assert labels["additionalProperties"] == {"type": "integer", "format": "int64"}


# --- AsyncAPI 3.0 structure ---------------------------------------------------------------


def test_document_is_structurally_asyncapi_3(doc, committed):
    assert yaml.safe_load(committed)["asyncapi"] == "3.0.0"
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    for word in (
        "ce_type",
        "ce_id",
        "ce_source",
        "ce_time",
        "ce_subject",
        "traceparent",
        "application/protobuf",
        ".dlq",
        "dlq_reason",
        "dlq_consumer",
        "dlq_source",
    ):
        assert word in doc["info"]["description"], word
    server = doc["servers"]["local"]
    assert server["host"] == "127.0.0.1:9092" and server["protocol"] == "kafka"
    assert set(doc) <= {
        "asyncapi",
        "id",
        "info",
        "servers",
        "defaultContentType",
        "channels",
        "operations",
        "components",
    }
    for cid, ch in doc["channels"].items():
        assert isinstance(ch["address"], str) and ch["messages"], cid
        for key, ref in ch["messages"].items():
            assert COMPONENT_KEY.match(key), key
            assert "payload" in _resolve(doc, ref["$ref"])
    for oid, op in doc["operations"].items():
        assert COMPONENT_KEY.match(oid), oid
        assert op["action"] in ("send", "receive"), oid
        channel_ref = op["channel"]["$ref"]
        assert channel_ref.startswith("#/channels/")
        channel = _resolve(doc, channel_ref)
        assert op["messages"], oid
        for m in op["messages"]:
            # AsyncAPI 3: an operation's messages must be messages of its channel
            assert m["$ref"].startswith(channel_ref + "/messages/"), (oid, m)
            assert m["$ref"].rsplit("/", 1)[1] in channel["messages"]
    for section, items in doc["components"].items():
        assert section in ("schemas", "messages"), section
        for key in items:
            assert COMPONENT_KEY.match(key), f"components/{section}/{key}"
    for name, msg in doc["components"]["messages"].items():
        assert "payload" in msg and "headers" in msg, name
    # every $ref anywhere resolves
    refs = [n["$ref"] for _, n in _walk(doc) if isinstance(n, dict) and "$ref" in n]
    assert len(refs) > 100
    for ref in refs:
        _resolve(doc, ref)


_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
_FORMATS = {"date-time", "binary", "int32", "int64", "uint32", "uint64", "float", "double"}


def _check_schema(doc: dict, schema, where: str) -> None:
    assert isinstance(schema, dict), where
    if "$ref" in schema:
        assert set(schema) == {"$ref"}, f"{where}: $ref with siblings"
        target = _resolve(doc, schema["$ref"])
        assert schema["$ref"].startswith("#/components/schemas/"), where
        assert isinstance(target, dict), where
        return
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            assert isinstance(schema[key], list) and schema[key], where
            for i, s in enumerate(schema[key]):
                _check_schema(doc, s, f"{where}.{key}[{i}]")
    if "type" in schema:
        assert schema["type"] in _TYPES, f"{where}: type {schema['type']}"
    if "format" in schema:
        assert schema["format"] in _FORMATS, f"{where}: format {schema['format']}"
    if "enum" in schema:
        assert schema["enum"] and len(set(schema["enum"])) == len(schema["enum"]), where
        assert schema.get("type") == "string", where
    if schema.get("type") == "array":
        _check_schema(doc, schema["items"], f"{where}.items")
    if "properties" in schema:
        assert schema.get("type") == "object", where
        for k, v in schema["properties"].items():
            _check_schema(doc, v, f"{where}.{k}")
    if isinstance(schema.get("additionalProperties"), dict):
        _check_schema(doc, schema["additionalProperties"], f"{where}.additionalProperties")
    if "required" in schema:
        assert set(schema["required"]) <= set(schema.get("properties", {})), where
    if "description" in schema:
        assert isinstance(schema["description"], str), where


def test_payload_and_header_schemas_are_valid_json_schema(doc):
    schemas = doc["components"]["schemas"]
    for name, s in schemas.items():
        _check_schema(doc, s, f"components/schemas/{name}")
    for name, msg in doc["components"]["messages"].items():
        _check_schema(doc, msg["payload"], f"{name}.payload")
        _check_schema(doc, msg["headers"], f"{name}.headers")
    try:
        import jsonschema
    except ImportError:
        return  # the hand-written check above stands alone
    for s in schemas.values():
        jsonschema.Draft202012Validator.check_schema(s)
