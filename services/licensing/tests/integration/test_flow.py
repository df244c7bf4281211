"""Submit -> screened (ScreeningCompleted published by the test) -> assessed -> decided ->
licence issued, over real gRPC, Kafka and PostgreSQL; events checked on the real topics and
WatchApplication checked live and after a reconnect."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2, licence_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.kafka.topics import APPLICATION, LICENCE, OPERATOR
from stc_common.testing.service import bearer

pytestmark = pytest.mark.integration
OFFICER = bearer("officer", authority="MOFCOM")


async def _collect(stub, app_id, uscc, after, into, stop_at_state=None, times=None):
    async for u in stub.WatchApplication(
            spb.WatchApplicationRequest(application_id=app_id, after_sequence=after),
            metadata=bearer("exporter", uscc=uscc)):
        into.append(u)
        if times is not None:
            times.append(time.perf_counter())
        if stop_at_state is not None and u.state == stop_at_state:
            return


async def test_submit_assess_decide_issue(env, h):
    uscc = await env.operator()
    await env.log.wait_find("stc.licensing.v1.OperatorRegistered", uscc, topic=OPERATOR.name)

    t0 = time.perf_counter()
    app = await env.submit(uscc)
    assert app.state == apb.APPLICATION_STATE_SCREENING
    assert re.fullmatch(r"MOFCOM-\d{4}-\d{6}", app.reference)
    assert app.authority == "MOFCOM"
    assert app.deadline.year >= 2026 and app.working_days_remaining == 45

    updates: list = []
    seen_at: list = []
    watcher = asyncio.create_task(_collect(env.stub, app.application_id, uscc, 0, updates,
                                           apb.APPLICATION_STATE_APPROVED, seen_at))

    submitted = await env.log.wait_find("stc.licensing.v1.ApplicationSubmitted",
                                       app.application_id, topic=APPLICATION.name)
    ev = submitted[0].parse(events_pb2.ApplicationSubmitted)
    assert ev.reference == app.reference
    assert [p.name for p in ev.content.parties] == ["Müller Präzision GmbH",
                                                     "Müller Präzision GmbH Werk Ulm"]
    assert all(p.party_id for p in ev.content.parties)  # screening refers to them by id

    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    t_assessed = time.perf_counter()
    assessed = await env.log.wait_find("stc.licensing.v1.ApplicationAssessed",
                                      app.application_id, topic=APPLICATION.name)
    a_ev = assessed[0].parse(events_pb2.ApplicationAssessed)
    assessment = await env.stub.GetAssessment(
        spb.GetAssessmentRequest(application_id=app.application_id), metadata=OFFICER)
    assert [f.factor for f in assessment.factors] == list(range(1, 9))
    assert assessment.policy_version == "2026.1" and len(assessment.inputs_hash) == 64
    assert a_ev.inputs_hash == assessment.inputs_hash
    assert assessment.recommendation in (events_pb2.RECOMMENDATION_GRANT,
                                         events_pb2.RECOMMENDATION_GRANT_WITH_CONDITIONS)

    queue = await env.stub.ListReviewQueue(spb.ListReviewQueueRequest(), metadata=OFFICER)
    assert app.application_id in [a.application_id for a in queue.applications]

    decided = await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
        metadata=OFFICER)
    t_decided = time.perf_counter()
    assert decided.application.state == apb.APPLICATION_STATE_APPROVED
    lic = decided.licence
    assert lic.status == licence_pb2.LICENCE_STATUS_ACTIVE and lic.holder_uscc == uscc
    issued = await env.log.wait_find("stc.licensing.v1.LicenceIssued", lic.licence_id,
                                    topic=LICENCE.name)
    li = issued[0].parse(events_pb2.LicenceIssued)
    assert li.application_id == app.application_id and len(li.parties) == 2
    assert li.items[0].control_code == "1C117.d"
    await env.log.wait_find("stc.licensing.v1.ApplicationDecided", app.application_id)

    await asyncio.wait_for(watcher, 10)
    steps = [(u.kind, u.state) for u in updates]
    assert steps == [
        (spb.UPDATE_KIND_STATE_CHANGED, apb.APPLICATION_STATE_SUBMITTED),
        (spb.UPDATE_KIND_STATE_CHANGED, apb.APPLICATION_STATE_SCREENING),
        (spb.UPDATE_KIND_STATE_CHANGED, apb.APPLICATION_STATE_UNDER_REVIEW),
        (spb.UPDATE_KIND_ASSESSED, apb.APPLICATION_STATE_UNDER_REVIEW),
        (spb.UPDATE_KIND_STATE_CHANGED, apb.APPLICATION_STATE_APPROVED),
    ]
    assert [u.sequence for u in updates] == [1, 2, 3, 4, 5]
    # live through LISTEN/NOTIFY: well under the 2 s fallback re-read
    assert seen_at[-1] - t_decided < 1.0, seen_at[-1] - t_decided
    assert updates[3].assessment.inputs_hash == assessment.inputs_hash

    # reconnect after having seen sequence 2: everything after it, nothing before
    resumed: list = []
    await asyncio.wait_for(_collect(env.stub, app.application_id, uscc, 2, resumed,
                                    apb.APPLICATION_STATE_APPROVED), 10)
    assert [u.sequence for u in resumed] == [3, 4, 5]

    # a single licence is void once used (the Dual-use Regulations' licence provisions)
    used = await env.stub.RecordExport(spb.RecordExportRequest(
        licence_id=lic.licence_id, export=licence_pb2.ExportRecord(
            export_id="EXP-1", exported_on=lic.valid_from,
            lines=[licence_pb2.ExportLine(item_index=0, quantity="100",
                                          value_minor=2_500_000)])),
        metadata=bearer("exporter", uscc=uscc))
    assert used.status == licence_pb2.LICENCE_STATUS_USED
    ev_used = await env.log.wait_find("stc.licensing.v1.LicenceUsed", lic.licence_id)
    assert ev_used[0].parse(events_pb2.LicenceUsed).exhausted

    print(f"\nFLOW submit->assessed {t_assessed - t0:.2f}s, submit->decided "
          f"{t_decided - t0:.2f}s, decided->watcher {seen_at[-1] - t_decided:.3f}s")


async def test_many_applications_concurrently(env, h):
    """40 exporters submit at once; every application is assessed and decided exactly once."""
    n = 40
    usccs = await asyncio.gather(*(env.operator() for _ in range(n)))
    t0 = time.perf_counter()
    apps = await asyncio.gather(*(env.submit(u) for u in usccs))
    t_submitted = time.perf_counter()
    assert len({a.reference for a in apps}) == n
    await asyncio.gather(*(env.screen(a) for a in apps))
    await asyncio.gather(*(env.wait_state(a.application_id, u, apb.APPLICATION_STATE_UNDER_REVIEW,
                                          timeout=60) for a, u in zip(apps, usccs, strict=True)))
    t_assessed = time.perf_counter()
    decided = await asyncio.gather(*(env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=a.application_id, decision=events_pb2.DECISION_APPROVE),
        metadata=OFFICER) for a in apps))
    t_decided = time.perf_counter()
    assert all(r.licence.licence_id for r in decided)
    for a in apps:
        await env.log.wait_find("stc.licensing.v1.ApplicationAssessed", a.application_id)
    assert all(len(env.log.find("stc.licensing.v1.ApplicationAssessed", a.application_id)) == 1
               for a in apps)
    print(f"\nLOAD {n} applications: submitted {t_submitted - t0:.2f}s, assessed "
          f"{t_assessed - t0:.2f}s, decided {t_decided - t0:.2f}s")
