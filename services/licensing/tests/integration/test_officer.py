"""The officer's side of the Reg. 17 clock over the running service (real gRPC, Kafka and
PostgreSQL): expert review pausing the clock, the review queue, answer-only amendments and
the DeadlineApproaching warning."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import grpc
import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.kafka.topics import APPLICATION
from stc_common.testing.service import bearer
from stc_common.workdays import add_working_days, working_days_between
from stc_licensing import service as svc

pytestmark = pytest.mark.integration
MOFCOM = bearer("officer", authority="MOFCOM")


def _date(d) -> dt.date:
    return dt.date(d.year, d.month, d.day)


async def _under_review(env, h, uscc=None):
    uscc = uscc or await env.operator()
    app = await env.submit(uscc)
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    return uscc, app


async def _history(env, app_id: str, uscc: str, until_kind: int, timeout: float = 10):
    stream = env.stub.WatchApplication(spb.WatchApplicationRequest(application_id=app_id),
                                       metadata=bearer("exporter", uscc=uscc))
    seen = []

    async def collect():
        async for u in stream:
            seen.append(u)
            if u.kind == until_kind:
                return

    try:
        await asyncio.wait_for(collect(), timeout)
    finally:
        stream.cancel()
    return seen


async def test_expert_review_pauses_the_clock(env, h):
    t0 = time.monotonic()
    uscc, app = await _under_review(env, h)
    app_id = app.application_id
    req = spb.StartExpertReviewRequest(application_id=app_id, reason="classification of item 1")
    for md, code in ((bearer("officer", authority="SASTIND"), grpc.StatusCode.NOT_FOUND),
                     (bearer("exporter", uscc=uscc), grpc.StatusCode.PERMISSION_DENIED)):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await env.stub.StartExpertReview(req, metadata=md)
        assert exc.value.code() == code
    started = await env.stub.StartExpertReview(req, metadata=MOFCOM)
    assert started.clock_paused and started.under_expert_review
    assert started.state == apb.APPLICATION_STATE_UNDER_REVIEW
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.StartExpertReview(req, metadata=MOFCOM)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    # As if accepted 30 days ago and sent to the experts 14 days ago.
    today = svc.common.today()
    accepted, review_from = today - dt.timedelta(days=30), today - dt.timedelta(days=14)
    await env.sql("UPDATE applications SET accepted_on = $2, pauses = $3::jsonb WHERE id = $1",
                  app_id, accepted, json.dumps([{"start": review_from.isoformat(), "end": None,
                                                 "kind": "EXPERT_REVIEW"}]))
    during = await env.stub.GetApplication(spb.GetApplicationRequest(application_id=app_id),
                                           metadata=MOFCOM)
    used = working_days_between(accepted, review_from)
    paused = working_days_between(review_from, today)
    assert paused >= 8 and during.clock_paused
    assert (during.working_days_used, during.working_days_remaining) == (used, 45 - used)

    ended = await env.stub.EndExpertReview(spb.EndExpertReviewRequest(
        application_id=app_id, outcome="controlled under 1C117.d"), metadata=MOFCOM)
    assert not ended.clock_paused and not ended.under_expert_review
    assert (ended.working_days_used, ended.working_days_remaining) == (used, 45 - used)
    assert _date(ended.deadline) == add_working_days(accepted, 45 + paused).date
    assert _date(ended.deadline) > add_working_days(accepted, 45).date

    ev_started = await env.log.wait_find("stc.licensing.v1.ExpertReviewStarted", app_id,
                                        topic=APPLICATION.name)
    assert ev_started[0].parse(events_pb2.ExpertReviewStarted).reason == \
        "classification of item 1"
    ev_ended = (await env.log.wait_find("stc.licensing.v1.ExpertReviewEnded", app_id,
                                       topic=APPLICATION.name))[0].parse(
        events_pb2.ExpertReviewEnded)
    assert ev_ended.paused_working_days == paused and ev_ended.deadline == ended.deadline

    steps = await _history(env, app_id, uscc, spb.UPDATE_KIND_EXPERT_REVIEW_ENDED)
    review = [(u.kind, u.application.clock_paused) for u in steps
              if u.kind in (spb.UPDATE_KIND_EXPERT_REVIEW_STARTED,
                            spb.UPDATE_KIND_EXPERT_REVIEW_ENDED)]
    assert review == [(spb.UPDATE_KIND_EXPERT_REVIEW_STARTED, True),
                      (spb.UPDATE_KIND_EXPERT_REVIEW_ENDED, False)]
    assert "controlled under 1C117.d" in steps[-1].note
    print(f"expert review flow: {time.monotonic() - t0:.2f}s, {paused} working days paused")


async def test_answer_only_amendment_goes_back_to_the_officer(env, h):
    uscc, app = await _under_review(env, h)
    app_id = app.application_id
    me = bearer("exporter", uscc=uscc)
    asked = await env.stub.RequestInformation(spb.RequestInformationRequest(
        application_id=app_id, questions=["Who installs the goods?"]), metadata=MOFCOM)
    assert asked.clock_paused
    with pytest.raises(grpc.aio.AioRpcError) as exc:  # neither an answer nor new content
        await env.stub.AmendApplication(spb.AmendApplicationRequest(application_id=app_id),
                                        metadata=me)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    answered = await env.stub.AmendApplication(spb.AmendApplicationRequest(
        application_id=app_id, answer="our own engineers install"), metadata=me)
    assert answered.state == apb.APPLICATION_STATE_UNDER_REVIEW and not answered.clock_paused
    assert answered.content == asked.content
    ev = await env.log.wait_find("stc.licensing.v1.InformationProvided", app_id,
                                topic=APPLICATION.name)
    assert ev[0].parse(events_pb2.InformationProvided).answer == "our own engineers install"
    steps = await _history(env, app_id, uscc, spb.UPDATE_KIND_INFORMATION_PROVIDED)
    assert steps[-1].state == apb.APPLICATION_STATE_UNDER_REVIEW
    # the same content resent with a second answer is an answer too; changed content is
    # screened again
    await env.stub.RequestInformation(spb.RequestInformationRequest(
        application_id=app_id, questions=["And the contract?"]), metadata=MOFCOM)
    again = await env.stub.AmendApplication(spb.AmendApplicationRequest(
        application_id=app_id, content=h.content(uscc), answer="unchanged"), metadata=me)
    assert again.state == apb.APPLICATION_STATE_UNDER_REVIEW
    await env.stub.RequestInformation(spb.RequestInformationRequest(
        application_id=app_id, questions=["Contract revision?"]), metadata=MOFCOM)
    changed = await env.stub.AmendApplication(spb.AmendApplicationRequest(
        application_id=app_id, content=h.content(uscc, contract_reference="C-2026-001-rev2"),
        answer="revised"), metadata=me)
    assert changed.state == apb.APPLICATION_STATE_SCREENING
    await env.log.wait_find("stc.licensing.v1.ApplicationAmended", app_id, topic=APPLICATION.name)
    await asyncio.sleep(0.3)
    assert not env.log.find("stc.licensing.v1.ApplicationAmended", app_id)[1:]  # just one


async def test_deadline_approaching_warned_once_by_the_ticker(env, h):
    uscc, app = await _under_review(env, h)
    app_id = app.application_id
    today = svc.common.today()
    accepted = today  # back-date acceptance until 41 working days are used (4 left)
    while working_days_between(accepted, today) < 41:
        accepted -= dt.timedelta(days=1)
    t0 = time.monotonic()
    await env.sql("UPDATE applications SET accepted_on = $2 WHERE id = $1", app_id, accepted)
    ev = await env.log.wait_find("stc.licensing.v1.DeadlineApproaching", app_id,
                                topic=APPLICATION.name, timeout=20)
    took = time.monotonic() - t0
    warning = ev[0].parse(events_pb2.DeadlineApproaching)
    assert warning.working_days_remaining == 4 and warning.authority == "MOFCOM"
    assert _date(warning.deadline) == add_working_days(accepted, 45).date
    queue = await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(page_size=500),
                                           metadata=MOFCOM)
    mine = [a for a in queue.applications if a.application_id == app_id]
    assert mine[0].working_days_remaining == 4 and _date(mine[0].deadline) == \
        _date(warning.deadline)
    steps = await _history(env, app_id, uscc, spb.UPDATE_KIND_DEADLINE_APPROACHING)
    assert "4 working day(s) left" in steps[-1].note
    await asyncio.sleep(1.5)  # three more ticker rounds
    assert len(env.log.find("stc.licensing.v1.DeadlineApproaching", app_id)) == 1
    assert not env.log.find("stc.licensing.v1.DeadlineBreached", app_id)
    print(f"DeadlineApproaching {took:.2f}s after the clock reached 4 working days left")
