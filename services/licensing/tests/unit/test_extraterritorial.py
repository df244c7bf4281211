"""ECL Art. 45 (re-export) and Art. 44 (reach abroad): the de minimis rule as dated data, with
the worked example of docs/law.md."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from stc_licensing import policy_files
from stc_licensing.domain import extraterritorial as et

D = dt.date
RULE = et.DeMinimisRule(
    rule_id="TEST-RARE-EARTH", announcement="Test announcement (made up)",
    basis="ECL Art. 45; Art. 44", description="rare-earth content",
    content_prefixes=("1C902",), share=Decimal("0.001"), effective_from=D(2025, 12, 1),
    suspended=(et.Suspension(D(2026, 3, 1), D(2026, 4, 1), "Test suspension"),))


ON = D(2026, 12, 1)


def _motor(magnet_cents: int, on: dt.date = ON) -> et.ReExport:
    # a motor made in Germany worth EUR 2,000.00 with a PRC-origin rare-earth magnet
    return et.ReExport("servo motor", "DE", 200_000,
                       (et.PrcContent("1C902.a", magnet_cents), et.PrcContent("9A999", 50_000)),
                       on)


def test_art45_worked_example_above_de_minimis_needs_a_licence():
    (out,) = et.decide(_motor(300), [RULE])  # EUR 3 of EUR 2,000 = 0.15 %
    assert out.licence_required and out.share == Decimal("0.0015")
    assert "0.150 %" in out.reason and "Art. 45" in out.reason
    # content outside the rule's prefixes (9A999, EUR 500) is not counted


def test_art45_below_de_minimis_needs_no_licence_and_the_threshold_is_inclusive():
    (below,) = et.decide(_motor(100), [RULE])  # 0.05 %
    assert not below.licence_required
    (at,) = et.decide(_motor(200), [RULE])  # exactly 0.1 %
    assert at.licence_required


def test_art45_rule_is_dated_data_not_in_force_or_suspended_means_no_licence_under_it():
    (before,) = et.decide(_motor(300, D(2025, 11, 30)), [RULE])
    assert not before.licence_required and "not in force" in before.reason
    (paused,) = et.decide(_motor(300, D(2026, 3, 15)), [RULE])
    assert not paused.licence_required and "Test suspension" in paused.reason


def test_art44_made_in_china_is_not_a_re_export():
    with pytest.raises(ValueError, match="not a re-export"):
        et.decide(et.ReExport("x", "CN", 100, (), D(2026, 12, 1)), [RULE])


def test_art45_bundled_rules_parse_with_their_announcement_and_dates():
    (rule,) = policy_files.extraterritorial_rules()
    assert rule.share == Decimal("0.001") and rule.basis.startswith("ECL Art. 45")
    assert rule.effective_from == D(2025, 12, 1) and rule.suspended
    with pytest.raises(ValueError, match="between 0 and 1"):
        et.parse_rules({"rules": [{"id": "X", "de_minimis_share": "1.5"}]})
