"""End-use checks (ECL Art. 17): scheduling, outcomes, overdue confirmation, failure to report."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from stc_enduser.domain.errors import IllegalTransition, InvalidReport, NotPermitted
from stc_enduser.domain.model import (
    AddToWatchList,
    ChangeKind,
    CheckOutcome,
    CheckStatus,
    OpenViolationCase,
    Party,
    SuspendLicence,
    ViolationKind,
)
from stc_enduser.domain.rules import (
    accept_report,
    confirm_overdue,
    overdue,
    record_outcome,
    reported_earlier,
    schedule_check,
)

DAY = dt.timedelta(days=1)


@pytest.fixture
def check(licence, end_user, officer, now):
    return schedule_check(
        check_id="chk-1",
        licence=licence,
        party=end_user,
        deadline=now + 30 * DAY,
        officer=officer,
        now=now,
    )


@pytest.fixture
def report_on(draft, licence):
    """Factory: an accepted report of `kind` at `at`, with draft overrides."""

    def make(kind, at, **overrides):
        return accept_report(
            draft(kind, **overrides), licence=licence, report_id=f"rep-{kind}", sequence=1, now=at
        ).report

    return make


# --- scheduling ---------------------------------------------------------------------------


def test_schedule_check(check, licence, end_user, officer, now):
    assert check.status is CheckStatus.SCHEDULED
    assert check.licence_id == "lic-1"
    assert check.party == end_user
    assert check.deadline == now + 30 * DAY
    assert check.scheduled_by == officer and check.scheduled_at == now
    assert check.exporter_uscc == licence.exporter_uscc and check.authority == licence.authority


def test_schedule_refuses_bad_input(licence, officer, now):
    stranger = Party(name="", country="de", party_id="stranger")
    with pytest.raises(InvalidReport) as exc:
        schedule_check(
            check_id="c", licence=licence, party=stranger, deadline=now, officer=officer, now=now
        )
    assert exc.value.fields() == {"party.name", "party.country", "party.party_id", "deadline"}


def test_schedule_refuses_a_naive_deadline(licence, end_user, officer, now):
    with pytest.raises(InvalidReport) as exc:
        schedule_check(
            check_id="c",
            licence=licence,
            party=end_user,
            deadline=dt.datetime(2027, 1, 1),
            officer=officer,
            now=now,
        )
    assert exc.value.fields() == {"deadline"}


def test_schedule_by_another_authority_is_not_permitted(licence, end_user, other_officer, now):
    with pytest.raises(NotPermitted):
        schedule_check(
            check_id="c",
            licence=licence,
            party=end_user,
            deadline=now + DAY,
            officer=other_officer,
            now=now,
        )


# --- outcomes -----------------------------------------------------------------------------


def test_verified_has_no_consequence(check, officer, now):
    out = record_outcome(check, CheckOutcome(CheckStatus.VERIFIED), officer=officer, now=now + DAY)
    assert out.check.status is CheckStatus.VERIFIED
    assert out.check.recorded_by == officer and out.check.recorded_at == now + DAY
    assert out.consequence.effects == ()
    assert not out.check.failure_to_report


def test_not_cooperating_puts_the_party_on_the_watch_list(check, end_user, officer, now):
    out = record_outcome(
        check,
        CheckOutcome(CheckStatus.NOT_COOPERATING, "refused the site visit"),
        officer=officer,
        now=now,
    )
    assert out.check.status is CheckStatus.NOT_COOPERATING
    assert out.check.outcome_details == "refused the site visit"
    assert not out.check.overdue_confirmed
    assert out.consequence.effects == (
        AddToWatchList("lic-1", "chk-1", end_user, "Regulations Art. 26"),
    )
    assert "Regulations Art. 26" in out.consequence.basis


def test_diverted_suspends_and_opens_a_violation_case(check, licence, officer, now, report_on):
    earlier = report_on(ChangeKind.END_USE_MAY_CHANGE, now - DAY)
    out = record_outcome(
        check,
        CheckOutcome(CheckStatus.DIVERTED, "items found at a military site"),
        officer=officer,
        now=now + DAY,
        reports=[earlier],
    )
    assert out.check.status is CheckStatus.DIVERTED
    assert not out.check.failure_to_report
    assert out.consequence.effects == (
        SuspendLicence(
            "lic-1", "chk-1", "items found at a military site", "ECL Art. 17; ECL Art. 16"
        ),
        OpenViolationCase(
            "lic-1",
            licence.exporter_uscc,
            ViolationKind.DIVERSION,
            "ECL Art. 16",
            "chk-1",
            "party-eu",
        ),
    )
    assert "ECL Art. 18" in out.consequence.basis


@pytest.mark.parametrize("status", [CheckStatus.NOT_COOPERATING, CheckStatus.DIVERTED])
def test_details_required_unless_verified(status, check, officer, now):
    with pytest.raises(InvalidReport) as exc:
        record_outcome(check, CheckOutcome(status, "  "), officer=officer, now=now)
    assert exc.value.fields() == {"outcome.details"}


@pytest.mark.parametrize("status", [CheckStatus.SCHEDULED, "LOST"])
def test_outcome_must_be_a_final_status(status, check, officer, now):
    with pytest.raises(InvalidReport) as exc:
        record_outcome(check, CheckOutcome(status, "x"), officer=officer, now=now)
    assert exc.value.fields() == {"outcome.status"}


def test_outcome_only_once(check, officer, now):
    done = record_outcome(check, CheckOutcome(CheckStatus.VERIFIED), officer=officer, now=now).check
    with pytest.raises(IllegalTransition, match="VERIFIED"):
        record_outcome(done, CheckOutcome(CheckStatus.DIVERTED, "x"), officer=officer, now=now)


def test_outcome_by_another_authority_is_not_permitted(check, other_officer, now):
    with pytest.raises(NotPermitted):
        record_outcome(check, CheckOutcome(CheckStatus.VERIFIED), officer=other_officer, now=now)


def test_late_verification_is_still_accepted(check, officer, now):
    out = record_outcome(
        check, CheckOutcome(CheckStatus.VERIFIED), officer=officer, now=now + 60 * DAY
    )
    assert out.check.status is CheckStatus.VERIFIED


# --- overdue ------------------------------------------------------------------------------


def test_overdue_only_after_the_deadline_and_without_outcome(check, officer, now):
    assert not overdue(check, now + 30 * DAY)
    assert overdue(check, now + 30 * DAY + dt.timedelta(seconds=1))
    done = record_outcome(check, CheckOutcome(CheckStatus.VERIFIED), officer=officer, now=now).check
    assert not overdue(done, now + 60 * DAY)


def test_overdue_alone_changes_nothing(check, now):
    assert overdue(check, now + 31 * DAY)
    assert check.status is CheckStatus.SCHEDULED


def test_officer_confirms_overdue_as_not_cooperating(check, end_user, officer, now):
    out = confirm_overdue(check, officer=officer, now=now + 31 * DAY)
    assert out.check.status is CheckStatus.NOT_COOPERATING
    assert out.check.overdue_confirmed
    assert "no outcome by the deadline" in out.check.outcome_details
    assert out.consequence.effects == (AddToWatchList("lic-1", "chk-1", end_user),)


def test_confirm_before_the_deadline_is_refused(check, officer, now):
    with pytest.raises(IllegalTransition, match="not overdue"):
        confirm_overdue(check, officer=officer, now=now + 29 * DAY)


def test_confirm_after_an_outcome_is_refused(check, officer, now):
    done = record_outcome(check, CheckOutcome(CheckStatus.VERIFIED), officer=officer, now=now).check
    with pytest.raises(IllegalTransition):
        confirm_overdue(done, officer=officer, now=now + 31 * DAY)


def test_confirm_by_another_authority_is_not_permitted(check, other_officer, now):
    with pytest.raises(NotPermitted):
        confirm_overdue(check, officer=other_officer, now=now + 31 * DAY)


# --- failure to report (ECL Art. 16) ------------------------------------------------------


def divert(check, officer, at, reports):
    return record_outcome(
        check,
        CheckOutcome(CheckStatus.DIVERTED, "diverted"),
        officer=officer,
        now=at,
        reports=reports,
    )


def test_diversion_without_any_report_is_a_failure_to_report(check, licence, officer, now):
    out = divert(check, officer, now + DAY, [])
    assert out.check.failure_to_report
    cases = out.consequence.of_type(OpenViolationCase)
    assert [c.kind for c in cases] == [ViolationKind.DIVERSION, ViolationKind.FAILURE_TO_REPORT]
    assert cases[1].article == "ECL Art. 16; Regulations Art. 25"
    assert cases[1].exporter_uscc == licence.exporter_uscc


def test_a_report_after_the_finding_does_not_count(check, officer, now, report_on):
    late = report_on(ChangeKind.END_USE_CHANGED, now + 2 * DAY)
    assert divert(check, officer, now + DAY, [late]).check.failure_to_report


def test_a_certificate_report_does_not_disclose_a_diversion(check, officer, now, report_on):
    cert = report_on(ChangeKind.CERTIFICATE_EXPIRED, now - DAY)
    assert divert(check, officer, now + DAY, [cert]).check.failure_to_report


def test_a_report_about_another_party_does_not_count(check, officer, now, report_on):
    other = report_on(ChangeKind.END_USE_CHANGED, now - DAY, subject_party_id="party-cons")
    assert divert(check, officer, now + DAY, [other]).check.failure_to_report


def test_a_report_on_another_licence_does_not_count(check, officer, now, report_on):
    other = dataclasses.replace(
        report_on(ChangeKind.END_USE_CHANGED, now - DAY), licence_id="lic-9"
    )
    assert divert(check, officer, now + DAY, [other]).check.failure_to_report


@pytest.mark.parametrize(
    "kind,overrides",
    [
        (ChangeKind.END_USE_CHANGED, {"subject_party_id": "party-eu"}),
        (ChangeKind.END_USE_MAY_CHANGE, {}),
        (ChangeKind.END_USER_MAY_CHANGE, {"subject_party_id": "party-eu"}),
        (ChangeKind.TRANSFER_TO_THIRD_PARTY, {}),
    ],
)
def test_an_earlier_report_about_that_party_or_use_counts(
    kind, overrides, check, officer, now, report_on
):
    earlier = report_on(kind, now - DAY, **overrides)
    out = divert(check, officer, now + DAY, [earlier])
    assert not out.check.failure_to_report
    assert [c.kind for c in out.consequence.of_type(OpenViolationCase)] == [ViolationKind.DIVERSION]


def test_a_report_naming_the_party_as_new_end_user_counts(licence, officer, now, report_on):
    newcomer = Party(name="Acme Trading FZE", country="AE", party_id="party-cons")
    check = schedule_check(
        check_id="c2", licence=licence, party=newcomer, deadline=now + DAY, officer=officer, now=now
    )
    earlier = report_on(
        ChangeKind.END_USER_CHANGED, now - DAY, new_end_user=newcomer, subject_party_id="party-eu"
    )
    assert reported_earlier(check, [earlier], now + DAY)
    assert not divert(check, officer, now + DAY, [earlier]).check.failure_to_report
