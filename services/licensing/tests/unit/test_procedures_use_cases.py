"""The use cases of issue 11 items 1, 2 and 4 (service/procedures.py) called with their
commands over the in-memory fakes: the Reg. 26 time-limit exemption, officer discretion and
the decision guards (Arts. 18, 23, 24, 39), State Council / CMC referrals (Reg. 17, Art. 24),
Art. 24 approvals and the acceptance step (Reg. 17). Each asserts what was stored
(`uow.procedures`, the application row, decision records), what was published, and that a
refusal stored and published nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.screening.v1 import events_pb2 as screening
from stc_common.errors import FailedPrecondition, NotFound, PermissionDenied, ValidationFailed
from stc_common.kafka.topics import APPLICATION
from stc_licensing import service
from stc_licensing.api import mapping
from stc_licensing.domain.clock import PauseKind, open_pause
from stc_licensing.domain.discretion import Judgement, Verdict
from stc_licensing.domain.model import ApplicationState
from stc_licensing.domain.procedures import MilitaryApprovalKind, ReferralBody
from stc_licensing.domain.states import Action
from stc_licensing.events import handlers
from stc_licensing.service import commands, procedures


async def _submitted(b, uow) -> str:
    await service.register_operator(uow=uow, caller=b.exporter(), cmd=commands.RegisterOperator(
        b.USCC, "北京某某科技有限公司", "Beijing Example Co."))
    view = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit())
    uow.events.clear()
    return view.application.id


async def _screened(b, uow, app_id: str, *hits: screening.PartyHit) -> None:
    msg = screening.ScreeningCompleted(screening_id="scr-1", subject_id=app_id,
                                       subject_kind=screening.SUBJECT_KIND_APPLICATION,
                                       party_hits=list(hits))
    cmd = handlers.assess_command(msg)
    assert cmd is not None and await service.assess_application(uow=uow, cmd=cmd)
    uow.events.clear()


async def _under_review(b, uow, *hits: screening.PartyHit) -> str:
    app_id = await _submitted(b, uow)
    await _screened(b, uow, app_id, *hits)
    return app_id


def _watch_hit() -> screening.PartyHit:
    return screening.PartyHit(party_id="p1", party_role=common_pb2.PARTY_ROLE_END_USER,
                              list_kind=screening.LIST_KIND_WATCH_LIST, entry_id="w-1",
                              entry_name="Müller Präzision GmbH Werk Ulm", score=0.97,
                              decision=screening.HIT_DECISION_MATCH)


def _unchanged(uow, before) -> None:
    assert uow.store.snapshot() == before and uow.events == []


# --------------------------------------------------------------------------- Reg. 26


async def test_a_watch_listed_party_frees_the_case_from_the_time_limit(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow, _watch_hit())
    assert "Reg. 26" in uow.store.procedures[app_id].time_limit_exemption
    view = await procedures.get_application(uow=uow, caller=b.officer(),
                                            cmd=commands.GetApplication(app_id))
    pb = mapping.application(view)
    assert pb.time_limit_exemption and not pb.HasField("deadline")
    assert pb.working_days_remaining == 0
    far = service.common.today() + dt.timedelta(days=400)
    assert not await service.warn_deadline(uow=uow, application_id=app_id, as_of=far)
    assert not await service.mark_breach(uow=uow, application_id=app_id, as_of=far)
    assert uow.events == [] and not uow.store.applications[app_id].breach_reported


async def test_a_clean_case_keeps_its_deadline_and_is_breached_in_time(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    assert app_id not in uow.store.procedures
    pb = mapping.application(await procedures.get_application(
        uow=uow, caller=b.officer(), cmd=commands.GetApplication(app_id)))
    assert pb.HasField("deadline") and not pb.time_limit_exemption
    far = service.common.today() + dt.timedelta(days=400)
    assert await service.mark_breach(uow=uow, application_id=app_id, as_of=far)
    assert uow.types() == ["DeadlineBreached"]


# --------------------------------------------------------------------------- referrals


async def test_referral_stops_the_clock_blocks_the_decision_and_ends(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    view = await service.refer_application(uow=uow, caller=b.officer(), cmd=commands.ReferApplication(
        app_id, ReferralBody.STATE_COUNCIL, " national security question "))
    assert view.procedures is not None and view.procedures.referral is not None
    assert view.procedures.referral.reason == "national security question"
    row = uow.store.applications[app_id]
    assert open_pause(row.pauses, PauseKind.REFERRAL) is not None
    assert uow.types() == ["ApplicationReferred"]
    topic, key, msg = uow.events[0]
    assert (topic, key) == (APPLICATION.name, app_id)
    assert msg.referral.body == apb.REFERRAL_BODY_STATE_COUNCIL
    assert mapping.application(view).referral.officer == "officer-1"
    uow.events.clear()

    before = uow.store.snapshot()
    with pytest.raises(FailedPrecondition) as err:
        await service.decide_application(uow=uow, caller=b.officer(),
                                         cmd=commands.DecideApplication(app_id, Action.APPROVE))
    assert err.value.reason == "REFERRAL_OPEN"
    _unchanged(uow, before)

    view = await service.end_referral(uow=uow, caller=b.officer(),
                                      cmd=commands.EndReferral(app_id, "approve"))
    assert view.procedures is not None and view.procedures.referral is not None
    assert view.procedures.referral.outcome == "approve"
    assert open_pause(uow.store.applications[app_id].pauses, PauseKind.REFERRAL) is None
    assert uow.types() == ["ReferralEnded"]
    uow.events.clear()
    before = uow.store.snapshot()
    with pytest.raises(FailedPrecondition) as err:
        await service.end_referral(uow=uow, caller=b.officer(),
                                   cmd=commands.EndReferral(app_id, "again"))
    assert err.value.reason == "NO_REFERRAL"
    _unchanged(uow, before)


@pytest.mark.parametrize("cmd_of,fields,reason", [
    (lambda a: commands.ReferApplication(a, None, ""), {"body", "reason"}, None),
    (lambda a: commands.ReferApplication(a, ReferralBody.STATE_COUNCIL_AND_CMC, "why"), None,
     "REFERRAL_BODY_FOR_REGIME"),
    (lambda a: commands.EndReferral(a, " "), {"outcome"}, None),
    (lambda a: commands.RecordMilitaryApproval(a, None, ""), {"kind", "document_ref"}, None),
    (lambda a: commands.RecordMilitaryApproval(a, MilitaryApprovalKind.CONTRACT, "K-1"), None,
     "NOT_MILITARY"),
])
async def test_procedure_refusals_name_the_field_or_reason_and_write_nothing(
        b, cmd_of, fields, reason):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    cmd = cmd_of(app_id)
    use_case = {commands.ReferApplication: service.refer_application,
                commands.EndReferral: service.end_referral,
                commands.RecordMilitaryApproval: service.record_military_approval}[type(cmd)]
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed if fields else FailedPrecondition) as err:
        await use_case(uow=uow, caller=b.officer(), cmd=cmd)
    if fields:
        assert {v.field for v in err.value.violations} == fields
    else:
        assert err.value.reason == reason
    _unchanged(uow, before)


async def test_only_the_competent_officer_refers(b):
    from stc_common.auth.jwt import Authority
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(NotFound):
        await service.refer_application(
            uow=uow, caller=b.officer(Authority.SASTIND),
            cmd=commands.ReferApplication(app_id, ReferralBody.STATE_COUNCIL, "why"))
    with pytest.raises(PermissionDenied):
        await service.refer_application(
            uow=uow, caller=b.exporter(),
            cmd=commands.ReferApplication(app_id, ReferralBody.STATE_COUNCIL, "why"))
    _unchanged(uow, before)


# --------------------------------------------------------------------------- discretion


async def test_a_decision_records_the_recommendation_and_the_judgements(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow, _watch_hit())
    findings = await _finding_codes(uow, app_id)
    assert findings, "a watch-list match yields findings to judge"
    code = findings[0]
    decision = await service.decide_application(
        uow=uow, caller=b.officer(), cmd=commands.DecideApplication(
            app_id, Action.DENY, reasons=("watch-listed end user",),
            judgements=(Judgement(code, Verdict.ACCEPTED, "confirmed"),)))
    assert decision.application.application.state == ApplicationState.DENIED
    assert {j.code for j in decision.judgements} == set(findings)
    [record] = uow.store.decisions
    assert record.application_id == app_id and record.decision == "DECISION_DENY"
    assert record.recommendation.startswith("RECOMMENDATION_")
    assert record.recommendation != "RECOMMENDATION_UNSPECIFIED"
    [event] = uow.of("ApplicationDecided")
    assert [j.code for j in event.judgements] == [j.code for j in decision.judgements]
    assert event.recommendation != 0
    pb = mapping.decision(decision)
    assert len(pb.judgements) == len(findings)


async def test_judgements_of_unknown_or_unreasoned_findings_are_refused(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow, _watch_hit())
    code = (await _finding_codes(uow, app_id))[0]
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as err:
        await service.decide_application(
            uow=uow, caller=b.officer(), cmd=commands.DecideApplication(
                app_id, Action.DENY, reasons=("r",),
                judgements=(Judgement("NO_SUCH", Verdict.ACCEPTED),
                            Judgement(code, Verdict.OVERRIDDEN, " "))))
    assert {v.field for v in err.value.violations} == {"finding_judgements[0].code",
                                                       "finding_judgements[1].reason"}
    _unchanged(uow, before)


async def _finding_codes(uow, app_id: str) -> list[str]:
    from stc_licensing import wire
    body = await uow.assessments.latest(app_id)
    return [code for code, _ in wire.assessment_summary(body).findings]


# --------------------------------------------------------------------------- acceptance step


async def test_return_then_resubmit_starts_the_clock_on_the_resubmission_day(b, monkeypatch):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as err:
        await service.return_application(uow=uow, caller=b.officer(),
                                         cmd=commands.ReturnApplication(app_id, (" ",)))
    assert [v.field for v in err.value.violations] == ["missing_materials"]
    _unchanged(uow, before)

    view = await service.return_application(
        uow=uow, caller=b.officer(),
        cmd=commands.ReturnApplication(app_id, ("end-user certificate translation",)))
    assert view.application.state == ApplicationState.RETURNED
    pb = mapping.application(view)
    assert pb.state == apb.APPLICATION_STATE_RETURNED and not pb.HasField("deadline")
    assert list(pb.acceptance.missing_materials) == ["end-user certificate translation"]
    assert uow.types() == ["ApplicationReturned"]
    uow.events.clear()

    later = service.common.today() + dt.timedelta(days=7)
    monkeypatch.setattr(service.common, "today", lambda: later)
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed):
        await service.resubmit_application(uow=uow, caller=b.exporter(),
                                           cmd=commands.ResubmitApplication(app_id, "n"))
    _unchanged(uow, before)
    full = b.submit()
    view = await service.resubmit_application(
        uow=uow, caller=b.exporter(), cmd=commands.ResubmitApplication(
            app_id, "translation attached", full.content, full.content_json))
    row = uow.store.applications[app_id]
    assert row.state == ApplicationState.SCREENING and row.accepted_on == later
    assert uow.types() == ["ApplicationAmended", "ApplicationResubmitted"]
    assert uow.of("ApplicationResubmitted")[0].accepted_on.day == later.day
    assert view.clock.deadline is not None and view.clock.deadline > later


async def test_accept_once_and_no_return_after_acceptance(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    view = await service.accept_application(uow=uow, caller=b.officer(),
                                            cmd=commands.AcceptApplication(app_id))
    assert view.procedures is not None and view.procedures.acceptance.accepted_by == "officer-1"
    [accepted] = uow.of("ApplicationAccepted")
    assert accepted.HasField("deadline") and accepted.acceptance.accepted_by == "officer-1"
    uow.events.clear()
    before = uow.store.snapshot()
    with pytest.raises(FailedPrecondition) as err:
        await service.accept_application(uow=uow, caller=b.officer(),
                                         cmd=commands.AcceptApplication(app_id))
    assert err.value.reason == "ALREADY_ACCEPTED"
    with pytest.raises(FailedPrecondition) as err:
        await service.return_application(uow=uow, caller=b.officer(),
                                         cmd=commands.ReturnApplication(app_id, ("x",)))
    assert err.value.reason == "ALREADY_ACCEPTED"
    _unchanged(uow, before)
