"""Credit records, Art. 39 bans, measures and cases awaiting an officer."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_credit.domain.penalties import Sanction
from stc_credit.domain.records import (
    CaseAlreadyDecided,
    CaseSource,
    CaseStatus,
    Penalty,
    ResponsiblePerson,
    add_months,
    ban_until,
    case_from_end_use_check,
    case_from_unreported_change,
    decide_case,
    person_ban_until,
    validate_record,
)


def test_ban_until_is_five_years_from_effect():
    assert ban_until(dt.date(2026, 3, 10)) == dt.date(2031, 3, 10)


def test_ban_until_29_february_falls_back_to_28th():
    assert ban_until(dt.date(2028, 2, 29)) == dt.date(2033, 2, 28)
    # and a leap target keeps the 29th
    assert ban_until(dt.date(2027, 2, 28)) == dt.date(2032, 2, 28)
    assert add_months(dt.date(2032, 2, 29), 48) == dt.date(2036, 2, 29)


def test_add_months_end_of_month():
    assert add_months(dt.date(2026, 8, 31), 1) == dt.date(2026, 9, 30)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_responsible_persons_five_years_or_life(make_record):
    plain = ResponsiblePerson("张三", "110101199001011234")
    convicted = ResponsiblePerson("李四", "110101198801011234", criminally_convicted=True)
    record = make_record(
        effective_date=dt.date(2028, 2, 29), responsible_persons=(plain, convicted)
    )
    bans = {b.person.name: b for b in record.person_bans()}
    assert bans["张三"].until == dt.date(2033, 2, 28) and not bans["张三"].for_life
    assert bans["李四"].until is None and bans["李四"].for_life
    assert bans["李四"].in_force(dt.date(2090, 1, 1))
    assert not bans["张三"].in_force(dt.date(2033, 3, 1))
    assert person_ban_until(dt.date(2026, 1, 5), False) == dt.date(2031, 1, 5)


def test_art39_application_ban_is_the_officers_decision(make_record):
    """Art. 39: the authority MAY refuse applications for up to five years - no ban unless
    the officer decides one, with its length, counted from the decision taking effect."""
    assert make_record().ban_until() is None and not make_record().application_ban
    assert make_record(application_ban_months=60).ban_until() == dt.date(2031, 10, 8)
    assert make_record(application_ban_months=18).ban_until() == dt.date(2028, 4, 8)
    assert validate_record(make_record(application_ban_months=60)) == []
    for months in (61, -1):
        problems = validate_record(make_record(application_ban_months=months))
        assert [v.field for v in problems] == ["application_ban_months"]
        assert "at most five years" in problems[0].reason


def test_responsible_persons_not_in_repr(make_record):
    record = make_record(responsible_persons=(ResponsiblePerson("张三", "110101199001011234"),))
    assert "110101199001011234" not in repr(record)


def test_validate_record_accepts_a_lawful_record(make_record):
    assert validate_record(make_record()) == []


def test_validate_record_reports_each_problem(make_record):
    record = make_record(
        uscc="91310000MA1FL12340",
        decision_sha256="XYZ",
        effective_date=dt.date(2026, 9, 1),
        decided_by=" ",
        penalty=Penalty.of(Sanction.ORDER_TO_STOP, fine_fen=1),
    )
    fields = {v.field for v in validate_record(record)}
    assert fields == {"uscc", "decision_sha256", "effective_date", "decided_by", "fine_fen"}


def test_penalty_of_adds_fine_and_warning_only():
    assert Sanction.FINE in Penalty.of(Sanction.WARNING, fine_fen=5).sanctions
    assert Penalty.of(Sanction.WARNING).warning_only
    assert not Penalty.of(Sanction.WARNING, fine_fen=5).warning_only


def test_severe_record(make_record):
    assert not make_record().severe
    assert make_record(serious=True).severe
    revoked = Penalty.of(Sanction.REVOCATION_OF_QUALIFICATION, fine_fen=500_000_00)
    assert make_record(penalty=revoked).severe


def test_diversion_opens_a_case_but_no_record():
    case = case_from_end_use_check(
        case_id="c-1",
        uscc="X",
        event_id="ev-1",
        completed_on=dt.date(2026, 5, 6),
        licence_id="lic-9",
        diversion_found=True,
        findings="items found at a third party",
    )
    assert case is not None
    assert case.source is CaseSource.END_USE_CHECK_DIVERSION
    assert case.awaiting_officer and case.outcome_id is None
    none = case_from_end_use_check(
        case_id="c-2",
        uscc="X",
        event_id="ev-2",
        completed_on=dt.date(2026, 5, 6),
        licence_id=None,
        diversion_found=False,
        findings="in order",
    )
    assert none is None


def test_officer_decides_a_case_once():
    case = case_from_unreported_change(
        case_id="c-3",
        uscc="X",
        event_id="ev-3",
        found_on=dt.date(2026, 5, 6),
        licence_id="lic-1",
        details="end user changed, not reported",
    )
    assert case.source is CaseSource.CHANGE_NOT_REPORTED
    with pytest.raises(ValueError, match="needs its id"):
        decide_case(
            case,
            status=CaseStatus.PENALTY_RECORDED,
            officer_id="o-1",
            decided_on=dt.date(2026, 5, 7),
        )
    with pytest.raises(ValueError, match="officer"):
        decide_case(
            case, status=CaseStatus.DISMISSED, officer_id="", decided_on=dt.date(2026, 5, 7)
        )
    decided = decide_case(
        case,
        status=CaseStatus.PENALTY_RECORDED,
        officer_id="o-1",
        decided_on=dt.date(2026, 5, 7),
        outcome_id="rec-5",
    )
    assert decided.status is CaseStatus.PENALTY_RECORDED and not decided.awaiting_officer
    assert decided.outcome_id == "rec-5" and decided.decided_by == "o-1"
    assert case.awaiting_officer  # the original is unchanged (frozen)
    with pytest.raises(CaseAlreadyDecided):
        decide_case(
            decided, status=CaseStatus.DISMISSED, officer_id="o-2", decided_on=dt.date(2026, 5, 8)
        )
