"""The use cases (service/) over the in-memory fakes and a recording publisher, called as the
servicer calls them (no PostgreSQL, no Kafka): what they store, which events they emit, and
that every refusal writes nothing and publishes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.enduser.v1 import events_pb2 as eu
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.screening.v1 import events_pb2 as scr
from stc_common.auth.jwt import Authority
from stc_common.errors import AlreadyExists, NotFound, PermissionDenied, ValidationFailed
from stc_common.kafka.topics import APPLICATION, LICENCE, OPERATOR
from stc_licensing import service
from stc_licensing.domain import licence as dl
from stc_licensing.domain.clock import PauseKind
from stc_licensing.domain.errors import AmendmentRefused, IllegalTransition
from stc_licensing.domain.inputs import CreditLevel, CreditStanding
from stc_licensing.domain.model import ApplicationState as S

APPROVE = events_pb2.DECISION_APPROVE


async def _operator(b, uow, uscc=None):
    uscc = uscc or b.USCC
    await b.rpc.register_operator(uow=uow, p=b.exporter(uscc), req=spb.RegisterOperatorRequest(
        uscc=uscc, name_zh="北京某某科技有限公司", name_en="Beijing Example Co."))
    uow.events.clear()


async def _submit(b, uow, request_id="r-1", content=None):
    return await b.rpc.submit_application(uow=uow, p=b.exporter(), req=spb.SubmitApplicationRequest(
        request_id=request_id, content=content or b.content_pb()))


def _screened(app_id: str, hits=()) -> scr.ScreeningCompleted:
    return scr.ScreeningCompleted(screening_id="scr-1", subject_id=app_id,
                                  subject_kind=scr.SUBJECT_KIND_APPLICATION,
                                  exporter_uscc="", party_hits=list(hits))


async def _under_review(b, uow):
    await _operator(b, uow)
    app = await _submit(b, uow)
    assert await b.rpc.assess_application(uow=uow, msg=_screened(app.application_id))
    uow.events.clear()
    return app


async def _licence(b, uow) -> str:
    app = await _under_review(b, uow)
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app.application_id, decision=APPROVE))
    uow.events.clear()
    return r.licence.licence_id


# --------------------------------------------------------------------------- submit


async def test_register_operator_publishes_operator_registered(b):
    uow = b.FakeUnitOfWork()
    await b.rpc.register_operator(uow=uow, p=b.exporter(), req=spb.RegisterOperatorRequest(
        uscc=b.USCC, name_zh="北京某某科技有限公司"))
    assert [(t, k) for t, k, _ in uow.events] == [(OPERATOR.name, b.USCC)]
    with pytest.raises(AlreadyExists):
        await b.rpc.register_operator(uow=uow.after(), p=b.exporter(),
                                    req=spb.RegisterOperatorRequest(uscc=b.USCC, name_zh="x"))


async def test_submit_stores_screening_and_publishes_the_request_to_screen(b):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    app = await _submit(b, uow)
    assert app.state == apb.APPLICATION_STATE_SCREENING
    assert app.reference.startswith(f"MOFCOM-{service.common.today().year}-") and app.authority == "MOFCOM"
    assert app.working_days_remaining == 45 and app.HasField("deadline")
    assert [(t, k) for t, k, _ in uow.events] == [(APPLICATION.name, app.application_id)]
    ev = uow.of("ApplicationSubmitted")[0]
    assert ev.reference == app.reference and all(p.party_id for p in ev.content.parties)
    steps = uow.store.history[app.application_id]
    assert [s["state"] for s in steps] == ["SUBMITTED", "SCREENING"]


async def test_same_request_id_returns_the_same_application_and_publishes_once(b):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    first = await _submit(b, uow)
    before = uow.store.snapshot()
    again = await _submit(b, uow.after())
    assert again.application_id == first.application_id
    assert uow.store.snapshot() == before and len(uow.events) == 1
    with pytest.raises(AlreadyExists) as exc:
        await _submit(b, uow, content=b.content_pb(contract_reference="other"))
    assert exc.value.reason == "REQUEST_ID_REUSED" and exc.value.code == "ALREADY_EXISTS"
    assert exc.value.metadata == {"existing_id": first.application_id}
    assert uow.store.snapshot() == before and len(uow.events) == 1


@pytest.mark.parametrize("case,field", [
    ("bad_code", "items[0].control_code"),
    ("no_certificate", "end_user_certificate"),
    ("military_unqualified", "regime"),
    ("banned", "exporter_uscc"),
    ("unregistered", "exporter_uscc"),
    ("no_request_id", "request_id"),
])
async def test_every_rejected_submission_writes_nothing(b, case, field):
    uow = b.FakeUnitOfWork()
    if case != "unregistered":
        await _operator(b, uow)
    c = b.content_pb()
    request_id = "r-1"
    if case == "bad_code":
        c.items[0].control_code = "1C117.d!!"
    elif case == "no_certificate":
        c.ClearField("end_user_certificate")
    elif case == "military_unqualified":
        c.regime = apb.ITEM_REGIME_MILITARY
    elif case == "banned":
        await uow.standings.upsert(CreditStanding(
            uscc=b.USCC, level=CreditLevel.BANNED, active_record_count=1,
            ban_until=dt.date(2030, 1, 1)), None)
    elif case == "no_request_id":
        request_id = " "
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as exc:
        await _submit(b, uow, request_id=request_id, content=c)
    fields = [v.field for v in exc.value.violations]
    assert any(f.startswith(field) for f in fields), fields
    assert uow.store.snapshot() == before
    assert uow.events == []


# --------------------------------------------------------------------------- assessment


async def test_screening_completed_assesses_once(b):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    app = await _submit(b, uow)
    uow.events.clear()
    assert await b.rpc.assess_application(uow=uow, msg=_screened(app.application_id))
    row = uow.store.applications[app.application_id]
    assert row.state == S.UNDER_REVIEW
    assert uow.types() == ["ApplicationAssessed"]
    assessed = uow.of("ApplicationAssessed")[0]
    assert assessed.recommendation == events_pb2.RECOMMENDATION_GRANT
    assert len(uow.store.assessments) == 1
    kinds = [s["kind"] for s in uow.store.history[app.application_id]]
    assert kinds[-2:] == ["STATE_CHANGED", "ASSESSED"]
    body = await b.rpc.get_assessment(uow=uow, p=b.exporter(), application_id=app.application_id)
    assert body.policy_version == assessed.policy_version
    # a repeated or stale result changes nothing
    assert not await b.rpc.assess_application(uow=uow, msg=_screened(app.application_id))
    assert len(uow.events) == 1 and len(uow.store.assessments) == 1
    assert not await b.rpc.assess_application(uow=uow, msg=_screened("unknown"))


# --------------------------------------------------------------------------- decisions


async def test_approval_issues_a_licence_with_both_events(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app.application_id, decision=APPROVE))
    assert r.application.state == apb.APPLICATION_STATE_APPROVED
    assert uow.types() == ["ApplicationDecided", "LicenceIssued"]
    decided, issued = uow.of("ApplicationDecided")[0], uow.of("LicenceIssued")[0]
    assert decided.licence_id == issued.licence_id == r.licence.licence_id
    assert [t for t, _, _ in uow.events] == [APPLICATION.name, LICENCE.name]
    lic = uow.store.licences[r.licence.licence_id][0]
    assert lic.state == dl.LicenceState.ACTIVE and lic.application_id == app.application_id
    assert uow.store.applications[app.application_id].licence_id == lic.id


async def test_decisions_refused_write_nothing(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(NotFound):  # another authority does not see the case
        await b.rpc.decide_application(uow=uow, p=b.officer(Authority.SASTIND),
                                     req=spb.DecideApplicationRequest(
                                         application_id=app.application_id, decision=APPROVE))
    with pytest.raises(PermissionDenied):  # an exporter sees it but may not decide
        await b.rpc.decide_application(uow=uow, p=b.exporter(), req=spb.DecideApplicationRequest(
            application_id=app.application_id, decision=APPROVE))
    with pytest.raises(ValidationFailed):  # a denial states its reasons
        await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
            application_id=app.application_id, decision=events_pb2.DECISION_DENY))
    assert uow.store.snapshot() == before and uow.events == []


async def test_denial_then_one_reconsideration(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    deny = spb.DecideApplicationRequest(application_id=app.application_id,
                                        decision=events_pb2.DECISION_DENY, reasons=["no"])
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=deny)
    assert r.application.state == apb.APPLICATION_STATE_DENIED and not r.HasField("licence")
    assert uow.types() == ["ApplicationDecided"]
    again = spb.RequestReconsiderationRequest(application_id=app.application_id, grounds="g")
    await b.rpc.request_reconsideration(uow=uow, p=b.exporter(), req=again)
    await b.rpc.decide_application(uow=uow, p=b.officer(), req=deny)
    with pytest.raises(IllegalTransition):  # Art. 41: the reconsideration decision is final
        await b.rpc.request_reconsideration(uow=uow, p=b.exporter(), req=again)


# --------------------------------------------------------------------------- information


async def test_information_request_pauses_the_clock_and_amendment_resumes_it(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    asked = await b.rpc.request_information(uow=uow, p=b.officer(),
                                          req=spb.RequestInformationRequest(
                                              application_id=app.application_id,
                                              questions=["Who installs the goods?"]))
    assert asked.state == apb.APPLICATION_STATE_INFORMATION_REQUESTED and asked.clock_paused
    row = uow.store.applications[app.application_id]
    assert [(p.end, p.kind) for p in row.pauses] == [(None, PauseKind.INFORMATION_REQUEST)]
    assert uow.types() == ["InformationRequested"]
    assert uow.of("InformationRequested")[0].questions == ["Who installs the goods?"]
    amended = await b.rpc.amend_application(uow=uow, p=b.exporter(), req=spb.AmendApplicationRequest(
        application_id=app.application_id, answer="our engineers",
        content=b.content_pb(contract_reference="C-2026-001-rev1")))
    assert amended.state == apb.APPLICATION_STATE_SCREENING and not amended.clock_paused
    assert uow.store.applications[app.application_id].pauses[0].end == service.common.today()
    ev = uow.of("ApplicationAmended")[0]
    assert ev.answer == "our engineers" and ev.content.contract_reference == "C-2026-001-rev1"


async def test_amendment_changing_a_key_element_is_refused_and_writes_nothing(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
        application_id=app.application_id, questions=["q"]))
    uow.events.clear()
    before = uow.store.snapshot()
    with pytest.raises(AmendmentRefused) as exc:
        await b.rpc.amend_application(uow=uow, p=b.exporter(), req=spb.AmendApplicationRequest(
            application_id=app.application_id, content=b.content_pb(destination="FR"),
            answer="moved"))
    assert list(exc.value.fields) == ["destination"] and exc.value.message.startswith("re-apply")
    assert uow.store.snapshot() == before and uow.events == []


async def test_submit_and_amend_refuse_the_same_content_with_the_same_error(b):
    """One validation for both (issue 13): a blank end-use statement is the same
    INVALID_ARGUMENT with the same field, whether submitted or sent as an amendment."""
    bad = b.content_pb()
    bad.end_use.statement = " "
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    with pytest.raises(ValidationFailed) as on_submit:
        await _submit(b, uow, request_id="r-bad", content=bad)
    await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
        application_id=app.application_id, questions=["q"]))
    uow.events.clear()
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as on_amend:
        await b.rpc.amend_application(uow=uow, p=b.exporter(), req=spb.AmendApplicationRequest(
            application_id=app.application_id, content=bad, answer="a"))
    assert type(on_amend.value) is type(on_submit.value) is ValidationFailed
    assert on_amend.value.violations == on_submit.value.violations
    assert [v.field for v in on_amend.value.violations] == ["end_use.statement"]
    assert uow.store.snapshot() == before and uow.events == []


async def test_request_information_only_by_the_competent_authority(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed):
        await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
            application_id=app.application_id, questions=[" "]))
    with pytest.raises(NotFound):
        await b.rpc.request_information(uow=uow, p=b.officer(Authority.CAEA),
                                      req=spb.RequestInformationRequest(
                                          application_id=app.application_id, questions=["q"]))
    assert uow.store.snapshot() == before and uow.events == []


# --------------------------------------------------------------------------- withdraw


async def test_withdraw_then_nothing_more(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    with pytest.raises(NotFound):  # another exporter
        await b.rpc.withdraw_application(uow=uow, p=b.exporter(b.make_uscc("91110000MA01WXY01")),
                                       req=spb.WithdrawApplicationRequest(
                                           application_id=app.application_id))
    done = await b.rpc.withdraw_application(uow=uow, p=b.exporter(),
                                          req=spb.WithdrawApplicationRequest(
                                              application_id=app.application_id, reason="moot"))
    assert done.state == apb.APPLICATION_STATE_WITHDRAWN
    assert uow.types() == ["ApplicationWithdrawn"]
    with pytest.raises(IllegalTransition):
        await b.rpc.withdraw_application(uow=uow, p=b.exporter(),
                                       req=spb.WithdrawApplicationRequest(
                                           application_id=app.application_id))
    assert len(uow.events) == 1


# --------------------------------------------------------------------------- consumers


def _match(kind, subject_id: str) -> scr.RescreeningMatch:
    return scr.RescreeningMatch(subject_id=subject_id, subject_kind=kind, hit=scr.PartyHit(
        party_id="p1", party_name="Werk Ulm", list_kind=scr.LIST_KIND_WATCH_LIST,
        entry_id="WL-9", entry_name="Werk Ulm"))


async def test_rescreening_match_suspends_a_licence(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_LICENCE, lic_id))
    assert uow.store.licences[lic_id][0].state == dl.LicenceState.SUSPENDED
    ev = uow.of("LicenceSuspended")[0]
    assert (ev.source, ev.source_id) == ("rescreening", "WL-9")
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_LICENCE, lic_id))
    assert len(uow.events) == 1  # already suspended


async def test_rescreening_match_on_an_application_that_became_a_licence_suspends_it(b):
    # the list change was screened before screening consumed LicenceIssued: the hit names
    # the application, the licence issued from it is suspended, and only once
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    app_id = next(iter(uow.store.applications))
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_APPLICATION, app_id))
    assert uow.store.licences[lic_id][0].state == dl.LicenceState.SUSPENDED
    assert uow.types() == ["LicenceSuspended"]
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_LICENCE, lic_id))
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_APPLICATION, app_id))
    assert uow.types() == ["LicenceSuspended"]


async def test_rescreening_match_flags_a_pending_application_only(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_APPLICATION,
                                                       app.application_id))
    row = uow.store.applications[app.application_id]
    assert len(row.flags) == 1 and "WL-9" in row.flags[0]
    assert uow.types() == ["ApplicationFlagged"]
    assert uow.store.history[app.application_id][-1]["kind"] == "FLAGGED"
    await b.rpc.withdraw_application(uow=uow, p=b.exporter(), req=spb.WithdrawApplicationRequest(
        application_id=app.application_id))
    uow.events.clear()
    await b.rpc.on_rescreening_match(uow=uow, msg=_match(scr.SUBJECT_KIND_APPLICATION,
                                                       app.application_id))
    assert uow.events == []


async def test_change_reported_holds_and_resolution_suspends(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    await b.rpc.on_change_reported(uow=uow, msg=eu.ChangeReported(
        report_id="rep-1", licence_id=lic_id, hold_licence=True))
    assert "rep-1" in uow.store.licences[lic_id][0].holds
    assert uow.types() == ["LicenceHeld"]
    await b.rpc.on_change_reported(uow=uow, msg=eu.ChangeReported(
        report_id="rep-1", licence_id=lic_id, hold_licence=True))
    assert uow.types() == ["LicenceHeld"]  # the same report holds once
    await b.rpc.on_change_resolved(uow=uow, msg=eu.ChangeResolved(
        report_id="rep-1", licence_id=lic_id, resolution=eu.RESOLUTION_KIND_SUSPEND_LICENCE,
        reasons=["end user changed"]))
    lic = uow.store.licences[lic_id][0]
    assert not lic.holds and lic.state == dl.LicenceState.SUSPENDED
    assert uow.types() == ["LicenceHeld", "LicenceHoldReleased", "LicenceSuspended"]


async def test_change_resolved_requiring_reapplication_revokes(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    await b.rpc.on_change_resolved(uow=uow, msg=eu.ChangeResolved(
        report_id="rep-2", licence_id=lic_id,
        resolution=eu.RESOLUTION_KIND_REQUIRE_REAPPLICATION))
    assert uow.store.licences[lic_id][0].state == dl.LicenceState.REVOKED
    assert uow.of("LicenceRevoked")[0].reason.startswith("re-apply")


async def test_end_use_check_suspends_only_when_asked(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    await b.rpc.on_end_use_check_completed(uow=uow, msg=eu.EndUseCheckCompleted(
        check_id="chk-1", licence_id=lic_id, outcome=eu.CHECK_OUTCOME_VERIFIED))
    assert uow.events == [] and uow.store.licences[lic_id][0].state == dl.LicenceState.ACTIVE
    await b.rpc.on_end_use_check_completed(uow=uow, msg=eu.EndUseCheckCompleted(
        check_id="chk-2", licence_id=lic_id, outcome=eu.CHECK_OUTCOME_DIVERTED,
        details="goods found in a third country", suspend_licence=True))
    assert uow.store.licences[lic_id][0].state == dl.LicenceState.SUSPENDED
    ev = uow.of("LicenceSuspended")[0]
    assert (ev.source, ev.source_id) == ("enduser", "chk-2")


async def test_credit_standing_projection_keeps_the_newer(b):
    from google.type import date_pb2
    from stc.credit.v1 import events_pb2 as credit
    uow = b.FakeUnitOfWork()
    newer = date_pb2.Date(year=2026, month=3, day=2)
    older = date_pb2.Date(year=2026, month=1, day=2)
    await b.rpc.on_credit_standing(uow=uow, msg=credit.CreditStandingChanged(
        uscc=b.USCC, level=3, active_records=2, as_of=newer))
    await b.rpc.on_credit_standing(uow=uow, msg=credit.CreditStandingChanged(
        uscc=b.USCC, level=1, as_of=older))
    assert (await uow.standings.get(b.USCC)).level == CreditLevel.PENALISED


# --------------------------------------------------------------------------- ticker


async def test_breach_reported_once(b):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    uow.store.applications[app.application_id].accepted_on = dt.date(2025, 1, 2)
    assert await service.mark_breach(uow=uow, application_id=app.application_id,
                                 as_of=service.common.today())
    assert not await service.mark_breach(uow=uow, application_id=app.application_id,
                                     as_of=service.common.today())
    assert uow.types() == ["DeadlineBreached"]
    assert uow.store.history[app.application_id][-1]["kind"] == "DEADLINE_BREACHED"
