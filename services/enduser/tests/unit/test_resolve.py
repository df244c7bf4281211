"""resolve: every resolution's effects and every refusal."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from stc_enduser.domain.errors import IllegalTransition, InvalidReport, NotPermitted
from stc_enduser.domain.model import (
    AmendLicence,
    ChangeKind,
    LicenceElement,
    Officer,
    Party,
    ReleaseHold,
    ReportStatus,
    RequireReapplication,
    Resolution,
    ResolutionKind,
    RevokeLicence,
    SuspendLicence,
)
from stc_enduser.domain.rules import accept_report, key_elements_touched, resolve

LATER = dt.timedelta(days=3)


@pytest.fixture
def open_report(draft, licence, now):
    def make(kind=ChangeKind.CERTIFICATE_EXPIRED, **overrides):
        return accept_report(
            draft(kind, **overrides), licence=licence, report_id="rep-1", sequence=7, now=now
        ).report

    return make


def do(report, resolution, officer, licence, now):
    return resolve(report, resolution, officer, licence=licence, now=now + LATER)


def test_accept_amendment_of_a_non_key_element(open_report, officer, licence, now):
    res = Resolution(
        ResolutionKind.ACCEPT_AMENDMENT,
        (" renewed certificate received ",),
        frozenset({LicenceElement.END_USER_CERTIFICATE}),
    )
    out = do(open_report(ChangeKind.CERTIFICATE_EXPIRED), res, officer, licence, now)
    assert out.report.status is ReportStatus.RESOLVED and not out.report.is_open
    assert out.report.resolved_by == officer
    assert out.report.resolved_at == now + LATER
    assert out.report.resolution.reasons == ("renewed certificate received",)
    assert out.consequence.effects == (
        AmendLicence("lic-1", "rep-1", frozenset({LicenceElement.END_USER_CERTIFICATE})),
        ReleaseHold("lic-1", "rep-1"),
    )


def test_end_use_change_can_be_accepted_as_an_amendment(open_report, officer, licence, now):
    # End use is not a key element: an officer may accept the amended end-use statement.
    res = Resolution(
        ResolutionKind.ACCEPT_AMENDMENT,
        ("civil use confirmed",),
        frozenset({LicenceElement.END_USE}),
    )
    out = do(open_report(ChangeKind.END_USE_CHANGED), res, officer, licence, now)
    assert out.consequence.of_type(AmendLicence)[0].elements == {LicenceElement.END_USE}


@pytest.mark.parametrize(
    "kind",
    [
        ChangeKind.END_USER_CHANGED,
        ChangeKind.END_USER_MAY_CHANGE,
        ChangeKind.TRANSFER_TO_THIRD_PARTY,
    ],
)
def test_accept_amendment_refused_when_the_end_user_changes(
    kind, open_report, officer, licence, now
):
    res = Resolution(
        ResolutionKind.ACCEPT_AMENDMENT, ("ok",), frozenset({LicenceElement.CONSIGNEE})
    )
    with pytest.raises(IllegalTransition, match="END_USER.*require re-application"):
        do(open_report(kind), res, officer, licence, now)


def test_a_new_end_user_abroad_touches_the_destination_too(open_report, officer, licence, now):
    elsewhere = Party(name="Acme Trading FZE", country="AE")
    report = open_report(ChangeKind.END_USER_CHANGED, new_end_user=elsewhere)
    assert key_elements_touched(report, licence) == {
        LicenceElement.END_USER,
        LicenceElement.DESTINATION,
    }
    out = do(
        report,
        Resolution(ResolutionKind.REQUIRE_REAPPLICATION, ("new party",)),
        officer,
        licence,
        now,
    )
    assert out.consequence.effects == (
        RequireReapplication(
            "lic-1", "rep-1", frozenset({LicenceElement.END_USER, LicenceElement.DESTINATION})
        ),
        ReleaseHold("lic-1", "rep-1"),
    )


def test_same_country_new_end_user_touches_only_the_end_user(open_report, licence):
    report = open_report(ChangeKind.END_USER_CHANGED)
    assert key_elements_touched(report, licence) == {LicenceElement.END_USER}
    assert key_elements_touched(open_report(ChangeKind.CERTIFICATE_ALTERED), licence) == set()


@pytest.mark.parametrize(
    "element", [LicenceElement.END_USER, LicenceElement.DESTINATION, LicenceElement.ITEM]
)
def test_amending_a_key_element_is_refused_even_on_a_non_key_report(
    element, open_report, officer, licence, now
):
    res = Resolution(ResolutionKind.ACCEPT_AMENDMENT, ("ok",), frozenset({element}))
    with pytest.raises(InvalidReport) as exc:
        do(open_report(ChangeKind.CERTIFICATE_EXPIRED), res, officer, licence, now)
    assert exc.value.fields() == {"resolution.amended_elements"}
    assert element in str(exc.value)


def test_accept_amendment_must_name_what_is_amended(open_report, officer, licence, now):
    with pytest.raises(InvalidReport) as exc:
        do(
            open_report(),
            Resolution(ResolutionKind.ACCEPT_AMENDMENT, ("ok",)),
            officer,
            licence,
            now,
        )
    assert exc.value.fields() == {"resolution.amended_elements"}


def test_amended_elements_only_with_accept_amendment(open_report, officer, licence, now):
    res = Resolution(ResolutionKind.NO_ACTION, ("ok",), frozenset({LicenceElement.QUANTITY}))
    with pytest.raises(InvalidReport) as exc:
        do(open_report(), res, officer, licence, now)
    assert exc.value.fields() == {"resolution.amended_elements"}


def test_require_reapplication_on_a_non_key_change_names_no_element(
    open_report, officer, licence, now
):
    out = do(
        open_report(ChangeKind.CERTIFICATE_ALTERED),
        Resolution(ResolutionKind.REQUIRE_REAPPLICATION, ("start again",)),
        officer,
        licence,
        now,
    )
    assert out.consequence.of_type(RequireReapplication) == (
        RequireReapplication("lic-1", "rep-1", frozenset()),
    )


def test_suspend(open_report, officer, licence, now):
    res = Resolution(ResolutionKind.SUSPEND_LICENCE, ("certificate altered", "await original"))
    out = do(open_report(ChangeKind.CERTIFICATE_ALTERED), res, officer, licence, now)
    assert out.consequence.effects == (
        SuspendLicence(
            "lic-1",
            "rep-1",
            "certificate altered; await original",
            "ECL Art. 16; Regulations Art. 25",
        ),
        ReleaseHold("lic-1", "rep-1"),
    )


def test_revoke(open_report, officer, licence, now):
    res = Resolution(ResolutionKind.REVOKE_LICENCE, ("forged end-user certificate",))
    out = do(open_report(ChangeKind.CERTIFICATE_FORGED), res, officer, licence, now)
    assert out.consequence.effects == (
        RevokeLicence("lic-1", "rep-1", "forged end-user certificate"),
        ReleaseHold("lic-1", "rep-1"),
    )
    assert out.report.resolution.kind is ResolutionKind.REVOKE_LICENCE


def test_no_action_only_releases_the_hold(open_report, officer, licence, now):
    out = do(
        open_report(ChangeKind.END_USER_MAY_CHANGE),
        Resolution(ResolutionKind.NO_ACTION, ("the change did not happen",)),
        officer,
        licence,
        now,
    )
    assert out.consequence.effects == (ReleaseHold("lic-1", "rep-1"),)


def test_every_resolution_kind_ends_with_the_release_of_the_hold(
    open_report, officer, licence, now
):
    elements = {ResolutionKind.ACCEPT_AMENDMENT: frozenset({LicenceElement.QUANTITY})}
    for kind in ResolutionKind:
        res = Resolution(kind, ("r",), elements.get(kind, frozenset()))
        out = do(open_report(ChangeKind.CERTIFICATE_EXPIRED), res, officer, licence, now)
        assert out.consequence.effects[-1] == ReleaseHold("lic-1", "rep-1"), kind


def test_only_open_reports_can_be_resolved(open_report, officer, licence, now):
    done = do(
        open_report(), Resolution(ResolutionKind.NO_ACTION, ("r",)), officer, licence, now
    ).report
    with pytest.raises(IllegalTransition, match="RESOLVED"):
        do(done, Resolution(ResolutionKind.REVOKE_LICENCE, ("r",)), officer, licence, now)


@pytest.mark.parametrize("reasons", [(), ("",), ("  ", "\t")])
def test_reasons_are_required(reasons, open_report, officer, licence, now):
    with pytest.raises(InvalidReport) as exc:
        do(open_report(), Resolution(ResolutionKind.NO_ACTION, reasons), officer, licence, now)
    assert exc.value.fields() == {"resolution.reasons"}


def test_unknown_resolution_kind(open_report, officer, licence, now):
    with pytest.raises(InvalidReport) as exc:
        do(open_report(), Resolution("MAYBE", ("r",)), officer, licence, now)
    assert "resolution.kind" in exc.value.fields()


def test_officer_of_another_authority_is_not_permitted(open_report, other_officer, licence, now):
    report = open_report()
    with pytest.raises(NotPermitted):
        do(report, Resolution(ResolutionKind.NO_ACTION, ("r",)), other_officer, licence, now)
    assert report.is_open


def test_authority_is_checked_before_state(open_report, officer, other_officer, licence, now):
    done = dataclasses.replace(open_report(), status=ReportStatus.RESOLVED)
    with pytest.raises(NotPermitted):
        do(done, Resolution(ResolutionKind.NO_ACTION, ("r",)), other_officer, licence, now)


def test_snapshot_of_another_licence_is_a_programming_error(open_report, officer, licence, now):
    other = dataclasses.replace(licence, licence_id="lic-2")
    with pytest.raises(ValueError):
        do(open_report(), Resolution(ResolutionKind.NO_ACTION, ("r",)), officer, other, now)


def test_same_authority_different_officer_may_resolve(open_report, licence, now):
    colleague = Officer("off-2", licence.authority)
    out = do(open_report(), Resolution(ResolutionKind.NO_ACTION, ("r",)), colleague, licence, now)
    assert out.report.resolved_by.officer_id == "off-2"
