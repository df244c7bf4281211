"""Public list search (SearchListEntries) over every shipped list: latency percentiles by
query kind (one word, a word prefix, a Han substring, pinyin, an identifier typed alone,
a whole name, a misspelt whole name) and how often the entry the query came from is found;
``well`` is the share of answers that say something on the lists matches well (some result
better than WEAK), which should be high for these and low for names that are not listed
(the ``unlisted`` row, generated names of every script).

Prints figures, passes nothing: ``.venv/bin/python bench/screening_search.py [--data DIR]
[--queries N]``.

``--clients 1,8,32`` (issue 14) instead searches over gRPC: the screening service started as
its own process (``python -m stc_screening serve`` on a fresh database of the test stack,
``KAFKA_BOOTSTRAP_SERVERS`` and ``STC_TEST_DATABASE_URL`` as ``make test`` sets them), or
``--target HOST:PORT``; for each number of concurrent public SearchListEntries callers,
``--seconds`` of calls drawn from the same query mix: calls/s answered, p50/p95/p99 of the
answered calls, every refusal counted by its status (RESOURCE_EXHAUSTED when the matcher's
queue or the server's limit on calls in flight is full), and the service's CPU per call.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services/screening/src"), str(ROOT / "services/common/src")]

from stc_screening.domain.index import ScreeningIndex  # noqa: E402
from stc_screening.domain.search import search_form  # noqa: E402
from stc_screening.importers.bundle import load_lists  # noqa: E402
from stc_screening.testing.evaluation import build_labelled_sets  # noqa: E402


def _queries(entries, n: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in (
        "word", "prefix", "han_substring", "pinyin", "identifier", "whole_name", "typo",
        "unlisted")}
    for e in rng.sample(entries, min(len(entries), n * 4)):
        name = rng.choice(e.names)
        form = search_form(name)
        long_words = [w for w in form.words if len(w) >= 5]
        if long_words:
            w = rng.choice(long_words)
            out["word"].append((w, e.entry_id))
            out["prefix"].append((w[:4], e.entry_id))
        if form.han and len(form.han[0]) >= 3:
            run = form.han[0]
            i = rng.randrange(0, len(run) - 1)
            out["han_substring"].append((run[i:i + 2], e.entry_id))
            out["pinyin"].append((" ".join(form.pinyin[:2]), e.entry_id))
        if e.identifiers:
            out["identifier"].append((rng.choice(e.identifiers).value, e.entry_id))
        out["whole_name"].append((name, e.entry_id))
        if len(name) > 8:
            i = rng.randrange(1, len(name) - 1)
            out["typo"].append((name[:i] + name[i + 1:], e.entry_id))
    negatives = build_labelled_sets(entries).negatives
    out["unlisted"] = [(name, "") for name, _ in rng.sample(list(negatives), n)]
    return {k: v[:n] for k, v in out.items()}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (/proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _clients_phase(target: str, queries: list[str], clients: int, seconds: float,
                         pid: int | None) -> None:
    import grpc
    from stc.screening.v1 import screening_service_pb2 as pb
    from stc.screening.v1 import screening_service_pb2_grpc

    lat: list[float] = []
    refused: collections.Counter[str] = collections.Counter()
    deadline = time.perf_counter() + seconds
    async with grpc.aio.insecure_channel(target) as ch:
        stub = screening_service_pb2_grpc.ScreeningServiceStub(ch)
        await stub.SearchListEntries(pb.SearchListEntriesRequest(query="warm up"), timeout=30)

        async def caller(c: int) -> None:
            i = c * 7919
            while time.perf_counter() < deadline:
                q = queries[i % len(queries)]
                i += 1
                t0 = time.perf_counter()
                try:
                    # public: no token; 10 results a page, as a search box shows them
                    await stub.SearchListEntries(
                        pb.SearchListEntriesRequest(query=q, page_size=10), timeout=30)
                    lat.append(time.perf_counter() - t0)
                except grpc.aio.AioRpcError as e:
                    refused[e.code().name] += 1
                    # a refused caller backs off a little, as the retry advice says
                    await asyncio.sleep(0.05)

        cpu0 = _cpu_seconds(pid) if pid else 0.0
        t0 = time.perf_counter()
        await asyncio.gather(*(caller(c) for c in range(clients)))
        elapsed = time.perf_counter() - t0
        cpu = (_cpu_seconds(pid) - cpu0) if pid else 0.0
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0.0

    print(f"{clients:>7} {len(lat) / elapsed:>9.0f} {pct(.5):>8.1f} {pct(.95):>8.1f} "
          f"{pct(.99):>8.1f} {sum(refused.values()):>8} "
          f"{cpu * 1000 / max(1, len(lat) + sum(refused.values())):>8.2f}  "
          + (", ".join(f"{k} {v}" for k, v in refused.most_common()) or "-"))


async def _clients_main(args, queries: list[str]) -> None:
    levels = [int(x) for x in args.clients.split(",")]
    print(f"SearchListEntries over gRPC, {len(queries)} queries of every kind in turn, "
          f"{args.seconds:.0f}s per level; load {os.getloadavg()[0]:.1f}")
    header = (f"{'clients':>7} {'calls/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'refused':>8} {'cpu ms':>8}  refusals by status (cpu ms: the service's "
              f"CPU per call)")
    if args.target:
        print(header)
        for n in levels:
            await _clients_phase(args.target, queries, n, args.seconds, None)
        return
    from stc_common.testing.platform import running_services

    admin = os.environ.get("STC_TEST_DATABASE_URL", "")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not admin or not kafka:
        sys.exit("give --target, or run under the test stack's KAFKA_BOOTSTRAP_SERVERS and "
                 "STC_TEST_DATABASE_URL")
    t0 = time.perf_counter()
    async with running_services(ROOT, admin, kafka, services=("screening",),
                                ready_timeout=300) as procs:
        print(f"screening service up in {time.perf_counter() - t0:.1f}s (own process)")
        print(header)
        for n in levels:
            await _clients_phase(procs.addresses["screening"], queries, n, args.seconds,
                                 procs.procs["screening"].pid)


def main() -> None:
    """Load, index, search, print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("STC_DATA_DIR",
                                                    str(ROOT.parent / "shared/data")))
    ap.add_argument("--queries", type=int, default=300, help="queries per kind")
    ap.add_argument("--clients", default="",
                    help="concurrent gRPC callers per level, e.g. 1,8,32 (default: in process)")
    ap.add_argument("--seconds", type=float, default=8.0, help="per level with --clients")
    ap.add_argument("--target", default="", help="a running screening service")
    args = ap.parse_args()
    entries = load_lists(args.data)
    if args.clients:
        mix = _queries(entries, args.queries, random.Random(7))
        longest = max(len(v) for v in mix.values())
        # every kind in turn (the kinds with fewer queries drop out when they run out)
        queries = [v[i][0] for i in range(longest) for v in mix.values()
                   if i < len(v) and v[i][0].strip()]
        asyncio.run(_clients_main(args, queries))
        return
    t0 = time.perf_counter()
    index = ScreeningIndex(entries)
    print(f"index: {len(index)} entries, {index.name_count} names, "
          f"built in {time.perf_counter() - t0:.2f}s")
    index.search("warm up")
    rng = random.Random(7)
    every: list[float] = []
    print(f"{'query kind':<14} {'n':>5} {'found':>7} {'top10':>7} {'well':>7} {'p50 ms':>8}"
          f" {'p95 ms':>8} {'max ms':>8} {'results':>8}")
    for kind, qs in _queries(entries, args.queries, rng).items():
        lat, found, top, sizes, well = [], 0, 0, [], 0
        for q, entry_id in qs:
            t = time.perf_counter()
            got = index.search(q)
            lat.append((time.perf_counter() - t) * 1000)
            ids = [r.entry_id for r in got]
            found += entry_id in ids
            top += entry_id in ids[:10]
            well += index.search_matches_well(got)
            sizes.append(len(ids))
        every += lat
        if not qs:
            continue
        lat.sort()
        print(f"{kind:<14} {len(qs):>5} {found / len(qs):>7.1%} {top / len(qs):>7.1%} "
              f"{well / len(qs):>7.1%} "
              f"{statistics.median(lat):>8.2f} {lat[int(0.95 * (len(lat) - 1))]:>8.2f} "
              f"{lat[-1]:>8.2f} {statistics.median(sizes):>8.0f}")
    every.sort()
    print(f"all {len(every)} queries: p50 {statistics.median(every):.2f} ms, "
          f"p95 {every[int(0.95 * (len(every) - 1))]:.2f} ms")


if __name__ == "__main__":
    main()
