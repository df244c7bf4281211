"""Batch screening through gRPC (ScreenParties): parties/s, latency per call and per party,
and the worst health-check latency meanwhile (how long the event loop waited); for
comparison the same names one ScreenParty call at a time.

Prints figures, passes nothing. Against a running service: ``.venv/bin/python
bench/screening_batch.py --target 127.0.0.1:50052``; without ``--target`` it starts the
screening service in-process on a fresh database of the local test stack
(``KAFKA_BOOTSTRAP_SERVERS``, ``STC_TEST_DATABASE_URL``, as ``make test`` sets them).
``--own-process`` starts it as its own process instead (``python -m stc_screening serve``,
as deployed: the client's CPU is then not the server's). Options: ``--batch`` parties per
call (at most 1,000), ``--concurrency`` calls in flight,
``--seconds`` per phase (keep it under a minute), ``--listed`` share of listed names.

The service matches batches on its forked matcher processes (``STC_SCREENING_MATCH_PROCESSES``,
one per core by default; ``=0`` for everything on the matcher thread, as before issue 14):
with ``--own-process`` the service's CPU includes theirs, and the first batch warms them
(a fresh fork copies the index pages it writes to) before the phases are timed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services/screening/src"), str(ROOT / "services/common/src")]

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from stc.common.v1 import common_pb2  # noqa: E402
from stc.screening.v1 import screening_service_pb2 as pb  # noqa: E402
from stc.screening.v1 import screening_service_pb2_grpc  # noqa: E402
from stc_common.testing.service import bearer  # noqa: E402
from stc_screening.importers.bundle import load_lists  # noqa: E402

WORDS = ("Nordic", "Precision", "Harbour", "Instruments", "Solar", "Machinery", "Trading",
         "Holdings", "Components", "Optics", "Logistics", "Works", "Pacific", "Delta",
         "Electric", "Materials", "Systems", "Import", "Export", "Industrial")
SUFFIX = ("GmbH", "Ltd", "LLC", "Co., Ltd.", "SARL", "AB", "有限公司", "S.p.A.")


def parties(n: int, listed: float, listed_names: list[str], rng: random.Random):
    """n parties: unique company names, a share of them names from the lists."""
    out = []
    for i in range(n):
        if listed_names and rng.random() < listed:
            name = rng.choice(listed_names)
        else:
            name = f"{' '.join(rng.sample(WORDS, 3))} {rng.randint(1, 10**6)} {rng.choice(SUFFIX)}"
        out.append(common_pb2.Party(party_id=f"p{i}", name=name,
                                    country=rng.choice(("DE", "AE", "SG", "TR", "BR", ""))))
    return out


SERVER_PID = 0  # the service's process when it runs as its own (--own-process)


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the service's forked matcher processes)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if int(_stat(int(name))[1]) == pid:
                    out.append(int(name))
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and of its children, live (its matcher
    processes) and collected (/proc)."""
    fields = _stat(pid)
    ticks = sum(int(x) for x in fields[11:15])
    for child in _children(pid):
        with contextlib.suppress(OSError):
            ticks += sum(int(x) for x in _stat(child)[11:13])
    return ticks / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0.0


async def health_loop(target: str, stop: asyncio.Event, out: list[float]) -> None:
    async with grpc.aio.insecure_channel(target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while not stop.is_set():
            t0 = time.perf_counter()
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
            out.append(time.perf_counter() - t0)
            await asyncio.sleep(0.02)


async def phase(target: str, name: str, seconds: float, concurrency: int, make_call
                ) -> None:
    """Run calls from ``concurrency`` workers for ``seconds``; print the figures."""
    lat: list[float] = []
    done = 0
    health: list[float] = []
    stop = asyncio.Event()
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            n = await make_call(w, i)  # (not "done += await": that loses updates)
            done += n
            lat.append(time.perf_counter() - t0)
            i += 1

    checker = asyncio.create_task(health_loop(target, stop, health))
    srv0 = _cpu_seconds(SERVER_PID) if SERVER_PID else 0.0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    srv = (_cpu_seconds(SERVER_PID) - srv0) if SERVER_PID else 0.0
    stop.set()
    await checker
    print(f"{name:<34} {done / elapsed:>9.0f} {len(lat):>6} {pct(lat, .5) * 1000:>8.0f} "
          f"{pct(lat, .95) * 1000:>8.0f} {max(lat) * 1000:>8.0f} "
          f"{max(health) * 1000 if health else 0:>9.0f} {cpu * 1000 / max(done, 1):>7.2f}"
          + (f" {srv * 1000 / max(done, 1):>7.2f} {srv / elapsed:>5.0%}" if SERVER_PID else ""))


async def run(target: str, args, listed_names: list[str]) -> None:
    rng = random.Random(11)
    token = bearer("officer", authority="MOFCOM", subject="bench")
    async with grpc.aio.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", 64 << 20)]) as ch:
        stub = screening_service_pb2_grpc.ScreeningServiceStub(ch)
        pool = parties(max(args.batch * 8, 4000), args.listed, listed_names, rng)
        # warm-up: the matcher processes touch (and copy) the index pages they need once
        for i in range(0, 2000, 500):
            await stub.ScreenParties(pb.ScreenPartiesRequest(parties=pool[i:i + 500]),
                                     metadata=token, timeout=120)
        print(f"{'phase':<34} {'parties/s':>9} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8} {'health max':>9} {'cpu ms':>7}"
              + (f" {'srv ms':>7} {'srv %':>5}" if SERVER_PID else ""))
        print("(cpu ms: CPU of this process per party, the service's too when in-process; "
              "srv ms: the service's CPU per party, its matcher processes included, "
              "srv %: of one core)")
        if SERVER_PID:
            print(f"(the service runs {len(_children(SERVER_PID))} matcher processes)")

        async def batch_call(w: int, i: int) -> int:
            start = ((w * 97 + i) * args.batch) % (len(pool) - args.batch)
            got = await stub.ScreenParties(pb.ScreenPartiesRequest(
                parties=pool[start:start + args.batch]), metadata=token, timeout=120)
            assert len(got.results) == args.batch
            return args.batch

        async def single_call(w: int, i: int) -> int:
            await stub.ScreenParty(pb.ScreenPartyRequest(
                party=pool[(w * 7919 + i) % len(pool)]), metadata=token, timeout=60)
            return 1

        await phase(target, f"ScreenParties x{args.batch}, {args.concurrency} in flight",
                    args.seconds, args.concurrency, batch_call)
        await phase(target, "ScreenParty, 8 in flight", args.seconds, 8, single_call)
        hits = await stub.ScreenParties(pb.ScreenPartiesRequest(parties=pool[:1000]),
                                        metadata=token, timeout=120)
        print(f"(of 1,000 parties with {args.listed:.0%} listed names, "
              f"{sum(1 for r in hits.results if r.hits)} had a hit)")


async def main_async(args) -> None:
    listed = [e.names[0] for e in load_lists(args.data)]
    random.Random(3).shuffle(listed)
    listed = listed[:2000]
    if args.target:
        await run(args.target, args, listed)
        return
    from stc_common.runtime import run_service
    from stc_common.testing.fixtures import create_database, drop_database
    from stc_common.testing.service import free_port, wait_grpc_ready
    from stc_screening.config import ScreeningSettings
    from stc_screening.main import build_spec

    admin = os.environ.get("STC_TEST_DATABASE_URL", "")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not admin or not kafka:
        sys.exit("give --target, or run under the test stack's KAFKA_BOOTSTRAP_SERVERS and "
                 "STC_TEST_DATABASE_URL")
    if args.own_process:
        from stc_common.testing.platform import running_services

        t0 = time.perf_counter()
        async with running_services(ROOT, admin, kafka, services=("screening",),
                                    ready_timeout=300) as procs:
            print(f"screening service up in {time.perf_counter() - t0:.1f}s (own process)")
            global SERVER_PID
            SERVER_PID = procs.procs["screening"].pid
            await run(procs.addresses["screening"], args, listed)
        return
    dsn = await create_database(admin, "screening_bench")
    settings = ScreeningSettings(database_url=dsn, kafka_bootstrap_servers=kafka,
                                 grpc_port=free_port(), metrics_port=0, log_level="WARNING",
                                 consumer_group_prefix=f"bench-{uuid.uuid4().hex[:8]}")
    stop = asyncio.Event()
    task = asyncio.create_task(run_service(settings, build_spec(settings), stop=stop))
    try:
        t0 = time.perf_counter()
        # the import and the index build take 10 s on a quiet machine, minutes on a busy one
        await wait_grpc_ready(settings.grpc_port, timeout=300)
        print(f"screening service up in {time.perf_counter() - t0:.1f}s "
              f"(in-process, fresh database)")
        await run(f"127.0.0.1:{settings.grpc_port}", args, listed)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 60)
        with contextlib.suppress(Exception):
            await drop_database(admin, dsn)


def main() -> None:
    """Parse the options, run the phases, print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", default="")
    ap.add_argument("--data", default=os.environ.get("STC_DATA_DIR",
                                                    str(ROOT.parent / "shared/data")))
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--listed", type=float, default=0.02)
    ap.add_argument("--own-process", action="store_true",
                    help="start the service as its own process (default: in this process)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"python {sys.version.split()[0]}")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
