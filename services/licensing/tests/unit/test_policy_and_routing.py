"""Policy data (versions, dates, hashes, the UNSC embargo CSV) and authority routing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from stc_licensing.domain.errors import NoPolicyInForce, PolicyError
from stc_licensing.domain.model import ItemRegime
from stc_licensing.domain.policy import MeasureKind, Sensitivity, policy_in_force
from stc_licensing.domain.routing import Authority, competent_authority, route
from stc_licensing.policy_files import (
    bundled_policy_paths,
    load_bundled_policies,
    load_policy,
    load_unsc_arms_embargoes,
)

SHARED_EMBARGOES = Path("/work/shared/data/policy/unsc_arms_embargoes.csv")
d = dt.date


@pytest.fixture
def embargo_csv(tmp_path):
    p = tmp_path / "embargoes.csv"
    p.write_text(
        "country,name,scope,resolution,since,extra\n"
        'KP,"Democratic People\'s Republic of Korea",full,"UNSCR 1718",2006-10-14,x\n'
        'SD,Sudan,"Darfur region","UNSCR 1556",2004-07-30,y\n',
        encoding="utf-8")
    return p


def test_load_unsc_embargoes_accepts_extra_columns(embargo_csv):
    rows = load_unsc_arms_embargoes(embargo_csv)
    assert [(e.country, e.full) for e in rows] == [("KP", True), ("SD", False)]
    assert rows[0].since == d(2006, 10, 14) and rows[1].scope == "Darfur region"


@pytest.mark.skipif(not SHARED_EMBARGOES.exists(), reason="shared data set not mounted")
def test_load_the_shared_unsc_embargo_table():
    rows = load_unsc_arms_embargoes(SHARED_EMBARGOES)
    by_country = {e.country: e for e in rows}
    assert by_country["KP"].full and by_country["KP"].resolution == "UNSCR 1718"
    assert not by_country["YE"].full


def test_bad_embargo_rows_are_rejected(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("country,scope,since\nKOR,full,2006-01-01\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_unsc_arms_embargoes(p)
    p.write_text("name,resolution\nx,y\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_unsc_arms_embargoes(p)


def test_bundled_policy_loads_with_embargoes(embargo_csv):
    assert [p.name for p in bundled_policy_paths()] == ["policy-2026.1.yaml"]
    (pol,) = load_bundled_policies(embargo_csv)
    assert pol.version == "2026.1"
    assert pol.tier("KP") == 3 and pol.tier("DE") == pol.default_tier == 2
    assert pol.embargoes_on("KP", d(2026, 1, 1))[0].resolution == "UNSCR 1718"
    us = pol.measures_on("US", d(2026, 6, 1))
    assert [m.kind for m in us] == [MeasureKind.BAN_MILITARY_END_USE]
    assert pol.sensitivity("1C351.a", ItemRegime.DUAL_USE)[0] == Sensitivity.CRITICAL
    assert pol.sensitivity("1C117.d", ItemRegime.DUAL_USE)[0] == Sensitivity.MEDIUM
    assert pol.sensitivity("ML1.a", ItemRegime.MILITARY)[0] == Sensitivity.HIGH
    assert pol.sensitivity("5A002.a", ItemRegime.DUAL_USE)[0] == Sensitivity.LOW


def test_content_hash_is_stable_and_changes_with_content(embargo_csv):
    (p1,) = load_bundled_policies(embargo_csv)
    (p2,) = load_bundled_policies(embargo_csv)
    (p3,) = load_bundled_policies()
    assert len(p1.content_hash) == 64
    assert p1.content_hash == p2.content_hash
    assert p1.content_hash != p3.content_hash  # no embargoes loaded
    assert p1 == p2 and len({p1, p2, p3}) == 2  # usable as dict keys and in sets


def test_measure_dates_effective_suspended_expired(b):
    m = b.policy().measures[1]  # effective 2025-01-01, suspended 2026-06-01 .. 2026-09-01
    assert not m.in_force_on(d(2024, 12, 31))
    assert m.in_force_on(d(2026, 5, 31))
    assert not m.in_force_on(d(2026, 6, 1))
    assert not m.in_force_on(d(2026, 8, 31))
    assert m.in_force_on(d(2026, 9, 1))


def test_policy_in_force_picks_the_latest_effective_version(b):
    old = b.policy(version="2025.1", effective_from=d(2025, 1, 1), effective_to=d(2026, 1, 1))
    cur = b.policy(version="2026.1", effective_from=d(2026, 1, 1))
    nxt = b.policy(version="2026.2", effective_from=d(2026, 7, 1))
    assert policy_in_force([old, cur, nxt], d(2025, 12, 31)).version == "2025.1"
    assert policy_in_force([old, cur, nxt], d(2026, 6, 30)).version == "2026.1"
    assert policy_in_force([old, cur, nxt], d(2026, 7, 1)).version == "2026.2"
    with pytest.raises(NoPolicyInForce):
        policy_in_force([old, cur, nxt], d(2024, 12, 31))


def test_malformed_policy_file_is_a_policy_error(tmp_path):
    p = tmp_path / "policy-x.yaml"
    p.write_text("version: x\neffective_from: not-a-date\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(p)
    p.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(p)


@pytest.mark.parametrize(
    ("regime", "authority"),
    [
        (ItemRegime.DUAL_USE, Authority.MOFCOM),
        (ItemRegime.TEMPORARY_CONTROL, Authority.MOFCOM),
        (ItemRegime.CATCH_ALL, Authority.MOFCOM),
        (ItemRegime.MILITARY, Authority.SASTIND),
        (ItemRegime.NUCLEAR, Authority.CAEA),
        (ItemRegime.CONTROLLED_CHEMICAL, Authority.CWC_OFFICE),
    ],
)
def test_competent_authority_by_regime(b, regime, authority):
    assert competent_authority(regime) == authority
    assert route(b.content(regime=regime)).authority == authority


def test_dual_use_chemical_goes_to_mofcom_and_misfiled_chemical_gets_a_note(b):
    du = route(b.content(items=(b.item(control_code="1C350.a"),)))
    assert du.authority == Authority.MOFCOM and du.notes == ()
    cw = route(b.content(regime=ItemRegime.CONTROLLED_CHEMICAL,
                         items=(b.item(control_code="1C350.a"),)))
    assert cw.authority == Authority.CWC_OFFICE
    assert cw.notes and "DUAL_USE" in cw.notes[0]


def test_nuclear_consults_mofcom(b):
    assert route(b.content(regime=ItemRegime.NUCLEAR)).consulted == (Authority.MOFCOM,)


def test_more_specific_sensitivity_rule_wins_even_when_milder(b):
    from stc_licensing.domain.policy import SensitivityRule

    pol = b.policy(sensitivity_rules=(
        SensitivityRule("1C", Sensitivity.HIGH),
        SensitivityRule("1C117", Sensitivity.LOW, note="tungsten carve-out"),
        SensitivityRule("", Sensitivity.CRITICAL, ItemRegime.NUCLEAR),
        SensitivityRule("0", Sensitivity.MEDIUM),
    ))
    level, rule = pol.sensitivity("1C117.d", ItemRegime.DUAL_USE)
    assert level == Sensitivity.LOW and rule.note == "tungsten carve-out"
    assert pol.sensitivity("1C902.a", ItemRegime.DUAL_USE)[0] == Sensitivity.HIGH
    # A regime-specific rule beats a longer generic prefix.
    assert pol.sensitivity("0B001.a", ItemRegime.NUCLEAR)[0] == Sensitivity.CRITICAL
    assert pol.sensitivity("0B001.a", ItemRegime.DUAL_USE)[0] == Sensitivity.MEDIUM
