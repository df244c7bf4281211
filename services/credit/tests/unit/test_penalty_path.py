"""Issue 11 item 7: every case the end-user service opens can close lawfully (a penalty under
an article that fits it, no penalty on an Administrative Penalty Law ground, or dismissal), and
reduced or waived penalties carry their APL ground."""

from __future__ import annotations

import pytest
from stc_credit.domain.penalties import Sanction
from stc_credit.domain.penalty_path import (
    Closing,
    Effect,
    PenaltyDecision,
    case_path,
    check_decision,
    load_paths,
)
from stc_credit.domain.records import CaseSource

YUAN = 100
DIVERSION = CaseSource.END_USE_CHECK_DIVERSION
NOT_REPORTED = CaseSource.CHANGE_NOT_REPORTED


def _fields(problems):
    return [p.field for p in problems]


@pytest.mark.parametrize("source", list(CaseSource))
def test_art16_art17_every_case_source_has_penalty_rows(source):
    """Art. 16 / Reg. 25 (failure to report) and Art. 17 (diversion): each case kind names the
    articles a penalty may rest on, with the reading, and may close all three ways."""
    path = case_path(source)
    assert "34" in {a.value for a in path.articles}
    assert all(why.strip() for why in path.articles.values())
    assert path.closings == set(Closing)


def test_art34_failure_to_report_penalised_within_art34():
    ok = PenaltyDecision(Closing.PENALTY, article="34", fine_fen=600_000 * YUAN,
                         sanctions=frozenset({Sanction.ORDER_TO_STOP}))
    assert check_decision(NOT_REPORTED, ok) == []
    too_low = PenaltyDecision(Closing.PENALTY, article="34", fine_fen=100_000 * YUAN)
    assert _fields(check_decision(NOT_REPORTED, too_low)) == ["fine_fen"]


def test_art38_is_not_a_path_for_a_diversion_case():
    wrong = PenaltyDecision(Closing.PENALTY, article="38", fine_fen=200_000 * YUAN)
    problems = check_decision(DIVERSION, wrong)
    assert _fields(problems) == ["article"] and "Art. 34" in problems[0].reason


def test_apl_art32_reduced_penalty_may_go_below_the_minimum_with_its_ground():
    reduced = PenaltyDecision(Closing.PENALTY, article="34", fine_fen=100_000 * YUAN,
                              ground="32(1)")
    assert check_decision(DIVERSION, reduced) == []
    # never above the maximum, and a reduction is still a fine within the article's sanctions
    over = PenaltyDecision(Closing.PENALTY, article="34", fine_fen=6_000_000 * YUAN,
                           ground="32(3)")
    assert _fields(check_decision(DIVERSION, over)) == ["fine_fen"]
    warned = PenaltyDecision(Closing.PENALTY, article="34", fine_fen=100_000 * YUAN,
                             sanctions=frozenset({Sanction.WARNING}), ground="32(1)")
    assert _fields(check_decision(DIVERSION, warned)) == ["sanctions"]  # Art. 34: no warning


def test_apl_art33_not_penalised_needs_its_ground_and_carries_no_sanction():
    assert check_decision(NOT_REPORTED, PenaltyDecision(Closing.NOT_PENALISED,
                                                        ground="33(2)")) == []
    assert _fields(check_decision(NOT_REPORTED, PenaltyDecision(Closing.NOT_PENALISED))) == [
        "ground"]
    fined = PenaltyDecision(Closing.NOT_PENALISED, ground="33(1)", fine_fen=1)
    assert _fields(check_decision(NOT_REPORTED, fined)) == ["sanctions"]
    # a reduction ground does not waive a penalty
    assert _fields(check_decision(NOT_REPORTED, PenaltyDecision(Closing.NOT_PENALISED,
                                                                ground="32(1)"))) == ["ground"]


def test_apl_art33_first_violation_may_go_unpenalised_only_when_first():
    first = PenaltyDecision(Closing.NOT_PENALISED, ground="33(1) first violation",
                            first_violation=True)
    assert check_decision(DIVERSION, first) == []
    again = PenaltyDecision(Closing.NOT_PENALISED, ground="33(1) first violation")
    assert _fields(check_decision(DIVERSION, again)) == ["ground"]


def test_apl_art33_waiver_ground_cannot_ride_on_a_penalty():
    mixed = PenaltyDecision(Closing.PENALTY, article="34", fine_fen=600_000 * YUAN,
                            ground="33(2)")
    assert "ground" in _fields(check_decision(DIVERSION, mixed))
    unknown = PenaltyDecision(Closing.NOT_PENALISED, ground="99")
    assert "ground" in _fields(check_decision(DIVERSION, unknown))


def test_apl_grounds_are_data_with_their_effects():
    grounds = load_paths().grounds
    assert {g.effect for g in grounds.values()} == set(Effect)
    assert {c for c, g in grounds.items() if g.effect is Effect.REDUCED} == {
        "32(1)", "32(2)", "32(3)", "32(4)", "32(5)"}
    assert grounds["36"].effect is Effect.NOT_PENALISED  # time-barred
    assert grounds["33(2)"].citation == "Administrative Penalty Law Art. 33(2)"


def test_dismissal_carries_no_penalty():
    assert check_decision(DIVERSION, PenaltyDecision(Closing.DISMISSED)) == []
    assert _fields(check_decision(DIVERSION, PenaltyDecision(Closing.DISMISSED,
                                                             fine_fen=5))) == ["sanctions"]
