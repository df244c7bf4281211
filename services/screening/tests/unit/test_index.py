"""The in-memory index: add, remove, replace, list filter, ranking and speed."""

import statistics
import time

from stc_screening.domain.index import ScreeningIndex, name_variants
from stc_screening.domain.lists import Identifier, ListEntry, ListKind, PartyType
from stc_screening.domain.matching import Decision, Party


def _index() -> ScreeningIndex:
    return ScreeningIndex([
        ListEntry("prc:1", ListKind.CONTROL_LIST, ("Lockheed Martin Corporation", "洛克希德·马丁公司"),
                  PartyType.ENTITY, countries=("US",)),
        ListEntry("uel:1", ListKind.UNRELIABLE_ENTITY_LIST,
                  ("Lockheed Martin Corporation", "洛克希德·马丁公司"), PartyType.ENTITY),
        ListEntry("ofac-sdn:9", ListKind.OFAC_SDN, ("ZHANG, Xiaoming",), PartyType.INDIVIDUAL,
                  identifiers=(Identifier("Passport", "E12345678"),)),
    ])


def test_screen_finds_chinese_traditional_and_names_both_lists():
    hits = _index().screen(Party("洛克希德·馬丁公司"))
    assert {h.entry_id for h in hits} == {"prc:1", "uel:1"}
    assert {h.list_kind for h in hits} == {ListKind.CONTROL_LIST, ListKind.UNRELIABLE_ENTITY_LIST}
    assert all(h.decision is Decision.MATCH for h in hits)


def test_list_filter_and_threshold():
    ix = _index()
    hits = ix.screen(Party("Lockheed Martin"), lists=[ListKind.CONTROL_LIST])
    assert [h.entry_id for h in hits] == ["prc:1"]
    assert ix.screen(Party("Lockheed Marvin Corp"), threshold=0.99) == []


def test_han_query_finds_pinyin_entry_and_identifier_decides():
    ix = _index()
    hits = ix.screen(Party("張曉明"))
    assert hits[0].entry_id == "ofac-sdn:9" and hits[0].score >= 0.95
    by_id = ix.screen(Party("Someone Else", identifiers=(Identifier("passport", "e1234-5678"),)))
    assert by_id[0].entry_id == "ofac-sdn:9" and by_id[0].score == 1.0


def test_add_replaces_and_remove_forgets():
    ix = _index()
    ix.add(ListEntry("ofac-sdn:9", ListKind.OFAC_SDN, ("WANG, Lei",), PartyType.INDIVIDUAL))
    assert len(ix) == 3
    assert ix.screen(Party("Zhang Xiaoming")) == []
    assert ix.screen(Party("Wang Lei"))[0].entry_id == "ofac-sdn:9"
    assert ix.remove("ofac-sdn:9") and not ix.remove("ofac-sdn:9")
    assert ix.screen(Party("Wang Lei")) == [] and "ofac-sdn:9" not in ix
    assert ix.screen(Party("Someone", identifiers=(Identifier("Passport", "E12345678"),))) == []


def test_hits_sorted_by_score():
    ix = ScreeningIndex([
        ListEntry("a:1", ListKind.OFAC_SDN, ("Golden Eagle Shipping",)),
        ListEntry("a:2", ListKind.OFAC_SDN, ("Golden Eagle Shipping Lines",)),
    ])
    hits = ix.screen(Party("Golden Eagle Shipping"), threshold=0.5)
    assert [h.entry_id for h in hits] == ["a:1", "a:2"]
    assert hits[0].score > hits[1].score


def test_parenthesised_parts_are_indexed_as_variants():
    assert name_variants("Japan Aerospace Exploration Agency (JAXA)") == (
        "Japan Aerospace Exploration Agency (JAXA)", "Japan Aerospace Exploration Agency", "JAXA")


def test_full_index_is_fast(full_index, labelled):
    names = [c.query for c in labelled.positives[::40]] + [n for n, _ in labelled.negatives[::40]]
    times = []
    for q in names:
        t0 = time.perf_counter()
        full_index.screen(Party(q))
        times.append((time.perf_counter() - t0) * 1000)
    assert full_index.name_count > 25000
    assert statistics.median(times) < 5.0
