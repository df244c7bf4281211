"""The in-memory index: add, remove, replace, list filter, ranking and speed."""

from stc_screening.domain.index import ScreeningIndex, name_variants
from stc_screening.domain.lists import Identifier, ListEntry, ListKind, PartyType
from stc_screening.domain.matching import Decision, Party
from stc_screening.domain.search import MatchKind


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


def test_full_index_holds_every_shipped_name(full_index, labelled):
    # how fast it screens is a figure, not a pass/fail: bench/screening_accuracy.py prints
    # the latency percentiles (a timed assertion here failed under load)
    assert full_index.name_count > 25000
    listed = labelled.positives[0]
    assert any(h.entry_id == listed.expected for h in full_index.screen(Party(listed.query)))


# ------------------------------------------------------------------ public search


def _search_index() -> ScreeningIndex:
    return ScreeningIndex([
        ListEntry("ofac-sdn:9347", ListKind.OFAC_SDN, ("KOREA RYONBONG GENERAL CORPORATION",),
                  PartyType.ENTITY),
        ListEntry("un:KPe.002", ListKind.UN_CONSOLIDATED, ("Korea Ryonbong General Corporation",),
                  PartyType.ENTITY),
        ListEntry("prc:1", ListKind.CONTROL_LIST,
                  ("Lockheed Martin Corporation", "洛克希德·马丁公司"), PartyType.ENTITY),
        ListEntry("prc:2", ListKind.WATCH_LIST,
                  ("深圳華為技術有限公司", "Shenzhen Huawei Technologies"), PartyType.ENTITY,
                  identifiers=(Identifier("USCC", "914403001922038216"),)),
        ListEntry("prc:3", ListKind.WATCH_LIST, ("Martin Engineering Ltd",), PartyType.ENTITY),
        ListEntry("prc:4", ListKind.WATCH_LIST, ("Ryon Trading",), PartyType.ENTITY,
                  identifiers=(Identifier("Registration", "RYONBONG"),)),
    ])


def test_search_single_word_finds_every_list_that_names_it():
    ix = _search_index()
    got = ix.search("Ryonbong")
    # the identifier "RYONBONG" of prc:4 is an exact identifier: first
    assert [r.entry_id for r in got][:1] == ["prc:4"]
    assert got[0].kind is MatchKind.IDENTIFIER
    assert {r.entry_id for r in got[1:]} == {"ofac-sdn:9347", "un:KPe.002"}
    assert all(r.kind is MatchKind.TOKEN for r in got[1:])
    assert [r.entry_id for r in ix.search("ryonbong", lists=[ListKind.UN_CONSOLIDATED])] == [
        "un:KPe.002"]


def test_search_prefix_case_width_and_ranking():
    ix = _search_index()
    assert [r.entry_id for r in ix.search("Lockheed")] == ["prc:1"]
    assert [r.entry_id for r in ix.search("ＬＯＣＫＨ")] == ["prc:1"]  # full width, prefix
    got = ix.search("Martin")
    assert [r.entry_id for r in got] == ["prc:3", "prc:1"]  # shorter name covered more
    exact = ix.search("lockheed martin corp.")
    assert exact[0].entry_id == "prc:1" and exact[0].kind is MatchKind.EXACT_NAME
    assert ix.search("Martin Lockheed")[0].kind is MatchKind.TOKEN  # words in any order


def test_search_han_substring_traditional_and_pinyin():
    ix = _search_index()
    for q in ("华为", "華為", "为技术", "huawei", "Hua Wei", "shenzhen hua"):
        got = ix.search(q)
        assert got and got[0].entry_id == "prc:2", q
        assert got[0].kind is MatchKind.TOKEN, q
    assert [r.entry_id for r in ix.search("洛克希德")] == ["prc:1"]
    assert ix.search("华技") == []  # not a substring of any name


def test_search_identifier_alone_and_removal():
    ix = _search_index()
    got = ix.search("91440300 1922038216")
    assert [(r.entry_id, r.kind) for r in got] == [("prc:2", MatchKind.IDENTIFIER)]
    ix.remove("prc:2")
    assert ix.search("华为") == [] and ix.search("914403001922038216") == []
    ix.add(ListEntry("prc:2", ListKind.WATCH_LIST, ("华为云计算",), PartyType.ENTITY))
    assert [r.entry_id for r in ix.search("华为")] == ["prc:2"]
    assert ix.search("shenzhen huawei") == []
