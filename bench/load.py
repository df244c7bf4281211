"""Open-loop load benchmark: applications arrive at a fixed rate, whatever the platform does.

The platform is started as `make run` starts it (four services under honcho, fresh databases,
free ports) on the Kafka and PostgreSQL named by KAFKA_BOOTSTRAP_SERVERS and
STC_TEST_DATABASE_URL. For each rate of the ladder, for `--step` seconds, one application
is started every 1/rate seconds (the arrival does not wait for earlier ones: a closed loop
would measure latency × concurrency, not capacity) and follows its path through the public
APIs:

    clean 70 %      submit → screened and assessed (watch) → approved → licence
    listed 10 %     the end user is on a restricted-party list → assessed → denied
    embargoed 10 %  destination KP (UNSCR 1718) → assessed → denied
    info 5 %        assessed → information requested (Reg. 17 pause) → answered → approved
    change 5 %      approved → end-user change report (Art. 16) on the new licence

Per rate it prints goodput (applications whose whole path succeeded, per second of the
step), errors by status, p50/p95/p99 of each stage (measured from the scheduled arrival, so
a late start counts against the platform), CPU seconds per application of every process
(services, Kafka, PostgreSQL with its backends, the load generator; from /proc/PID/stat)
and resident memory; the plumbing's work per application (PostgreSQL transactions from
pg_stat_database, events published, relay batches, consumer transactions and offset commits,
calls refused with RESOURCE_EXHAUSTED/UNAVAILABLE, from the services' /metrics); then the
capacity: the rate at which p99 submit→assessed crosses 1 s. Unless `--overload 0`, one more
step runs at twice that capacity (the overload row: goodput as a share of the capacity, errors
by status, accepted → assessed from the client and as licensing stored it, and licensing's
admission gauges at the end; `--capacity C` skips the ladder and overloads C, so that two
builds meet the same rate). The clients are the demo's (`stc_common.grpc.retry`): a call refused with
RESOURCE_EXHAUSTED, or UNAVAILABLE where the request carries a `request_id`, is sent again with
the same request id after an exponential backoff with jitter (5 attempts, at most 2 s apart),
or after the server's RetryInfo where it gives one (licensing's PIPELINE_FULL: 0.25–4.5 s,
growing with the overload); what is still refused after that counts as an error of that
status.

    .venv/bin/python bench/load.py [--rates 10,25,50,100,200] [--step 20] [--drain 20] [--replicas 2]
                                   [--overload 2] [--capacity 25]

The ladder stops after a rate where fewer than half the applications completed. To see where
a service spends its CPU under that load, profile it by the pid printed on the first line:

    .venv/bin/py-spy record -p PID -d 15 -r 100 -o licensing.svg
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import os
import random
import re
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("common", "licensing", "screening", "enduser", "credit", "cli"):
    sys.path.insert(0, str(ROOT / "services" / sub / "src"))

import asyncpg  # noqa: E402
import grpc  # noqa: E402
from stc.common.v1 import common_pb2  # noqa: E402
from stc.enduser.v1 import enduser_service_pb2  # noqa: E402
from stc.enduser.v1 import events_pb2 as eu_events  # noqa: E402
from stc.licensing.v1 import events_pb2 as lic_events  # noqa: E402
from stc.licensing.v1 import licensing_service_pb2  # noqa: E402
from stc_common.auth.jwt import mint_token  # noqa: E402
from stc_common.grpc.retry import RetryPolicy, retry_advice  # noqa: E402
from stc_common.testing.platform import running_platform  # noqa: E402
from stc_common.uscc import make_uscc  # noqa: E402
from stc_demo.scenario import Story  # noqa: E402

MIX = (("clean", 70), ("listed", 10), ("embargoed", 10), ("info", 5), ("change", 5))
LISTED_END_USER = "Korea Ryonbong General Corp"  # UN list (UNSCR 1718 committee)
TICK = os.sysconf("SC_CLK_TCK")
ASSESSED = licensing_service_pb2.UPDATE_KIND_ASSESSED


# -- processes, CPU and memory from /proc ------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    except OSError:
        return 0.0


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _process_table() -> tuple[dict[int, int], dict[int, str]]:
    parents, cmds = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmds[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return parents, cmds


def _descendants(root: int, parents: dict[int, int]) -> list[int]:
    out = []
    for pid in parents:
        p = pid
        while p and p != root:
            p = parents.get(p, 0)
        if p == root:
            out.append(pid)
    return out


def _listener(port: int) -> int | None:
    """The pid listening on 127.0.0.1:`port` (through the socket inode in /proc/net/tcp)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in list(f)[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(cols[9])
        except OSError:
            continue
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1].split("/")[0])


@dataclass
class Processes:
    """The processes whose CPU is counted: {name: [pids]} (PostgreSQL: server + backends)."""

    groups: dict[str, list[int]] = field(default_factory=dict)
    postmaster: int | None = None

    @classmethod
    def find(cls, root_pid: int, kafka: str, pg_dsn: str) -> Processes:
        parents, cmds = _process_table()
        procs = cls()
        for pid in _descendants(root_pid, parents):
            cmd = cmds.get(pid, "")
            if " -m stc_" in cmd and " serve" in cmd:
                svc = cmd.split(" -m ", 1)[1].split()[0].removeprefix("stc_")
                procs.groups.setdefault(svc, []).append(pid)  # every replica of it
        kafka_pid = _listener(_port(kafka))
        if kafka_pid:
            procs.groups["kafka"] = [kafka_pid]
        procs.postmaster = _listener(_port(pg_dsn.split("@", 1)[1].split("/", 1)[0]))
        procs.groups["loadgen"] = [os.getpid()]
        return procs

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each group (PostgreSQL backends re-listed each time)."""
        out = {name: sum(_cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}
        if self.postmaster:
            parents, _ = _process_table()
            pids = [self.postmaster, *_descendants(self.postmaster, parents)]
            out["postgres"] = sum(_cpu_seconds(p) for p in pids)
        return out

    def rss(self) -> dict[str, float]:
        """Resident memory (MB) of each group (PostgreSQL: the server process only)."""
        out = {name: sum(_rss_mb(p) for p in pids) for name, pids in self.groups.items()}
        if self.postmaster:
            out["postgres"] = _rss_mb(self.postmaster)
        return out


# -- the plumbing's work: PostgreSQL transactions and the services' counters ---------------

# Prometheus counters summed over every label set: name in /metrics -> name in the report.
COUNTERS = {
    "stc_outbox_published_total": "events",
    "stc_outbox_batches_total": "relay_batches",
    "stc_consumer_transactions_total": "consumer_txns",
    "stc_consumer_offset_commits_total": "offset_commits",
}
_SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$")


def _scrape(port: int) -> dict[str, float]:
    """The counters above (and refused gRPC calls) from one service's /metrics."""
    out: dict[str, float] = collections.defaultdict(float)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        if name in COUNTERS:
            out[COUNTERS[name]] += value
        elif name == "stc_grpc_requests_total" and (
                'code="RESOURCE_EXHAUSTED"' in labels or 'code="UNAVAILABLE"' in labels):
            out["refused_calls"] += value
    return out


@dataclass
class Plumbing:
    """Where to read the work counters: the services' metrics ports, the admin DSN."""

    metrics_ports: list[int]
    databases: dict[str, str]  # database name -> service
    pg_dsn: str
    licensing_dsn: str = ""

    @classmethod
    def of(cls, env: dict[str, str], pg_dsn: str) -> Plumbing:
        ports = [int(v) for k, v in env.items()
                 if re.fullmatch(r"STC_[A-Z]+_METRICS_PORT(_[0-9]+)?", k) and v.isdigit()]
        dbs = {v.rsplit("/", 1)[1]: k.split("_")[1].lower() for k, v in env.items()
               if re.fullmatch(r"STC_(LICENSING|SCREENING|ENDUSER|CREDIT)_DATABASE_URL", k)}
        return cls(ports, dbs, pg_dsn, env.get("STC_LICENSING_DATABASE_URL", ""))

    async def server_latencies(self, app_ids: list[str]) -> list[float]:
        """Accepted → assessed as licensing stored them (submitted_at, the first assessment's
        assessed_at): the pipeline alone, without the answer, the watch and the load
        generator's own delays that the client-side figures include."""
        if not self.licensing_dsn or not app_ids:
            return []
        conn = await asyncpg.connect(self.licensing_dsn)
        try:
            rows = await conn.fetch(
                "SELECT extract(epoch FROM min(s.assessed_at) - a.submitted_at) AS s "
                "FROM applications a JOIN assessments s ON s.application_id = a.id "
                "WHERE a.id = ANY($1::text[]) GROUP BY a.id, a.submitted_at", app_ids)
        finally:
            await conn.close()
        return [float(r["s"]) for r in rows]

    async def read(self) -> dict[str, float]:
        """Totals so far: PostgreSQL commits in the platform's databases, and the counters."""
        out: dict[str, float] = collections.defaultdict(float)
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            for r in await conn.fetch(
                    "SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY($1)",
                    list(self.databases)):
                out["pg_commits"] += r["xact_commit"]
                out[f"pg_commits_{self.databases[r['datname']]}"] += r["xact_commit"]
            # WAL flushes: what a commit that wrote something costs (the whole server)
            out["pg_wal_syncs"] = float(await conn.fetchval("SELECT wal_sync FROM pg_stat_wal"))
        finally:
            await conn.close()
        for port in self.metrics_ports:
            for k, v in (await asyncio.to_thread(_scrape, port)).items():
                out[k] += v
        return out


# -- one application's path ------------------------------------------------------------------


@dataclass
class StepResult:
    """What one rate produced."""

    rate: float
    started: int = 0
    ok: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    stages: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    cpu: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    work: dict[str, float] = field(default_factory=dict)
    retries: collections.Counter = field(default_factory=collections.Counter)
    wall: float = 0.0
    accepted: list[str] = field(default_factory=list)  # application ids


@functools.cache
def _exporter(uscc: str) -> tuple[tuple[str, str], ...]:
    """An exporter's call metadata: a token of its own subject (the services count calls and
    streams in flight per subject), minted once (the demo's Story mints one per call)."""
    token = mint_token(role="exporter", subject=f"load-{uscc}", uscc=uscc)
    return (("authorization", f"Bearer {token}"),)


WATCH_RETRY = RetryPolicy()  # the unary calls' policy (stc_common.grpc.retry), for the stream
RETRYABLE = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)


async def _assessed(story: Story, app_id: str, uscc: str, timeout: float, res: StepResult):
    """Watch the application until its assessment; return (when, the assessment).

    Screening's result and the assessment land in one licensing transaction (the assessment
    is made when ScreeningCompleted is consumed), so from outside "screened" and "assessed"
    are one moment: submit→assessed covers submit → screened → assessed. A watch refused
    with RESOURCE_EXHAUSTED or UNAVAILABLE (a read: always safe) is opened again after the
    same backoff as the unary calls' (the retry interceptor does not cover streams)."""
    attempt = 1
    async with asyncio.timeout(timeout):
        while True:
            call = story.lic.WatchApplication(
                licensing_service_pb2.WatchApplicationRequest(application_id=app_id),
                metadata=_exporter(uscc),
            )
            try:
                async for update in call:
                    if update.kind == ASSESSED:
                        return time.perf_counter(), update.assessment
                raise LookupError("watch ended before the assessment")
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in RETRYABLE or attempt >= WATCH_RETRY.attempts:
                    raise
                wait = retry_advice(exc)
                await asyncio.sleep(WATCH_RETRY.delay(attempt) if wait is None else wait)
                res.retries["watch " + exc.code().name] += 1
                attempt += 1
            finally:
                call.cancel()


async def _decide(story: Story, app_id: str, decision: int) -> object:
    reasons = ["Art. 13(2), (5) and (6): restricted party or embargoed destination"]
    return await story.lic.DecideApplication(
        licensing_service_pb2.DecideApplicationRequest(
            application_id=app_id, decision=decision,
            reasons=reasons if decision == lic_events.DECISION_DENY else []),
        metadata=story.mofcom,
    )


async def _change_report(story: Story, uscc: str, licence_id: str, deadline: float) -> None:
    """Report an end-user change on the licence, once enduser has learnt of it (events)."""
    req = enduser_service_pb2.ReportChangeRequest(
        request_id=str(uuid.uuid4()), licence_id=licence_id,
        kind=eu_events.CHANGE_KIND_END_USER_CHANGED,
        details="The end user sold its machining division.",
        new_end_user=common_pb2.Party(party_id="new-end-user",
                                      role=common_pb2.PARTY_ROLE_END_USER,
                                      name=f"Baltic Precision UAB {story.run}", country="LT"),
        subject_party_id="end-user")
    while True:
        try:
            await story.eu.ReportChange(req, metadata=_exporter(uscc))
            return
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.perf_counter() > deadline:
                raise
        await asyncio.sleep(0.1)


async def _one(story: Story, kind: str, uscc: str, i: int, t0: float, res: StepResult,
               timeout: float) -> None:
    """One application of `kind`, scheduled at `t0`; stages are measured from `t0`."""
    st = res.stages
    name = LISTED_END_USER if kind == "listed" else f"Load Werk {story.run} {i}"
    dest = "KP" if kind == "embargoed" else "DE"
    try:
        app = await story.lic.SubmitApplication(
            licensing_service_pb2.SubmitApplicationRequest(
                request_id=str(uuid.uuid4()), content=story.content(uscc, dest, name)),
            metadata=_exporter(uscc), timeout=timeout)
        t_sub = time.perf_counter()
        st["submit_rpc"].append(t_sub - t0)
        res.accepted.append(app.application_id)
        assessed, _ = await _assessed(story, app.application_id, uscc, timeout, res)
        st["submit_to_assessed"].append(assessed - t0)
        # from the answer that accepted it (after any RESOURCE_EXHAUSTED retries): the bound
        # an accepted application keeps under overload (issue 14 item 3)
        st["accepted_to_assessed"].append(assessed - t_sub)
        if kind == "info":
            t = time.perf_counter()
            await story.lic.RequestInformation(
                licensing_service_pb2.RequestInformationRequest(
                    application_id=app.application_id, questions=["Who owns the end user?"]),
                metadata=story.mofcom, timeout=timeout)
            await story.lic.AmendApplication(
                licensing_service_pb2.AmendApplicationRequest(
                    application_id=app.application_id, answer="A listed German company."),
                metadata=_exporter(uscc), timeout=timeout)
            st["info_round_trip"].append(time.perf_counter() - t)
        t = time.perf_counter()
        deny = kind in ("listed", "embargoed")
        decided = await _decide(story, app.application_id,
                                lic_events.DECISION_DENY if deny else lic_events.DECISION_APPROVE)
        st["decide_rpc"].append(time.perf_counter() - t)
        if kind == "change":
            t = time.perf_counter()
            await _change_report(story, uscc, decided.licence.licence_id, t + timeout)
            st["licence_to_change_report"].append(time.perf_counter() - t)
        st["arrival_to_decided"].append(time.perf_counter() - t0)
        res.ok += 1
    except grpc.aio.AioRpcError as exc:
        res.errors[exc.code().name] += 1
    except (TimeoutError, LookupError):
        res.errors["TIMEOUT"] += 1


def _kinds(n: int, rng: random.Random) -> list[str]:
    names = [k for k, _ in MIX]
    return rng.choices(names, weights=[w for _, w in MIX], k=n)


async def run_step(story: Story, exporters: list[str], procs: Processes, plumbing: Plumbing,
                   rate: float, seconds: float, drain: float,
                   rng: random.Random) -> StepResult:
    """Start `rate` applications per second for `seconds`, then wait up to `drain` s."""
    res = StepResult(rate)
    n = max(1, int(rate * seconds))
    kinds = _kinds(n, rng)
    work0 = await plumbing.read()
    cpu0 = procs.cpu()
    tasks = []
    start = time.perf_counter()
    timeout = seconds + drain
    for i in range(n):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(
            _one(story, kinds[i], exporters[i % len(exporters)], i, at, res, timeout)))
        res.started += 1
    _, pending = await asyncio.wait(tasks, timeout=drain)
    for t in pending:
        t.cancel()
    if pending:
        res.errors["TIMEOUT"] += len(pending)
        await asyncio.wait(pending)
    res.wall = time.perf_counter() - start
    cpu1 = procs.cpu()
    res.cpu = {k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1}
    res.rss = procs.rss()
    await asyncio.sleep(1.5)  # PostgreSQL reports a backend's commits within about a second
    work1 = await plumbing.read()
    res.work = {k: work1[k] - work0.get(k, 0.0) for k in work1}
    if server := await plumbing.server_latencies(res.accepted):
        res.stages["server_accepted_to_assessed"] = server
    return res


# -- the report ------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def capacity(results: list[StepResult], bound: float = 1.0) -> tuple[float | None, str]:
    """The rate at which p99 submit→assessed crosses `bound` s (linear between two steps),
    and how it was found; the rate is None when even the first step crossed it."""
    prev = None
    for r in results:
        p99 = pct(r.stages.get("submit_to_assessed", []), 99)
        failed = r.ok < 0.9 * r.started
        if failed or not p99 <= bound:
            if prev is None:
                return None, f"below {r.rate:g}/s (p99 {p99:.2f}s at the first step)"
            lo_rate, lo_p99 = prev
            hi = p99 if p99 == p99 else bound * 10
            cross = lo_rate + (r.rate - lo_rate) * (bound - lo_p99) / max(hi - lo_p99, 1e-9)
            cross = min(max(cross, lo_rate), r.rate)
            return cross, (f"≈ {cross:.0f}/s (p99 {lo_p99:.2f}s at {lo_rate:g}/s, "
                           f"{p99:.2f}s at {r.rate:g}/s{', <90% completed' if failed else ''})")
        prev = (r.rate, p99)
    return results[-1].rate, f"above {results[-1].rate:g}/s (never crossed {bound:g}s)"


def report(r: StepResult, seconds: float) -> None:
    """Print one step."""
    errs = ", ".join(f"{k} {v}" for k, v in sorted(r.errors.items())) or "none"
    retried = ", ".join(f"{k} {v}" for k, v in sorted(r.retries.items())) or "none"
    print(f"\n== {r.rate:g} applications/s for {seconds:g}s: {r.started} started, {r.ok} "
          f"completed, goodput {r.ok / seconds:.1f}/s; errors: {errs}; watches retried: "
          f"{retried}")
    print(f"   {'stage':26} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, values in r.stages.items():
        print(f"   {name:26} {len(values):5d} {pct(values, 50) * 1000:8.1f} "
              f"{pct(values, 95) * 1000:8.1f} {pct(values, 99) * 1000:8.1f} "
              f"{max(values) * 1000:8.1f}")
    total = sum(r.cpu.values())
    per = max(r.ok, 1)
    cells = "  ".join(f"{k} {v / per * 1000:.1f}" for k, v in sorted(r.cpu.items()))
    print(f"   CPU ms per completed application: {cells}  (all {total / per * 1000:.1f}; "
          f"{total / r.wall:.2f} cores busy)")
    print("   resident MB: " + "  ".join(f"{k} {v:.0f}" for k, v in sorted(r.rss.items())))
    if r.work:
        print("   per completed application: " + "  ".join(
            f"{k} {v / per:.2f}" for k, v in sorted(r.work.items())))


def _gauges(ports: list[int]) -> dict[str, float]:
    """Licensing's admission gauges (the adaptive limit, the latency it sees), if exported."""
    out = {}
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            m = _SAMPLE.match(line)
            if m and m.group(1).startswith("stc_licensing_admission_"):
                out[m.group(1).removeprefix("stc_licensing_")] = float(m.group(3))
    return out


async def main(rates: list[float], seconds: float, drain: float, bound: float,
               replicas: int = 1, overload: float = 2.0, n_exporters: int = 30,
               capacity_given: float = 0.0) -> None:
    pg = os.environ.get("STC_TEST_DATABASE_URL", "postgresql://stc@127.0.0.1:55432/postgres")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    rng = random.Random(14)
    results: list[StepResult] = []
    async with running_platform(ROOT, pg, kafka, replicas=replicas) as platform:
        procs = Processes.find(platform.pid, kafka, pg)
        plumbing = Plumbing.of(platform.env, pg)
        print(f"processes: { {k: v for k, v in procs.groups.items()} } "
              f"postgres {procs.postmaster}; {os.cpu_count()} CPUs")
        async with Story(console=None) as story:
            # many exporters, as at an authority: each caller has its own in-flight and
            # open-stream limits (STC_GRPC_MAX_*_PER_PRINCIPAL), which three callers at
            # 20/s would reach long before the platform's capacity
            seed = rng.randrange(10_000_000)
            exporters = [story.xinghe, story.haitong, story.huaxin] + [
                make_uscc(f"91310000MA{(seed + i) % 10_000_000:07d}")
                for i in range(max(0, n_exporters - 3))]
            for uscc in exporters:
                await story.register(uscc, "负载测试有限公司", "Load Co., Ltd.")
            warm = StepResult(0)
            for i, kind in enumerate(k for k, _ in MIX):  # every path once, not counted
                await _one(story, kind, exporters[0], -1 - i, time.perf_counter(), warm, 60)
            if warm.errors:
                print(f"warm-up errors: {dict(warm.errors)}")
            for rate in rates if not capacity_given else ():
                r = await run_step(story, exporters, procs, plumbing, rate, seconds, drain, rng)
                results.append(r)
                report(r, seconds)
                if r.ok < 0.5 * r.started:
                    print("   (stopping the ladder: fewer than half completed)")
                    break
            if capacity_given:
                cap, how = capacity_given, f"{capacity_given:g}/s (given, no ladder)"
            else:
                cap, how = capacity(results, bound)
            print(f"\ncapacity (p99 submit→assessed crosses {bound:g}s): {how}")
            if overload and cap:
                rate = round(cap * overload, 1)
                print(f"\noverload: {overload:g}× the capacity, {rate:g} applications/s")
                r = await run_step(story, exporters, procs, plumbing, rate, seconds, drain, rng)
                report(r, seconds)
                p99 = pct(r.stages.get("submit_to_assessed", []), 99)
                p99_acc = pct(r.stages.get("accepted_to_assessed", []), 99)
                p99_srv = pct(r.stages.get("server_accepted_to_assessed", []), 99)
                print(f"   goodput {r.ok / seconds:.1f}/s = {r.ok / seconds / cap:.0%} of the "
                      f"capacity ({cap:.0f}/s; target ≥ 90 %); p99 from the accepting answer "
                      f"to assessed {p99_acc:.2f}s (from the first attempt, retries of "
                      f"refusals included: {p99:.2f}s; as licensing stored them: {p99_srv:.2f}s)")
                gauges = _gauges(plumbing.metrics_ports)
                if gauges:
                    print("   licensing's admission at the end: " + "  ".join(
                        f"{k} {v:g}" for k, v in sorted(gauges.items())))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="10,25,50,100,200",
                    help="the ladder of arrival rates, applications/s (comma-separated)")
    ap.add_argument("--step", type=float, default=20, help="seconds of arrivals per rate")
    ap.add_argument("--drain", type=float, default=20,
                    help="seconds to wait for a step's applications after its last arrival")
    ap.add_argument("--bound", type=float, default=1.0,
                    help="the p99 submit→assessed (s) that defines the capacity")
    ap.add_argument("--replicas", type=int, default=1,
                    help="processes of each service (STC_REPLICAS of make run); the load goes "
                         "through the first replicas' gRPC, the consumers share the partitions")
    ap.add_argument("--overload", type=float, default=2.0,
                    help="after the ladder, one step at this multiple of the capacity found "
                         "(0: none)")
    ap.add_argument("--exporters", type=int, default=30,
                    help="export operators (callers) the applications are spread over")
    ap.add_argument("--capacity", type=float, default=0,
                    help="skip the ladder and take this capacity (applications/s) for the "
                         "overload step, e.g. to compare two builds at the same rate")
    a = ap.parse_args()
    asyncio.run(main([float(x) for x in a.rates.split(",")], a.step, a.drain, a.bound,
                     a.replicas, a.overload, a.exporters, a.capacity))
