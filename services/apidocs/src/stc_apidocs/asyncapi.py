"""Generate (or check) the AsyncAPI 3.0 document of every topic and event of the platform.

    python -m stc_apidocs asyncapi [--check] [--out docs/asyncapi/stc-platform.asyncapi.yaml]

The document is derived, not written: channels come from the declared topic registry
(`stc_common.kafka.topics.TOPICS`, plus a `<topic>.dlq` beside each), messages from the
generated protobuf modules `stc.<domain>.v1.events_pb2` (run `make protos` first), their
JSON Schema payloads from the message descriptors, and the prose from the proto comments
(the protos are compiled once more with `--include_source_info` into a temporary descriptor
set, the only place protoc keeps comments). Which event goes on which topic is the one
hand-kept fact, in `EVENT_ROUTES` below; a message of an events.proto that is neither routed
nor used as a field type of another message makes generation (and so `--check`) fail.

`--check` regenerates in memory and compares with the committed file: exit 0 when equal,
1 with a diff summary when not, 2 when the document cannot be generated.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, FileDescriptor
from stc_common.kafka.topics import TOPICS, Topic

ROOT = Path(__file__).resolve().parents[4]
DEFAULT_OUT = Path("docs/asyncapi/stc-platform.asyncapi.yaml")
ASYNCAPI_VERSION = "3.0.0"
DOC_VERSION = "1.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
CONTENT_TYPE = "application/protobuf"


class GenerationError(RuntimeError):
    """The document cannot be generated (unrouted event, unknown topic, stale code ...)."""


@dataclass(frozen=True)
class Route:
    """Where an event is published: its topic(s), and a key note when it is not the topic's."""

    topics: tuple[str, ...]
    key: str | None = None


_APP = ("stc.licensing.application.v1",)
_LIC = ("stc.licensing.licence.v1",)
_OPR = ("stc.licensing.operator.v1",)
_RES = ("stc.screening.result.v1",)
_LST = ("stc.screening.list.v1",)
_CON = ("stc.screening.consultation.v1",)
_CHG = ("stc.enduser.change.v1",)
_REC = ("stc.credit.record.v1",)
_STD = ("stc.credit.standing.v1",)
_PUB = ("stc.credit.publication.v1",)

#: THE event → topic table (docs/architecture.md and the header comment of each events.proto).
#: A new event message must be added here, or the document and its test fail.
EVENT_ROUTES: dict[str, Route] = {
    # licensing
    "stc.licensing.v1.ApplicationSubmitted": Route(_APP),
    "stc.licensing.v1.ApplicationAssessed": Route(_APP),
    "stc.licensing.v1.InformationRequested": Route(_APP),
    "stc.licensing.v1.ApplicationAmended": Route(_APP),
    "stc.licensing.v1.ApplicationDecided": Route(_APP),
    "stc.licensing.v1.ApplicationWithdrawn": Route(_APP),
    "stc.licensing.v1.ApplicationFlagged": Route(_APP),
    "stc.licensing.v1.DeadlineBreached": Route(_APP),
    "stc.licensing.v1.DeadlineApproaching": Route(_APP),
    "stc.licensing.v1.ExpertReviewStarted": Route(_APP),
    "stc.licensing.v1.ExpertReviewEnded": Route(_APP),
    "stc.licensing.v1.InformationProvided": Route(_APP),
    "stc.licensing.v1.HolidayScheduleAnnounced": Route(_APP, key="holiday-schedules/{year}"),
    "stc.licensing.v1.DeadlineRecomputed": Route(_APP),
    "stc.licensing.v1.TemporaryControlChanged": Route(_APP, key="temporary-controls/{measure_id}"),
    "stc.licensing.v1.TemporaryControlExpiring": Route(_APP,
                                                       key="temporary-controls/{measure_id}"),
    "stc.licensing.v1.ApplicationReferred": Route(_APP),
    "stc.licensing.v1.ReferralEnded": Route(_APP),
    "stc.licensing.v1.MilitaryApprovalRecorded": Route(_APP),
    "stc.licensing.v1.ApplicationAccepted": Route(_APP),
    "stc.licensing.v1.ApplicationReturned": Route(_APP),
    "stc.licensing.v1.ApplicationResubmitted": Route(_APP),
    "stc.licensing.v1.LicenceIssued": Route(_LIC),
    "stc.licensing.v1.LicenceSuspended": Route(_LIC),
    "stc.licensing.v1.LicenceReinstated": Route(_LIC),
    "stc.licensing.v1.LicenceRevoked": Route(_LIC),
    "stc.licensing.v1.LicenceExpired": Route(_LIC),
    "stc.licensing.v1.LicenceUsed": Route(_LIC),
    "stc.licensing.v1.LicenceHeld": Route(_LIC),
    "stc.licensing.v1.LicenceHoldReleased": Route(_LIC),
    "stc.licensing.v1.LicenceAmended": Route(_LIC),
    "stc.licensing.v1.OperatorRegistered": Route(_OPR),
    "stc.licensing.v1.QualificationChanged": Route(_OPR),
    "stc.licensing.v1.IcpAssessed": Route(_OPR),
    # screening
    "stc.screening.v1.ScreeningCompleted": Route(_RES),
    "stc.screening.v1.RescreeningMatch": Route(_RES),
    "stc.screening.v1.ListEntryAdded": Route(_LST),
    "stc.screening.v1.ListEntryUpdated": Route(_LST),
    "stc.screening.v1.ListEntryRemoved": Route(_LST),
    "stc.screening.v1.CountryMeasureAdded": Route(_LST),
    "stc.screening.v1.CountryMeasureChanged": Route(_LST),
    "stc.screening.v1.ConsultationSubmitted": Route(_CON),
    "stc.screening.v1.ConsultationAnswered": Route(_CON),
    # enduser
    "stc.enduser.v1.ChangeReported": Route(_CHG),
    "stc.enduser.v1.ChangeResolved": Route(_CHG),
    "stc.enduser.v1.EndUseCheckScheduled": Route(_CHG),
    "stc.enduser.v1.EndUseCheckCompleted": Route(_CHG),
    "stc.enduser.v1.EndUseCheckOverdue": Route(_CHG),
    # credit: a published or repaired record is also an entry of the publicity feed
    "stc.credit.v1.CreditRecordCreated": Route(_REC),
    "stc.credit.v1.CreditRecordPublished": Route(_REC + _PUB),
    "stc.credit.v1.CreditRecordRepaired": Route(_REC + _PUB),
    "stc.credit.v1.CaseOpened": Route(_REC),
    "stc.credit.v1.PublicationDeadlineAtRisk": Route(_PUB),
    "stc.credit.v1.PublicityEnded": Route(_PUB),
    "stc.credit.v1.CreditStandingChanged": Route(_STD),
    "stc.credit.v1.CheckpointPublished": Route(_PUB, key='the literal "checkpoint"'),
}

INFO_DESCRIPTION = """\
Every fact of the STC licensing platform (PRC Export Control Law 2020) as a typed,
versioned Kafka event, for the agency back-office systems and other agency systems that
consume them. Generated from the protobuf definitions (protos/stc/*/v1/events.proto) by
`python -m stc_apidocs asyncapi`; do not edit by hand.

## Envelope: CloudEvents 1.0, Kafka binary mode

The record value is the serialized protobuf message (not JSON); the attributes are headers:

| header | meaning |
|---|---|
| `ce_specversion` | `1.0` |
| `ce_id` | event id (UUID); unique, use it to de-duplicate (delivery is at least once) |
| `ce_type` | full protobuf message name, e.g. `stc.credit.v1.CaseOpened`: choose the decoder by it |
| `ce_source` | the producing service |
| `ce_time` | when the event was recorded (RFC 3339, UTC) |
| `ce_subject` | the aggregate id (same as the record key), when set |
| `content-type` | `application/protobuf` |
| `traceparent` | W3C trace context (also carried as the CloudEvents extension) |

The record key is the aggregate id given for each channel (application id, licence id,
USCC ...), so one aggregate's events stay in one partition, in order. Consumers should
ignore `ce_type`s they do not know (new events are added without a new topic version) and
unknown fields (protobuf does this by itself). The payload schemas below are the decoded
protobuf messages, fields by their proto names; int64 fields are 64-bit integers, bytes
fields raw bytes, `google.protobuf.Timestamp` a point in time, `google.type.Date` a
calendar date {year, month, day}. Unset proto3 fields read as their default values.

## Dead-letter topics

Beside every topic `<topic>` there is `<topic>.dlq` (one partition): a record that a
platform consumer could not decode or handle is copied there unchanged (same key, value and
headers) with three more headers: `dlq_reason` (the error), `dlq_consumer` (the consumer
group that gave up) and `dlq_source` (`topic/partition/offset` of the original record).
"""


# ---------------------------------------------------------------------------------------
# protos: modules, descriptors, comments


def events_protos(root: Path = ROOT) -> list[Path]:
    """The events.proto files of the platform, relative to protos/."""
    base = root / "protos"
    return sorted(p.relative_to(base) for p in base.glob("stc/*/v1/events.proto"))


def module_name(proto: Path) -> str:
    """`stc/licensing/v1/events.proto` → `stc.licensing.v1.events_pb2`."""
    return ".".join(proto.with_suffix("").parts) + "_pb2"


def load_event_files(root: Path = ROOT) -> list[FileDescriptor]:
    """Import the generated modules of every events.proto and return their file descriptors."""
    files = []
    for proto in events_protos(root):
        name = module_name(proto)
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:
            raise GenerationError(
                f"cannot import {name} ({exc}): generate the protobuf code with `make protos` "
                "and put services/common/src on PYTHONPATH"
            ) from exc
        files.append(mod.DESCRIPTOR)
    if not files:
        raise GenerationError(f"no protos/stc/*/v1/events.proto under {root}")
    return files


def _include_dirs() -> list[str]:
    import google.type  # googleapis-common-protos: google/type/date.proto
    import grpc_tools

    dirs = [str(Path(google.type.__path__[0]).parents[1])]
    dirs.append(str(Path(grpc_tools.__file__).parent / "_proto"))
    return dirs


def compile_descriptor_set(root: Path, protos: list[Path]) -> descriptor_pb2.FileDescriptorSet:
    """protoc (grpc_tools) with --include_imports --include_source_info, into a temp dir."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "events.binpb"
        args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{root / 'protos'}"]
        args += [f"-I{d}" for d in _include_dirs()]
        args += ["--include_imports", "--include_source_info", f"--descriptor_set_out={out}"]
        args += [str(p) for p in protos]
        proc = subprocess.run(args, capture_output=True, text=True, cwd=root)
        if proc.returncode != 0 or not out.exists():
            raise GenerationError(f"protoc failed: {proc.stderr.strip()}")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _clean_comment(text: str) -> str:
    lines = [ln[1:] if ln.startswith(" ") else ln for ln in text.strip("\n").split("\n")]
    return "\n".join(ln.rstrip() for ln in lines).strip()


class Comments:
    """Leading (else trailing) comments of messages, fields, enums and values, by full name."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet) -> None:
        self.by_name: dict[str, str] = {}
        self.file_header: dict[str, str] = {}
        self.files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for f in fds.file:
            self.files[f.name] = f
            locs = {tuple(loc.path): loc for loc in f.source_code_info.location}

            def text(path: tuple[int, ...], _locs=locs) -> str:
                loc = _locs.get(path)
                if loc is None:
                    return ""
                return _clean_comment(loc.leading_comments or loc.trailing_comments)

            syntax = locs.get((12,))
            if syntax is not None:
                parts = [*syntax.leading_detached_comments, syntax.leading_comments]
                self.file_header[f.name] = "\n".join(_clean_comment(p) for p in parts if p.strip())
            prefix = f.package + "." if f.package else ""
            for i, m in enumerate(f.message_type):
                self._message(m, prefix, (4, i), text)
            for i, e in enumerate(f.enum_type):
                self._enum(e, prefix, (5, i), text)

    def _message(self, m, prefix, path, text) -> None:
        name = prefix + m.name
        self.by_name[name] = text(path)
        for k, fld in enumerate(m.field):
            self.by_name[f"{name}.{fld.name}"] = text(path + (2, k))
        for j, nested in enumerate(m.nested_type):
            self._message(nested, name + ".", path + (3, j), text)
        for j, e in enumerate(m.enum_type):
            self._enum(e, name + ".", path + (4, j), text)

    def _enum(self, e, prefix, path, text) -> None:
        name = prefix + e.name
        self.by_name[name] = text(path)
        for k, v in enumerate(e.value):
            self.by_name[f"{name}.{v.name}"] = text(path + (2, k))

    def get(self, full_name: str) -> str:
        return self.by_name.get(full_name, "")


def check_generated_code_fresh(files: list[FileDescriptor], comments: Comments) -> None:
    """The imported modules must describe the same protos as protos/ (else: make protos)."""
    for fd in files:
        src = comments.files.get(fd.name)
        if src is None:
            raise GenerationError(f"{fd.name} is not among the compiled protos")
        bare = descriptor_pb2.FileDescriptorProto()
        bare.CopyFrom(src)
        bare.ClearField("source_code_info")
        _clear_json_names(bare.message_type)  # the generated code does not keep them
        generated = descriptor_pb2.FileDescriptorProto.FromString(fd.serialized_pb)
        _clear_json_names(generated.message_type)
        if generated != bare:
            raise GenerationError(
                f"the generated code of {fd.name} is out of date with protos/: run `make protos`"
            )


def _clear_json_names(msgs) -> None:
    for m in msgs:
        for f in m.field:
            f.ClearField("json_name")
        _clear_json_names(m.nested_type)


# ---------------------------------------------------------------------------------------
# routing: which message goes where


def _referenced_types(msgs: list[Descriptor]) -> set[str]:
    refs: set[str] = set()
    for m in msgs:
        for f in m.fields:
            if f.message_type is not None:
                refs.add(f.message_type.full_name)
                if f.message_type.GetOptions().map_entry:
                    refs |= _referenced_types([f.message_type])
        refs |= _referenced_types(list(m.nested_types))
    return refs


def classify(
    files: list[FileDescriptor], routes: dict[str, Route] | None = None
) -> tuple[list[Descriptor], list[Descriptor]]:
    """(events, nested-only types) of the events.proto files; raise if an event is unrouted.

    An event is a top-level message of an events.proto that `routes` names. A message that
    `routes` does not name must be used as a field type by another message (then it is only
    a schema); anything else is an event nobody documented, and generation fails.
    """
    routes = EVENT_ROUTES if routes is None else routes
    declared = {t.name: t for t in TOPICS}
    all_msgs = [m for fd in files for m in fd.message_types_by_name.values()]
    referenced = _referenced_types(all_msgs)
    events, nested, problems = [], [], []
    for m in all_msgs:
        domain = m.file.package.split(".")[1] if m.file.package.count(".") >= 2 else ""
        if m.full_name in routes:
            events.append(m)
            for topic in routes[m.full_name].topics:
                if topic not in declared:
                    problems.append(
                        f"{m.full_name} is routed to {topic}, which is not a declared topic "
                        "(stc_common.kafka.topics.TOPICS)"
                    )
                elif declared[topic].owner != domain:
                    problems.append(
                        f"{m.full_name} (package {m.file.package}) is routed to {topic}, "
                        f"owned by {declared[topic].owner}: a service publishes only its own "
                        "topics"
                    )
        elif m.full_name in referenced:
            nested.append(m)
        else:
            problems.append(
                f"{m.full_name} ({m.file.name}) is on no topic: add it to EVENT_ROUTES in "
                "stc_apidocs/asyncapi.py (or use it as a field type of an event)"
            )
    known = {m.full_name for m in all_msgs}
    for name in routes:
        if name not in known:
            problems.append(f"EVENT_ROUTES names {name}, which no events.proto defines")
    if problems:
        raise GenerationError("undocumented or misrouted events:\n  " + "\n  ".join(problems))
    return events, nested


# ---------------------------------------------------------------------------------------
# JSON Schema from descriptors

_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "integer", "format": "uint64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED64: {"type": "integer", "format": "uint64", "minimum": 0},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "binary"},
}

#: Well-known types described by what they mean rather than by their wire fields.
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "x-protobuf-message": "google.protobuf.Timestamp",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "description": "A duration (google.protobuf.Duration), e.g. 3.5s.",
        "x-protobuf-message": "google.protobuf.Duration",
    },
    "google.protobuf.Struct": {"type": "object", "x-protobuf-message": "google.protobuf.Struct"},
    "google.protobuf.Value": {"x-protobuf-message": "google.protobuf.Value"},
    "google.protobuf.Empty": {"type": "object", "x-protobuf-message": "google.protobuf.Empty"},
}
#: Shorter prose for imported types whose own comments speak to their authors.
_SHORT_DOCS = {
    "google.type.Date": "A calendar date (google.type.Date); a zero part means not given.",
}
_WRAPPERS = {
    "DoubleValue": FieldDescriptor.TYPE_DOUBLE,
    "FloatValue": FieldDescriptor.TYPE_FLOAT,
    "Int64Value": FieldDescriptor.TYPE_INT64,
    "UInt64Value": FieldDescriptor.TYPE_UINT64,
    "Int32Value": FieldDescriptor.TYPE_INT32,
    "UInt32Value": FieldDescriptor.TYPE_UINT32,
    "BoolValue": FieldDescriptor.TYPE_BOOL,
    "StringValue": FieldDescriptor.TYPE_STRING,
    "BytesValue": FieldDescriptor.TYPE_BYTES,
}


def schema_ref(full_name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{full_name}"}


class SchemaBuilder:
    """JSON Schemas of messages and enums, collected by full name for components/schemas."""

    def __init__(self, comments: Comments) -> None:
        self.comments = comments
        self.schemas: dict[str, dict[str, Any]] = {}

    def message(self, m: Descriptor) -> dict[str, Any]:
        """The schema of `m` (registered in components) and a $ref to it."""
        if m.full_name in self.schemas:
            return schema_ref(m.full_name)
        self.schemas[m.full_name] = {}  # placeholder against recursion
        schema: dict[str, Any] = {"type": "object", "title": m.name}
        doc = _SHORT_DOCS.get(m.full_name) or self.comments.get(m.full_name)
        if doc:
            schema["description"] = doc
        props: dict[str, Any] = {}
        for f in sorted(m.fields, key=lambda f: f.number):
            props[f.name] = self.field(f)
        schema["properties"] = props
        oneofs = [o for o in m.oneofs if not _synthetic(o)]
        if oneofs:
            schema["x-protobuf-oneofs"] = {o.name: [f.name for f in o.fields] for o in oneofs}
        schema["x-protobuf-message"] = m.full_name
        self.schemas[m.full_name] = schema
        return schema_ref(m.full_name)

    def enum(self, e: EnumDescriptor) -> dict[str, Any]:
        if e.full_name not in self.schemas:
            schema: dict[str, Any] = {"type": "string", "title": e.name}
            lines = [self.comments.get(e.full_name)] if self.comments.get(e.full_name) else []
            notes = [
                f"- `{v.name}` ({v.number}): {self.comments.get(f'{e.full_name}.{v.name}')}"
                for v in e.values
                if self.comments.get(f"{e.full_name}.{v.name}")
            ]
            if notes:
                lines.append("\n".join(notes))
            if lines:
                schema["description"] = "\n\n".join(lines)
            schema["enum"] = [v.name for v in e.values]
            schema["x-enum-numbers"] = {v.name: v.number for v in e.values}
            schema["x-protobuf-enum"] = e.full_name
            self.schemas[e.full_name] = schema
        return schema_ref(e.full_name)

    def value(self, f: FieldDescriptor) -> dict[str, Any]:
        """The schema of one value of `f` (ignoring repeated)."""
        if f.type == FieldDescriptor.TYPE_ENUM:
            return self.enum(f.enum_type)
        if f.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            name = f.message_type.full_name
            if name in _WELL_KNOWN:
                return dict(_WELL_KNOWN[name])
            if name.startswith("google.protobuf.") and name.rsplit(".", 1)[1] in _WRAPPERS:
                inner = dict(_SCALARS[_WRAPPERS[name.rsplit(".", 1)[1]]])
                return {"oneOf": [inner, {"type": "null"}], "x-protobuf-message": name}
            return self.message(f.message_type)
        return dict(_SCALARS[f.type])

    def field(self, f: FieldDescriptor) -> dict[str, Any]:
        doc = self.comments.get(f"{f.containing_type.full_name}.{f.name}")
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            key_f = f.message_type.fields_by_name["key"]
            val_f = f.message_type.fields_by_name["value"]
            schema: dict[str, Any] = {
                "type": "object",
                "additionalProperties": self.value(val_f),
                "x-protobuf-map-key": _SCALARS[key_f.type]["type"],
            }
        elif _is_repeated(f):
            schema = {"type": "array", "items": self.value(f)}
        else:
            schema = self.value(f)
        if "$ref" in schema:  # siblings of $ref are ignored by older tools: wrap
            schema = {"allOf": [schema]}
        if doc:
            schema["description"] = doc
        schema["x-protobuf-field"] = f.number
        return schema


def _is_repeated(f: FieldDescriptor) -> bool:
    flag = getattr(f, "is_repeated", None)
    if flag is not None:
        return bool(flag)
    return f.label == FieldDescriptor.LABEL_REPEATED


def _synthetic(oneof) -> bool:
    return len(oneof.fields) == 1 and oneof.name == "_" + oneof.fields[0].name


# ---------------------------------------------------------------------------------------
# the document


def _topic_description(t: Topic) -> str:
    lines = [
        f"Published by the {t.owner} service only.",
        f"Key: the {t.key} (UTF-8), so one aggregate's events are in order.",
        f"Partitions: {t.partitions}.",
    ]
    if t.compacted:
        lines.append(
            "Compacted (cleanup.policy=compact): only the latest event per key is kept, so "
            "reading from the beginning gives the current state of every key."
        )
    else:
        lines.append("Cleanup policy: delete (retention by time).")
    return " ".join(lines)


def _channel_id(t: str) -> str:
    return t


def _kafka_channel_binding(name: str, partitions: int, compacted: bool) -> dict[str, Any]:
    return {
        "kafka": {
            "topic": name,
            "partitions": partitions,
            "topicConfiguration": {"cleanup.policy": ["compact" if compacted else "delete"]},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _headers_schemas() -> dict[str, Any]:
    def s(desc: str, **extra: Any) -> dict[str, Any]:
        return {"type": "string", "description": desc, **extra}

    ce = {
        "type": "object",
        "title": "CloudEvents binary-mode Kafka headers",
        "description": "The CloudEvents 1.0 attributes of the event, one Kafka header each.",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_type",
            "ce_source",
            "ce_time",
            "content-type",
        ],
        "properties": {
            "ce_specversion": s("CloudEvents spec version.", const="1.0"),
            "ce_id": s("Event id (UUID); unique per event, the key for de-duplication."),
            "ce_type": s("Full protobuf name of the payload message."),
            "ce_source": s("The producing service."),
            "ce_time": s("When the event was recorded (RFC 3339, UTC).", format="date-time"),
            "ce_subject": s("The aggregate id, as in the record key (when set)."),
            "content-type": s("Media type of the value.", const=CONTENT_TYPE),
            "traceparent": s("W3C trace context of the request that caused the event."),
        },
    }
    dlq = {
        "type": "object",
        "title": "Dead-letter headers",
        "description": "The original record's headers, unchanged, plus the dlq_* headers.",
        "required": ["dlq_reason", "dlq_consumer", "dlq_source"],
        "properties": {
            "dlq_reason": s("Why the consumer gave up (error text, at most 4000 bytes)."),
            "dlq_consumer": s("Name of the consumer (group) that could not handle it."),
            "dlq_source": s("Where the original record was: topic/partition/offset."),
            "ce_type": s("The original ce_type, when the record had one."),
            "ce_id": s("The original ce_id, when the record had one."),
        },
    }
    return {"CloudEventsHeaders": ce, "DeadLetterHeaders": dlq}


def build_document(root: Path = ROOT) -> dict[str, Any]:
    """The AsyncAPI 3.0 document as plain data."""
    files = load_event_files(root)
    comments = Comments(compile_descriptor_set(root, events_protos(root)))
    check_generated_code_fresh(files, comments)
    events, nested = classify(files)

    builder = SchemaBuilder(comments)
    # events first, in proto order per file, then the types they use
    for m in events:
        builder.message(m)
    for m in nested:
        builder.message(m)

    event_topics: dict[str, list[Topic]] = {}
    by_topic: dict[str, list[Descriptor]] = {t.name: [] for t in TOPICS}
    for m in events:
        for name in EVENT_ROUTES[m.full_name].topics:
            by_topic[name].append(m)
        event_topics[m.full_name] = [
            t for t in TOPICS if t.name in EVENT_ROUTES[m.full_name].topics
        ]

    messages: dict[str, Any] = {}
    for m in events:
        route = EVENT_ROUTES[m.full_name]
        topics = event_topics[m.full_name]
        key = route.key or " / ".join(dict.fromkeys(t.key for t in topics))
        doc = comments.get(m.full_name)
        where = ", ".join(f"`{t.name}`" for t in topics)
        description = (doc + "\n\n" if doc else "") + f"Published on {where}; key: {key}."
        messages[m.full_name] = {
            "name": m.name,
            "title": m.name,
            **({"summary": doc.split("\n\n")[0].replace("\n", " ")} if doc else {}),
            "description": description,
            "contentType": CONTENT_TYPE,
            "headers": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventsHeaders"},
                    {
                        "type": "object",
                        "properties": {"ce_type": {"type": "string", "const": m.full_name}},
                    },
                ]
            },
            "payload": schema_ref(m.full_name),
            "correlationId": {"location": "$message.header#/ce_id"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": key},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
            "tags": [{"name": m.file.package.split(".")[1]}],
            "x-ce-type": m.full_name,
            "x-protobuf-message": m.full_name,
            "x-proto-file": m.file.name,
            "x-topics": [t.name for t in topics],
        }
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "Dead-lettered record",
        "summary": "A record of the source topic that a platform consumer could not handle.",
        "description": (
            "The original record, copied unchanged: same key, same value (for a readable "
            "event, the protobuf payload named by ce_type) and the original headers, plus "
            "dlq_reason, dlq_consumer and dlq_source. Replay it to the source topic once "
            "the cause is fixed; consumers are idempotent by ce_id."
        ),
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {
            "type": "string",
            "format": "binary",
            "description": "The original record value (normally a protobuf message).",
        },
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for t in TOPICS:
        cid = _channel_id(t.name)
        msgs = by_topic[t.name]
        short = [m.name for m in msgs]
        if len(set(short)) != len(short):
            raise GenerationError(f"two events with one name on {t.name}: {short}")
        channels[cid] = {
            "address": t.name,
            "title": t.name,
            "summary": f"{t.owner} events keyed by {t.key}",
            "description": _topic_description(t),
            "messages": {m.name: {"$ref": f"#/components/messages/{m.full_name}"} for m in msgs},
            "bindings": _kafka_channel_binding(t.name, t.partitions, t.compacted),
            "x-key": t.key,
            "x-owner": t.owner,
            "x-partitions": t.partitions,
            "x-compacted": t.compacted,
        }
        dlq_id = _channel_id(t.dlq)
        channels[dlq_id] = {
            "address": t.dlq,
            "title": t.dlq,
            "summary": f"Dead letters of {t.name}",
            "description": (
                f"Records of `{t.name}` that a platform consumer could not decode or handle, "
                "with the reason. Key: as in the source topic. Partitions: 1."
            ),
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": _kafka_channel_binding(t.dlq, 1, False),
            "x-key": f"as in {t.name}",
            "x-partitions": 1,
            "x-compacted": False,
            "x-dead-letter-of": t.name,
        }
        operations[f"{t.owner}.send.{t.name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "title": f"{t.owner} publishes on {t.name}",
            "summary": f"The {t.owner} service publishes its events (transactional outbox, "
            "acks=all, idempotent producer).",
            "messages": [{"$ref": f"#/channels/{cid}/messages/{m.name}"} for m in msgs],
            "tags": [{"name": t.owner}],
        }
        operations[f"consumers.send.{t.dlq}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{dlq_id}"},
            "title": f"Consumers of {t.name} dead-letter records",
            "summary": "Any platform consumer of the source topic that cannot handle a record.",
            "messages": [{"$ref": f"#/channels/{dlq_id}/messages/DeadLetter"}],
        }

    tags = []
    for fd in files:
        domain = fd.package.split(".")[1]
        header = comments.file_header.get(fd.name, "")
        tags.append({"name": domain, "description": header or f"Events of {fd.package}."})

    schemas = _headers_schemas()
    schemas.update(sorted(builder.schemas.items()))
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "STC licensing platform events",
            "version": DOC_VERSION,
            "description": INFO_DESCRIPTION,
            "tags": tags,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The local stack's Kafka (KRaft), `make up` or docker-compose; "
                "plaintext, no authentication.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


# ---------------------------------------------------------------------------------------
# YAML


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)
_Dumper.ignore_aliases = lambda self, data: True  # type: ignore[method-assign]

HEADER = (
    "# GENERATED by `python -m stc_apidocs asyncapi`\n"
    "# from protos/stc/*/v1/events.proto and stc_common.kafka.topics; do not edit by hand.\n"
)


def render(doc: dict[str, Any]) -> str:
    body = yaml.dump(
        doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
        default_flow_style=False,
    )  # fmt: skip
    return HEADER + body


def generate(root: Path = ROOT) -> str:
    """The document as YAML text."""
    return render(build_document(root))


def diff_summary(old: str, new: str, limit: int = 60) -> str:
    """What changed between the committed document and a fresh one, briefly."""
    lines = []
    try:
        a, b = yaml.safe_load(old) or {}, yaml.safe_load(new) or {}
        for section in ("channels", "operations"):
            sa, sb = set(a.get(section) or {}), set(b.get(section) or {})
            lines += [f"  {section}: + {k}" for k in sorted(sb - sa)]
            lines += [f"  {section}: - {k}" for k in sorted(sa - sb)]
        for section in ("messages", "schemas"):
            ca = (a.get("components") or {}).get(section) or {}
            cb = (b.get("components") or {}).get(section) or {}
            lines += [f"  {section}: + {k}" for k in sorted(set(cb) - set(ca))]
            lines += [f"  {section}: - {k}" for k in sorted(set(ca) - set(cb))]
            lines += [f"  {section}: ~ {k}" for k in sorted(set(ca) & set(cb)) if ca[k] != cb[k]]
    except yaml.YAMLError as exc:
        lines.append(f"  the committed file is not valid YAML: {exc}")
    udiff = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), "committed", "generated", lineterm="", n=1
        )
    )
    changed = sum(1 for ln in udiff if ln[:1] in "+-" and ln[:3] not in ("+++", "---"))
    out = ["changes (committed → generated):", *lines, f"{changed} lines differ:"]
    out += udiff[:limit]
    if len(udiff) > limit:
        out.append(f"... ({len(udiff) - limit} more diff lines)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate or check the AsyncAPI 3.0 document of the platform's events."
    )
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    parser.add_argument("--out", type=Path, default=None, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (protos/)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    out = args.out if args.out is not None else root / DEFAULT_OUT
    try:
        text = generate(root)
    except GenerationError as exc:
        print(f"asyncapi: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not out.exists():
            print(f"asyncapi: {out} does not exist; run without --check", file=sys.stderr)
            return 1
        old = out.read_text(encoding="utf-8")
        if old != text:
            print(f"asyncapi: {out} is out of date with the protos:", file=sys.stderr)
            print(diff_summary(old, text), file=sys.stderr)
            print(
                "regenerate: .venv/bin/python -m stc_apidocs asyncapi",
                file=sys.stderr,
            )
            return 1
        print(f"asyncapi: {out} is up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    doc = yaml.safe_load(text)
    print(
        f"asyncapi: wrote {out} ({len(doc['channels'])} channels, "
        f"{len(doc['components']['messages'])} messages, "
        f"{len(doc['components']['schemas'])} schemas)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
