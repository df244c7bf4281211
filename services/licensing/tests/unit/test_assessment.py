"""The Art. 13 assessment: one test per factor driving the outcome, recommendations,
general-licence eligibility (Art. 14, Reg. 26) and reproducibility."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from stc_licensing.domain.assessment import (
    Assessment,
    EvidenceKind,
    Factor,
    Level,
    Recommendation,
    assess,
)
from stc_licensing.domain.inputs import (
    CreditLevel,
    DestinationFinding,
    HitDecision,
    ListKind,
    PartyHit,
    RedFlag,
    Severity,
)
from stc_licensing.domain.model import (
    CatchAllConcern,
    CatchAllDeclaration,
    CertificateIssuer,
    EndUse,
    EndUseCategory,
    ExportType,
    IcpAudit,
    IcpAuditOutcome,
    IcpElement,
    IcpElementAssessment,
    IcpStatus,
    ItemRegime,
    LicenceType,
)


def run(b, *, content=None, op=None, scr=None, st=None, pol=None, on=None) -> Assessment:
    return assess(b.application(content or b.content()), op or b.operator(), scr or b.screening(),
                  st or b.standing(), pol or b.policy(), on or b.TODAY)


def codes(a: Assessment, factor: Factor) -> set[str]:
    return {f.code for f in a.factor(factor).findings}


def only_factor_above_clear(a: Assessment) -> set[Factor]:
    return {fa.factor for fa in a.factors if fa.level != Level.CLEAR}


# --------------------------------------------------------------------------- baseline


def test_clean_application_is_granted_with_eight_clear_factors(b):
    a = run(b)
    assert [fa.factor.number for fa in a.factors] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(fa.level == Level.CLEAR for fa in a.factors)
    assert a.recommendation == Recommendation.GRANT
    assert a.conditions == ()
    assert a.policy_version == "test-1"
    assert a.policy_hash == b.policy().content_hash
    assert a.screening_id == "scr-1"


def test_factor_titles_follow_article_13(b):
    assert Factor.CREDIT_RECORD.number == 7
    assert Factor.END_USER_AND_END_USE.title_zh == "最终用户和最终用途"
    assert Factor.OTHER.title_en == "other factors set by law"


# --------------------------------------------------------------------------- factor 1


def test_f1_catch_all_wmd_knowledge_denies(b):
    c = b.content(regime=ItemRegime.CATCH_ALL, items=(b.item(control_code=""),),
                  catch_all_declarations=(CatchAllDeclaration(
                      CatchAllConcern.WMD, True, "Buyer said: missile programme"),))
    a = run(b, content=c)
    assert a.factor(Factor.NATIONAL_SECURITY).level == Level.PROHIBITIVE
    assert "F1-CATCH-ALL-WMD-TERRORISM" in codes(a, Factor.NATIONAL_SECURITY)
    finding = a.factor(Factor.NATIONAL_SECURITY).findings[0]
    assert finding.text_zh and finding.evidence[0].kind == EvidenceKind.DECLARATION
    assert a.recommendation == Recommendation.DENY
    assert a.conditions == ()


def test_f1_catch_all_declaration_without_knowledge_is_clear(b):
    c = b.content(regime=ItemRegime.CATCH_ALL, items=(b.item(control_code=""),),
                  catch_all_declarations=(CatchAllDeclaration(CatchAllConcern.WMD, False),))
    a = run(b, content=c)
    assert a.factor(Factor.NATIONAL_SECURITY).level == Level.CLEAR


def test_f1_national_security_declaration_refers(b):
    c = b.content(regime=ItemRegime.CATCH_ALL, items=(b.item(control_code=""),),
                  catch_all_declarations=(CatchAllDeclaration(
                      CatchAllConcern.NATIONAL_SECURITY, True),))
    a = run(b, content=c)
    assert a.factor(Factor.NATIONAL_SECURITY).level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER


def test_f1_critical_item_to_high_risk_destination_refers(b):
    c = b.content(destination="MM", items=(b.item(control_code="1C351.a"),),
                  parties=(replace(b.importer(), country="MM"), b.end_user(country="MM")))
    a = run(b, content=c)
    f1 = a.factor(Factor.NATIONAL_SECURITY)
    assert f1.level == Level.CONCERN
    assert [x.code for x in f1.findings] == ["F1-CRITICAL-TO-HIGH-RISK"]
    assert f1.findings[0].evidence[0].detail == "tier 3"
    # The same item to a tier-1 destination leaves factor 1 clear.
    assert run(b, content=b.content(items=(b.item(control_code="1C351.a"),))).factor(
        Factor.NATIONAL_SECURITY).level == Level.CLEAR


# --------------------------------------------------------------------------- factor 2


def test_f2_full_un_arms_embargo_denies_sensitive_items(b):
    c = b.content(destination="KP", items=(b.item(control_code="1C902.a"),),
                  parties=(replace(b.importer(), country="KP"), b.end_user(country="KP")))
    a = run(b, content=c)
    f2 = a.factor(Factor.INTERNATIONAL_OBLIGATIONS)
    assert f2.level == Level.PROHIBITIVE
    ev = f2.findings[0].evidence[0]
    assert ev.kind == EvidenceKind.ARMS_EMBARGO and "UNSCR 1718" in ev.ref
    assert a.factor(Factor.DESTINATION).level.rank >= Level.CONCERN.rank
    assert a.recommendation == Recommendation.DENY


def test_f2_full_embargo_with_low_sensitivity_item_refers(b):
    c = b.content(destination="KP", items=(b.item(control_code="2B001.a"),),
                  parties=(replace(b.importer(), country="KP"), b.end_user(country="KP")))
    a = run(b, content=c)
    assert a.factor(Factor.INTERNATIONAL_OBLIGATIONS).level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER


def test_f2_embargo_not_yet_in_force_is_ignored(b):
    pol = b.policy(arms_embargoes=(replace(b.policy().arms_embargoes[0],
                                           since=dt.date(2027, 1, 1)),))
    c = b.content(destination="KP", items=(b.item(control_code="1C902.a"),),
                  parties=(replace(b.importer(), country="KP"), b.end_user(country="KP")))
    a = run(b, content=c, pol=pol)
    assert a.factor(Factor.INTERNATIONAL_OBLIGATIONS).level == Level.CLEAR


def test_f2_partial_embargo_military_refers_and_dual_use_conditions(b):
    mil = b.content(regime=ItemRegime.MILITARY, destination="YE",
                    parties=(replace(b.importer(), country="YE"), b.end_user(country="YE")))
    op = b.operator(military_qualification=b.qualification())
    a = run(b, content=mil, op=op)
    assert a.factor(Factor.INTERNATIONAL_OBLIGATIONS).level == Level.CONCERN
    assert "F2-UN-ARMS-EMBARGO-PARTIAL" in codes(a, Factor.INTERNATIONAL_OBLIGATIONS)

    du = replace(mil, regime=ItemRegime.DUAL_USE)
    a2 = run(b, content=du)
    assert a2.factor(Factor.INTERNATIONAL_OBLIGATIONS).level == Level.CAUTION


def test_f2_un_sanctions_list_match_denies(b):
    hit = PartyHit(1, ListKind.UN_CONSOLIDATED, "QDe.115", 0.97, HitDecision.MATCH)
    a = run(b, scr=b.screening(party_hits=(hit,)))
    f2 = a.factor(Factor.INTERNATIONAL_OBLIGATIONS)
    assert f2.level == Level.PROHIBITIVE
    assert f2.findings[0].evidence[0].ref == "UN_CONSOLIDATED:QDe.115"
    assert "parties[1]" in f2.findings[0].evidence[0].detail
    assert a.recommendation == Recommendation.DENY


def test_f2_nuclear_export_needs_government_assurances(b):
    c = b.content(regime=ItemRegime.NUCLEAR, items=(b.item(control_code="0B001.a"),))
    a = run(b, content=c)
    assert "F2-NUCLEAR-ASSURANCES" in codes(a, Factor.INTERNATIONAL_OBLIGATIONS)
    # Nuclear items are CRITICAL by policy: factor 4 refers the case.
    assert a.factor(Factor.ITEM_SENSITIVITY).level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER
    assert "C-GOVERNMENT-ASSURANCES" in {c.code for c in a.conditions}


# --------------------------------------------------------------------------- factor 3


def test_f3_transshipment_adds_no_retransfer_condition(b):
    c = b.content(export_type=ExportType.TRANSSHIPMENT,
                  parties=(b.importer(), replace(b.importer(), role=b.PartyRole.CONSIGNEE),
                           b.end_user()))
    a = run(b, content=c)
    assert only_factor_above_clear(a) == {Factor.EXPORT_TYPE}
    assert a.factor(Factor.EXPORT_TYPE).level == Level.CAUTION
    assert a.recommendation == Recommendation.GRANT_WITH_CONDITIONS
    assert [c.code for c in a.conditions] == ["C-NO-RETRANSFER"]


def test_f3_temporary_exhibition_requires_return(b):
    c = b.content(export_type=ExportType.TEMPORARY_EXHIBITION)
    a = run(b, content=c)
    assert a.factor(Factor.EXPORT_TYPE).level == Level.CAUTION
    assert "C-RETURN" in {x.code for x in a.conditions}


def test_f3_transfer_of_critical_technology_refers(b):
    c = b.content(export_type=ExportType.TECHNOLOGY_TRANSFER,
                  items=(b.item(control_code="1C351.a", description="Pathogen know-how"),))
    a = run(b, content=c)
    assert "F3-CRITICAL-TECHNOLOGY" in codes(a, Factor.EXPORT_TYPE)
    assert a.factor(Factor.EXPORT_TYPE).level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER


# --------------------------------------------------------------------------- factor 4


def test_f4_high_sensitivity_item_grants_with_delivery_verification(b):
    a = run(b, content=b.content(items=(b.item(control_code="1C902.a"),)))
    f4 = a.factor(Factor.ITEM_SENSITIVITY)
    assert f4.level == Level.CAUTION
    assert f4.findings[0].evidence[0].kind == EvidenceKind.ITEM_SENSITIVITY
    assert "1C902.a: HIGH" in f4.findings[0].evidence[0].detail
    assert only_factor_above_clear(a) == {Factor.ITEM_SENSITIVITY}
    assert a.recommendation == Recommendation.GRANT_WITH_CONDITIONS
    assert [c.code for c in a.conditions] == ["C-DELIVERY-VERIFICATION"]


def test_f4_critical_item_refers(b):
    a = run(b, content=b.content(items=(b.item(control_code="1C351.d"),)))
    assert a.factor(Factor.ITEM_SENSITIVITY).level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER


def test_f4_uses_the_most_specific_policy_rule(b):
    # "1C351" (CRITICAL) is more specific than "1" (MEDIUM).
    a = run(b, content=b.content(items=(b.item(control_code="1C351.d"), b.item())))
    levels = [f.code for f in a.factor(Factor.ITEM_SENSITIVITY).findings]
    assert levels == ["F4-CRITICAL-ITEM", "F4-MEDIUM-SENSITIVITY"]


# --------------------------------------------------------------------------- factor 5


def test_f5_military_item_to_tier3_destination_refers(b):
    c = b.content(regime=ItemRegime.MILITARY, destination="MM",
                  parties=(replace(b.importer(), country="MM"), b.end_user(country="MM")))
    op = b.operator(military_qualification=b.qualification())
    a = run(b, content=c, op=op)
    assert a.factor(Factor.DESTINATION).level == Level.CONCERN
    assert "F5-HIGH-RISK-SENSITIVE" in codes(a, Factor.DESTINATION)
    assert a.factor(Factor.OTHER).level == Level.CLEAR  # qualified exporter
    assert a.recommendation == Recommendation.REFER


def test_f5_ordinary_item_to_tier3_destination_is_caution(b):
    c = b.content(destination="MM", items=(b.item(control_code="2B001.a"),),
                  parties=(replace(b.importer(), country="MM"), b.end_user(country="MM")))
    a = run(b, content=c)
    assert a.factor(Factor.DESTINATION).level == Level.CAUTION
    assert a.recommendation == Recommendation.GRANT_WITH_CONDITIONS


def test_f5_military_end_use_under_destination_ban_denies(b):
    c = b.content(destination="US", end_use=EndUse(EndUseCategory.MILITARY, "Radar housings"),
                  parties=(replace(b.importer(), country="US"), b.end_user(country="US")))
    a = run(b, content=c)
    f5 = a.factor(Factor.DESTINATION)
    assert f5.level == Level.PROHIBITIVE
    assert f5.findings[0].evidence[0].kind == EvidenceKind.DESTINATION_MEASURE
    assert f5.findings[0].evidence[0].ref == "M-US-MIL"
    assert a.recommendation == Recommendation.DENY


def test_f5_red_flag_rf15_triggers_military_end_use_ban(b):
    c = b.content(destination="US",
                  parties=(replace(b.importer(), country="US"), b.end_user(country="US")))
    scr = b.screening(red_flags=(RedFlag("RF15", Severity.MEDIUM, "military end user"),))
    a = run(b, content=c, scr=scr)
    assert a.factor(Factor.DESTINATION).level == Level.PROHIBITIVE


def test_f5_civil_end_use_under_military_ban_is_conditioned(b):
    c = b.content(destination="US",
                  parties=(replace(b.importer(), country="US"), b.end_user(country="US")))
    a = run(b, content=c)
    assert a.factor(Factor.DESTINATION).level == Level.CAUTION
    assert "C-NO-MILITARY-END-USE" in {x.code for x in a.conditions}
    assert a.recommendation == Recommendation.GRANT_WITH_CONDITIONS


def test_f5_suspended_measure_does_not_apply_while_suspended(b):
    c = b.content(destination="AQ",
                  parties=(replace(b.importer(), country="AQ"), b.end_user(country="AQ")))
    before = run(b, content=c, on=dt.date(2026, 5, 29))
    during = run(b, content=c, on=dt.date(2026, 7, 1))
    after = run(b, content=c, on=dt.date(2026, 9, 1))
    assert before.factor(Factor.DESTINATION).level == Level.PROHIBITIVE
    assert during.factor(Factor.DESTINATION).level == Level.CLEAR
    assert after.factor(Factor.DESTINATION).level == Level.PROHIBITIVE


def test_f5_measure_not_covering_the_regime_is_ignored(b):
    c = b.content(regime=ItemRegime.CONTROLLED_CHEMICAL, destination="AQ",
                  parties=(replace(b.importer(), country="AQ"), b.end_user(country="AQ")))
    a = run(b, content=c)
    assert "F5-DESTINATION-BAN" not in codes(a, Factor.DESTINATION)


def test_f5_high_severity_destination_finding_from_screening_refers(b):
    scr = b.screening(destination_findings=(DestinationFinding(
        "DIVERSION-HUB", "Known transshipment hub", Severity.HIGH, "note-7"),))
    a = run(b, scr=scr)
    assert a.factor(Factor.DESTINATION).level == Level.CONCERN
    assert a.factor(Factor.DESTINATION).findings[0].evidence[0].ref == "note-7"
    assert a.recommendation == Recommendation.REFER


# --------------------------------------------------------------------------- factor 6


def test_f6_control_list_match_denies(b):
    hit = PartyHit(1, ListKind.PRC_CONTROL_LIST, "MOFCOM-2025-1-07", 0.99, HitDecision.MATCH,
                   "Example Defense Corp")
    a = run(b, scr=b.screening(party_hits=(hit,)))
    f6 = a.factor(Factor.END_USER_AND_END_USE)
    assert f6.level == Level.PROHIBITIVE
    assert f6.findings[0].code == "F6-CONTROL-LIST-MATCH"
    assert f6.findings[0].evidence[0].ref == "PRC_CONTROL_LIST:MOFCOM-2025-1-07"
    assert "管控名单" in f6.findings[0].text_zh
    assert only_factor_above_clear(a) == {Factor.END_USER_AND_END_USE}
    assert a.recommendation == Recommendation.DENY
    assert not a.general_licence.eligible


def test_f6_control_list_potential_match_refers(b):
    hit = PartyHit(1, ListKind.PRC_CONTROL_LIST, "E1", 0.81, HitDecision.POTENTIAL_MATCH)
    a = run(b, scr=b.screening(party_hits=(hit,)))
    assert a.factor(Factor.END_USER_AND_END_USE).level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER


def test_f6_watch_list_refers_and_blocks_general_licence(b):
    hit = PartyHit(1, ListKind.PRC_WATCH_LIST, "W-3", 0.95, HitDecision.MATCH)
    a = run(b, scr=b.screening(party_hits=(hit,)))
    assert "F6-WATCH-LIST" in codes(a, Factor.END_USER_AND_END_USE)
    assert a.recommendation == Recommendation.REFER
    assert not a.general_licence.eligible
    assert "GL-WATCH-LIST" in {r.code for r in a.general_licence.reasons}


def test_f6_foreign_list_match_is_only_caution(b):
    hit = PartyHit(1, ListKind.OFAC_SDN, "SDN-123", 0.93, HitDecision.MATCH)
    a = run(b, scr=b.screening(party_hits=(hit,)))
    assert a.factor(Factor.END_USER_AND_END_USE).level == Level.CAUTION
    assert a.recommendation == Recommendation.GRANT_WITH_CONDITIONS
    assert "C-END-USE-CHECK" in {x.code for x in a.conditions}


def test_f6_high_red_flag_refers_and_medium_conditions(b):
    high = run(b, scr=b.screening(red_flags=(RedFlag("RF10", Severity.HIGH, "forwarder"),)))
    assert high.factor(Factor.END_USER_AND_END_USE).level == Level.CONCERN
    assert high.factor(Factor.END_USER_AND_END_USE).findings[0].evidence[0].ref == "RF10"
    medium = run(b, scr=b.screening(red_flags=(RedFlag("RF5", Severity.MEDIUM, "cash"),)))
    assert medium.factor(Factor.END_USER_AND_END_USE).level == Level.CAUTION


def test_f6_certificate_from_other_issuer_refers(b):
    c = b.content(end_user_certificate=b.certificate(issuer_kind=CertificateIssuer.OTHER))
    a = run(b, content=c)
    assert "F6-CERTIFICATE-ISSUER" in codes(a, Factor.END_USER_AND_END_USE)
    assert a.recommendation == Recommendation.REFER


def test_f6_certificate_expired_by_assessment_date_is_conditioned(b):
    a = run(b, on=dt.date(2027, 2, 1))
    assert "F6-CERTIFICATE-EXPIRED" in codes(a, Factor.END_USER_AND_END_USE)
    assert "C-VALID-CERTIFICATE" in {x.code for x in a.conditions}


def test_f6_end_user_outside_destination_is_caution(b):
    c = b.content(parties=(b.importer(), b.end_user(country="AE")))
    a = run(b, content=c)
    assert "F6-END-USER-OUTSIDE-DESTINATION" in codes(a, Factor.END_USER_AND_END_USE)
    assert a.factor(Factor.END_USER_AND_END_USE).level == Level.CAUTION


# --------------------------------------------------------------------------- factor 7


def test_f7_penalised_exporter_refers(b):
    st = b.standing(level=CreditLevel.PENALISED, active_record_count=1,
                    record_refs=("credit-rec-42",))
    a = run(b, st=st)
    f7 = a.factor(Factor.CREDIT_RECORD)
    assert f7.level == Level.CONCERN
    assert f7.findings[0].evidence[0].ref == "credit-rec-42"
    assert only_factor_above_clear(a) == {Factor.CREDIT_RECORD}
    assert a.recommendation == Recommendation.REFER
    assert "GL-CREDIT" in {r.code for r in a.general_licence.reasons}


def test_f7_art39_ban_denies(b):
    st = b.standing(level=CreditLevel.BANNED, ban_until=dt.date(2030, 1, 1))
    a = run(b, st=st)
    assert a.factor(Factor.CREDIT_RECORD).level == Level.PROHIBITIVE
    assert "2030-01-01" in a.factor(Factor.CREDIT_RECORD).findings[0].text_en
    assert a.recommendation == Recommendation.DENY


def test_f7_warned_exporter_gets_shipment_reports_condition(b):
    a = run(b, st=b.standing(level=CreditLevel.WARNED, active_record_count=1))
    assert a.factor(Factor.CREDIT_RECORD).level == Level.CAUTION
    assert [x.code for x in a.conditions] == ["C-SHIPMENT-REPORTS"]


# --------------------------------------------------------------------------- factor 8


def test_f8_military_item_after_qualification_expired_denies(b):
    op = b.operator(military_qualification=b.qualification(valid_to=dt.date(2026, 2, 28)))
    c = b.content(regime=ItemRegime.MILITARY)
    a = run(b, content=c, op=op)
    f8 = a.factor(Factor.OTHER)
    assert f8.level == Level.PROHIBITIVE
    assert f8.findings[0].code == "F8-NO-MILITARY-QUALIFICATION"
    assert a.recommendation == Recommendation.DENY


def test_f8_temporary_control_is_conditioned(b):
    a = run(b, content=b.content(regime=ItemRegime.TEMPORARY_CONTROL))
    assert a.factor(Factor.OTHER).level == Level.CAUTION
    assert "C-TEMPORARY-CONTROL" in {x.code for x in a.conditions}


# --------------------------------------------------------------------------- combined


def test_worst_factor_wins_and_refer_keeps_conditions(b):
    c = b.content(items=(b.item(control_code="1C902.a"),))
    st = b.standing(level=CreditLevel.PENALISED, active_record_count=2)
    a = run(b, content=c, st=st)
    assert a.level == Level.CONCERN
    assert a.recommendation == Recommendation.REFER
    assert "C-DELIVERY-VERIFICATION" in {x.code for x in a.conditions}


def test_deny_carries_no_conditions_even_with_caution_factors(b):
    c = b.content(items=(b.item(control_code="1C902.a"),))
    hit = PartyHit(1, ListKind.PRC_CONTROL_LIST, "E9", 0.99, HitDecision.MATCH)
    a = run(b, content=c, scr=b.screening(party_hits=(hit,)))
    assert a.recommendation == Recommendation.DENY and a.conditions == ()


def test_assessment_rejects_inputs_of_another_exporter(b):
    other = b.make_uscc("91310000MA1FL0000")
    with pytest.raises(ValueError, match="operator"):
        run(b, op=b.operator(uscc=other))
    with pytest.raises(ValueError, match="credit standing"):
        run(b, st=b.standing(uscc=other))


# --------------------------------------------------------------------------- Art. 14


def test_general_licence_eligible_for_clean_established_exporter(b):
    a = run(b, content=b.content(licence_type=LicenceType.GENERAL))
    assert a.general_licence.eligible
    assert [r.code for r in a.general_licence.reasons] == ["GL-ELIGIBLE"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"op": {"icp_audits": ()}}, "GL-ICP-NOT-AUDITED"),
        ({"op": {"icp_audits": (IcpAudit(dt.date(2025, 6, 1),
                                         IcpAuditOutcome.NEEDS_IMPROVEMENT),)}},
         "GL-ICP-NOT-AUDITED"),
        ({"op": {"icp_audits": (IcpAudit(dt.date(2022, 1, 1), IcpAuditOutcome.EFFECTIVE),)}},
         "GL-ICP-NOT-AUDITED"),
        ({"op": {"licensed_exports": 1}}, "GL-EXPORT-HISTORY"),
        ({"op": {"established_end_users": frozenset()}}, "GL-END-USERS-NOT-STABLE"),
        ({"st": {"level": CreditLevel.WARNED, "active_record_count": 1}}, "GL-CREDIT"),
        ({"content": {"regime": ItemRegime.NUCLEAR}}, "GL-REGIME"),
    ],
)
def test_general_licence_blocked(b, change, code):
    a = run(b,
            op=b.operator(**change.get("op", {})),
            st=b.standing(**change.get("st", {})),
            content=b.content(**change.get("content", {})))
    assert not a.general_licence.eligible
    assert code in {r.code for r in a.general_licence.reasons}


def test_general_licence_needs_all_nine_icp_elements_with_evidence(b):
    icp = tuple(IcpElementAssessment(e, IcpStatus.IMPLEMENTED, ("doc",))
                for e in IcpElement if e != IcpElement.EMERGENCY_MEASURES)
    icp += (IcpElementAssessment(IcpElement.EMERGENCY_MEASURES, IcpStatus.IMPLEMENTED, ()),)
    a = run(b, op=b.operator(icp=icp))
    reason = next(r for r in a.general_licence.reasons if r.code == "GL-ICP-INCOMPLETE")
    assert "EMERGENCY_MEASURES" in reason.text_en
    a2 = run(b, op=b.operator(icp=icp[:-1]))
    assert not a2.general_licence.eligible


def test_general_licence_never_when_the_assessment_refers(b):
    a = run(b, content=b.content(items=(b.item(control_code="1C351.a"),)))
    assert a.recommendation == Recommendation.REFER
    assert [r.code for r in a.general_licence.reasons] == ["GL-ASSESSMENT"]
    assert not a.general_licence.eligible


def test_general_licence_watch_list_potential_match_blocks_too(b):
    hit = PartyHit(0, ListKind.PRC_WATCH_LIST, "W-1", 0.7, HitDecision.POTENTIAL_MATCH)
    a = run(b, scr=b.screening(party_hits=(hit,)))
    assert "GL-WATCH-LIST" in {r.code for r in a.general_licence.reasons}


# --------------------------------------------------------------------------- reproducibility


def test_same_inputs_give_the_same_assessment(b):
    assert run(b) == run(b)


def test_inputs_hash_changes_with_any_input(b):
    base = run(b).inputs_hash
    assert run(b, st=b.standing(active_record_count=1)).inputs_hash != base
    assert run(b, on=dt.date(2026, 3, 3)).inputs_hash != base
    assert run(b, content=b.content(items=(b.item(quantity=Decimal("501")),))).inputs_hash != base
    assert run(b, pol=b.policy(destination_tiers={"DE": 2})).inputs_hash != base
    assert run(b, scr=b.screening(screening_id="scr-2")).inputs_hash != base


def test_inputs_hash_ignores_application_state_and_decimal_spelling(b):
    a1 = assess(b.application(), b.operator(), b.screening(), b.standing(), b.policy(), b.TODAY)
    app2 = b.application(b.content(items=(b.item(quantity=Decimal("500.00")),)),
                         state=b.ApplicationState.UNDER_REVIEW)
    a2 = assess(app2, b.operator(), b.screening(), b.standing(), b.policy(), b.TODAY)
    assert a1.inputs_hash == a2.inputs_hash


def test_policy_hash_is_recorded_and_differs_per_policy(b):
    p2 = b.policy(version="test-2")
    a = run(b, pol=p2)
    assert a.policy_version == "test-2"
    assert a.policy_hash == p2.content_hash != b.policy().content_hash
