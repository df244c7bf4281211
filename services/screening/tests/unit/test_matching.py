"""Scoring one party against one entry."""

import pytest
from stc_screening.domain.lists import Address, Identifier, ListEntry, ListKind, PartyType
from stc_screening.domain.matching import (
    Decision,
    Party,
    Thresholds,
    compare_names,
    screen_entry,
)
from stc_screening.domain.normalise import normalise_name


def score(a: str, b: str) -> float:
    return compare_names(normalise_name(a), normalise_name(b))[0]


@pytest.mark.parametrize("a,b", [
    ("張曉明", "张晓明"),
    ("张晓明", "Zhang Xiaoming"),
    ("张晓明", "Xiaoming Zhang"),
    ("Zhang Xiao-ming", "ZHANG, Xiaoming"),
    ("区志明", "Ou Zhiming"),
    ("单田芳", "Shan Tianfang"),
    ("Huawei Technologies Co., Ltd.", "HUAWEI TECHNOLOGIES"),
    ("Al-Qaida", "Alqaida"),
])
def test_same_name_scores_at_least_match_level(a, b):
    assert score(a, b) >= 0.95


@pytest.mark.parametrize("a,b", [
    ("张晓明", "Chang Hsiao-ming"),
    ("张晓明", "Cheung Siu Ming"),
    ("黄伟", "Wong Wai"),
    ("Mohammed Ali Hassan", "Muhammad Ali Hasan"),
    ("Osama bin Laden", "Usama bin Laden"),
])
def test_variants_score_as_potential_matches(a, b):
    assert score(a, b) >= 0.84


@pytest.mark.parametrize("a,b", [
    ("张晓明", "张晓敏"),  # one character differs: another person
    ("张晓明", "Zhang Xiaomin"),
    ("Chen Wei", "Chen Wen"),
    ("Golden Star Trading", "Golden Star Group"),
    ("Bank Melli", "Bank Sepah"),
])
def test_different_names_stay_below_the_threshold(a, b):
    assert score(a, b) < 0.84


def test_han_names_compare_character_by_character():
    s, method, _ = compare_names(normalise_name("中国航天科工"), normalise_name("中国航天科技"))
    assert method == "han-chars" and abs(s - 5 / 6) < 1e-9


ENTRY = ListEntry("ofac-sdn:1", ListKind.OFAC_SDN, ("SILVER STAR NETWORK TECHNOLOGY CO., LTD.",),
                  PartyType.ENTITY, countries=("China",),
                  addresses=(Address(street="20998B-26 Changbaishan East Road", city="Yanji"),),
                  identifiers=(Identifier("USCC", "91222401MA0Y31E659"),))


def test_identifier_match_decides():
    hit = screen_entry(Party("Completely Different Name",
                             identifiers=(Identifier("USCC", "91222401ma0y31e659"),)), ENTRY)
    assert hit.score == 1.0 and hit.decision is Decision.MATCH
    assert hit.matched_identifier == "USCC 91222401MA0Y31E659"


def test_country_and_address_move_the_score():
    base = screen_entry(Party("Silver Star Network Technology"), ENTRY).score
    agree = screen_entry(Party("Silver Star Network Technology", country="CN"), ENTRY)
    conflict = screen_entry(Party("Silver Star Network Technology", country="Germany"), ENTRY)
    addr = screen_entry(Party("Silver Star Network Technology",
                              address="Changbaishan East Road, Yanji"), ENTRY)
    assert conflict.score < base <= agree.score and base <= addr.score
    assert agree.features["country"] > 0 > conflict.features["country"]
    assert addr.features["address"] > 0


def test_explanation_names_the_pair_and_the_stripped_forms():
    hit = screen_entry(Party("Silver Star Network Technology Limited"), ENTRY)
    assert hit.decision is Decision.MATCH
    nm = hit.name_match
    assert nm.entry_name == "SILVER STAR NETWORK TECHNOLOGY CO., LTD."
    assert nm.stripped_query == ("limited",) and nm.stripped_entry == ("co ltd",)
    assert "co ltd" in hit.explanation and "features name=" in hit.explanation


def test_thresholds_are_configurable():
    t = Thresholds(potential=0.5, match=0.99)
    assert t.decide(0.6) is Decision.POTENTIAL_MATCH
    assert t.decide(0.98) is Decision.POTENTIAL_MATCH
    assert t.decide(0.4) is Decision.CLEAR
    hit = screen_entry(Party("Silver Star Network"), ENTRY, t)
    assert hit.decision is Decision.POTENTIAL_MATCH


def test_party_type_conflict_lowers():
    person = screen_entry(Party("Silver Star Network Technology",
                                party_type=PartyType.INDIVIDUAL), ENTRY)
    assert person.features["party_type"] < 0
