"""Issue 11, items 1, 2 and 4 over the running licensing service, real Kafka and PostgreSQL:
control-list measures and the special case (Art. 18), the watch list (Reg. 26), officer
discretion with recorded reasons (Arts. 13, 18, 23), referrals (Reg. 17, Art. 24) and the
Art. 24 approvals. Each test is named after the provision it checks."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2, operator_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.screening.v1 import events_pb2 as scr
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.kafka.topics import APPLICATION
from stc_common.testing.service import bearer

pytestmark = pytest.mark.integration
MOFCOM = bearer("officer", authority="MOFCOM")
SASTIND = bearer("officer", authority="SASTIND")
SHA = "cd" * 32


def _hit(kind, entry_id, measure=0, party_id="p1"):
    return scr.PartyHit(party_id=party_id, list_kind=kind, entry_id=entry_id,
                        entry_name="Listed Works", score=0.99,
                        decision=scr.HIT_DECISION_MATCH, control_measure=measure)


async def _reviewed(env, uscc, content, hits=(), officer=MOFCOM):
    app = await env.submit(uscc, content)
    await env.screen(app, hits=hits)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    a = await env.stub.GetAssessment(spb.GetAssessmentRequest(
        application_id=app.application_id), metadata=officer)
    return app, a


def _codes(a):
    return {f.code for fa in a.factors for f in fa.findings}


def _overrides(a, reason="weighed by the officer"):
    """An override with a reason for every finding of a PROHIBITIVE factor."""
    return [events_pb2.FindingJudgement(code=f.code, reason=reason,
                                        verdict=events_pb2.FINDING_VERDICT_OVERRIDDEN)
            for fa in a.factors if fa.level == events_pb2.FACTOR_LEVEL_PROHIBITIVE
            for f in fa.findings]


async def _fails(coro):
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await coro
    return exc.value


async def test_art18_special_case_for_a_restricted_party_is_decided_by_the_officer_with_reasons(
        env, h):
    """Art. 18: a RESTRICT listing with a special-case application is referred to the officer
    (not an automatic DENY); the officer approves, overriding the finding with a reason, and
    the decision record and ApplicationDecided carry every finding's judgement (item 2)."""
    uscc = await env.operator()
    c = h.content(uscc, special_case=apb.SpecialCaseRequest(
        list_entry_ids=["prc:control:41"],
        justification="Replacement parts for a civil hospital's MRI scanner, end-use checked"))
    app, a = await _reviewed(env, uscc, c, [_hit(scr.LIST_KIND_CONTROL_LIST, "prc:control:41",
                                                 scr.CONTROL_MEASURE_RESTRICT)])
    assert "F6-CONTROL-LIST-SPECIAL-CASE" in _codes(a)
    assert a.recommendation == events_pb2.RECOMMENDATION_REFER

    # an override without a reason is refused with the field named
    err = await _fails(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        finding_judgements=[events_pb2.FindingJudgement(
            code="F6-CONTROL-LIST-SPECIAL-CASE",
            verdict=events_pb2.FINDING_VERDICT_OVERRIDDEN)]), metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(f == "finding_judgements[0].reason" for f, _ in field_violations(err))

    reason = "special case: civil medical end use verified by the embassy (Art. 18)"
    r = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        finding_judgements=[events_pb2.FindingJudgement(
            code="F6-CONTROL-LIST-SPECIAL-CASE", verdict=events_pb2.FINDING_VERDICT_OVERRIDDEN,
            reason=reason)]), metadata=MOFCOM)
    assert r.licence.licence_id
    judged = {j.code: (j.verdict, j.reason) for j in r.judgements}
    assert judged["F6-CONTROL-LIST-SPECIAL-CASE"] == (events_pb2.FINDING_VERDICT_OVERRIDDEN,
                                                      reason)
    assert set(judged) == _codes(a)  # every finding recorded, the rest accepted
    decided = (await env.log.wait_find("stc.licensing.v1.ApplicationDecided",
                                       app.application_id, topic=APPLICATION.name))[0]
    ev = decided.parse(events_pb2.ApplicationDecided)
    assert ev.recommendation == events_pb2.RECOMMENDATION_REFER
    assert {j.code: j.reason for j in ev.judgements}["F6-CONTROL-LIST-SPECIAL-CASE"] == reason
    rows = await env.sql("SELECT recommendation, judgements::text AS j FROM decision_records "
                         "WHERE application_id = $1", app.application_id)
    assert rows[0]["recommendation"] == "RECOMMENDATION_REFER" and reason in rows[0]["j"]


async def test_art18_prohibit_listing_cannot_be_approved_whatever_the_officer_overrides(env, h):
    """Art. 18: a PROHIBIT listing is a refusal; no override makes an approval lawful
    (FAILED_PRECONDITION naming the article), even with a special-case request."""
    uscc = await env.operator()
    c = h.content(uscc, special_case=apb.SpecialCaseRequest(
        list_entry_ids=["prc:control:42"], justification="We think the listing is mistaken"))
    app, a = await _reviewed(env, uscc, c, [_hit(scr.LIST_KIND_CONTROL_LIST, "prc:control:42",
                                                 scr.CONTROL_MEASURE_PROHIBIT)])
    assert "F6-CONTROL-LIST-MATCH" in _codes(a)
    assert a.recommendation == events_pb2.RECOMMENDATION_DENY
    err = await _fails(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        finding_judgements=_overrides(a)), metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err) == "APPROVAL_FORBIDDEN_BY_LAW" and "Art. 18" in err.details()
    # a denial is recorded normally
    r = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_DENY,
        reasons=["party on the control list (Art. 18)"]), metadata=MOFCOM)
    assert r.application.state == apb.APPLICATION_STATE_DENIED


async def test_art18_special_case_needs_grounds_invalid_argument(env, h):
    uscc = await env.operator()
    err = await _fails(env.submit(uscc, h.content(uscc, special_case=apb.SpecialCaseRequest(
        justification="short"))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {f for f, _ in field_violations(err)}
    assert {"special_case.list_entry_ids", "special_case.justification"} <= fields


async def test_reg26_watch_list_needs_materials_and_is_not_bound_by_the_time_limit(env, h):
    """Reg. 26: the assessment names the missing risk assessment report and undertaking; the
    application shows its exemption from the Reg. 17 time limit and no deadline; malformed
    document hashes are INVALID_ARGUMENT on the field."""
    uscc = await env.operator()
    err = await _fails(env.submit(uscc, h.content(uscc, watch_list_materials=apb.WatchListMaterials(
        risk_assessment_sha256="not-a-hash", undertaking_sha256=SHA))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err)] == ["watch_list_materials.risk_assessment_sha256"]

    app, a = await _reviewed(env, uscc, h.content(uscc),
                             [_hit(scr.LIST_KIND_WATCH_LIST, "prc:watch:5")])
    assert {"F6-WATCH-LIST", "F6-WATCH-LIST-MATERIALS-MISSING"} <= _codes(a)
    missing = next(f.text_en for fa in a.factors for f in fa.findings
                   if f.code == "F6-WATCH-LIST-MATERIALS-MISSING")
    assert "risk_assessment_sha256" in missing and "undertaking_sha256" in missing
    assert not a.general_licence_eligible
    got = await env.stub.GetApplication(spb.GetApplicationRequest(
        application_id=app.application_id), metadata=MOFCOM)
    assert "Reg. 26" in got.time_limit_exemption and not got.HasField("deadline")

    # with both documents the missing-materials finding is gone
    full = h.content(uscc, watch_list_materials=apb.WatchListMaterials(
        risk_assessment_sha256=SHA, undertaking_sha256=SHA))
    _, b = await _reviewed(env, uscc, full, [_hit(scr.LIST_KIND_WATCH_LIST, "prc:watch:5")])
    assert "F6-WATCH-LIST" in _codes(b) and "F6-WATCH-LIST-MATERIALS-MISSING" not in _codes(b)


async def test_reg17_dual_use_referral_to_the_state_council_stops_the_clock(env, h):
    """Reg. 17: a dual-use case referred to the State Council is not bound by the time limit;
    only the State Council (not the CMC) takes dual-use cases; a decision waits for the end."""
    uscc = await env.operator()
    app, _ = await _reviewed(env, uscc, h.content(uscc))
    err = await _fails(env.stub.ReferApplication(spb.ReferApplicationRequest(
        application_id=app.application_id, body=apb.REFERRAL_BODY_STATE_COUNCIL_AND_CMC,
        reason="major"), metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err) == "REFERRAL_BODY_FOR_REGIME"
    err = await _fails(env.stub.ReferApplication(spb.ReferApplicationRequest(
        application_id=app.application_id, body=apb.REFERRAL_BODY_STATE_COUNCIL),
        metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err)] == ["reason"]
    referred = await env.stub.ReferApplication(spb.ReferApplicationRequest(
        application_id=app.application_id, body=apb.REFERRAL_BODY_STATE_COUNCIL,
        reason="affects national security interests"), metadata=MOFCOM)
    assert referred.clock_paused and "Reg. 17" in referred.time_limit_exemption
    assert referred.referral.body == apb.REFERRAL_BODY_STATE_COUNCIL
    assert not referred.HasField("deadline")
    await env.log.wait_find("stc.licensing.v1.ApplicationReferred", app.application_id,
                            topic=APPLICATION.name)
    err = await _fails(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
        metadata=MOFCOM))
    assert error_reason(err) == "REFERRAL_OPEN"
    ended = await env.stub.EndReferral(spb.EndReferralRequest(
        application_id=app.application_id, outcome="the State Council agrees"), metadata=MOFCOM)
    assert not ended.clock_paused and ended.referral.HasField("ended_on")
    assert ended.time_limit_exemption  # Reg. 17: still not bound by the time limit
    r = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
        metadata=MOFCOM)
    assert r.licence.licence_id


async def _military_operator(env, scope):
    uscc = await env.operator()
    today = dt.date.today()
    await env.stub.SetMilitaryQualification(spb.SetMilitaryQualificationRequest(
        uscc=uscc, qualification=operator_pb2.MilitaryQualification(
            certificate_no="JP-2026-0042", scope=scope, valid_from=env_d(today),
            valid_to=env_d(today + dt.timedelta(days=365)))), metadata=SASTIND)
    return uscc


def env_d(day):
    from google.type import date_pb2
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


async def test_art23_military_items_outside_the_qualification_scope_are_not_licensed(env, h):
    """Art. 23: a qualification whose scope does not cover the items: approval refused with
    FAILED_PRECONDITION naming Art. 23, whatever the officer overrides."""
    uscc = await _military_operator(env, ["radar"])
    app, a = await _reviewed(env, uscc, h.content(uscc, regime=apb.ITEM_REGIME_MILITARY),
                            officer=SASTIND)
    err = await _fails(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        finding_judgements=_overrides(a)), metadata=SASTIND))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err) == "MILITARY_QUALIFICATION_REQUIRED"
    assert "Art. 23" in err.details() and "1C117.d" in err.details()


async def test_art24_programme_and_contract_approved_and_major_case_referred_to_sc_and_cmc(
        env, h):
    """Art. 24: no military licence before the export programme and the contract are approved
    (SASTIND records them); a major case goes to the State Council and the Central Military
    Commission, which stops the clock; the licence follows once the referral ends."""
    uscc = await _military_operator(env, ["1C117"])
    app, a = await _reviewed(env, uscc, h.content(uscc, regime=apb.ITEM_REGIME_MILITARY),
                            officer=SASTIND)
    err = await _fails(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        finding_judgements=_overrides(a)), metadata=SASTIND))
    assert error_reason(err) == "MILITARY_APPROVAL_REQUIRED" and "Art. 24" in err.details()
    assert "EXPORT_PROGRAMME" in err.details() and "CONTRACT" in err.details()

    err = await _fails(env.stub.RecordMilitaryApproval(spb.RecordMilitaryApprovalRequest(
        application_id=app.application_id, kind=apb.MILITARY_APPROVAL_KIND_CONTRACT,
        document_ref="X"), metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    for kind, ref in ((apb.MILITARY_APPROVAL_KIND_EXPORT_PROGRAMME, "SASTIND-P-2026-7"),
                      (apb.MILITARY_APPROVAL_KIND_CONTRACT, "SASTIND-C-2026-7")):
        got = await env.stub.RecordMilitaryApproval(spb.RecordMilitaryApprovalRequest(
            application_id=app.application_id, kind=kind, document_ref=ref), metadata=SASTIND)
    assert {x.document_ref for x in got.military_approvals} == {"SASTIND-P-2026-7",
                                                               "SASTIND-C-2026-7"}
    await env.log.wait_find("stc.licensing.v1.MilitaryApprovalRecorded", app.application_id,
                            n=2, topic=APPLICATION.name)

    err = await _fails(env.stub.ReferApplication(spb.ReferApplicationRequest(
        application_id=app.application_id, body=apb.REFERRAL_BODY_STATE_COUNCIL,
        reason="major"), metadata=SASTIND))
    assert error_reason(err) == "REFERRAL_BODY_FOR_REGIME" and "Art. 24" in err.details()
    referred = await env.stub.ReferApplication(spb.ReferApplicationRequest(
        application_id=app.application_id, body=apb.REFERRAL_BODY_STATE_COUNCIL_AND_CMC,
        reason="major export: a complete weapons system"), metadata=SASTIND)
    assert referred.clock_paused and referred.referral.body == \
        apb.REFERRAL_BODY_STATE_COUNCIL_AND_CMC
    assert referred.time_limit_exemption == ""  # the clock stops; it resumes afterwards
    await env.stub.EndReferral(spb.EndReferralRequest(
        application_id=app.application_id, outcome="approved"), metadata=SASTIND)
    r = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE,
        finding_judgements=_overrides(a)), metadata=SASTIND)
    assert r.licence.licence_id and r.application.state == apb.APPLICATION_STATE_APPROVED


async def test_reg17_returned_for_missing_materials_then_resubmitted_starts_the_clock(env, h):
    """Reg. 17 acceptance step: before formal acceptance the officer returns the application
    for missing materials (RETURNED, no deadline, ApplicationReturned); the exporter resubmits
    it with them (screened again, accepted that day, the clock starts: ApplicationResubmitted);
    once formally accepted it can no longer be returned (FAILED_PRECONDITION)."""
    uscc = await env.operator()
    app, _ = await _reviewed(env, uscc, h.content(uscc))
    err = await _fails(env.stub.ReturnApplication(spb.ReturnApplicationRequest(
        application_id=app.application_id), metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(err)] == ["missing_materials"]
    back = await env.stub.ReturnApplication(spb.ReturnApplicationRequest(
        application_id=app.application_id,
        missing_materials=["signed sales contract", "end-user statement on letterhead"]),
        metadata=MOFCOM)
    assert back.state == apb.APPLICATION_STATE_RETURNED and not back.HasField("deadline")
    assert list(back.acceptance.missing_materials) == ["signed sales contract",
                                                       "end-user statement on letterhead"]
    await env.log.wait_find("stc.licensing.v1.ApplicationReturned", app.application_id,
                            topic=APPLICATION.name)
    # a decision is not possible on a returned application
    err = await _fails(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
        metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION

    fixed = h.content(uscc, contract_reference="C-2026-001-signed")
    again = await env.stub.ResubmitApplication(spb.ResubmitApplicationRequest(
        application_id=app.application_id, content=fixed, note="contract attached"),
        metadata=bearer("exporter", uscc=uscc))
    assert again.state == apb.APPLICATION_STATE_SCREENING
    assert again.accepted_on == h.d(dt.datetime.now(dt.UTC).astimezone(
        dt.timezone(dt.timedelta(hours=8))).date())
    assert again.HasField("deadline") and again.working_days_used == 0
    resub = (await env.log.wait_find("stc.licensing.v1.ApplicationResubmitted",
                                     app.application_id, topic=APPLICATION.name))[0]
    assert resub.parse(events_pb2.ApplicationResubmitted).content.contract_reference == \
        "C-2026-001-signed"
    await env.log.wait_find("stc.licensing.v1.ApplicationAmended", app.application_id,
                            topic=APPLICATION.name)  # screening screens it again
    await env.screen(again)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)

    accepted = await env.stub.AcceptApplication(spb.AcceptApplicationRequest(
        application_id=app.application_id), metadata=MOFCOM)
    assert accepted.acceptance.accepted_by and accepted.acceptance.HasField("accepted_on")
    await env.log.wait_find("stc.licensing.v1.ApplicationAccepted", app.application_id,
                            topic=APPLICATION.name)
    err = await _fails(env.stub.ReturnApplication(spb.ReturnApplicationRequest(
        application_id=app.application_id, missing_materials=["more"]), metadata=MOFCOM))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err) == "ALREADY_ACCEPTED"
    # a key element changed on resubmission is a new application
    other = await env.submit(uscc)
    await env.screen(other)
    await env.wait_state(other.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    await env.stub.ReturnApplication(spb.ReturnApplicationRequest(
        application_id=other.application_id, missing_materials=["x"]), metadata=MOFCOM)
    err = await _fails(env.stub.ResubmitApplication(spb.ResubmitApplicationRequest(
        application_id=other.application_id, content=h.content(uscc, destination="FR")),
        metadata=bearer("exporter", uscc=uscc)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and error_reason(err) == "RE_APPLY"
