"""Use cases around the Reg. 17 clock over the in-memory fakes, with `today` moved by the test:
expert review pausing the clock, the officer's review queue, answer-only amendments and the
DeadlineApproaching warning."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.auth.jwt import Authority
from stc_common.errors import FailedPrecondition, NotFound, PermissionDenied
from stc_common.workdays import add_working_days, working_days_between
from stc_licensing import service
from stc_licensing.domain.clock import PauseKind

MON = dt.date(2026, 3, 2)  # accepted on a Monday (no holiday in the weeks that follow)


async def _under_review(b, uow, request_id="r-1"):
    app = await b.assessed_application(uow, request_id=request_id)
    uow.events.clear()
    return app


def _start(app_id, reason="classification of the sintering furnace"):
    return spb.StartExpertReviewRequest(application_id=app_id, reason=reason)


async def test_expert_review_stops_the_clock_and_moves_the_deadline(b, clock):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    assert app.working_days_remaining == 45
    first_deadline = add_working_days(MON, 45).date
    clock(dt.date(2026, 3, 4))  # Wednesday: 2 working days used
    started = await b.rpc.start_expert_review(uow=uow, p=b.officer(), req=_start(app.application_id))
    assert started.clock_paused and started.under_expert_review
    assert started.state == apb.APPLICATION_STATE_UNDER_REVIEW
    assert (started.working_days_used, started.working_days_remaining) == (2, 43)
    assert uow.types() == ["ExpertReviewStarted"]
    assert uow.of("ExpertReviewStarted")[0].reason.startswith("classification")
    clock(dt.date(2026, 3, 11))  # a week later: Thu, Fri, Mon, Tue, Wed did not count
    during = await b.rpc.get_application(uow=uow, p=b.officer(), application_id=app.application_id)
    assert during.clock_paused and during.working_days_used == 2
    ended = await b.rpc.end_expert_review(uow=uow, p=b.officer(), req=spb.EndExpertReviewRequest(
        application_id=app.application_id, outcome="controlled under 1C117.d"))
    assert not ended.clock_paused and not ended.under_expert_review
    assert (ended.working_days_used, ended.working_days_remaining) == (2, 43)
    new_deadline = add_working_days(MON, 50).date
    assert (ended.deadline.year, ended.deadline.month, ended.deadline.day) == (
        new_deadline.year, new_deadline.month, new_deadline.day)
    assert new_deadline > first_deadline
    ev = uow.of("ExpertReviewEnded")[0]
    assert ev.paused_working_days == 5 and ev.outcome == "controlled under 1C117.d"
    assert ev.deadline == ended.deadline
    row = uow.store.applications[app.application_id]
    assert [(p.start, p.end, p.kind) for p in row.pauses] == [
        (dt.date(2026, 3, 4), dt.date(2026, 3, 11), PauseKind.EXPERT_REVIEW)]
    assert row.deadline == new_deadline  # the stored deadline orders the review queue
    kinds = [s["kind"] for s in uow.store.history[app.application_id]]
    assert kinds[-2:] == ["EXPERT_REVIEW_STARTED", "EXPERT_REVIEW_ENDED"]
    clock(dt.date(2026, 3, 12))
    later = await b.rpc.get_application(uow=uow, p=b.officer(), application_id=app.application_id)
    assert later.working_days_used == 3  # the clock runs again the next working day


async def test_expert_review_only_by_the_competent_authority_and_once_at_a_time(b, clock):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(NotFound):
        await b.rpc.start_expert_review(uow=uow, p=b.officer(Authority.SASTIND),
                                      req=_start(app.application_id))
    with pytest.raises(PermissionDenied):
        await b.rpc.start_expert_review(uow=uow, p=b.exporter(), req=_start(app.application_id))
    with pytest.raises(FailedPrecondition) as exc:
        await b.rpc.end_expert_review(uow=uow, p=b.officer(), req=spb.EndExpertReviewRequest(
            application_id=app.application_id))
    assert exc.value.reason == "NO_EXPERT_REVIEW"
    assert uow.store.snapshot() == before and uow.events == []
    await b.rpc.start_expert_review(uow=uow, p=b.officer(), req=_start(app.application_id))
    with pytest.raises(FailedPrecondition) as exc:
        await b.rpc.start_expert_review(uow=uow, p=b.officer(), req=_start(app.application_id))
    assert exc.value.reason == "EXPERT_REVIEW_OPEN"
    assert len(uow.events) == 1


async def test_expert_review_needs_a_case_under_review(b, clock):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
        application_id=app.application_id, questions=["q"]))
    with pytest.raises(FailedPrecondition) as exc:
        await b.rpc.start_expert_review(uow=uow, p=b.officer(), req=_start(app.application_id))
    assert exc.value.reason == "ILLEGAL_TRANSITION"


async def test_a_decision_closes_an_open_expert_review(b, clock):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    await b.rpc.start_expert_review(uow=uow, p=b.officer(), req=_start(app.application_id))
    clock(dt.date(2026, 3, 6))
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE))
    assert not r.application.clock_paused and not r.application.under_expert_review
    assert uow.store.applications[app.application_id].pauses[0].end == dt.date(2026, 3, 6)


async def test_review_queue_holds_what_awaits_an_officer_oldest_deadline_first(b, clock):
    uow = b.FakeUnitOfWork()
    late = await _under_review(b, uow, "late")
    clock(dt.date(2026, 2, 23))  # accepted a week earlier: the older deadline
    early = await _under_review(b, uow, "early")
    asked = await _under_review(b, uow, "asked")
    await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
        application_id=asked.application_id, questions=["q"]))
    screening = await b.rpc.submit_application(uow=uow, p=b.exporter(),
                                             req=spb.SubmitApplicationRequest(
                                                 request_id="screening", content=b.content_pb()))
    clock(MON)
    queue = await b.rpc.list_review_queue(uow=uow, p=b.officer(),
                                        req=spb.ListReviewQueueRequest())
    assert [a.application_id for a in queue.applications] == [early.application_id,
                                                              late.application_id]
    assert [a.working_days_remaining for a in queue.applications] == [
        45 - working_days_between(dt.date(2026, 2, 23), MON), 45]
    both = await b.rpc.list_review_queue(uow=uow, p=b.officer(), req=spb.ListReviewQueueRequest(
        states=[apb.APPLICATION_STATE_INFORMATION_REQUESTED, apb.APPLICATION_STATE_UNDER_REVIEW]))
    ids = [a.application_id for a in both.applications]
    assert set(ids) == {early.application_id, late.application_id, asked.application_id}
    assert screening.application_id not in ids
    other = await b.rpc.list_review_queue(uow=uow, p=b.officer(Authority.CAEA),
                                        req=spb.ListReviewQueueRequest())
    assert not other.applications
    from stc_common.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        await b.rpc.list_review_queue(uow=uow, p=b.officer(), req=spb.ListReviewQueueRequest(
            states=[apb.APPLICATION_STATE_APPROVED]))


@pytest.mark.parametrize("resend_content", [False, True])
async def test_answer_only_amendment_resumes_the_clock_without_rescreening(b, clock,
                                                                           resend_content):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    clock(dt.date(2026, 3, 4))
    await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
        application_id=app.application_id, questions=["Who installs the goods?"]))
    uow.events.clear()
    content_before = uow.store.applications[app.application_id].content
    clock(dt.date(2026, 3, 11))
    req = spb.AmendApplicationRequest(application_id=app.application_id,
                                      answer="our own engineers install")
    if resend_content:  # what a client that always sends the content does
        req.content.CopyFrom(b.content_pb())
    answered = await b.rpc.amend_application(uow=uow, p=b.exporter(), req=req)
    assert answered.state == apb.APPLICATION_STATE_UNDER_REVIEW and not answered.clock_paused
    assert answered.working_days_used == 2
    assert (answered.deadline.year, answered.deadline.month, answered.deadline.day) == \
        add_working_days(MON, 50).date.timetuple()[:3]
    assert uow.types() == ["InformationProvided"]  # no ApplicationAmended: nothing to screen
    assert uow.of("InformationProvided")[0].answer == "our own engineers install"
    steps = uow.store.history[app.application_id]
    assert steps[-1]["kind"] == "INFORMATION_PROVIDED" and "own engineers" in steps[-1]["note"]
    row = uow.store.applications[app.application_id]
    assert row.content == content_before
    assert row.pauses[0].end == dt.date(2026, 3, 11)
    # the officer can decide at once
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE))
    assert r.application.state == apb.APPLICATION_STATE_APPROVED


async def test_an_amendment_needs_an_answer_or_changed_content(b, clock):
    from stc_common.errors import ValidationFailed
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    await b.rpc.request_information(uow=uow, p=b.officer(), req=spb.RequestInformationRequest(
        application_id=app.application_id, questions=["q"]))
    uow.events.clear()
    before = uow.store.snapshot()
    with pytest.raises(ValidationFailed) as exc:
        await b.rpc.amend_application(uow=uow, p=b.exporter(), req=spb.AmendApplicationRequest(
            application_id=app.application_id, answer="  "))
    assert [v.field for v in exc.value.violations] == ["answer"]
    assert uow.store.snapshot() == before and uow.events == []
    # changed non-key content is screened again
    changed = await b.rpc.amend_application(uow=uow, p=b.exporter(),
                                          req=spb.AmendApplicationRequest(
                                              application_id=app.application_id,
                                              content=b.content_pb(contract_reference="rev2")))
    assert changed.state == apb.APPLICATION_STATE_SCREENING and not changed.clock_paused
    assert uow.types() == ["ApplicationAmended"]


async def test_deadline_approaching_once_when_five_working_days_are_left(b, clock):
    uow = b.FakeUnitOfWork()
    app = await _under_review(b, uow)
    app_id = app.application_id
    six_left, five_left = add_working_days(MON, 39).date, add_working_days(MON, 40).date
    assert not await service.warn_deadline(uow=uow, application_id=app_id, as_of=six_left)
    assert uow.events == []
    assert await service.warn_deadline(uow=uow, application_id=app_id, as_of=five_left)
    assert not await service.warn_deadline(uow=uow, application_id=app_id, as_of=five_left)
    assert uow.types() == ["DeadlineApproaching"]
    ev = uow.of("DeadlineApproaching")[0]
    assert ev.working_days_remaining == 5 and ev.authority == "MOFCOM"
    deadline = add_working_days(MON, 45).date
    assert (ev.deadline.year, ev.deadline.month, ev.deadline.day) == deadline.timetuple()[:3]
    assert uow.store.history[app_id][-1]["kind"] == "DEADLINE_APPROACHING"
    clock(five_left)
    queue = await b.rpc.list_review_queue(uow=uow, p=b.officer(), req=spb.ListReviewQueueRequest())
    assert [a.working_days_remaining for a in queue.applications] == [5]
    # the breach is still reported on its own
    assert await service.mark_breach(uow=uow, application_id=app_id,
                                 as_of=add_working_days(MON, 46).date)
    assert uow.types() == ["DeadlineApproaching", "DeadlineBreached"]


async def test_no_warning_while_the_clock_is_stopped_or_after_a_breach(b, clock):
    uow = b.FakeUnitOfWork()
    paused = await _under_review(b, uow, "paused")
    await b.rpc.start_expert_review(uow=uow, p=b.officer(), req=_start(paused.application_id))
    breached = await _under_review(b, uow, "breached")
    uow.events.clear()
    late = add_working_days(MON, 50).date
    assert not await service.warn_deadline(uow=uow, application_id=paused.application_id,
                                       as_of=late)
    assert not await service.warn_deadline(uow=uow, application_id=breached.application_id,
                                       as_of=late)
    assert uow.events == []
