"""Credit log proofs at 1k, 10k and 100k entries: latency and rows read per inclusion proof,
consistency proof and append, from the stored Merkle nodes (`merkle_nodes`) and, for
comparison, by the full recomputation from every leaf hash (what each call did before).

Prints figures, passes nothing. Needs PostgreSQL (the local stack or make test's):
``.venv/bin/python bench/credit_proofs.py [--sizes 1000 10000 100000] [--proofs 200]``.
Creates a scratch database and drops it. About 20 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services/credit/src"), str(ROOT / "services/common/src")]

import asyncpg  # noqa: E402
from stc_common.db.migrate import MigrationSource, migrate  # noqa: E402
from stc_credit.domain.canonical import EntryKind, LogEntry, RepairEntry  # noqa: E402
from stc_credit.domain.checkpoint import generate_key, parse_signer_key  # noqa: E402
from stc_credit.domain.merkle import (  # noqa: E402
    LeafHashSource,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from stc_credit.storage import log as logstore  # noqa: E402

MIGRATIONS = ROOT / "services/credit/migrations"
SIGNER = parse_signer_key(generate_key("stc.bench/credit-log")[0])


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(len(s) * 0.95))]
    return f"p50 {statistics.median(s) * 1e3:7.2f} ms  p95 {p95 * 1e3:7.2f} ms"


async def _grow(conn: asyncpg.Connection, tree: MerkleTree, to: int) -> None:
    """Bulk-load synthetic entries up to `to` and the nodes they close (COPY)."""
    start = tree.size
    before = [len(level) for level in tree.levels]
    rows = []
    for seq in range(start, to):
        data = f'{{"bench":{seq}}}'.encode()
        tree.append(data)
        rows.append((seq, "penalty", f"CR-{seq}", "91310000MA1FL1234X", data, leaf_hash(data)))
    await conn.copy_records_to_table(
        "publication_log", records=rows,
        columns=["seq", "kind", "record_id", "uscc", "canonical", "leaf_hash"],
    )  # fmt: skip
    nodes = [
        (level, i, tree.levels[level][i])
        for level in range(1, len(tree.levels))
        for i in range(before[level] if level < len(before) else 0, len(tree.levels[level]))
    ]
    await conn.copy_records_to_table(
        "merkle_nodes", records=nodes, columns=["level", "idx", "hash"]
    )
    await conn.execute("ANALYZE publication_log; ANALYZE merkle_nodes")


async def _measure(conn: asyncpg.Connection, n: int, proofs: int, full_reps: int) -> None:
    rng = random.Random(n)
    inc_t, inc_rows, con_t, con_rows = [], [], [], []
    for _ in range(proofs):
        stored = logstore.StoredTree(conn)
        t = time.perf_counter()
        await stored.inclusion(rng.randrange(n), n)
        inc_t.append(time.perf_counter() - t)
        inc_rows.append(stored.rows_read)
        stored = logstore.StoredTree(conn)
        t = time.perf_counter()
        await stored.consistency(rng.randrange(1, n), n)
        con_t.append(time.perf_counter() - t)
        con_rows.append(stored.rows_read)
    app_t, app_rows = [], []
    for i in range(min(proofs, 50)):
        entry = LogEntry(n, EntryKind.REPAIR, RepairEntry(
            record_id=f"CR-b{i}", uscc="91310000MA1FL1234X", repair_decision_no="D",
            decided_on=dt.date(2026, 1, 1), last_day_shown=dt.date(2026, 1, 1)))  # fmt: skip
        tr = conn.transaction()
        await tr.start()
        reads = 0
        orig = logstore.StoredTree.fetch

        async def counting(self, keys, _orig=orig):
            nonlocal reads
            got = await _orig(self, keys)
            reads += len(got)
            return got

        logstore.StoredTree.fetch = counting  # type: ignore[method-assign]
        try:
            t = time.perf_counter()
            await logstore.append(
                conn, lambda seq, e=entry: e, record_id="CR", uscc="91310000MA1FL1234X",
                signer=SIGNER, origin="stc.bench/credit-log",
            )  # fmt: skip
            app_t.append(time.perf_counter() - t)
            app_rows.append(reads)
        finally:
            logstore.StoredTree.fetch = orig  # type: ignore[method-assign]
            await tr.rollback()  # the log stays at n entries
    full_inc, full_con = [], []
    for _ in range(full_reps):
        t = time.perf_counter()
        hashes = await logstore.leaf_hashes(conn, n)
        inclusion_proof(LeafHashSource(hashes), rng.randrange(n), n)
        full_inc.append(time.perf_counter() - t)
        t = time.perf_counter()
        hashes = await logstore.leaf_hashes(conn, n)
        consistency_proof(LeafHashSource(hashes), rng.randrange(1, n), n)
        full_con.append(time.perf_counter() - t)
    print(f"n = {n:>7,} entries")
    print(f"  inclusion   stored nodes: {_ms(inc_t)}  rows read max {max(inc_rows):3d}"
          f" (mean {statistics.mean(inc_rows):.1f})")
    print(f"              every leaf:   {_ms(full_inc)}  rows read {n:,}")
    print(f"  consistency stored nodes: {_ms(con_t)}  rows read max {max(con_rows):3d}"
          f" (mean {statistics.mean(con_rows):.1f})")
    print(f"              every leaf:   {_ms(full_con)}  rows read {n:,}")
    print(f"  append + signed checkpoint: {_ms(app_t)}  rows read max {max(app_rows)}"
          f" (before: {n:,} leaf hashes per append)")


async def main() -> None:
    """Grow one scratch log through the sizes and measure at each."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--proofs", type=int, default=200, help="proofs of each kind per size")
    ap.add_argument("--full-reps", type=int, default=5, help="full recomputations per size")
    args = ap.parse_args()
    admin = os.environ.get("STC_TEST_DATABASE_URL", "postgresql://stc@127.0.0.1:55432/postgres")
    db = f"bench_credit_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{db}"')
    await conn.close()
    dsn = f"{admin.rpartition('/')[0]}/{db}"
    started = time.perf_counter()
    try:
        await migrate(dsn, [MigrationSource("credit", MIGRATIONS)])
        conn = await asyncpg.connect(dsn)
        try:
            tree = MerkleTree()
            for n in sorted(args.sizes):
                await _grow(conn, tree, n)
                assert await logstore.StoredTree(conn).root(n) == tree.root(n)
                await _measure(conn, n, args.proofs, args.full_reps)
        finally:
            await conn.close()
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        await conn.close()
    print(f"done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    asyncio.run(main())
