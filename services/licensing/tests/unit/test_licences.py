"""Licences: issue with validity ceilings, usage, single licences void once used, holds,
suspension, reinstatement, revocation and expiry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from stc_licensing.domain.errors import IllegalTransition, LicenceRefused
from stc_licensing.domain.licence import (
    ExportLine,
    ExportRecord,
    LicenceState,
    LicenceStatus,
    add_years,
    expire,
    is_due_to_expire,
    issue_licence,
    max_valid_until,
    place_on_hold,
    record_export,
    reinstate,
    release_hold,
    revoke,
    suspend,
)
from stc_licensing.domain.model import ApplicationState, LicenceType

d = dt.date


def approved(b, licence_type=LicenceType.SINGLE, **content):
    return b.application(b.content(licence_type=licence_type, **content),
                         state=ApplicationState.APPROVED)


def general(b):
    # Two items: 500 kg / 12,500,000 fen each.
    app = approved(b, LicenceType.GENERAL, items=(b.item(), b.item(control_code="1C117.c")))
    return issue_licence("lic-g", app, d(2026, 3, 10))


def export(eid, on, *lines):
    return ExportRecord(eid, on, tuple(ExportLine(i, Decimal(q), v) for i, q, v in lines))


def test_single_licence_valid_one_year_by_default(b):
    lic = issue_licence("lic-1", approved(b), d(2026, 3, 10))
    assert lic.valid_until == d(2027, 3, 9)
    assert lic.status == LicenceStatus.ACTIVE
    assert lic.end_user_keys and lic.destination == "DE"


def test_general_licence_valid_three_years_and_no_longer(b):
    app = approved(b, LicenceType.GENERAL)
    assert issue_licence("g", app, d(2026, 3, 10)).valid_until == d(2029, 3, 9)
    with pytest.raises(LicenceRefused) as exc:
        issue_licence("g", app, d(2026, 3, 10), valid_until=d(2029, 3, 10))
    assert "Reg. 17" not in exc.value.message
    assert "single up to one year, general up to three" in exc.value.message


def test_single_licence_cannot_exceed_one_year(b):
    with pytest.raises(LicenceRefused):
        issue_licence("s", approved(b), d(2026, 3, 10), valid_until=d(2027, 3, 10))


def test_leap_day_validity():
    assert add_years(d(2028, 2, 29), 1) == d(2029, 2, 28)
    assert max_valid_until(LicenceType.SINGLE, d(2028, 2, 29)) == d(2029, 2, 27)


def test_licence_only_for_an_approved_application(b):
    with pytest.raises(LicenceRefused):
        issue_licence("x", b.application(state=ApplicationState.DENIED), d(2026, 3, 10))


def test_single_licence_is_used_up_by_its_export_even_partial(b):
    lic = issue_licence("lic-1", approved(b), d(2026, 3, 10))
    lic = record_export(lic, export("e1", d(2026, 4, 1), (0, "100", 2_500_000)))
    assert lic.state == LicenceState.USED
    assert lic.remaining_quantity(0) == Decimal("400")
    with pytest.raises(LicenceRefused) as exc:
        record_export(lic, export("e2", d(2026, 4, 2), (0, "100", 2_500_000)))
    assert "void once used" in exc.value.message


def test_general_licence_draws_down_quantity_and_value(b):
    lic = general(b)
    lic = record_export(lic, export("e1", d(2026, 4, 1), (0, "200", 5_000_000)))
    lic = record_export(lic, export("e2", d(2026, 5, 1), (0, "100", 2_500_000),
                                    (1, "50", 1_000_000)))
    assert lic.state == LicenceState.ACTIVE
    assert lic.used_quantity(0) == Decimal("300") and lic.remaining_quantity(0) == Decimal("200")
    assert lic.used_value(1) == 1_000_000
    assert lic.remaining_value(0) == 12_500_000 - 7_500_000


def test_exceeding_remaining_quantity_is_refused(b):
    lic = record_export(general(b), export("e1", d(2026, 4, 1), (0, "450", 1_000)))
    with pytest.raises(LicenceRefused) as exc:
        record_export(lic, export("e2", d(2026, 4, 2), (0, "51", 1_000)))
    assert "exceeds the remaining 50" in exc.value.message


def test_exceeding_remaining_value_is_refused(b):
    with pytest.raises(LicenceRefused) as exc:
        record_export(general(b), export("e1", d(2026, 4, 1), (0, "1", 12_500_001)))
    assert "value" in exc.value.message


def test_lines_of_one_export_are_summed_before_checking(b):
    with pytest.raises(LicenceRefused):
        record_export(general(b), export("e1", d(2026, 4, 1), (0, "300", 1), (0, "201", 1)))


def test_fully_drawn_general_licence_is_used(b):
    lic = record_export(general(b), export("e1", d(2026, 4, 1), (0, "500", 1), (1, "500", 1)))
    assert lic.state == LicenceState.USED


def test_export_outside_validity_or_unknown_item_refused(b):
    with pytest.raises(LicenceRefused):
        record_export(general(b), export("e1", d(2026, 3, 9), (0, "1", 1)))
    with pytest.raises(LicenceRefused):
        record_export(general(b), export("e1", d(2029, 3, 10), (0, "1", 1)))
    with pytest.raises(LicenceRefused):
        record_export(general(b), export("e1", d(2026, 4, 1), (5, "1", 1)))


def test_recording_the_same_export_twice_is_idempotent(b):
    rec = export("e1", d(2026, 4, 1), (0, "100", 1))
    once = record_export(general(b), rec)
    assert record_export(once, rec) is once
    with pytest.raises(LicenceRefused):
        record_export(once, export("e1", d(2026, 4, 1), (0, "101", 1)))


def test_hold_while_change_report_open_refuses_exports(b):
    lic = place_on_hold(general(b), "chg-1")
    lic = place_on_hold(lic, "chg-2")
    assert lic.status == LicenceStatus.ON_HOLD
    with pytest.raises(LicenceRefused) as exc:
        record_export(lic, export("e1", d(2026, 4, 1), (0, "1", 1)))
    assert "on hold" in exc.value.message
    lic = release_hold(lic, "chg-1")
    assert lic.status == LicenceStatus.ON_HOLD
    lic = release_hold(lic, "chg-2")
    assert lic.status == LicenceStatus.ACTIVE
    assert record_export(lic, export("e1", d(2026, 4, 1), (0, "1", 1))).used_quantity(0) == 1


def test_suspend_reinstate_revoke(b):
    lic = suspend(general(b), "rescreening match")
    assert lic.state == LicenceState.SUSPENDED and lic.state_reason == "rescreening match"
    with pytest.raises(LicenceRefused):
        record_export(lic, export("e1", d(2026, 4, 1), (0, "1", 1)))
    with pytest.raises(IllegalTransition):
        suspend(lic, "again")
    lic = reinstate(lic, "match cleared", d(2026, 4, 1))
    assert lic.state == LicenceState.ACTIVE
    lic = revoke(lic, "diversion found")
    assert lic.state == LicenceState.REVOKED
    with pytest.raises(IllegalTransition):
        reinstate(lic, "no", d(2026, 4, 1))
    with pytest.raises(IllegalTransition):
        place_on_hold(lic, "chg-9")


def test_reinstate_after_validity_is_refused(b):
    lic = suspend(general(b), "x")
    with pytest.raises(LicenceRefused):
        reinstate(lic, "late", d(2029, 3, 10))


def test_expiry_only_after_valid_until(b):
    lic = general(b)
    assert not is_due_to_expire(lic, d(2029, 3, 9))
    with pytest.raises(LicenceRefused):
        expire(lic, d(2029, 3, 9))
    assert is_due_to_expire(lic, d(2029, 3, 10))
    expired = expire(lic, d(2029, 3, 10))
    assert expired.state == LicenceState.EXPIRED
    with pytest.raises(IllegalTransition):
        expire(expired, d(2029, 4, 1))
    used = record_export(issue_licence("s", approved(b), d(2026, 3, 10)),
                         export("e", d(2026, 4, 1), (0, "1", 1)))
    assert not is_due_to_expire(used, d(2028, 1, 1))
