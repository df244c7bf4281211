"""content_from_json keeps recently parsed contents: the same answer as a fresh parse, a
message of the caller's own, and a changed content is never answered from the cache."""

from google.protobuf import json_format
from stc.licensing.v1 import application_pb2 as apb
from stc_licensing import wire


def _content(destination: str) -> apb.ApplicationContent:
    return apb.ApplicationContent(
        exporter_uscc="91110108MA01234567", destination=destination,
        items=[apb.Item(control_code="1C117.c", description="Tungsten alloy bar",
                        quantity="500", unit="kg")],
        contract_reference="CT-1")


def test_cached_parse_equals_a_fresh_parse_and_is_the_callers_own():
    data = wire.content_to_json(_content("DE"))
    first, second = wire.content_from_json(data), wire.content_from_json(data)
    fresh = json_format.ParseDict(data, apb.ApplicationContent(), ignore_unknown_fields=True)
    assert first == second == fresh
    second.destination = "FR"
    second.items[0].quantity = "1"
    assert wire.content_from_json(data) == fresh  # a caller's change never leaks back


def test_a_changed_content_is_parsed_again():
    de = wire.content_from_json(wire.content_to_json(_content("DE")))
    data = wire.content_to_json(_content("DE"))
    data["destination"] = "KP"
    assert wire.content_from_json(data).destination == "KP" and de.destination == "DE"


def test_the_cache_is_bounded():
    for i in range(wire._PARSED_MAX + 50):
        wire.content_from_json(wire.content_to_json(_content(f"D{i}")))
    assert len(wire._PARSED) == wire._PARSED_MAX
