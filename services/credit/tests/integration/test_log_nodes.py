"""The stored Merkle nodes (migration 0004) over real PostgreSQL: tree heads and proofs read
from them equal the full recomputation from every leaf, for every size up to 70, and each
reads O(log n) rows; the migration backfills an existing log."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import asyncpg
import pytest
from stc_common.db.migrate import MigrationSource, migrate
from stc_credit.domain.canonical import EntryKind, LogEntry, RepairEntry
from stc_credit.domain.checkpoint import generate_key, parse_signer_key
from stc_credit.domain.merkle import (
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from stc_credit.storage import log as logstore

pytestmark = pytest.mark.integration
MIGRATIONS = Path(logstore.__file__).resolve().parents[3] / "migrations"
SIGNER = parse_signer_key(generate_key("stc.test/nodes")[0])
SIZE = 70


def _entry(seq: int) -> LogEntry:
    return LogEntry(seq, EntryKind.REPAIR, RepairEntry(
        record_id=f"CR-{seq}", uscc="91310000MA1FL1234X", repair_decision_no=f"D-{seq}",
        decided_on=dt.date(2026, 1, 1), last_day_shown=dt.date(2026, 1, 1),
    ))  # fmt: skip


def _bound(n: int) -> int:
    """Rows a head or proof may read: two per level."""
    return 2 * max(1, math.ceil(math.log2(max(n, 2))))


@pytest.fixture
async def conn(fresh_database):
    dsn = await fresh_database("nodes")
    await migrate(dsn, [MigrationSource("credit", MIGRATIONS)])
    c = await asyncpg.connect(dsn)
    yield c
    await c.close()


async def _append(conn: asyncpg.Connection) -> logstore.Appended:
    async with conn.transaction():
        return await logstore.append(
            conn, _entry, record_id="CR", uscc="91310000MA1FL1234X", signer=SIGNER,
            origin="stc.test/nodes",
        )  # fmt: skip


async def test_stored_nodes_give_the_same_heads_and_proofs_as_the_full_recomputation(conn):
    tree = MerkleTree()
    for n in range(1, SIZE + 1):
        appended = await _append(conn)
        tree.append_hash(leaf_hash(appended.canonical))
        assert appended.tree_size == n and appended.root == tree.root()
    leaves = await logstore.leaf_hashes(conn)
    assert len(leaves) == SIZE
    for size in range(1, SIZE + 1):
        stored = logstore.StoredTree(conn)
        assert await stored.root(size) == tree.root(size)
        assert stored.rows_read <= _bound(size)
        for index in range(size):
            stored = logstore.StoredTree(conn)
            proof = await stored.inclusion(index, size)
            assert proof == inclusion_proof(leaves, index, size)  # recomputed from every leaf
            assert verify_inclusion(leaves[index], index, size, proof, tree.root(size))
            assert stored.rows_read <= _bound(size), (index, size, stored.rows_read)
        for old in range(1, size + 1):
            stored = logstore.StoredTree(conn)
            proof = await stored.consistency(old, size)
            assert proof == consistency_proof(leaves, old, size)
            assert verify_consistency(old, size, tree.root(old), tree.root(size), proof)
            assert stored.rows_read <= _bound(size), (old, size, stored.rows_read)


async def test_an_append_reads_the_frontier_not_every_leaf(conn):
    for _ in range(64):
        await _append(conn)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO publication_log (seq, kind, record_id, uscc, canonical, leaf_hash)"
            " VALUES (64, 'repair', 'CR', 'X', 'x', $1)", leaf_hash(b"x"),
        )  # fmt: skip
        stored = logstore.StoredTree(conn)
        await stored.extend(64, leaf_hash(b"x"))
        assert stored.rows_read == 1  # the frontier of 64 leaves is one subtree
    levels = await conn.fetchval("SELECT count(*) FROM merkle_nodes")
    assert levels == 63  # 32 + 16 + 8 + 4 + 2 + 1 complete subtrees above the leaves


async def test_stored_nodes_are_append_only(conn):
    await _append(conn)
    await _append(conn)
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await conn.execute("UPDATE merkle_nodes SET hash = $1", bytes(32))
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await conn.execute("DELETE FROM merkle_nodes")


async def test_the_migration_backfills_the_nodes_of_an_existing_log(fresh_database, tmp_path):
    dsn = await fresh_database("backfill")
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0004":
            shutil.copy(path, before / path.name)
    await migrate(dsn, [MigrationSource("credit", before)])
    c = await asyncpg.connect(dsn)
    try:
        hashes = [leaf_hash(f"entry {i}".encode()) for i in range(45)]
        await c.executemany(
            "INSERT INTO publication_log (seq, kind, record_id, uscc, canonical, leaf_hash)"
            " VALUES ($1, 'penalty', 'CR', 'X', 'x', $2)",
            list(enumerate(hashes)),
        )
        assert await migrate(dsn, [MigrationSource("credit", MIGRATIONS)]) == [
            f"credit/{p.name}" for p in sorted(MIGRATIONS.glob("*.sql")) if p.name >= "0004"
        ]
        tree = MerkleTree(hashes)
        rows = await c.fetch("SELECT level, idx, hash FROM merkle_nodes")
        assert {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows} == {
            (level, i): h
            for level in range(1, len(tree.levels)) for i, h in enumerate(tree.levels[level])
        }
        for size in (1, 2, 31, 32, 33, 45):
            assert await logstore.StoredTree(c).root(size) == tree.root(size)
    finally:
        await c.close()
