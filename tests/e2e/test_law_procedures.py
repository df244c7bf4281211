"""Issue 11, items 1, 2 and 4 end to end: the whole platform started as `make run` starts it,
driven only through gRPC. An officer lists a party on the control list with a RESTRICT
measure (screening), an exporter makes a special-case application for a transaction with it
(Art. 18), screening finds the party and carries the measure, licensing refers instead of
denying, and the officer approves with a recorded override (officer discretion); a
watch-listed party frees the case from the Reg. 17 time limit (Reg. 26); a dual-use case is
referred to the State Council (Reg. 17), which stops the clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import grpc
import pytest
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2 as lev
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import licensing_service_pb2_grpc as lgrpc
from stc.screening.v1 import events_pb2 as sev
from stc.screening.v1 import screening_service_pb2 as sspb
from stc.screening.v1 import screening_service_pb2_grpc as sgrpc
from stc_common.grpc.client import aio_channel
from stc_common.testing.service import bearer
from stc_common.uscc import make_uscc

pytestmark = pytest.mark.e2e
MOFCOM = bearer("officer", authority="MOFCOM")
SHA = "ef" * 32


def _d(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _content(uscc: str, end_user: str, **kw) -> apb.ApplicationContent:
    today = dt.date.today()
    c = apb.ApplicationContent(
        exporter_uscc=uscc, licence_type=apb.LICENCE_TYPE_SINGLE,
        regime=apb.ITEM_REGIME_DUAL_USE, export_type=apb.EXPORT_TYPE_PERMANENT,
        items=[apb.Item(control_code="1C117.d", description="Ammonium paratungstate",
                        hs_code="2841801000", quantity="500", unit="kg",
                        value=common_pb2.Money(currency_code="CNY", amount_minor=12_500_000))],
        destination="DE",
        parties=[common_pb2.Party(role=common_pb2.PARTY_ROLE_IMPORTER,
                                  name="Hanse Metallhandel GmbH", country="DE"),
                 common_pb2.Party(role=common_pb2.PARTY_ROLE_END_USER, name=end_user,
                                  country="DE")],
        end_use=apb.EndUse(category=apb.END_USE_CATEGORY_CIVIL,
                           statement="Sintering of cutting tools"),
        end_user_certificate=apb.EndUserCertificate(
            issuer_kind=apb.CERTIFICATE_ISSUER_END_USER, issuer_name=end_user,
            document_sha256=SHA, issued_on=_d(today - dt.timedelta(days=10)),
            expires_on=_d(today + dt.timedelta(days=300))),
        contract_reference="C-E2E-11")
    for k, v in kw.items():
        getattr(c, k).CopyFrom(v)
    return c


@pytest.fixture(scope="module")
async def stubs(platform):
    async with aio_channel(platform["addresses"]["licensing"]) as lch, \
            aio_channel(platform["addresses"]["screening"]) as sch:
        yield lgrpc.LicensingServiceStub(lch), sgrpc.ScreeningServiceStub(sch)


async def _exporter(lic) -> str:
    uscc = make_uscc(f"91110108MA{uuid.uuid4().int % 10_000_000:07d}")
    await lic.RegisterOperator(spb.RegisterOperatorRequest(
        uscc=uscc, name_zh="北京某某合金有限公司", name_en="Beijing Example Alloys"),
        metadata=bearer("exporter", uscc=uscc))
    return uscc


async def _list(scr, kind, name, measure=0) -> str:
    entry = await scr.AddListEntry(sspb.AddListEntryRequest(
        entry=sev.ListEntry(list_kind=kind, primary_name=name, countries=["DE"],
                            party_type="entity", control_measure=measure,
                            announcement="MOFCOM Announcement 2026 No. E11"),
        reason="end-to-end test of Art. 18 / Reg. 26"), metadata=MOFCOM)
    return entry.entry_id


async def _under_review(lic, uscc, app_id, timeout=60.0):
    end = time.monotonic() + timeout
    while True:
        a = await lic.GetApplication(spb.GetApplicationRequest(application_id=app_id),
                                     metadata=bearer("exporter", uscc=uscc))
        if a.state == apb.APPLICATION_STATE_UNDER_REVIEW:
            return a
        assert time.monotonic() < end, f"application still {a.state}"
        await asyncio.sleep(0.2)


async def _submit(lic, uscc, content):
    return await lic.SubmitApplication(spb.SubmitApplicationRequest(
        request_id=uuid.uuid4().hex, content=content), metadata=bearer("exporter", uscc=uscc))


async def test_art18_restricted_listing_special_case_referred_then_approved_with_reasons(stubs):
    lic, scr = stubs
    name = f"Rheinland Sondermaschinen {uuid.uuid4().hex[:6].upper()} GmbH"
    entry_id = await _list(scr, sev.LIST_KIND_CONTROL_LIST, name, sev.CONTROL_MEASURE_RESTRICT)
    got = await scr.GetListEntry(sspb.GetListEntryRequest(entry_id=entry_id), metadata=MOFCOM)
    assert got.control_measure == sev.CONTROL_MEASURE_RESTRICT
    uscc = await _exporter(lic)
    app = await _submit(lic, uscc, _content(uscc, name, special_case=apb.SpecialCaseRequest(
        list_entry_ids=[entry_id],
        justification="Spare parts under a 2019 maintenance contract, civil end use verified")))
    await _under_review(lic, uscc, app.application_id)
    a = await lic.GetAssessment(spb.GetAssessmentRequest(application_id=app.application_id),
                                metadata=MOFCOM)
    codes = {f.code for fa in a.factors for f in fa.findings}
    assert "F6-CONTROL-LIST-SPECIAL-CASE" in codes, codes
    assert a.recommendation == lev.RECOMMENDATION_REFER
    reason = "special case granted: maintenance of civil machinery, end-use check on delivery"
    r = await lic.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=lev.DECISION_APPROVE_WITH_CONDITIONS,
        conditions=["end-use check within 90 days of delivery"],
        finding_judgements=[lev.FindingJudgement(
            code="F6-CONTROL-LIST-SPECIAL-CASE", verdict=lev.FINDING_VERDICT_OVERRIDDEN,
            reason=reason)]), metadata=MOFCOM)
    assert r.licence.licence_id
    assert {j.code: j.reason for j in r.judgements}["F6-CONTROL-LIST-SPECIAL-CASE"] == reason


async def test_art18_prohibit_listing_stays_a_refusal(stubs):
    lic, scr = stubs
    name = f"Westfalen Raketentechnik {uuid.uuid4().hex[:6].upper()} AG"
    entry_id = await _list(scr, sev.LIST_KIND_CONTROL_LIST, name, sev.CONTROL_MEASURE_PROHIBIT)
    uscc = await _exporter(lic)
    app = await _submit(lic, uscc, _content(uscc, name, special_case=apb.SpecialCaseRequest(
        list_entry_ids=[entry_id], justification="We would like an exception for this one")))
    await _under_review(lic, uscc, app.application_id)
    a = await lic.GetAssessment(spb.GetAssessmentRequest(application_id=app.application_id),
                                metadata=MOFCOM)
    assert a.recommendation == lev.RECOMMENDATION_DENY
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await lic.DecideApplication(spb.DecideApplicationRequest(
            application_id=app.application_id, decision=lev.DECISION_APPROVE,
            finding_judgements=[lev.FindingJudgement(
                code="F6-CONTROL-LIST-MATCH", verdict=lev.FINDING_VERDICT_OVERRIDDEN,
                reason="disagree")]), metadata=MOFCOM)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "Art. 18" in exc.value.details()


async def test_reg26_watch_listed_party_needs_materials_and_has_no_time_limit(stubs):
    lic, scr = stubs
    name = f"Saarland Feinwerk {uuid.uuid4().hex[:6].upper()} KG"
    await _list(scr, sev.LIST_KIND_WATCH_LIST, name)
    uscc = await _exporter(lic)
    app = await _submit(lic, uscc, _content(uscc, name))
    got = await _under_review(lic, uscc, app.application_id)
    a = await lic.GetAssessment(spb.GetAssessmentRequest(application_id=app.application_id),
                                metadata=MOFCOM)
    codes = {f.code for fa in a.factors for f in fa.findings}
    assert {"F6-WATCH-LIST", "F6-WATCH-LIST-MATERIALS-MISSING"} <= codes, codes
    got = await lic.GetApplication(spb.GetApplicationRequest(
        application_id=app.application_id), metadata=MOFCOM)
    assert "Reg. 26" in got.time_limit_exemption and not got.HasField("deadline")


async def test_reg17_referral_to_the_state_council_stops_the_clock(stubs):
    lic, _ = stubs
    uscc = await _exporter(lic)
    app = await _submit(lic, uscc, _content(uscc, "Müller Präzision GmbH Werk Ulm"))
    await _under_review(lic, uscc, app.application_id)
    referred = await lic.ReferApplication(spb.ReferApplicationRequest(
        application_id=app.application_id, body=apb.REFERRAL_BODY_STATE_COUNCIL,
        reason="significant impact on national security"), metadata=MOFCOM)
    assert referred.clock_paused and "Reg. 17" in referred.time_limit_exemption
    ended = await lic.EndReferral(spb.EndReferralRequest(
        application_id=app.application_id, outcome="State Council: may be licensed"),
        metadata=MOFCOM)
    assert ended.referral.outcome == "State Council: may be licensed"


async def test_reg17_returned_for_materials_resubmitted_and_screened_again(stubs):
    """The acceptance step over the platform: returned for missing materials (no clock), the
    resubmission is screened again by the screening service and comes back under review with
    the clock started on the resubmission day."""
    lic, _ = stubs
    uscc = await _exporter(lic)
    app = await _submit(lic, uscc, _content(uscc, "Müller Präzision GmbH Werk Ulm"))
    await _under_review(lic, uscc, app.application_id)
    back = await lic.ReturnApplication(spb.ReturnApplicationRequest(
        application_id=app.application_id, missing_materials=["signed sales contract"]),
        metadata=MOFCOM)
    assert back.state == apb.APPLICATION_STATE_RETURNED and not back.HasField("deadline")
    fixed = _content(uscc, "Müller Präzision GmbH Werk Ulm")
    fixed.contract_reference = "C-E2E-11-signed"
    again = await lic.ResubmitApplication(spb.ResubmitApplicationRequest(
        application_id=app.application_id, content=fixed, note="contract attached"),
        metadata=bearer("exporter", uscc=uscc))
    assert again.state == apb.APPLICATION_STATE_SCREENING and again.working_days_used == 0
    reviewed = await _under_review(lic, uscc, app.application_id)
    assert reviewed.content.contract_reference == "C-E2E-11-signed"
    assert reviewed.accepted_on == again.accepted_on
