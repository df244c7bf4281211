"""Bulk re-screening of kept parties after a list change (ECL Art. 18; issue 14): the same
hits as screening each stored party through its message, each distinct party screened once,
nameless parties hit by identifier only."""

from __future__ import annotations

from stc_screening import convert as m
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import Identifier, ListEntry, ListKind, PartyType
from stc_screening.service import rescreening


def _stored(pid: str, name: str, **kw) -> dict:
    return {"party_id": pid, "role": "PARTY_ROLE_END_USER", "name": name,
            "aliases": kw.get("aliases", []), "country": kw.get("country", ""),
            "address": "", "identifiers": kw.get("identifiers", []), "business": ""}


def _index() -> ScreeningIndex:
    return ScreeningIndex([
        ListEntry("prc:cl-1", ListKind.CONTROL_LIST, ("Querwerk Präzision GmbH",),
                  PartyType.ENTITY, countries=("DE",)),
        ListEntry("prc:cl-2", ListKind.CONTROL_LIST, ("Ostsee Vakuumöfen GmbH",),
                  PartyType.ENTITY, identifiers=(Identifier("IMO", "9123456"),)),
    ])


def test_same_hits_as_screening_each_party_and_one_row_per_subject(monkeypatch):
    index = _index()
    pairs = [
        ({"subject_id": "lic-1"}, _stored("end-user", " Querwerk Praezision GmbH ", country="DE")),
        ({"subject_id": "lic-2"}, _stored("end-user", "Querwerk Praezision GmbH", country="DE")),
        ({"subject_id": "lic-3"}, _stored("end-user", "Nordic Harbour Optics AB")),
        ({"subject_id": "lic-4"}, _stored("importer", "",
                                          identifiers=[{"type": "imo", "value": " 9123456",
                                                        "country": ""}])),
        ({"subject_id": "lic-5"}, _stored("importer", "", aliases=["Querwerk Präzision GmbH"])),
    ]
    calls = []
    screen = index.screen
    monkeypatch.setattr(index, "screen", lambda p: calls.append(p) or screen(p))
    got = rescreening.rescreen_hits(index, pairs)
    assert [(s["subject_id"], pmsg.party_id, h.entry_id) for s, pmsg, h, _ in got] == [
        ("lic-1", "end-user", "prc:cl-1"), ("lic-2", "end-user", "prc:cl-1"),
        ("lic-4", "importer", "prc:cl-2")]
    # the two licences naming the same party: one screening (names are stripped first)
    assert [p.name for p in calls].count("Querwerk Praezision GmbH") == 1
    # the party of the message is the stored one, whole
    assert got[2][1].identifiers[0].value == " 9123456"
    # as the message path screens it
    for s, _pmsg, h, entry in got:
        expected = screen(m.party_to_domain(m.party_from_dict(
            next(d for t, d in pairs if t is s))))
        assert h in expected and entry.entry_id == h.entry_id


def test_stored_party_equals_the_message_path():
    d = _stored("x", "  Ostsee Vakuumöfen GmbH ", aliases=[" OVG ", " "], country=" DE ",
                identifiers=[{"type": " imo ", "value": "9123456 ", "country": "PA"},
                             {"type": "imo", "value": "  ", "country": ""}])
    assert rescreening.stored_party(d) == m.party_to_domain(m.party_from_dict(d))
