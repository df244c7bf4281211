"""Benchmark: applications through the whole platform (submit → screened → assessed on the
eight factors → approved → licence), started as `make run` starts it, on the real Kafka and
PostgreSQL of the local stack. Prints latency percentiles, throughput and process memory.

    make up && .venv/bin/python bench/platform_flow.py [--applications 100] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("common", "licensing", "screening", "enduser", "credit", "cli"):
    sys.path.insert(0, str(ROOT / "services" / sub / "src"))

from stc_common.testing.platform import running_platform  # noqa: E402
from stc_demo.scenario import Story  # noqa: E402


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _services(root_pid: int) -> dict[str, int]:
    """The service processes under honcho: {service: pid} (any depth of the process tree)."""
    parents: dict[int, int] = {}
    cmds: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmds[int(entry)] = f.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
    out = {}
    for pid, cmd in cmds.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != root_pid:
            ancestor = parents.get(ancestor)
        if ancestor == root_pid and " -m stc_" in cmd and " serve" in cmd:
            out[cmd.split(" -m ", 1)[1].split()[0]] = pid
    return out


async def _one(story: Story, uscc: str, i: int, timings: dict[str, list[float]]) -> None:
    t0 = time.perf_counter()
    app = await story.submit(uscc, story.content(uscc, "DE", f"Bench Werk {story.run} {i}"))
    t1 = time.perf_counter()
    await story.assessed(app.application_id, uscc)
    t2 = time.perf_counter()
    await story.approve(app.application_id)
    t3 = time.perf_counter()
    timings["submit_rpc"].append(t1 - t0)
    timings["submit_to_assessed"].append(t2 - t0)
    timings["decide_rpc"].append(t3 - t2)
    timings["submit_to_licence"].append(t3 - t0)


async def main(n: int, concurrency: int) -> None:
    pg = os.environ.get("STC_TEST_DATABASE_URL", "postgresql://stc@127.0.0.1:55432/postgres")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    t_start = time.perf_counter()
    async with running_platform(ROOT, pg, kafka) as platform:
        ready = time.perf_counter() - t_start
        services = _services(platform.pid)
        rss_idle = {svc: _rss_mb(pid) for svc, pid in services.items()}
        async with Story(console=None) as story:
            exporters = [story.xinghe, story.haitong, story.huaxin]
            for uscc in exporters:
                await story.register(uscc, "基准测试有限公司", "Bench Co., Ltd.")
            # warm-up: one application through every path
            timings: dict[str, list[float]] = {
                k: []
                for k in ("submit_rpc", "submit_to_assessed", "decide_rpc", "submit_to_licence")
            }
            await _one(story, exporters[0], -1, {k: [] for k in timings})
            sem = asyncio.Semaphore(concurrency)

            async def run(i: int) -> None:
                async with sem:
                    await _one(story, exporters[i % len(exporters)], i, timings)

            t0 = time.perf_counter()
            await asyncio.gather(*(run(i) for i in range(n)))
            wall = time.perf_counter() - t0
        rss_busy = {svc: _rss_mb(pid) for svc, pid in services.items()}
    print(f"platform ready in {ready:.1f}s (4 services, fresh databases, lists imported)")
    print(
        f"{n} applications, concurrency {concurrency}: {wall:.2f}s wall, "
        f"{n / wall:.1f} applications/s end to end"
    )
    print(f"{'step':22} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for name, values in timings.items():
        print(
            f"{name:22} {statistics.median(values) * 1000:9.1f} {_pct(values, 95) * 1000:9.1f} "
            f"{_pct(values, 99) * 1000:9.1f} {max(values) * 1000:9.1f}"
        )
    print("resident memory (MB), idle → after the run:")
    for svc in sorted(rss_idle):
        print(f"  {svc:14} {rss_idle[svc]:7.1f} → {rss_busy.get(svc, 0):7.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--applications", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=10)
    a = ap.parse_args()
    asyncio.run(main(a.applications, a.concurrency))
