"""Idempotent submission, tenant isolation, validation errors (nothing half-written), the
Art. 39 ban from the credit projection, information requests and amendments, re-screening,
end-user change holds, deadline breaches and licence expiry - over the running service."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.credit.v1 import events_pb2 as credit
from stc.enduser.v1 import events_pb2 as enduser
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2, licence_pb2, operator_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.screening.v1 import events_pb2 as scr
from stc_common.grpc.errors import error_reason, field_violations
from stc_common.kafka.topics import (
    APPLICATION,
    CREDIT_STANDING,
    ENDUSER_CHANGE,
    LICENCE,
    SCREENING_RESULT,
)
from stc_common.testing.service import bearer

pytestmark = pytest.mark.integration
MOFCOM = bearer("officer", authority="MOFCOM")


async def _count(env, sql, *args) -> int:
    return (await env.sql(sql, *args))[0][0]


async def test_same_request_id_returns_the_same_application_once(env, h):
    uscc = await env.operator()
    rid = uuid.uuid4().hex
    first, second = await asyncio.gather(env.submit(uscc, request_id=rid),
                                         env.submit(uscc, request_id=rid))
    third = await env.submit(uscc, request_id=rid)
    assert first.application_id == second.application_id == third.application_id
    assert first.reference == third.reference
    assert await _count(env, "SELECT count(*) FROM applications WHERE request_id = $1", rid) == 1
    await env.log.wait_find("stc.licensing.v1.ApplicationSubmitted", first.application_id)
    await asyncio.sleep(1.0)  # give a duplicate every chance to show up
    assert len(env.log.find("stc.licensing.v1.ApplicationSubmitted", first.application_id)) == 1
    # the same request id with different content is a client bug, not a retry
    other = h.content(uscc, destination="FR")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.submit(uscc, other, request_id=rid)
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(exc.value) == "REQUEST_ID_REUSED"


async def test_tenants_see_only_their_own(env, h):
    a, b = await env.operator(), await env.operator()
    app_a = await env.submit(a)
    app_b = await env.submit(b)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.GetApplication(spb.GetApplicationRequest(
            application_id=app_a.application_id), metadata=bearer("exporter", uscc=b))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        async for _ in env.stub.WatchApplication(spb.WatchApplicationRequest(
                application_id=app_a.application_id), metadata=bearer("exporter", uscc=b)):
            pass
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await env.stub.ListApplications(spb.ListApplicationsRequest(),
                                             metadata=bearer("exporter", uscc=b))
    assert [x.application_id for x in listed.applications] == [app_b.application_id]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.GetOperator(spb.GetOperatorRequest(uscc=a),
                                   metadata=bearer("exporter", uscc=b))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    # an officer of another authority neither sees nor decides a MOFCOM case
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.DecideApplication(spb.DecideApplicationRequest(
            application_id=app_a.application_id, decision=events_pb2.DECISION_APPROVE),
            metadata=bearer("officer", authority="SASTIND"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    # auditors read everything; the MOFCOM filter and paging work
    page = await env.stub.ListApplications(spb.ListApplicationsRequest(
        authority="MOFCOM", page_size=1), metadata=bearer("auditor"))
    assert len(page.applications) == 1 and page.next_page_token
    seen = await env.stub.GetApplication(spb.GetApplicationRequest(
        application_id=app_a.application_id), metadata=bearer("auditor"))
    assert seen.content.exporter_uscc == a


async def _refused(env, uscc, c) -> list[tuple[str, str]]:
    before = await _count(env, "SELECT count(*) FROM applications")
    outbox = await _count(env, "SELECT count(*) FROM outbox")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.submit(uscc, c)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await _count(env, "SELECT count(*) FROM applications") == before  # nothing written
    assert await _count(env, "SELECT count(*) FROM outbox") == outbox
    return field_violations(exc.value)


async def test_validation_errors_name_their_fields(env, h):
    uscc = await env.operator()
    bad_uscc = await _refused(env, uscc, h.content(uscc, exporter_uscc="91110000MA01ABCD1X"))
    assert any(f == "exporter_uscc" and "malformed" in r for f, r in bad_uscc)

    item = apb.Item(control_code="1C1170", description="x", quantity="1", unit="kg",
                    value=common_pb2.Money(currency_code="CNY", amount_minor=100))
    bad_code = await _refused(env, uscc, h.content(uscc, items=[item]))
    assert [f for f, _ in bad_code] == ["items[0].control_code"]

    c = h.content(uscc)
    c.ClearField("end_user_certificate")
    no_cert = await _refused(env, uscc, c)
    assert any(f == "end_user_certificate" and "Art. 15" in r for f, r in no_cert)

    military = await _refused(env, uscc, h.content(uscc, regime=apb.ITEM_REGIME_MILITARY))
    assert any(f == "regime" and "Art. 23" in r for f, r in military)

    unspecified = await _refused(env, uscc, h.content(
        uscc, end_use=apb.EndUse(statement="x")))
    assert ("end_use.category", "must be set to one of the defined values") in unspecified


async def test_military_qualification_set_by_sastind_lets_military_through(env, h):
    uscc = await env.operator()
    today = dt.date.today()
    q = operator_pb2.MilitaryQualification(
        certificate_no="JP-2026-0001", scope=["radar"], valid_from=h.d(today),
        valid_to=h.d(today + dt.timedelta(days=365)))
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.SetMilitaryQualification(spb.SetMilitaryQualificationRequest(
            uscc=uscc, qualification=q), metadata=MOFCOM)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    op = await env.stub.SetMilitaryQualification(spb.SetMilitaryQualificationRequest(
        uscc=uscc, qualification=q), metadata=bearer("officer", authority="SASTIND"))
    assert op.military_qualification.certificate_no == "JP-2026-0001"
    app = await env.submit(uscc, h.content(uscc, regime=apb.ITEM_REGIME_MILITARY))
    assert app.authority == "SASTIND" and app.reference.startswith("SASTIND-")
    await env.log.wait_find("stc.licensing.v1.QualificationChanged", uscc)


async def test_credit_ban_refuses_submission(env, h):
    uscc = await env.operator()
    ban_until = dt.date.today() + dt.timedelta(days=5 * 365)
    await env.publish(CREDIT_STANDING.name, uscc, credit.CreditStandingChanged(
        uscc=uscc, level=credit.STANDING_LEVEL_BANNED, active_records=1,
        ban_until=h.d(ban_until), record_ids=["rec-1"], as_of=h.d(dt.date.today())))
    for _ in range(200):
        if await _count(env, "SELECT count(*) FROM credit_standing WHERE uscc = $1", uscc):
            break
        await asyncio.sleep(0.1)
    refused = await _refused(env, uscc, h.content(uscc))
    assert any(f == "exporter_uscc" and "Art. 39" in r for f, r in refused)


async def test_art39_personal_ban_from_credit_refuses_the_handling_person(env, h):
    """Art. 39: credit's standing event carries a responsible person's ban as the SHA-256 of
    the ID number; an application that person handles is refused (PERSON_BANNED), nothing
    is stored or published, and one naming other persons goes through."""
    import hashlib

    uscc = await env.operator()
    barred = "11010119800101123X"
    await env.publish(CREDIT_STANDING.name, uscc, credit.CreditStandingChanged(
        uscc=uscc, level=credit.STANDING_LEVEL_PENALISED, active_records=1,
        record_ids=["rec-1"], as_of=h.d(dt.date.today()), person_bans=[
            credit.PersonBanInForce(id_number_sha256=hashlib.sha256(barred.encode()).hexdigest())]))
    for _ in range(200):
        if await _count(env, "SELECT count(*) FROM credit_standing WHERE uscc = $1"
                             " AND person_bans <> '[]'", uscc):
            break
        await asyncio.sleep(0.1)
    c = h.content(uscc)
    c.legal_representative.CopyFrom(apb.NaturalPerson(name="王五", id_number="110101197001010011"))
    c.handling_person.CopyFrom(apb.NaturalPerson(name="赵六", id_number=barred.lower()))
    before = await _count(env, "SELECT count(*) FROM applications")
    outbox = await _count(env, "SELECT count(*) FROM outbox")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.submit(uscc, c)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(exc.value) == "PERSON_BANNED"
    assert "handling_person" in (exc.value.details() or "")
    assert barred not in (exc.value.details() or "").upper()
    assert await _count(env, "SELECT count(*) FROM applications") == before
    assert await _count(env, "SELECT count(*) FROM outbox") == outbox
    c.handling_person.id_number = "110101199202022222"
    app = await env.submit(uscc, c)
    assert app.application_id


async def test_information_request_pauses_clock_and_key_change_means_reapply(env, h):
    uscc = await env.operator()
    app = await env.submit(uscc)
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    asked = await env.stub.RequestInformation(spb.RequestInformationRequest(
        application_id=app.application_id, questions=["Who installs the goods?"]),
        metadata=MOFCOM)
    assert asked.state == apb.APPLICATION_STATE_INFORMATION_REQUESTED and asked.clock_paused
    await env.log.wait_find("stc.licensing.v1.InformationRequested", app.application_id)
    me = bearer("exporter", uscc=uscc)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.AmendApplication(spb.AmendApplicationRequest(
            application_id=app.application_id, content=h.content(uscc, destination="FR"),
            answer="new destination"), metadata=me)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(exc.value) == "RE_APPLY"
    assert any(f == "destination" and r.startswith("re-apply") for f, r in
               field_violations(exc.value))
    amended_content = h.content(uscc, contract_reference="C-2026-001-rev1")
    amended = await env.stub.AmendApplication(spb.AmendApplicationRequest(
        application_id=app.application_id, content=amended_content,
        answer="our own engineers install"), metadata=me)
    assert amended.state == apb.APPLICATION_STATE_SCREENING and not amended.clock_paused
    ev = await env.log.wait_find("stc.licensing.v1.ApplicationAmended", app.application_id)
    assert ev[0].parse(events_pb2.ApplicationAmended).content.contract_reference == \
        "C-2026-001-rev1"
    # screened again, then denied, then reconsideration (Art. 41)
    await env.screen(amended)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.DecideApplication(spb.DecideApplicationRequest(
            application_id=app.application_id, decision=events_pb2.DECISION_DENY),
            metadata=MOFCOM)
    assert ("reasons", "a denial states its reasons (Art. 41 review)") in \
        field_violations(exc.value)
    denied = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_DENY,
        reasons=["end use not credible"]), metadata=MOFCOM)
    assert denied.application.state == apb.APPLICATION_STATE_DENIED
    recon = await env.stub.RequestReconsideration(spb.RequestReconsiderationRequest(
        application_id=app.application_id, grounds="new evidence"), metadata=me)
    assert recon.state == apb.APPLICATION_STATE_RECONSIDERATION


async def test_review_queue_oldest_deadline_first_and_state_filter(env, h):
    uscc = await env.operator()
    first, second, waiting = (await env.submit(uscc), await env.submit(uscc),
                              await env.submit(uscc))
    for app in (first, second):
        await env.screen(app)
        await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    await env.sql("UPDATE applications SET deadline = $2 WHERE id = $1", second.application_id,
                  dt.date(2026, 2, 2))
    queue = await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(page_size=500),
                                           metadata=MOFCOM)
    ids = [a.application_id for a in queue.applications]
    assert ids.index(second.application_id) < ids.index(first.application_id)
    # Still in screening: nothing for an officer yet. (A screening service another engineer
    # runs on the shared broker may have screened it meanwhile; states only move forward,
    # so SCREENING now means SCREENING when the queue was read.)
    now_waiting = await env.stub.GetApplication(spb.GetApplicationRequest(
        application_id=waiting.application_id), metadata=MOFCOM)
    if now_waiting.state == apb.APPLICATION_STATE_SCREENING:
        assert waiting.application_id not in ids
    assert {a.state for a in queue.applications} <= {apb.APPLICATION_STATE_UNDER_REVIEW,
                                                     apb.APPLICATION_STATE_RECONSIDERATION}
    deadlines = [(a.deadline.year, a.deadline.month, a.deadline.day) for a in
                 queue.applications]
    assert all(x for x in deadlines)  # every application shows its deadline
    mine = {a.application_id: a for a in queue.applications}
    assert mine[first.application_id].working_days_remaining == 45  # days remaining shown

    await env.stub.RequestInformation(spb.RequestInformationRequest(
        application_id=first.application_id, questions=["Who installs the goods?"]),
        metadata=MOFCOM)
    queue = await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(page_size=500),
                                           metadata=MOFCOM)
    assert first.application_id not in [a.application_id for a in queue.applications]
    asked = await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(
        page_size=500, states=[apb.APPLICATION_STATE_INFORMATION_REQUESTED]), metadata=MOFCOM)
    assert first.application_id in [a.application_id for a in asked.applications]
    assert all(a.state == apb.APPLICATION_STATE_INFORMATION_REQUESTED and a.clock_paused
               for a in asked.applications)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(
            states=[apb.APPLICATION_STATE_SCREENING]), metadata=MOFCOM)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(exc.value)] == ["states"]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(),
                                       metadata=bearer("exporter", uscc=uscc))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    me = bearer("exporter", uscc=uscc)
    screening = await env.stub.ListApplications(spb.ListApplicationsRequest(
        state=apb.APPLICATION_STATE_SCREENING), metadata=me)
    assert {a.state for a in screening.applications} <= {apb.APPLICATION_STATE_SCREENING}
    assert first.application_id not in [a.application_id for a in screening.applications]
    approved = await env.stub.ListApplications(spb.ListApplicationsRequest(
        state=apb.APPLICATION_STATE_APPROVED), metadata=me)
    assert not approved.applications


async def test_withdrawal(env, h):
    uscc = await env.operator()
    app = await env.submit(uscc)
    w = await env.stub.WithdrawApplication(spb.WithdrawApplicationRequest(
        application_id=app.application_id), metadata=bearer("exporter", uscc=uscc))
    assert w.state == apb.APPLICATION_STATE_WITHDRAWN
    await env.log.wait_find("stc.licensing.v1.ApplicationWithdrawn", app.application_id)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.WithdrawApplication(spb.WithdrawApplicationRequest(
            application_id=app.application_id), metadata=bearer("exporter", uscc=uscc))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def _hit(entry: str) -> scr.PartyHit:
    return scr.PartyHit(party_id="p1", party_role=common_pb2.PARTY_ROLE_END_USER,
                        party_name="Müller Präzision GmbH Werk Ulm",
                        list_kind=scr.LIST_KIND_CONTROL_LIST, entry_id=entry,
                        entry_name="Mueller Praezision", score=0.97,
                        decision=scr.HIT_DECISION_MATCH)


async def _licence_status(env, lic_id, want, timeout=20):
    for _ in range(int(timeout / 0.05)):
        lic = await env.stub.GetLicence(spb.GetLicenceRequest(licence_id=lic_id),
                                        metadata=bearer("auditor"))
        if lic.status == want:
            return lic
        await asyncio.sleep(0.05)
    raise AssertionError(f"licence {lic_id} is {lic.status}, wanted {want}")


async def test_rescreening_suspends_licence_and_flags_application(env, h):
    uscc = await env.operator()
    lic = await env.licence(uscc)
    entry = f"prc:control:{uuid.uuid4().hex[:6]}"
    await env.publish(SCREENING_RESULT.name, lic.licence_id, scr.RescreeningMatch(
        subject_id=lic.licence_id, subject_kind=scr.SUBJECT_KIND_LICENCE, exporter_uscc=uscc,
        hit=_hit(entry)))
    suspended = await _licence_status(env, lic.licence_id, licence_pb2.LICENCE_STATUS_SUSPENDED)
    assert entry in suspended.status_reason
    ev = await env.log.wait_find("stc.licensing.v1.LicenceSuspended", lic.licence_id,
                                topic=LICENCE.name)
    s = ev[0].parse(events_pb2.LicenceSuspended)
    assert (s.source, s.source_id) == ("rescreening", entry)

    pending = await env.submit(uscc)
    await env.publish(SCREENING_RESULT.name, pending.application_id, scr.RescreeningMatch(
        subject_id=pending.application_id, subject_kind=scr.SUBJECT_KIND_APPLICATION,
        exporter_uscc=uscc, hit=_hit(entry)))
    flagged = await env.log.wait_find("stc.licensing.v1.ApplicationFlagged",
                                     pending.application_id, topic=APPLICATION.name)
    assert flagged[0].parse(events_pb2.ApplicationFlagged).list_entry_id == entry
    a = await env.stub.GetApplication(spb.GetApplicationRequest(
        application_id=pending.application_id), metadata=MOFCOM)
    assert a.flags and entry in a.flags[0]


@pytest.mark.parametrize("resolution,final,event", [
    (enduser.RESOLUTION_KIND_ACCEPT_AMENDMENT, licence_pb2.LICENCE_STATUS_ACTIVE,
     "stc.licensing.v1.LicenceAmended"),
    (enduser.RESOLUTION_KIND_SUSPEND_LICENCE, licence_pb2.LICENCE_STATUS_SUSPENDED,
     "stc.licensing.v1.LicenceSuspended"),
    (enduser.RESOLUTION_KIND_REVOKE_LICENCE, licence_pb2.LICENCE_STATUS_REVOKED,
     "stc.licensing.v1.LicenceRevoked"),
    (enduser.RESOLUTION_KIND_REQUIRE_REAPPLICATION, licence_pb2.LICENCE_STATUS_REVOKED,
     "stc.licensing.v1.LicenceRevoked"),
])
async def test_enduser_change_holds_then_resolves(env, h, resolution, final, event):
    uscc = await env.operator()
    lic = await env.licence(uscc)
    report = f"rep-{uuid.uuid4().hex[:8]}"
    await env.publish(ENDUSER_CHANGE.name, lic.licence_id, enduser.ChangeReported(
        report_id=report, licence_id=lic.licence_id, exporter_uscc=uscc,
        kind=enduser.CHANGE_KIND_END_USER_CHANGED, hold_licence=True))
    held = await _licence_status(env, lic.licence_id, licence_pb2.LICENCE_STATUS_ON_HOLD)
    assert list(held.holds) == [report]
    await env.log.wait_find("stc.licensing.v1.LicenceHeld", lic.licence_id)
    with pytest.raises(grpc.aio.AioRpcError) as exc:  # no export while on hold
        await env.stub.RecordExport(spb.RecordExportRequest(
            licence_id=lic.licence_id, export=licence_pb2.ExportRecord(
                export_id="E1", exported_on=lic.valid_from,
                lines=[licence_pb2.ExportLine(item_index=0, quantity="1", value_minor=1)])),
            metadata=bearer("exporter", uscc=uscc))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await env.publish(ENDUSER_CHANGE.name, lic.licence_id, enduser.ChangeResolved(
        report_id=report, licence_id=lic.licence_id, exporter_uscc=uscc,
        resolution=resolution, reasons=["officer's finding"], elements=["end_user"]))
    done = await _licence_status(env, lic.licence_id, final)
    assert not done.holds
    await env.log.wait_find("stc.licensing.v1.LicenceHoldReleased", lic.licence_id)
    await env.log.wait_find(event, lic.licence_id)
    if resolution == enduser.RESOLUTION_KIND_REQUIRE_REAPPLICATION:
        assert done.status_reason.startswith("re-apply")


async def test_officer_suspends_reinstates_revokes(env, h):
    uscc = await env.operator()
    lic = await env.licence(uscc)
    req = dict(licence_id=lic.licence_id, reason="audit")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.SuspendLicence(spb.SuspendLicenceRequest(**req),
                                      metadata=bearer("exporter", uscc=uscc))
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    s = await env.stub.SuspendLicence(spb.SuspendLicenceRequest(**req), metadata=MOFCOM)
    assert s.status == licence_pb2.LICENCE_STATUS_SUSPENDED
    r = await env.stub.ReinstateLicence(spb.ReinstateLicenceRequest(**req), metadata=MOFCOM)
    assert r.status == licence_pb2.LICENCE_STATUS_ACTIVE
    await env.log.wait_find("stc.licensing.v1.LicenceReinstated", lic.licence_id)
    v = await env.stub.RevokeLicence(spb.RevokeLicenceRequest(**req), metadata=MOFCOM)
    assert v.status == licence_pb2.LICENCE_STATUS_REVOKED
    mine = await env.stub.ListLicences(spb.ListLicencesRequest(),
                                       metadata=bearer("exporter", uscc=uscc))
    assert [x.licence_id for x in mine.licences] == [lic.licence_id]


async def test_deadline_breach_once_and_licence_expiry(env, h):
    uscc = await env.operator()
    app = await env.submit(uscc)
    # as if accepted long ago: 45 PRC working days have passed (the ticker runs every 0.5 s)
    await env.sql("UPDATE applications SET accepted_on = $2 WHERE id = $1",
                  app.application_id, dt.date(2026, 1, 5))
    ev = await env.log.wait_find("stc.licensing.v1.DeadlineBreached", app.application_id)
    assert ev[0].parse(events_pb2.DeadlineBreached).authority == "MOFCOM"
    await asyncio.sleep(1.5)  # three more ticker rounds
    assert len(env.log.find("stc.licensing.v1.DeadlineBreached", app.application_id)) == 1

    lic = await env.licence(uscc)
    await env.sql("UPDATE licences SET valid_until = $2 WHERE id = $1", lic.licence_id,
                  dt.date.today() - dt.timedelta(days=2))
    await env.log.wait_find("stc.licensing.v1.LicenceExpired", lic.licence_id)
    await _licence_status(env, lic.licence_id, licence_pb2.LICENCE_STATUS_EXPIRED)


async def test_operator_icp_and_audit_events(env, h):
    uscc = await env.operator()
    icp = [operator_pb2.IcpElementAssessment(element=operator_pb2.ICP_ELEMENT_TRAINING,
                                             status=operator_pb2.ICP_STATUS_IMPLEMENTED,
                                             evidence_refs=["doc-1"])]
    op = await env.stub.UpdateIcpSelfAssessment(spb.UpdateIcpSelfAssessmentRequest(
        uscc=uscc, icp=icp), metadata=bearer("exporter", uscc=uscc))
    assert op.icp[0].evidence_refs == ["doc-1"]
    op = await env.stub.RecordIcpAudit(spb.RecordIcpAuditRequest(
        uscc=uscc, outcome=operator_pb2.ICP_AUDIT_OUTCOME_EFFECTIVE), metadata=MOFCOM)
    assert op.icp_audits[0].outcome == operator_pb2.ICP_AUDIT_OUTCOME_EFFECTIVE
    for authority in ("CAEA", "CWC", "SASTIND"):  # no application, no military qualification
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await env.stub.RecordIcpAudit(spb.RecordIcpAuditRequest(
                uscc=uscc, outcome=operator_pb2.ICP_AUDIT_OUTCOME_EFFECTIVE),
                metadata=bearer("officer", authority=authority))
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(exc.value) == "NOT_COMPETENT_AUTHORITY"
    evs = await env.log.wait_find("stc.licensing.v1.IcpAssessed", uscc, n=2)
    assert {e.parse(events_pb2.IcpAssessed).kind for e in evs} == {"self", "audit"}
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.RegisterOperator(spb.RegisterOperatorRequest(uscc=uscc, name_zh="x"),
                                        metadata=bearer("exporter", uscc=uscc))
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.GetOperator(spb.GetOperatorRequest(uscc="123"), metadata=MOFCOM)
    assert field_violations(exc.value)[0][0] == "uscc"



async def test_forged_or_unknown_credit_standings_go_to_the_dlq_and_the_ban_holds(
        env, h, kafka_bootstrap):
    """Issue 10 item 5: a standing is trusted only from the credit service on its own topic;
    one without as_of or with an unknown level is refused (fail closed, Art. 39)."""
    from stc_common.kafka.topics import CREDIT_STANDING, ENDUSER_CHANGE
    from stc_common.testing.kafka import TopicReader

    uscc = await env.operator()
    today = dt.date.today()
    ban_until = today + dt.timedelta(days=5 * 365)
    await env.publish(CREDIT_STANDING.name, uscc, credit.CreditStandingChanged(
        uscc=uscc, level=credit.STANDING_LEVEL_BANNED, active_records=1,
        ban_until=h.d(ban_until), record_ids=["rec-1"], as_of=h.d(today)))
    for _ in range(200):
        if await _count(env, "SELECT count(*) FROM credit_standing WHERE uscc = $1", uscc):
            break
        await asyncio.sleep(0.1)
    lifted = credit.CreditStandingChanged(uscc=uscc, level=credit.STANDING_LEVEL_GOOD,
                                          as_of=h.d(today + dt.timedelta(days=1)))
    unknown = credit.CreditStandingChanged(uscc=uscc, level=99,
                                           as_of=h.d(today + dt.timedelta(days=1)))
    undated = credit.CreditStandingChanged(uscc=uscc, level=credit.STANDING_LEVEL_GOOD)
    async with TopicReader(kafka_bootstrap, [CREDIT_STANDING.dlq, ENDUSER_CHANGE.dlq]) as dlq:
        forged = [
            await env.publish(ENDUSER_CHANGE.name, uscc, lifted),  # wrong topic
            await env.publish(CREDIT_STANDING.name, uscc, lifted, source="enduser"),
            await env.publish(CREDIT_STANDING.name, uscc, unknown),
            await env.publish(CREDIT_STANDING.name, uscc, undated),
        ]
        for eid in forged:
            await dlq.wait_match(lambda e, _k, eid=eid: e.id == eid, timeout=30)
    standing = await env.sql("SELECT level FROM credit_standing WHERE uscc = $1", uscc)
    assert [r["level"] for r in standing] == ["BANNED"]
    refused = await _refused(env, uscc, h.content(uscc))
    assert any(f == "exporter_uscc" and "Art. 39" in r for f, r in refused)
