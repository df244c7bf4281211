"""Two replicas of every service on the same databases and topics, one of each killed with
kill -9 (issue 14 item 4; DESIGN, "Durability rules").

Eight processes (`licensing`, `licensing-2`, … as `STC_REPLICAS=2 make run` starts them) on
fresh databases, both replicas of a service starting at the same moment on its empty
database. First the replicas are shown to be one service: an application submitted through
`licensing-2` is watched on `licensing` (WatchApplication sees the assessment and the
decision made through the other process), and a control-list entry added through
`screening-2` that matches the live licence suspends it exactly once. Then the story of the
law runs through the first replicas (from a seeded moment among the kills, so its
asynchronous steps land on whichever replica holds the partitions and the leases) while a
steady flow of applications is submitted
through BOTH licensing replicas alternately (a client whose call fails on one replica
retries on the other with the same request id, as a load balancer would), and the second
replica of every service is killed with SIGKILL at a seeded random moment of the flow and
NOT restarted: the survivors take over its partitions (after the group's session timeout),
its relay role and its periodic jobs (after the lease expires; the test checks that every
lease a victim held at its kill is held by a survivor afterwards).

Then: every application submitted, screened and assessed exactly once (topics, outbox,
inbox, as tests/e2e/test_crash_recovery.py checks them), one LicenceSuspended per list
match, and no periodic job doubled: the Reg. 17 deadline ticker (its warning window widened
to 60 working days so that every application gets its DeadlineApproaching) sends exactly
one per application, and the credit publication ticker publishes the story's penalty once.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc
import pytest
from stc.credit.v1 import events_pb2 as credit_events
from stc.licensing.v1 import (
    application_pb2,
    licence_pb2,
    licensing_service_pb2,
    licensing_service_pb2_grpc,
)
from stc.licensing.v1 import (
    events_pb2 as lic_events,
)
from stc.screening.v1 import events_pb2 as scr_events
from stc.screening.v1 import screening_service_pb2, screening_service_pb2_grpc
from stc_common.kafka.topics import (
    APPLICATION,
    CREDIT_PUBLICATION,
    CREDIT_RECORD,
    LICENCE,
    SCREENING_RESULT,
)
from stc_common.testing.exactly_once import (
    assert_one_inbox_row_each,
    assert_one_row_each,
    assert_one_sent_outbox_row_each,
)
from stc_common.testing.kafka import TopicReader
from stc_common.testing.platform import running_services
from stc_demo.scenario import Story, run_story

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("STC_REPLICA_SEED", "20261205"))
APPLICATIONS = 60
WORKERS = 4
SERVICES = ("licensing", "screening", "enduser", "credit")
VICTIMS = [f"{svc}-2" for svc in SERVICES]  # killed, not restarted

SUBMITTED = "stc.licensing.v1.ApplicationSubmitted"
ASSESSED = "stc.licensing.v1.ApplicationAssessed"
APPROACHING = lic_events.DeadlineApproaching.DESCRIPTOR.full_name
PUBLISHED = credit_events.CreditRecordPublished.DESCRIPTOR.full_name
CHECKPOINT = credit_events.CheckpointPublished.DESCRIPTOR.full_name
SCREENED = scr_events.ScreeningCompleted.DESCRIPTOR.full_name
RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]
# fast periodic jobs, so that a lease held by a killed replica expires within the test
# (3 intervals + 5 s, stc_common.periodic), and a deadline warning for every application
TEST_ENV = {
    "STC_TICKER_INTERVAL_S": "1",
    "STC_PUBLICATION_INTERVAL_S": "1",
    "STC_OVERDUE_SCAN_INTERVAL_S": "1",
    "STC_DEADLINE_WARNING_WORKING_DAYS": "60",
}


@dataclass
class Figures:
    """What happened, printed at the end."""

    kills: dict[str, float] = field(default_factory=dict)  # victim -> seconds into the flow
    failovers: int = 0  # submits that failed on one replica and were retried on the other
    through: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0})  # replica -> submits
    request_ids: dict[str, str] = field(default_factory=dict)
    last_submit: float = 0.0  # perf_counter of the last answered submit
    leases: dict[str, list[str]] = field(default_factory=dict)  # victim -> jobs it held


async def _until(check, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout}s")
        await asyncio.sleep(every)
    return value


async def _watch_until(stub, app_id: str, md, pred, timeout: float = 30):
    """The first update of a WatchApplication stream on `stub` for which `pred` holds."""
    call = stub.WatchApplication(
        licensing_service_pb2.WatchApplicationRequest(application_id=app_id), metadata=md)
    try:
        async with asyncio.timeout(timeout):
            async for update in call:
                if pred(update):
                    return update
    finally:
        call.cancel()
    raise LookupError(f"the watch of {app_id} ended first")


async def _cross_replica(story: Story, lic: list, scr: list) -> tuple[str, float]:
    """Submit and decide through licensing-2, watch on licensing; list through screening-2.

    Returns the licence suspended by the list entry and the seconds it took."""
    uscc = story.xinghe
    end_user = f"Querwerk Präzision GmbH {story.run}"
    app = await lic[1].SubmitApplication(licensing_service_pb2.SubmitApplicationRequest(
        request_id=str(uuid.uuid4()), content=story.content(uscc, "DE", end_user)),
        metadata=story.exporter(uscc), timeout=10)
    # a watch on the first replica, opened before the decision through the second
    watch = asyncio.create_task(_watch_until(
        lic[0], app.application_id, story.exporter(uscc),
        lambda u: u.application.state in (
            application_pb2.APPLICATION_STATE_APPROVED,
            application_pb2.APPLICATION_STATE_APPROVED_WITH_CONDITIONS)))
    assessed = await _watch_until(
        lic[0], app.application_id, story.exporter(uscc),
        lambda u: u.kind == licensing_service_pb2.UPDATE_KIND_ASSESSED)
    assert assessed.assessment.recommendation, "the watch on licensing saw no assessment"
    decided = await lic[1].DecideApplication(licensing_service_pb2.DecideApplicationRequest(
        application_id=app.application_id, decision=lic_events.DECISION_APPROVE),
        metadata=story.mofcom, timeout=10)
    licence_id = decided.licence.licence_id
    assert licence_id

    # the watch on the first replica sees the approval made through licensing-2
    approved = await watch
    assert approved.application.state == decided.application.state

    t0 = time.perf_counter()
    await scr[1].AddListEntry(screening_service_pb2.AddListEntryRequest(
        entry=scr_events.ListEntry(
            list_kind=scr_events.LIST_KIND_CONTROL_LIST, primary_name=end_user,
            countries=["DE"], party_type="entity",
            announcement=f"MOFCOM Announcement 2026 No. R{story.run}"),
        reason="diversion risk to military end use (Art. 18)"),
        metadata=story.mofcom, timeout=10)

    async def suspended():
        got = await lic[0].GetLicence(licensing_service_pb2.GetLicenceRequest(
            licence_id=licence_id), metadata=story.mofcom, timeout=10)
        return got.status == licence_pb2.LICENCE_STATUS_SUSPENDED

    await _until(suspended, 30, "the licence was not suspended after the list entry")
    return licence_id, time.perf_counter() - t0


async def _submit_flow(story: Story, lic: list, exporters: list[str], figures: Figures,
                       rng: random.Random) -> list[str]:
    """APPLICATIONS submissions, alternately through each licensing replica."""
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(APPLICATIONS):
        jobs.put_nowait(i)
    pace = [rng.uniform(0.4, 1.4) for _ in range(APPLICATIONS)]

    async def submit(i: int) -> None:
        uscc = exporters[i % len(exporters)]
        request_id = str(uuid.uuid4())
        request = licensing_service_pb2.SubmitApplicationRequest(
            request_id=request_id,
            content=story.content(uscc, "DE", f"Replikat Werk {story.run}-{i} GmbH"))
        replica = i % 2
        deadline = time.monotonic() + 90
        while True:
            try:
                app = await lic[replica].SubmitApplication(
                    request, metadata=story.exporter(uscc), timeout=5)
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in RETRYABLE or time.monotonic() > deadline:
                    raise
                figures.failovers += 1
                replica = 1 - replica  # the other replica, the same request id
                await asyncio.sleep(0.05)
        figures.through[replica] += 1
        figures.last_submit = time.perf_counter()
        assert request_id not in figures.request_ids
        figures.request_ids[request_id] = app.application_id

    async def worker() -> None:
        while not jobs.empty():
            i = jobs.get_nowait()
            await submit(i)
            await asyncio.sleep(pace[i])

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return list(figures.request_ids.values())


async def _lease_holders(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["job"]: r["holder"] for r in await conn.fetch(
            "SELECT job, holder FROM periodic_leases")}
    finally:
        await conn.close()


def _held_by(holder: str, pid: int) -> bool:
    return holder.split(":")[-2:-1] == [str(pid)]  # host:pid:random (stc_common.periodic)


async def _chaos(procs, rng: random.Random, figures: Figures, flow_t0: float,
                 dsn: dict[str, str]) -> None:
    """kill -9 the second replica of every service, each at its own seeded moment; note the
    periodic-job leases it held then."""
    async def one(victim: str, at: float) -> None:
        await asyncio.sleep(at)
        pid = procs.procs[victim].pid
        holders = await _lease_holders(dsn[victim.split("-")[0]])
        await procs.kill(victim)
        figures.kills[victim] = time.perf_counter() - flow_t0
        figures.leases[victim] = sorted(j for j, h in holders.items() if _held_by(h, pid))

    await asyncio.gather(*(one(v, rng.uniform(2.0, 12.0)) for v in VICTIMS))


async def _zero_unsent(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    finally:
        await conn.close()


async def test_two_replicas_of_each_service_one_killed_exactly_once(
        pg_admin_dsn, kafka_bootstrap, monkeypatch):
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)
    t0 = time.perf_counter()
    rng = random.Random(SEED)
    figures = Figures()
    async with running_services(ROOT, pg_admin_dsn, kafka_bootstrap, replicas=2) as procs:
        started = time.perf_counter() - t0
        dsn = {svc: procs.penv.env[f"STC_{svc.upper()}_DATABASE_URL"] for svc in SERVICES}
        logs = f"(service logs: {', '.join(str(p) for p in procs.logs.values())})"
        channels = [grpc.aio.insecure_channel(a, options=CHANNEL_OPTIONS)
                    for svc in ("licensing", "screening") for a in procs.replica_addresses(svc)]
        lic = [licensing_service_pb2_grpc.LicensingServiceStub(c) for c in channels[:2]]
        scr = [screening_service_pb2_grpc.ScreeningServiceStub(c) for c in channels[2:]]
        topics = [APPLICATION.name, SCREENING_RESULT.name, LICENCE.name, CREDIT_RECORD.name,
                  CREDIT_PUBLICATION.name]
        async with TopicReader(kafka_bootstrap, topics, timeout=90) as reader, \
                Story(None) as story:
            exporters = [story.xinghe, story.haitong]
            for n, uscc in enumerate(exporters):
                await story.register(uscc, f"副本测试企业{n}", f"Replica Test Co. {n}")

            # 1. the replicas are one service
            listed_licence, suspend_s = await _cross_replica(story, lic, scr)

            # 2. the story and the flow through both replicas; one replica of each killed
            flow_t0 = time.perf_counter()
            story_at = rng.uniform(4.0, 9.0)  # a seeded moment among the kills

            async def story_among_kills():
                await asyncio.sleep(story_at)
                return await run_story()

            story_result, app_ids, _ = await asyncio.gather(
                story_among_kills(), _submit_flow(story, lic, exporters, figures, rng),
                _chaos(procs, rng, figures, flow_t0, dsn))
            flow_s = time.perf_counter() - flow_t0
            last_kill = max(figures.kills.values()) + flow_t0
            failed = [f"{s.title}: {s.detail}" for s in story_result.steps if not s.ok]
            assert not failed, f"{failed} {logs}"

            for app_id in app_ids:
                await reader.wait_find(ASSESSED, app_id, topic=APPLICATION.name)
            # every application's deadline warning, from whichever replica holds the lease
            for app_id in app_ids:
                await reader.wait_find(APPROACHING, app_id, topic=APPLICATION.name)
            for svc in SERVICES:
                await _until(lambda s=svc: _zero_unsent(dsn[s]), 60, f"{svc} outbox unsent")
            # the periodic jobs a victim held are held by a survivor now
            for victim, jobs in figures.leases.items():
                pid = procs.procs[victim].pid
                svc = victim.split("-")[0]

                async def taken_over(s=svc, j=jobs, p=pid) -> bool:
                    holders = await _lease_holders(dsn[s])
                    return not any(_held_by(holders.get(job, f"x:{p}:x"), p) for job in j)
                await _until(taken_over, 30, f"{victim}'s periodic jobs {jobs} not taken over")
            await asyncio.sleep(3)  # a few more ticker rounds: a doubled job would show now
            await reader.wait_caught_up(timeout=60)
        for c in channels:
            await c.close()
        assert all(procs.procs[v].returncode == -9 for v in VICTIMS)
        assert all(procs.procs[s].returncode is None for s in SERVICES), "a survivor died"

        # exactly once on the real topics
        screened: dict[str, list[str]] = {a: [] for a in app_ids}
        for r in reader.received:
            if r.topic == SCREENING_RESULT.name and r.envelope.type == SCREENED:
                msg = r.envelope.parse(scr_events.ScreeningCompleted)
                if msg.subject_id in screened:
                    screened[msg.subject_id].append(r.envelope.id)
        # how long an application waited between its screening and its assessment: the kill of
        # licensing-2 stalls its partitions until the group's session timeout (10 s) rebalances
        arrived = {(r.envelope.type, r.envelope.subject): r.at for r in reader.received}
        screened_at = {r.envelope.parse(scr_events.ScreeningCompleted).subject_id: r.at
                       for r in reader.received if r.envelope.type == SCREENED}
        waits = sorted(arrived[(ASSESSED, a)] - screened_at[a] for a in app_ids)
        last_assessed = max(arrived[(ASSESSED, a)] for a in app_ids)
        drained_s = last_assessed - last_kill  # may be < 0: all done before it
        flow_drained_s = last_assessed - figures.last_submit
        for app_id in app_ids:
            counts = (len(reader.find(SUBMITTED, app_id, APPLICATION.name)),
                      len(screened[app_id]),
                      len(reader.find(ASSESSED, app_id, APPLICATION.name)),
                      len(reader.find(APPROACHING, app_id, APPLICATION.name)))
            assert counts == (1, 1, 1, 1), (
                f"{app_id}: submitted/screened/assessed/deadline warnings {counts} {logs}")

        # one suspension per list match: the entry through screening-2, the story's entry
        suspensions = {
            lid: reader.events(lid, lic_events.LicenceSuspended)
            for lid in (listed_licence, story_result.step("A clean application").facts["licence_id"])
        }
        for lid, events in suspensions.items():
            rescreened = [e for e in events if e.source == "rescreening"]
            assert len(rescreened) == 1, (lid, [(e.source, e.reason) for e in events])

        # the credit publication ticker published the story's penalty once, one checkpoint
        # per log size
        publication = story_result.step("A diversion").facts["publication"]
        published = [r.envelope.id for r in reader.received
                     if r.topic == CREDIT_PUBLICATION.name
                     and r.envelope.type == PUBLISHED
                     and r.envelope.parse(credit_events.CreditRecordPublished).record_id
                     == publication]
        assert len(published) == 1, published
        sizes = [r.envelope.data for r in reader.received
                 if r.envelope.type == CHECKPOINT]
        assert len(sizes) == len(set(sizes)) >= 1

        # exactly once in the databases
        submitted_ids = [reader.find(SUBMITTED, a, APPLICATION.name)[0].id for a in app_ids]
        screened_ids = [screened[a][0] for a in app_ids]
        lic_db = await asyncpg.connect(dsn["licensing"])
        scr_db = await asyncpg.connect(dsn["screening"])
        try:
            rows = await lic_db.fetch(
                "SELECT request_id, id FROM applications WHERE exporter_uscc = ANY($1) "
                "AND request_id = ANY($2)", exporters, list(figures.request_ids))
            assert {r["request_id"]: str(r["id"]) for r in rows} == figures.request_ids
            assert len(rows) == APPLICATIONS
            for db, types in ((lic_db, [SUBMITTED, ASSESSED, APPROACHING]),
                              (scr_db, [SCREENED])):
                await assert_one_sent_outbox_row_each(db, types, app_ids)
            for db, ids in ((scr_db, submitted_ids), (lic_db, screened_ids)):
                await assert_one_inbox_row_each(db, ids)
            await assert_one_row_each(lic_db, "assessments", "application_id", app_ids)
        finally:
            await lic_db.close()
            await scr_db.close()

    text = "".join(p.read_text(errors="replace") for p in procs.logs.values())
    total = time.perf_counter() - t0
    print(f"\nreplicas (seed {SEED}): 2 of each service started together in {started:.1f}s; "
          f"list entry through screening-2 suspended the licence in {suspend_s:.2f}s (once); "
          f"killed " + ", ".join(f"{v} at {s:.1f}s" for v, s in sorted(figures.kills.items(),
                                                                       key=lambda kv: kv[1]))
          + f" of the flow (not restarted); {APPLICATIONS} applications through licensing/"
          f"licensing-2 {figures.through[0]}/{figures.through[1]}, {figures.failovers} failed "
          f"over to the other replica; flow and story {flow_s:.1f}s, "
          f"the last assessed {drained_s:.1f}s after the last kill and {flow_drained_s:.2f}s "
          f"after the last submit; screened->assessed p50 {waits[len(waits) // 2]:.2f}s max {waits[-1]:.1f}s; "
          f"periodic leases the victims held, taken over: "
          f"{ {v: j for v, j in figures.leases.items() if j} }; story 7/7 steps from "
          f"{story_at:.1f}s of the flow in {story_result.seconds:.1f}s; "
          f"submitted/screened/assessed/deadline warning once each; redelivered records skipped by the inbox "
          f"{text.count(chr(34) + 'outcome' + chr(34) + ': ' + chr(34) + 'duplicate')}; "
          f"total {total:.1f}s")
    assert total < 240
