"""Issue 11, items 1, 2 and 4 as pure rules, one test per provision, named after its article:
the control-list measures and the special case (Art. 18), the watch list (Reg. 26), officer
discretion (Arts. 13, 18, 23, 39), referrals (Reg. 17, Art. 24) and the Art. 24 approvals."""

from __future__ import annotations

import datetime as dt

import pytest
from stc_licensing.domain import discretion as dd
from stc_licensing.domain import procedures as dp
from stc_licensing.domain import special_cases as dsc
from stc_licensing.domain.assessment import Factor, Level, Recommendation, assess
from stc_licensing.domain.inputs import HitDecision, ListKind, PartyHit
from stc_licensing.domain.model import ItemRegime, LicenceType, MilitaryQualification

SHA = "ab" * 32
DAY = dt.date(2026, 3, 2)


def _assess(b, content, hits):
    return assess(b.application(content), b.operator(), b.screening(party_hits=hits),
                  b.standing(), b.policy(), b.TODAY)


def _codes(a):
    return {f.code: f.level for f in a.factor(Factor.END_USER_AND_END_USE).findings}


def _control_hit(measure):
    return PartyHit(1, ListKind.PRC_CONTROL_LIST, "prc:control:7", 0.99, HitDecision.MATCH,
                    "Example Defense Corp", measure)


# --------------------------------------------------------------------------- Art. 18


def test_art18_prohibit_measure_is_a_refusal_even_with_a_special_case(b):
    sc = dsc.SpecialCaseRequest(("prc:control:7",), "Spare parts for a civil hospital MRI unit")
    a = _assess(b, b.content(special_case=sc), (_control_hit(dsc.ControlMeasure.PROHIBIT),))
    assert _codes(a)["F6-CONTROL-LIST-MATCH"] == Level.PROHIBITIVE
    assert a.recommendation == Recommendation.DENY
    # a listing that names no measure reads as PROHIBIT
    a = _assess(b, b.content(special_case=sc), (_control_hit(None),))
    assert a.recommendation == Recommendation.DENY


def test_art18_restrict_measure_without_special_case_is_refused_saying_how_to_apply(b):
    a = _assess(b, b.content(), (_control_hit(dsc.ControlMeasure.RESTRICT),))
    f = next(f for f in a.factor(Factor.END_USER_AND_END_USE).findings)
    assert f.code == "F6-CONTROL-LIST-RESTRICTED" and f.level == Level.PROHIBITIVE
    assert "special-case application" in f.text_en and "Art. 18" in f.text_en


def test_art18_restrict_measure_with_special_case_goes_to_the_officer_not_an_automatic_deny(b):
    sc = dsc.SpecialCaseRequest(("prc:control:7",), "Spare parts for a civil hospital MRI unit")
    a = _assess(b, b.content(special_case=sc), (_control_hit(dsc.ControlMeasure.RESTRICT),))
    assert _codes(a) == {"F6-CONTROL-LIST-SPECIAL-CASE": Level.CONCERN}
    assert a.recommendation == Recommendation.REFER
    assert not a.general_licence.eligible
    # the special case must name the entry it is about
    other = dsc.SpecialCaseRequest(("prc:control:99",), "Spare parts for a civil hospital MRI")
    a = _assess(b, b.content(special_case=other), (_control_hit(dsc.ControlMeasure.RESTRICT),))
    assert a.recommendation == Recommendation.DENY


def test_art18_suspend_measure_allows_no_special_case(b):
    sc = dsc.SpecialCaseRequest(("prc:control:7",), "Spare parts for a civil hospital MRI unit")
    a = _assess(b, b.content(special_case=sc), (_control_hit(dsc.ControlMeasure.SUSPEND),))
    assert _codes(a) == {"F6-CONTROL-LIST-SUSPENDED": Level.PROHIBITIVE}


def test_art18_special_case_request_needs_entries_and_grounds():
    bad = dsc.validate_special_case(dsc.SpecialCaseRequest((), "because"))
    assert {f for f, _ in bad} == {"special_case.list_entry_ids", "special_case.justification"}
    assert dsc.validate_special_case(
        dsc.SpecialCaseRequest(("prc:control:7",), "Spare parts for a civil hospital")) == []


# --------------------------------------------------------------------------- Reg. 26


def _watch_hit():
    return PartyHit(1, ListKind.PRC_WATCH_LIST, "prc:watch:3", 0.97, HitDecision.MATCH)


def test_reg26_watch_list_without_materials_names_the_missing_documents(b):
    a = _assess(b, b.content(), (_watch_hit(),))
    found = {f.code: f for f in a.factor(Factor.END_USER_AND_END_USE).findings}
    assert set(found) == {"F6-WATCH-LIST", "F6-WATCH-LIST-MATERIALS-MISSING"}
    missing = found["F6-WATCH-LIST-MATERIALS-MISSING"].text_en
    assert "watch_list_materials.risk_assessment_sha256" in missing
    assert "watch_list_materials.undertaking_sha256" in missing
    half = dsc.WatchListMaterials(risk_assessment_sha256=SHA)
    a = _assess(b, b.content(watch_list_materials=half), (_watch_hit(),))
    text = {f.code: f.text_en for f in a.factor(Factor.END_USER_AND_END_USE).findings}
    assert "undertaking_sha256" in text["F6-WATCH-LIST-MATERIALS-MISSING"]
    assert "risk_assessment" not in text["F6-WATCH-LIST-MATERIALS-MISSING"]


def test_reg26_watch_list_with_materials_is_referred_never_a_general_licence(b):
    full = dsc.WatchListMaterials(SHA, SHA)
    a = _assess(b, b.content(watch_list_materials=full, licence_type=LicenceType.GENERAL),
                (_watch_hit(),))
    assert set(_codes(a)) == {"F6-WATCH-LIST"}
    assert a.recommendation == Recommendation.REFER
    assert not a.general_licence.eligible
    assert "GL-WATCH-LIST" in {r.code for r in a.general_licence.reasons}


def test_reg26_watch_list_case_is_not_bound_by_the_time_limit():
    assert "Reg. 26" in dsc.time_limit_exemption(True)
    assert dsc.time_limit_exemption(False) == ""


def test_reg26_materials_must_be_sha256():
    bad = dsc.validate_watch_list_materials(dsc.WatchListMaterials("not-a-hash", SHA))
    assert [f for f, _ in bad] == ["watch_list_materials.risk_assessment_sha256"]


# --------------------------------------------------------------------------- discretion


FINDINGS = [dd.FindingView("F6-WATCH-LIST", "CONCERN"),
            dd.FindingView("F5-DESTINATION-BAN", "PROHIBITIVE"),
            dd.FindingView("F4-HIGH-SENSITIVITY", "CAUTION")]


def test_art13_recommendation_stays_a_recommendation_override_with_reason():
    r = dd.judge(FINDINGS, [dd.Judgement("F5-DESTINATION-BAN", dd.Verdict.OVERRIDDEN,
                                         "measure suspended by Announcement 2026 No. 9")],
                 approving=True)
    assert not r.violations and not r.forbidden
    got = {j.code: (j.verdict, j.reason) for j in r.judgements}
    assert got["F5-DESTINATION-BAN"] == (dd.Verdict.OVERRIDDEN,
                                         "measure suspended by Announcement 2026 No. 9")
    assert got["F6-WATCH-LIST"] == (dd.Verdict.ACCEPTED, "")  # unnamed: accepted
    assert len(r.judgements) == 3


def test_art13_every_override_needs_a_reason_and_a_real_finding():
    r = dd.judge(FINDINGS, [dd.Judgement("F6-WATCH-LIST", dd.Verdict.OVERRIDDEN, " "),
                            dd.Judgement("F9-NOPE", dd.Verdict.ACCEPTED)], approving=False)
    fields = dict(r.violations)
    assert "overriding F6-WATCH-LIST requires" in fields["finding_judgements[0].reason"]
    assert "no finding 'F9-NOPE'" in fields["finding_judgements[1].code"]


def test_art13_approval_over_a_prohibitive_finding_must_override_it():
    r = dd.judge(FINDINGS, [], approving=True)
    assert any("F5-DESTINATION-BAN is PROHIBITIVE" in reason for _, reason in r.violations)
    assert dd.judge(FINDINGS, [], approving=False).violations == ()  # a denial may accept all


@pytest.mark.parametrize("code,article", [("F6-CONTROL-LIST-MATCH", "Art. 18"),
                                          ("F6-CONTROL-LIST-SUSPENDED", "Art. 18"),
                                          ("F8-NO-MILITARY-QUALIFICATION", "Art. 23"),
                                          ("F7-APPLICATION-BAN", "Art. 39")])
def test_art18_art23_art39_no_override_makes_a_forbidden_approval_lawful(code, article):
    r = dd.judge([dd.FindingView(code, "PROHIBITIVE")],
                 [dd.Judgement(code, dd.Verdict.OVERRIDDEN, "I disagree")], approving=True)
    assert r.forbidden and article in r.forbidden[0][1]


def test_art23_military_licence_needs_a_valid_qualification_covering_every_item():
    q = MilitaryQualification("JP-2026-0001", ("ML5", "radar"), DAY, DAY + dt.timedelta(days=365))
    ok = dd.military_qualification_gap(ItemRegime.MILITARY, q,
                                       [("ML5.a", "fire control"), ("ML11", "Radar set")], DAY)
    assert ok == ""
    assert "no military export qualification (Art. 23)" in dd.military_qualification_gap(
        ItemRegime.MILITARY, None, [("ML5.a", "x")], DAY)
    assert "not valid on" in dd.military_qualification_gap(
        ItemRegime.MILITARY, q, [("ML5.a", "x")], DAY + dt.timedelta(days=400))
    outside = dd.military_qualification_gap(ItemRegime.MILITARY, q, [("ML4", "Bombs")], DAY)
    assert "outside the scope" in outside and "ML4" in outside and "Art. 23" in outside
    assert dd.military_qualification_gap(ItemRegime.DUAL_USE, None, [("1C117", "x")], DAY) == ""


# --------------------------------------------------------------------------- Reg. 17, Art. 24


def test_reg17_dual_use_referral_to_the_state_council_frees_the_time_limit():
    p = dp.refer(dp.Procedures("a"), ItemRegime.DUAL_USE, dp.ReferralBody.STATE_COUNCIL,
                 "major national security question", DAY, "officer-1")
    assert p.referral.open and "Reg. 17" in p.time_limit_exemption
    with pytest.raises(dp.ProcedureRefused) as exc:
        dp.refer(p, ItemRegime.DUAL_USE, dp.ReferralBody.STATE_COUNCIL, "again", DAY, "o")
    assert exc.value.reason == "REFERRAL_OPEN"
    ended = dp.end_referral(p, "approved by the State Council", DAY + dt.timedelta(days=3))
    assert not ended.referral.open and ended.time_limit_exemption  # still not bound
    with pytest.raises(dp.ProcedureRefused):
        dp.refer(dp.Procedures("a"), ItemRegime.DUAL_USE,
                 dp.ReferralBody.STATE_COUNCIL_AND_CMC, "x", DAY, "o")


def test_art24_major_military_export_goes_to_the_state_council_and_the_cmc():
    with pytest.raises(dp.ProcedureRefused) as exc:
        dp.refer(dp.Procedures("a"), ItemRegime.MILITARY, dp.ReferralBody.STATE_COUNCIL,
                 "major", DAY, "o")
    assert "Art. 24" in str(exc.value)
    p = dp.refer(dp.Procedures("a"), ItemRegime.MILITARY,
                 dp.ReferralBody.STATE_COUNCIL_AND_CMC, "major", DAY, "o")
    assert p.referral.open and p.time_limit_exemption == ""  # the pause stops the clock


def test_art24_programme_and_contract_approved_before_the_licence():
    p = dp.Procedures("a")
    assert dp.missing_military_approvals(ItemRegime.MILITARY, p) == (
        dp.MilitaryApprovalKind.EXPORT_PROGRAMME, dp.MilitaryApprovalKind.CONTRACT)
    p = dp.record_military_approval(p, ItemRegime.MILITARY, dp.MilitaryApproval(
        dp.MilitaryApprovalKind.EXPORT_PROGRAMME, "SASTIND-P-1", DAY, "o"))
    assert dp.missing_military_approvals(ItemRegime.MILITARY, p) == (
        dp.MilitaryApprovalKind.CONTRACT,)
    with pytest.raises(dp.ProcedureRefused):
        dp.record_military_approval(p, ItemRegime.DUAL_USE, p.military_approvals[0])
    assert dp.missing_military_approvals(ItemRegime.DUAL_USE, dp.Procedures("a")) == ()


def test_art13_7_snapshots_from_before_the_new_fields_keep_their_inputs_hash(b):
    """The Art. 18 / Reg. 26 fields are left out of the canonical inputs while unset, so an
    assessment snapshot saved before they existed replays with its stored inputs hash."""
    from stc_licensing.domain.canonical import to_plain

    plain = to_plain(b.content())
    assert "special_case" not in plain and "watch_list_materials" not in plain
    hit = to_plain(PartyHit(1, ListKind.PRC_WATCH_LIST, "W-1", 0.9, HitDecision.MATCH))
    assert "measure" not in hit
    sc = dsc.SpecialCaseRequest(("prc:control:7",), "Spare parts for a civil hospital")
    assert to_plain(b.content(special_case=sc))["special_case"]["list_entry_ids"] == [
        "prc:control:7"]
    assert to_plain(_control_hit(dsc.ControlMeasure.RESTRICT))["measure"] == "RESTRICT"


# --------------------------------------------------------------------------- acceptance step


def test_reg17_application_is_returned_for_missing_materials_only_before_acceptance():
    p = dp.return_for_materials(dp.Procedures("a"), ("end-user certificate",), DAY, "o-1")
    assert p.acceptance.missing_materials == ("end-user certificate",)
    with pytest.raises(dp.ProcedureRefused) as exc:
        dp.return_for_materials(dp.Procedures("a"), (), DAY, "o-1")
    assert exc.value.reason == "NO_MATERIALS_NAMED"
    accepted = dp.accept(p, DAY, "o-2")
    assert accepted.acceptance.accepted_by == "o-2"
    with pytest.raises(dp.ProcedureRefused) as exc:
        dp.return_for_materials(accepted, ("contract",), DAY, "o-1")
    assert exc.value.reason == "ALREADY_ACCEPTED" and "RequestInformation" in str(exc.value)
    with pytest.raises(dp.ProcedureRefused):
        dp.accept(accepted, DAY, "o-3")


def test_reg17_returned_state_transitions():
    from stc_licensing.domain.model import ApplicationState as S
    from stc_licensing.domain.states import Action, IllegalTransition, transition

    assert transition(S.UNDER_REVIEW, Action.RETURN) == S.RETURNED
    assert transition(S.RETURNED, Action.RESUBMIT) == S.SCREENING
    assert transition(S.RETURNED, Action.WITHDRAW) == S.WITHDRAWN
    for state in (S.SCREENING, S.INFORMATION_REQUESTED, S.APPROVED):
        with pytest.raises(IllegalTransition):
            transition(state, Action.RETURN)
