"""ECL Art. 9(2): temporary controls last at most two years, then are cancelled, extended
(within the limit) or listed; a licence resting on one never outlives it."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_licensing.domain import temporary_controls as tc

D = dt.date
DRONE = tc.ControlledItem(hs_code="8806", description="unmanned aircraft")
M = tc.TemporaryControl("tc-1", "MOFCOM/GAC announcement (made up)", (DRONE,),
                        D(2026, 9, 1), D(2027, 8, 31))


def test_art9_measure_lasts_at_most_two_years():
    assert tc.validate_measure(M) == []
    assert tc.limit_of(D(2026, 9, 1)) == D(2028, 8, 31)
    too_long = tc.TemporaryControl("x", "a", (DRONE,), D(2026, 9, 1), D(2028, 9, 1))
    assert [p.field for p in tc.validate_measure(too_long)] == ["end"]
    leap = tc.limit_of(D(2028, 2, 29))
    assert leap == D(2030, 2, 27)


def test_art9_measure_needs_announcement_and_items_named_one_way():
    bad = tc.TemporaryControl("x", " ", (tc.ControlledItem(),), D(2026, 9, 1), D(2026, 8, 1))
    assert {p.field for p in tc.validate_measure(bad)} == {"announcement", "items[0]", "end"}


def test_art9_extend_within_the_two_year_limit_only():
    longer = tc.extend(M, D(2028, 8, 31), D(2027, 7, 1), "evaluated: extend")
    assert longer.end == D(2028, 8, 31) and not longer.alert_sent
    with pytest.raises(tc.MeasureRefused, match="two years") as err:
        tc.extend(M, D(2028, 9, 1), D(2027, 7, 1), "too far")
    assert err.value.field == "end"
    with pytest.raises(tc.MeasureRefused, match="after the current end"):
        tc.extend(M, D(2027, 8, 1), D(2027, 7, 1), "shorter")


def test_art9_cancel_or_list_ends_the_measure_from_that_day():
    cancelled = tc.cancel(M, D(2027, 1, 10), "no longer needed")
    assert cancelled.in_force_on(D(2027, 1, 10)) and not cancelled.in_force_on(D(2027, 1, 11))
    assert cancelled.effective_end == D(2027, 1, 10)
    with pytest.raises(tc.MeasureRefused):
        tc.extend(cancelled, D(2027, 12, 1), D(2027, 1, 11), "too late")
    listed = tc.move_to_control_list(M, D(2027, 6, 1), "items listed")
    assert listed.status is tc.MeasureStatus.LISTED and listed.effective_end == D(2027, 6, 1)


def test_art9_art12_item_under_a_measure_is_covered_by_hs_or_control_code():
    assert tc.covering([M], "", "8806.22", D(2026, 10, 1)) == [M]
    assert tc.covering([M], "", "8806.22", D(2026, 8, 31)) == []  # before the start
    assert tc.covering([M], "", "8501.10", D(2026, 10, 1)) == []
    by_code = tc.TemporaryControl("tc-2", "a", (tc.ControlledItem(control_code="3A001"),),
                                  D(2026, 1, 1), D(2026, 12, 31))
    assert tc.covering([by_code], "3A001.b.2", "", D(2026, 5, 1)) == [by_code]


def test_art9_licence_validity_never_outlives_the_measure():
    resting = tc.resting_on([M], [("", "880622")], D(2026, 10, 1))
    assert tc.cap_validity(D(2027, 9, 30), resting) == D(2027, 8, 31)
    assert tc.cap_validity(D(2027, 3, 1), resting) == D(2027, 3, 1)
    assert tc.cap_validity(D(2027, 9, 30), []) == D(2027, 9, 30)


def test_art9_expiry_alert_once_within_the_window_and_expiry_after_the_end():
    assert tc.due_for_alert([M], D(2027, 6, 1)) == []
    assert tc.due_for_alert([M], D(2027, 7, 2)) == [M]
    from dataclasses import replace
    assert tc.due_for_alert([replace(M, alert_sent=True)], D(2027, 7, 2)) == []
    assert tc.due_to_expire([M], D(2027, 8, 31)) == []
    assert tc.due_to_expire([M], D(2027, 9, 1)) == [M]
