"""Fine ranges and sanctions per article (ECL Arts. 33-38) from the packaged table."""

from __future__ import annotations

import pytest
from stc_credit.domain.penalties import (
    Article,
    Sanction,
    check_penalty,
    load_table,
    parse_table,
)

YUAN = 100


def fields(violations):
    return [v.field for v in violations]


def test_table_has_every_article_with_amounts_in_fen():
    table = load_table()
    assert set(table.rules) == set(Article)
    art33 = table.rule("33").fine
    assert art33 is not None
    assert (art33.fixed_min_fen, art33.fixed_max_fen) == (500_000 * YUAN, 5_000_000 * YUAN)
    assert art33.turnover_threshold_fen == 500_000 * YUAN
    assert (art33.multiple_min, art33.multiple_max) == (5, 10)
    assert table.rule("36").fine.multiple_min == 3
    assert table.rule("37").fine.multiple_max == 20
    assert table.rule("38").fine.turnover_threshold_fen is None


# (article, fixed min yuan, fixed max yuan, threshold yuan, multiple min, multiple max)
FIXED_AND_MULTIPLE = [
    ("33", 500_000, 5_000_000, 500_000, 5, 10),
    ("34", 500_000, 5_000_000, 500_000, 5, 10),
    ("35(1)", 200_000, 2_000_000, 200_000, 5, 10),
    ("35(2)", 50_000, 500_000, 50_000, 5, 10),
    ("36", 100_000, 500_000, 100_000, 3, 5),
    ("37", 500_000, 5_000_000, 500_000, 10, 20),
]

ALLOWED = {
    "33": [Sanction.WARNING, Sanction.CONFISCATION],
    "34": [Sanction.ORDER_TO_STOP, Sanction.CONFISCATION],
    "35(1)": [Sanction.LICENCE_REVOCATION, Sanction.CONFISCATION],
    "35(2)": [Sanction.CONFISCATION],
    "36": [Sanction.WARNING],
    "37": [Sanction.WARNING, Sanction.CONFISCATION],
}


@pytest.mark.parametrize(
    ("article", "low", "high", "threshold", "m_lo", "m_hi"), FIXED_AND_MULTIPLE
)
def test_fixed_range_without_turnover(article, low, high, threshold, m_lo, m_hi):
    ok = ALLOWED[article]
    assert check_penalty(article, None, low * YUAN, ok) == []
    assert check_penalty(article, 0, high * YUAN, ok) == []
    below = check_penalty(article, None, low * YUAN - 1, ok)
    assert fields(below) == ["fine_fen"] and "below the minimum" in below[0].reason
    above = check_penalty(article, None, high * YUAN + 1, ok)
    assert fields(above) == ["fine_fen"] and "above the maximum" in above[0].reason
    # turnover below the threshold still uses the fixed range
    assert check_penalty(article, threshold * YUAN - 1, low * YUAN, ok) == []


@pytest.mark.parametrize(
    ("article", "low", "high", "threshold", "m_lo", "m_hi"), FIXED_AND_MULTIPLE
)
def test_turnover_based_range(article, low, high, threshold, m_lo, m_hi):
    ok = ALLOWED[article]
    turnover = threshold * YUAN * 3
    assert check_penalty(article, turnover, m_lo * turnover, ok) == []
    assert check_penalty(article, turnover, m_hi * turnover, ok) == []
    below = check_penalty(article, turnover, m_lo * turnover - 1, ok)
    assert fields(below) == ["fine_fen"] and "times the turnover" in below[0].reason
    assert fields(check_penalty(article, turnover, m_hi * turnover + 1, ok)) == ["fine_fen"]
    # exactly at the threshold the multiple applies (以上 includes the number)
    at = threshold * YUAN
    assert check_penalty(article, at, m_lo * at, ok) == []
    # the fixed-range maximum is not a defence once the multiple applies
    if m_hi * turnover > high * YUAN:
        assert check_penalty(article, turnover, m_hi * turnover, ok) == []


def test_art_38_fixed_range_ignores_turnover():
    ok = [Sanction.WARNING]
    assert check_penalty("38", None, 100_000 * YUAN, ok) == []
    assert check_penalty("38", None, 300_000 * YUAN, ok) == []
    assert fields(check_penalty("38", None, 99_999 * YUAN, ok)) == ["fine_fen"]
    assert fields(check_penalty("38", 10_000_000 * YUAN, 300_001 * YUAN, ok)) == ["fine_fen"]


def test_fine_required_by_bing_chu():
    problems = check_penalty("33", None, None, [Sanction.WARNING])
    assert fields(problems) == ["fine_fen"] and "requires a fine" in problems[0].reason


def test_sanction_not_of_the_article():
    problems = check_penalty("35(2)", None, 50_000 * YUAN, [Sanction.WARNING])
    assert (
        fields(problems) == ["sanctions"] and "not a sanction of Art. 35(2)" in problems[0].reason
    )


def test_serious_sanctions_need_a_serious_case():
    sanctions = [Sanction.ORDER_TO_STOP, Sanction.REVOCATION_OF_QUALIFICATION]
    problems = check_penalty("34", None, 500_000 * YUAN, sanctions)
    assert fields(problems) == ["sanctions"] and "serious case" in problems[0].reason
    assert check_penalty("34", None, 500_000 * YUAN, sanctions, serious=True) == []
    assert check_penalty("34", None, 500_000 * YUAN, [Sanction.SUSPENSION], serious=True) == []
    # Art. 33 has no serious-case sanctions at all
    assert fields(check_penalty("33", None, 500_000 * YUAN, sanctions, serious=True)) == [
        "sanctions"
    ]


def test_art34_allows_no_warning():
    """Art. 34: order to stop, confiscation, fine (serious: suspension up to revocation of
    the qualification) - no warning, even in a serious case; Art. 33 does allow one."""
    rule = load_table().rule("34")
    assert Sanction.WARNING not in rule.sanctions | rule.serious_sanctions
    assert rule.sanctions == {Sanction.ORDER_TO_STOP, Sanction.CONFISCATION, Sanction.FINE}
    for serious in (False, True):
        problems = check_penalty("34", None, 500_000 * YUAN, [Sanction.WARNING], serious=serious)
        assert fields(problems) == ["sanctions"]
        assert "warning is not a sanction of Art. 34" in problems[0].reason
    assert check_penalty("33", None, 500_000 * YUAN, [Sanction.WARNING]) == []


def test_unknown_article_and_sanction():
    assert fields(check_penalty("30", None, None, [])) == ["article"]
    assert fields(check_penalty("33", None, 500_000 * YUAN, ["flogging"])) == ["sanctions"]


def test_negative_amounts_rejected():
    assert "turnover_fen" in fields(check_penalty("33", -1, 500_000 * YUAN, []))
    assert fields(check_penalty("33", None, -5, [])) == ["fine_fen"]


def test_table_is_data_a_corrected_amount_changes_the_check():
    import copy
    from importlib import resources

    import yaml

    doc = yaml.safe_load(
        resources.files("stc_credit").joinpath("data/penalties.yaml").read_text("utf-8")
    )
    doc = copy.deepcopy(doc)
    doc["articles"]["38"]["fine"]["fixed_range_yuan"] = [100_000, 400_000]
    corrected = parse_table(doc)
    assert check_penalty("38", None, 350_000 * YUAN, [], table=corrected) == []
    assert fields(check_penalty("38", None, 350_000 * YUAN, [])) == ["fine_fen"]


def test_malformed_table_rejected():
    doc = {"version": 1, "amount_unit": "yuan", "articles": {}}
    with pytest.raises(ValueError, match="lacks articles"):
        parse_table(doc)
    with pytest.raises(ValueError, match="amount_unit"):
        parse_table({"version": 1, "amount_unit": "fen", "articles": {}})
