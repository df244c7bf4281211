"""List entries: stable ids, content hashes and the diff of two imports."""

import datetime as dt

import pytest
from stc_screening.domain.lists import (
    Identifier,
    ListEntry,
    ListKind,
    PartyType,
    diff_entries,
    make_entry_id,
)


def _entry(eid: str, *names: str, remarks: str = "") -> ListEntry:
    return ListEntry(eid, ListKind.CONTROL_LIST, names, PartyType.ENTITY, remarks=remarks,
                     listed_on=dt.date(2025, 1, 2))


def test_entry_id_is_source_and_record_key():
    assert make_entry_id("ofac-sdn", " 1234 ") == "ofac-sdn:1234"
    with pytest.raises(ValueError):
        make_entry_id("ofac-sdn", "  ")


def test_content_hash_is_stable_and_tracks_content():
    a = _entry("prc:1", "Acme Ltd")
    assert a.content_hash == _entry("prc:1", "Acme Ltd").content_hash
    assert a.content_hash != _entry("prc:1", "Acme Ltd", "阿克米").content_hash
    assert a.content_hash != _entry("prc:1", "Acme Ltd", remarks="x").content_hash


def test_legal_basis_defaults_from_the_list():
    assert "Art. 18" in _entry("prc:1", "Acme").legal_basis
    watch = ListEntry("w:1", ListKind.WATCH_LIST, ("Acme",))
    assert "Art. 26" in watch.legal_basis
    assert ListKind.WATCH_LIST.is_prc and not ListKind.OFAC_SDN.is_prc


def test_entry_needs_a_name():
    with pytest.raises(ValueError):
        ListEntry("x:1", ListKind.OFAC_SDN, ("  ",))


def test_diff_reports_added_updated_removed():
    old = [_entry("a:1", "One"), _entry("a:2", "Two"), _entry("a:3", "Three")]
    new = [_entry("a:1", "One"), _entry("a:2", "Two", "Deux"), _entry("a:4", "Four")]
    d = diff_entries(old, new)
    assert [e.entry_id for e in d.added] == ["a:4"]
    assert [e.entry_id for e in d.removed] == ["a:3"]
    assert [(o.names, n.names) for o, n in d.updated] == [(("Two",), ("Two", "Deux"))]
    assert diff_entries(old, old).is_empty


def test_diff_rejects_duplicate_ids():
    with pytest.raises(ValueError):
        diff_entries([_entry("a:1", "One"), _entry("a:1", "Uno")], [])


def test_identifier_key_ignores_punctuation_and_case():
    assert Identifier("USCC", "9111 0000-1000 0106x1").key == "9111000010000106X1"
