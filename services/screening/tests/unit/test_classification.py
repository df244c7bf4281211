"""Classification help over the shipped control-list sample."""

import pytest
from stc_screening.domain.classification import classify_item, thresholds
from stc_screening.domain.items import ControlItem, is_valid_control_code
from stc_screening.importers.control_list import parse_control_list


@pytest.fixture(scope="module")
def items(data_dir):
    return parse_control_list(data_dir / "control_list" / "prc_dual_use_2024_sample.csv")


def test_control_code_format():
    for good in ("1C902", "1C902.a", "3A001.a.12", "0A001"):
        assert is_valid_control_code(good)
    for bad in ("1c902", "1F902", "1C90", "1C902.A", "1C902.a.", "11C902"):
        assert not is_valid_control_code(bad)
    with pytest.raises(ValueError):
        ControlItem("1C9", "1", "C", "x")


def test_thresholds_are_read_from_descriptions(items):
    tungsten = next(i for i in items if i.code == "1C117.c")
    found = {(t.parameter, t.comparator, t.value) for t in thresholds(tungsten.description_en)}
    assert ("density", ">", 17.5) in found
    assert ("ultimate tensile strength", ">", 1270.0) in found
    assert ("tungsten", ">=", 97.0) in found


def test_description_and_parameters_rank_the_right_entry(items):
    ranked = classify_item(items, "tungsten-nickel-iron alloy bar", {"density": 18.2})
    assert ranked[0].code == "1C117.c"
    kinds = {r.kind for r in ranked[0].reasons}
    assert kinds == {"keyword", "parameter"}
    assert any("meets > 17.5" in r.detail for r in ranked[0].reasons)
    low = classify_item(items, "tungsten-nickel-iron alloy bar", {"density": 16.0})
    assert low[0].score < ranked[0].score
    assert any("does not meet" in r.detail for r in low[0].reasons)


def test_chinese_description_finds_english_entry(items):
    assert classify_item(items, "钐钴永磁材料")[0].code == "1C902.a"


def test_hs_code_alone_is_reference_only(items):
    ranked = classify_item(items, hs_code="2846901940")
    assert [c.code for c in ranked] == ["1C902.b", "1C902.c"]  # exact, then same heading
    assert ranked[0].score > ranked[1].score
    assert "reference only" in ranked[0].reasons[0].detail
    assert "heading 284690" in ranked[1].reasons[0].detail
    words = classify_item(items, "samarium oxide", hs_code="2805301910")
    assert words[0].code == "1C902.b"


def test_nothing_matching_gives_no_candidates(items):
    assert classify_item(items, "wooden garden furniture") == []
