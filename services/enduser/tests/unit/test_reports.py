"""accept_report: every kind's immediate consequence, and validation of bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from stc_common.uscc import make_uscc
from stc_enduser.domain.errors import InvalidReport
from stc_enduser.domain.model import (
    Authority,
    ChangeKind,
    Document,
    HoldLicence,
    Identifier,
    Party,
    ReporterRole,
    ReportStatus,
    ResolutionKind,
    ScreenParty,
)
from stc_enduser.domain.rules import (
    accept_report,
    officer_queue,
    visible_to_exporter,
    visible_to_importer,
)

EXPECTED = {
    # kind: (screens the new end user when named, recommended resolution)
    ChangeKind.END_USER_CHANGED: (True, ResolutionKind.REQUIRE_REAPPLICATION),
    ChangeKind.END_USER_MAY_CHANGE: (True, ResolutionKind.REQUIRE_REAPPLICATION),
    ChangeKind.TRANSFER_TO_THIRD_PARTY: (True, ResolutionKind.REQUIRE_REAPPLICATION),
    ChangeKind.END_USE_CHANGED: (False, ResolutionKind.SUSPEND_LICENCE),
    ChangeKind.END_USE_MAY_CHANGE: (False, ResolutionKind.SUSPEND_LICENCE),
    ChangeKind.CERTIFICATE_EXPIRED: (False, ResolutionKind.ACCEPT_AMENDMENT),
    ChangeKind.CERTIFICATE_ALTERED: (False, ResolutionKind.SUSPEND_LICENCE),
    ChangeKind.CERTIFICATE_FORGED: (False, ResolutionKind.REVOKE_LICENCE),
    ChangeKind.CERTIFICATE_BY_FRAUD: (False, ResolutionKind.REVOKE_LICENCE),
}


def test_every_kind_is_covered():
    assert set(EXPECTED) == set(ChangeKind)


def accept(draft, licence, now, **kw):
    return accept_report(draft, licence=licence, report_id="rep-1", sequence=123, now=now, **kw)


@pytest.mark.parametrize("kind", list(ChangeKind))
def test_every_kind_puts_the_licence_on_hold_and_recommends(
    kind, draft, licence, now, new_end_user
):
    screens, recommended = EXPECTED[kind]
    overrides = {"new_end_user": new_end_user} if screens else {}
    result = accept(draft(kind, **overrides), licence, now)

    report = result.report
    assert report.status is ReportStatus.OPEN and report.is_open
    assert report.reference == "CR-2026-000123"
    assert report.kind is kind
    assert report.authority is Authority.MOFCOM
    assert report.exporter_uscc == licence.exporter_uscc
    assert report.reported_at == now
    assert result.consequence.effects[0] == HoldLicence("lic-1", "rep-1")
    assert result.consequence.recommended is recommended
    screened = result.consequence.of_type(ScreenParty)
    assert screened == ((ScreenParty("lic-1", "rep-1", new_end_user),) if screens else ())


def test_forged_and_fraud_are_advised_stricter_than_expired(draft, licence, now):
    expired = accept(draft(ChangeKind.CERTIFICATE_EXPIRED), licence, now).consequence
    forged = accept(draft(ChangeKind.CERTIFICATE_FORGED), licence, now).consequence
    fraud = accept(draft(ChangeKind.CERTIFICATE_BY_FRAUD), licence, now).consequence
    assert expired.recommended is ResolutionKind.ACCEPT_AMENDMENT
    assert forged.recommended is fraud.recommended is ResolutionKind.REVOKE_LICENCE
    assert (
        "ECL Art. 15" in forged.basis
        and "ECL Art. 15"
        not in accept(draft(ChangeKind.END_USE_MAY_CHANGE), licence, now).consequence.basis
    )


def test_end_user_may_change_without_a_name_holds_but_screens_nobody(draft, licence, now):
    result = accept(draft(ChangeKind.END_USER_MAY_CHANGE), licence, now)
    assert result.consequence.puts_on_hold
    assert result.consequence.of_type(ScreenParty) == ()


def test_importer_may_report(draft, licence, now):
    d = draft(reporter_role=ReporterRole.IMPORTER, reporter_id="party-imp")
    report = accept(d, licence, now).report
    assert report.reporter_role is ReporterRole.IMPORTER and report.reporter_id == "party-imp"


def test_input_is_normalised(draft, licence, now):
    d = draft(
        reporter_id=" " + licence.exporter_uscc.lower() + " ",
        details="  text  ",
        documents=(Document(" cert.pdf ", "AB" * 32),),
    )
    report = accept(d, licence, now).report
    assert report.reporter_id == licence.exporter_uscc
    assert report.details == "text"
    assert report.documents == (Document("cert.pdf", "ab" * 32),)


def test_naive_now_is_a_programming_error(draft, licence):
    with pytest.raises(ValueError):
        accept(draft(), licence, dt.datetime(2026, 1, 1))


# --- validation ---------------------------------------------------------------------------


def violations(draft, licence, now) -> dict[str, str]:
    with pytest.raises(InvalidReport) as exc:
        accept(draft, licence, now)
    return {v.field: v.reason for v in exc.value.violations}


def test_end_user_changed_needs_the_new_end_user(draft, licence, now):
    v = violations(draft(ChangeKind.END_USER_CHANGED, new_end_user=None), licence, now)
    assert set(v) == {"new_end_user"}
    assert "required" in v["new_end_user"]


def test_end_use_changed_needs_the_new_end_use(draft, licence, now):
    v = violations(draft(ChangeKind.END_USE_CHANGED, new_end_use=None), licence, now)
    assert set(v) == {"new_end_use"}
    v = violations(draft(ChangeKind.END_USE_CHANGED, new_end_use="   "), licence, now)
    assert set(v) == {"new_end_use"}


@pytest.mark.parametrize("details", ["", "   ", "x" * 10_001])
def test_details_must_say_something(details, draft, licence, now):
    assert set(violations(draft(details=details), licence, now)) == {"details"}


@pytest.mark.parametrize("sha", ["abc", "g" * 64, "a" * 63, ""])
def test_bad_sha256_is_refused_with_its_path(sha, draft, licence, now):
    docs = (Document("ok.pdf", "b" * 64), Document("bad.pdf", sha))
    assert set(violations(draft(documents=docs), licence, now)) == {"documents[1].sha256"}


def test_duplicate_and_unnamed_documents(draft, licence, now):
    docs = (Document("a.pdf", "c" * 64), Document("", "C" * 64))
    v = violations(draft(documents=docs), licence, now)
    assert set(v) == {"documents[1].name", "documents[1].sha256"}
    assert v["documents[1].sha256"] == "duplicate document"


def test_too_many_documents(draft, licence, now):
    docs = tuple(Document(f"{i}.pdf", f"{i:064x}") for i in range(51))
    assert set(violations(draft(documents=docs), licence, now)) == {"documents"}


def test_exporter_not_on_the_licence(draft, licence, now):
    other = make_uscc("91110000MA2AB1234")
    v = violations(draft(reporter_id=other), licence, now)
    assert v == {"reporter_id": "the exporter is not a party to the licence"}


def test_exporter_with_an_invalid_uscc(draft, licence, now):
    bad = licence.exporter_uscc[:-1] + ("0" if licence.exporter_uscc[-1] != "0" else "1")
    v = violations(draft(reporter_id=bad), licence, now)
    assert v["reporter_id"].startswith("not a valid USCC")


def test_importer_not_on_the_licence(draft, licence, now):
    v = violations(draft(reporter_role=ReporterRole.IMPORTER, reporter_id="party-eu"), licence, now)
    assert v == {"reporter_id": "the importer is not a party to the licence"}


def test_missing_reporter_and_unknown_role_or_kind(draft, licence, now):
    assert set(violations(draft(reporter_id=""), licence, now)) == {"reporter_id"}
    assert set(violations(draft(reporter_role="BROKER"), licence, now)) == {"reporter_role"}
    assert set(violations(draft(kind="LOST"), licence, now)) == {"kind"}


def test_licence_id_must_match(draft, licence, now):
    assert violations(draft(licence_id="lic-2"), licence, now) == {
        "licence_id": "does not match the licence"
    }
    assert set(violations(draft(licence_id=""), licence, now)) == {"licence_id"}


def test_new_end_user_fields_are_checked(draft, licence, now):
    party = Party(name=" ", country="Germany", identifiers=(Identifier("", "x"),))
    v = violations(draft(ChangeKind.END_USER_CHANGED, new_end_user=party), licence, now)
    assert set(v) == {
        "new_end_user.name",
        "new_end_user.country",
        "new_end_user.identifiers[0].scheme",
    }


def test_new_end_user_name_in_any_script_is_accepted(draft, licence, now):
    party = Party(name="Новосибирский завод «Точмаш»", country="RU")
    report = accept(draft(ChangeKind.END_USER_CHANGED, new_end_user=party), licence, now).report
    assert report.new_end_user.name == "Новосибирский завод «Точмаш»"


def test_new_end_user_or_use_for_an_unrelated_kind_is_refused(draft, licence, now, new_end_user):
    v = violations(draft(ChangeKind.CERTIFICATE_EXPIRED, new_end_user=new_end_user), licence, now)
    assert set(v) == {"new_end_user"}
    v = violations(draft(ChangeKind.CERTIFICATE_FORGED, new_end_use="mining"), licence, now)
    assert set(v) == {"new_end_use"}


def test_subject_party_must_be_on_the_licence(draft, licence, now):
    assert set(violations(draft(subject_party_id="stranger"), licence, now)) == {"subject_party_id"}
    assert (
        accept(draft(subject_party_id="party-eu"), licence, now).report.subject_party_id
        == "party-eu"
    )


def test_all_violations_are_reported_at_once(draft, licence, now):
    d = draft(ChangeKind.END_USER_CHANGED, new_end_user=None, details="", reporter_id="")
    assert set(violations(d, licence, now)) == {"new_end_user", "details", "reporter_id"}


# --- visibility and the officers' queue ---------------------------------------------------


def test_exporter_sees_only_its_own_reports(draft, licence, now):
    report = accept(draft(), licence, now).report
    assert visible_to_exporter(report, licence.exporter_uscc.lower())
    assert not visible_to_exporter(report, make_uscc("91110000MA2AB1234"))


def test_importer_sees_only_the_reports_it_made(draft, licence, now):
    mine = accept(draft(reporter_role=ReporterRole.IMPORTER, reporter_id="party-imp"),
                  licence, now).report
    assert visible_to_importer(mine, licence.licence_id, "party-imp")
    assert not visible_to_importer(mine, "LIC-other", "party-imp")
    assert not visible_to_importer(mine, licence.licence_id, "party-eu")
    exporters = accept(draft(), licence, now).report
    assert not visible_to_importer(exporters, licence.licence_id, "party-imp")


def test_officer_queue_is_own_authority_open_oldest_first(draft, licence, now):
    first = accept(draft(), licence, now).report
    later = dataclasses.replace(first, report_id="r2", reported_at=now + dt.timedelta(hours=1))
    closed = dataclasses.replace(first, report_id="r3", status=ReportStatus.RESOLVED)
    foreign = dataclasses.replace(first, report_id="r4", authority=Authority.CAEA)
    queue = officer_queue([later, closed, foreign, first], Authority.MOFCOM)
    assert [r.report_id for r in queue] == ["rep-1", "r2"]
