"""Reference numbers, the licence snapshot, consequences and error values."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_enduser.domain.errors import FieldViolation, IllegalTransition, InvalidReport, NotPermitted
from stc_enduser.domain.model import (
    KEY_ELEMENTS,
    Consequence,
    HoldLicence,
    LicenceElement,
    ReleaseHold,
    format_reference,
    parse_reference,
    reference_year,
)


def test_reference_is_zero_padded_from_the_sequence():
    assert format_reference(2026, 123) == "CR-2026-000123"
    assert format_reference(2027, 999_999) == "CR-2027-999999"


@pytest.mark.parametrize("seq", [0, -1, 1_000_000])
def test_reference_refuses_sequences_out_of_range(seq):
    with pytest.raises(ValueError):
        format_reference(2026, seq)


def test_reference_round_trips_and_rejects_malformed():
    assert parse_reference("CR-2026-000123") == (2026, 123)
    for bad in ["CR-2026-123", "XX-2026-000123", "CR-2026-000000", "cr-2026-000123"]:
        with pytest.raises(ValueError):
            parse_reference(bad)


def test_reference_year_is_the_year_in_china():
    # 20:00 UTC on 31 December is already 1 January in Beijing (UTC+8).
    assert reference_year(dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC)) == 2027
    assert reference_year(dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC)) == 2026
    with pytest.raises(ValueError):
        reference_year(dt.datetime(2026, 1, 1))


def test_key_elements_are_end_user_destination_item():
    assert KEY_ELEMENTS == {
        LicenceElement.END_USER,
        LicenceElement.DESTINATION,
        LicenceElement.ITEM,
    }


def test_licence_knows_its_parties(licence):
    assert licence.has_party("party-imp")
    assert licence.has_party("party-eu")
    assert not licence.has_party("stranger")
    assert not licence.has_party(None)


def test_consequence_filters_effects_by_type():
    c = Consequence(effects=(HoldLicence("l", "r1"), ReleaseHold("l", "r0")))
    assert c.of_type(HoldLicence) == (HoldLicence("l", "r1"),)
    assert c.puts_on_hold
    assert not Consequence().puts_on_hold


def test_errors_carry_their_data():
    err = InvalidReport([FieldViolation("details", "required"), FieldViolation("kind", "bad")])
    assert err.fields() == {"details", "kind"}
    assert "details: required" in str(err)
    closed, denied = IllegalTransition("closed"), NotPermitted("other authority")
    assert (closed.code, closed.reason, closed.message) == (
        "FAILED_PRECONDITION", "ILLEGAL_TRANSITION", "closed")
    assert (denied.code, denied.reason, denied.message) == (
        "PERMISSION_DENIED", "WRONG_AUTHORITY", "other authority")
    assert err.code == "INVALID_ARGUMENT"
