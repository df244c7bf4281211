"""The edge limits (issue 10): the walker, the page-token parser, capped errors and logs,
token lifetimes, and the worst-case sizes that size each service's receive limit."""

from __future__ import annotations

import datetime as dt
import importlib
import json

import pytest
from google.rpc import error_details_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2, licensing_service_pb2
from stc_common.auth.jwt import TokenVerifier, mint_token
from stc_common.errors import FieldViolation, Unauthenticated, ValidationFailed
from stc_common.grpc.errors import MAX_VIOLATIONS, to_status
from stc_common.grpc.limits import (
    FieldLimits,
    check_request,
    max_receive_length,
    parse_request,
    worst_case_size,
    worst_cases,
)
from stc_common.logging import cap_values
from stc_common.paging import offset_from_token

SERVICES = ("licensing", "screening", "enduser", "credit")
BROKER_MAX = 1 << 20  # the broker's message.max.bytes default (1 MiB)


def _violations(msg, limits=None) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as err:
        check_request(msg, limits or FieldLimits())
    return [(v.field, v.reason) for v in err.value.violations]


def _submit(**party) -> licensing_service_pb2.SubmitApplicationRequest:
    content = application_pb2.ApplicationContent(
        exporter_uscc="91350100M000100Y43",
        parties=[common_pb2.Party(name="ok")] * 3 + [common_pb2.Party(**party)],
    )
    return licensing_service_pb2.SubmitApplicationRequest(request_id="r1", content=content)


def test_nested_paths_name_the_bad_entry():
    bad = _violations(_submit(aliases=["fine", "nul\x00here"]))
    assert bad == [("content.parties[3].aliases[1]", "must not contain control characters (U+0000)")]


def test_long_strings_and_long_lists_are_refused_with_the_limit():
    from stc_licensing.api.limits import LIMITS

    bad = dict(_violations(_submit(name="x" * 301, aliases=["a"] * 11), LIMITS))
    assert bad["content.parties[3].name"] == "at most 300 characters (got 301)"
    assert bad["content.parties[3].aliases"] == "at most 10 entries (got 11)"


def test_service_table_overrides_the_default():
    from stc_licensing.api.limits import LIMITS

    msg = licensing_service_pb2.WithdrawApplicationRequest(
        application_id="a", reason="line one\nline two\t" + "x" * 3000
    )
    check_request(msg, LIMITS)  # free-form text: newline and tab allowed, 4000 characters
    with pytest.raises(ValidationFailed):
        check_request(msg, FieldLimits())  # the defaults: 256 characters, no controls


def test_unknown_enum_values_are_named():
    msg = licensing_service_pb2.ListApplicationsRequest(state=999)
    assert _violations(msg) == [("state", "unknown ApplicationState value 999")]


def test_map_entries_and_timestamps_are_checked():
    item = application_pb2.Item(control_code="1A001", parameters={"k\x01": "v"})
    content = application_pb2.ApplicationContent(items=[item])
    msg = licensing_service_pb2.SubmitApplicationRequest(content=content)
    assert [f for f, _ in _violations(msg)] == ["content.items[0].parameters[?].key"]


@pytest.mark.parametrize(("y", "m", "d"), [(2006, 0, 1), (2026, 2, 30), (0, 5, 1), (-1, 1, 1)])
def test_partial_or_impossible_dates_are_refused(y, m, d):
    # found by the fuzz suite: RecordExport with month 0 raised ValueError (INTERNAL)
    msg = licensing_service_pb2.RecordExportRequest(licence_id="l")
    msg.export.exported_on.year, msg.export.exported_on.month = y, m
    msg.export.exported_on.day = d
    assert [f for f, _ in _violations(msg)] == ["export.exported_on"]


def test_an_unset_or_real_date_passes():
    msg = licensing_service_pb2.RecordExportRequest(licence_id="l")
    msg.export.export_id = "e"
    check_request(msg, FieldLimits())
    msg.export.exported_on.year, msg.export.exported_on.month = 2026, 2
    msg.export.exported_on.day = 28
    check_request(msg, FieldLimits())


def test_over_long_lists_are_not_walked():
    msg = licensing_service_pb2.RequestInformationRequest(questions=["\x00"] * 100_000)
    assert _violations(msg) == [("questions", "at most 20 entries (got 100000)")]


def test_malformed_bytes_are_invalid_argument():
    with pytest.raises(ValidationFailed) as err:
        parse_request(licensing_service_pb2.GetApplicationRequest.FromString, b"\x0a\xff\xff")
    assert err.value.violations[0].field == "(request)"
    with pytest.raises(ValidationFailed):  # invalid UTF-8 in a string field
        parse_request(licensing_service_pb2.GetApplicationRequest.FromString, b"\x0a\x02\xc3\x28")


@pytest.mark.parametrize("token", ["-1", "abc", "1" * 19, str(2**64), " 5", "1_0", "١٢", "+3"])
def test_bad_page_tokens_name_page_token(token):
    with pytest.raises(ValidationFailed) as err:
        offset_from_token(token)
    assert err.value.violations[0].field == "page_token"


def test_good_page_tokens():
    assert offset_from_token("") == 0
    assert offset_from_token("40") == 40


def test_error_details_are_capped_and_fit_the_trailers():
    err = ValidationFailed([FieldViolation(f"f[{i}]" + "x" * 500, "bad" * 100) for i in range(100_000)])
    status = to_status(err)
    size = sum(len(k) + len(v) for k, v in status.trailing_metadata)
    assert size < 8 * 1024, size
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    from google.rpc import status_pb2

    decoded = status_pb2.Status.FromString(details)
    bad = error_details_pb2.BadRequest()
    info = error_details_pb2.ErrorInfo()
    decoded.details[0].Unpack(info)
    decoded.details[1].Unpack(bad)
    assert len(bad.field_violations) == MAX_VIOLATIONS
    assert info.metadata["violations_total"] == "100000"
    assert len(err.message) <= 4000 and err.message.endswith("99995 more")


def test_log_values_are_capped():
    event = cap_values(None, "info", {"event": "x", "error": "e" * 7_000_000, "n": 3})
    assert len(json.dumps(event)) < 3000
    assert event["n"] == 3


def test_token_lifetime_is_bounded():
    verifier = TokenVerifier()
    with pytest.raises(Unauthenticated) as err:
        verifier.verify(mint_token(role="auditor", ttl=dt.timedelta(days=365 * 74)))
    assert err.value.reason == "TOKEN_LIFETIME"
    with pytest.raises(Unauthenticated):  # issued in the future
        future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        verifier.verify(mint_token(role="auditor", now=future))
    p = verifier.verify(mint_token(role="auditor", ttl=dt.timedelta(hours=8)))
    assert p.expires_at and p.expires_at > dt.datetime.now(dt.UTC).timestamp()
    short = TokenVerifier(max_lifetime_s=60)
    with pytest.raises(Unauthenticated):
        short.verify(mint_token(role="auditor", ttl=dt.timedelta(minutes=2)))


BATCH_RPCS = {"ScreenParties"}


@pytest.mark.parametrize("svc", SERVICES)
def test_each_table_names_real_fields_and_bounds_every_request(svc):
    limits = importlib.import_module(f"stc_{svc}.api.limits").LIMITS
    module = importlib.import_module(f"stc.{svc}.v1.{svc}_service_pb2")
    service = next(iter(module.DESCRIPTOR.services_by_name.values()))
    assert limits.unknown_names([m.input_type for m in service.methods]) == []
    sizes = worst_cases(service, limits)
    receive = max_receive_length([service], limits)
    # every request that passes the walk fits the receive limit, itself far below 16 MiB;
    # the one exception is a batch RPC (screening's ScreenParties, up to 1,000 parties),
    # whose size the receive limit bounds in turn (RESOURCE_EXHAUSTED beyond it)
    batched = {name: n for name, n in sizes.items() if name not in BATCH_RPCS}
    assert max(batched.values()) <= receive <= 768 * 1024, sizes


@pytest.mark.parametrize(
    ("svc", "event"),
    [
        ("licensing", "ApplicationSubmitted"),
        ("licensing", "ApplicationAmended"),
        ("licensing", "LicenceIssued"),
        ("screening", "ListEntryAdded"),
        ("screening", "ListEntryUpdated"),
        ("enduser", "ChangeReported"),
        ("enduser", "EndUseCheckCompleted"),
        ("credit", "CreditRecordCreated"),
        ("credit", "CreditRecordPublished"),
    ],
)
def test_events_built_from_client_content_stay_under_the_broker_limit(svc, event):
    limits = importlib.import_module(f"stc_{svc}.api.limits").LIMITS
    events = importlib.import_module(f"stc.{svc}.v1.events_pb2")
    size = worst_case_size(events.DESCRIPTOR.message_types_by_name[event], limits)
    # the envelope's headers are a few hundred bytes; keep 64 KiB of room for them
    assert size < BROKER_MAX - 64 * 1024, size
