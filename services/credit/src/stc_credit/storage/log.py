"""The append-only publication log in PostgreSQL and its signed checkpoints.

Appends are serialised by a transaction-scoped advisory lock, so `seq` has no gaps and
each append's checkpoint covers exactly the entries before it. The database refuses
UPDATE, DELETE and TRUNCATE on `publication_log` and `checkpoints` (migration 0001).

Tree heads and proofs are computed from stored hashes (not from the entry bytes), so a
byte changed in a stored entry shows up as a leaf that no longer matches its proof. The
heads of the tree's complete subtrees are stored (`merkle_nodes`, migration 0004; level 0
is `publication_log.leaf_hash`): an append reads the old size's frontier (at most log2 n
rows) and writes the subtrees it closes; a tree head, an inclusion proof or a consistency
proof reads at most 2·log2 n rows in one query (`StoredTree`), whatever the log's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from stc_credit.domain.canonical import LogEntry, encode_entry
from stc_credit.domain.checkpoint import Checkpoint, SignerKey, sign_checkpoint
from stc_credit.domain.merkle import (
    HASH_SIZE,
    NodeSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
)

_APPEND_LOCK = 0x57C_C4ED_0001
T = TypeVar("T")
Key = tuple[int, int]


class _KeyRecorder:
    """A NodeSource that notes which complete subtrees an algorithm asks for."""

    def __init__(self) -> None:
        self.keys: set[Key] = set()

    def subtree(self, level: int, index: int) -> bytes:
        self.keys.add((level, index))
        return bytes(HASH_SIZE)


class _Nodes:
    """A NodeSource over nodes fetched beforehand."""

    def __init__(self, nodes: dict[Key, bytes]) -> None:
        self.nodes = nodes

    def subtree(self, level: int, index: int) -> bytes:
        try:
            return self.nodes[(level, index)]
        except KeyError:
            raise LookupError(f"merkle node ({level}, {index}) is not stored") from None


class StoredTree:
    """Tree heads and proofs over the stored nodes: each call runs the RFC 6962 algorithm
    once to learn the O(log n) subtrees it needs, reads them in one query, and runs it
    again over them. `rows_read` counts the hashes read (for the bench and the tests)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.rows_read = 0

    async def fetch(self, keys: set[Key]) -> dict[Key, bytes]:
        """The stored hashes of the complete subtrees `keys` (level 0: leaf hashes)."""
        if not keys:
            return {}
        leaves = [i for level, i in keys if level == 0]
        levels = [level for level, _ in keys if level > 0]
        idxs = [i for level, i in keys if level > 0]
        rows = await self.conn.fetch(
            """SELECT 0 AS level, seq AS idx, leaf_hash AS hash FROM publication_log
                WHERE seq = ANY($1::bigint[])
               UNION ALL
               SELECT m.level, m.idx, m.hash FROM merkle_nodes m
                 JOIN unnest($2::smallint[], $3::bigint[]) AS k(level, idx)
                   ON m.level = k.level AND m.idx = k.idx""",
            leaves, levels, idxs,
        )  # fmt: skip
        self.rows_read += len(rows)
        return {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}

    async def run(self, compute: Callable[[NodeSource], T]) -> T:
        """`compute` over the stored nodes it needs."""
        recorder = _KeyRecorder()
        compute(recorder)
        return compute(_Nodes(await self.fetch(recorder.keys)))

    async def root(self, tree_size: int) -> bytes:
        """MTH of the first `tree_size` entries."""
        return await self.run(lambda src: root_hash(src, tree_size))

    async def inclusion(self, index: int, tree_size: int) -> list[bytes]:
        """Audit path of entry `index` in the tree of the first `tree_size` entries."""
        return await self.run(lambda src: inclusion_proof(src, index, tree_size))

    async def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """Consistency proof from the tree of `old_size` entries to that of `new_size`."""
        return await self.run(lambda src: consistency_proof(src, old_size, new_size))

    async def extend(self, seq: int, leaf: bytes) -> bytes:
        """Store the subtrees that leaf `seq` closes (the leaf itself is already stored);
        return the head of the tree of `seq + 1` entries. Reads the frontier of `seq`."""
        recorder = _KeyRecorder()
        if seq:
            root_hash(recorder, seq)
        nodes = await self.fetch(recorder.keys)
        nodes[(0, seq)] = leaf
        made: list[tuple[int, int, bytes]] = []
        level, index, head = 0, seq, leaf
        while index & 1:  # a right child closes its parent, and so on up
            head = node_hash(_Nodes(nodes).subtree(level, index - 1), head)
            level, index = level + 1, index >> 1
            nodes[(level, index)] = head
            made.append((level, index, head))
        if made:
            await self.conn.execute(
                """INSERT INTO merkle_nodes (level, idx, hash)
                   SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])""",
                [m[0] for m in made], [m[1] for m in made], [m[2] for m in made],
            )  # fmt: skip
        return root_hash(_Nodes(nodes), seq + 1)


@dataclass(frozen=True)
class Appended:
    """The result of one append: the entry's position, its bytes and the new checkpoint."""

    seq: int
    canonical: bytes
    tree_size: int
    root: bytes
    note: str


async def next_seq(conn: asyncpg.Connection) -> int:
    """Lock the log for this transaction and return the next position."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _APPEND_LOCK)
    return int(await conn.fetchval("SELECT coalesce(max(seq) + 1, 0) FROM publication_log"))


async def leaf_hashes(conn: asyncpg.Connection, size: int | None = None) -> list[bytes]:
    """Stored leaf hashes in log order (the first `size`): O(n), for checks and tests."""
    rows = await conn.fetch(
        "SELECT leaf_hash FROM publication_log WHERE ($1::bigint IS NULL OR seq < $1) ORDER BY seq",
        size,
    )
    return [bytes(r["leaf_hash"]) for r in rows]


async def append(
    conn: asyncpg.Connection,
    entry_for: object,
    *,
    record_id: str,
    uscc: str,
    signer: SignerKey,
    origin: str,
) -> Appended:
    """Append the entry built by `entry_for(seq)` and sign a checkpoint over the new log.

    Must run inside the caller's transaction (the entry, its checkpoint and the events
    announcing them commit together).
    """
    seq = await next_seq(conn)
    entry: LogEntry = entry_for(seq)  # type: ignore[operator]
    data = encode_entry(entry)
    leaf = leaf_hash(data)
    await conn.execute(
        """INSERT INTO publication_log (seq, kind, record_id, uscc, canonical, leaf_hash)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        seq, str(entry.kind), record_id, uscc, data, leaf,
    )  # fmt: skip
    size = seq + 1
    root = await StoredTree(conn).extend(seq, leaf)
    note = sign_checkpoint(Checkpoint(origin, size, root), signer)
    await conn.execute(
        "INSERT INTO checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3)",
        size, root, note,
    )  # fmt: skip
    return Appended(seq, data, size, root, note)


@dataclass(frozen=True)
class StoredCheckpoint:
    """A stored signed checkpoint."""

    tree_size: int
    root: bytes
    note: str
    created_at: dt.datetime


async def latest_checkpoint(conn: asyncpg.Connection) -> StoredCheckpoint | None:
    """The largest signed checkpoint, None before the first append."""
    row = await conn.fetchrow("SELECT * FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
    if row is None:
        return None
    return StoredCheckpoint(
        row["tree_size"], bytes(row["root_hash"]), row["note"], row["created_at"]
    )


async def checkpoint_at(conn: asyncpg.Connection, tree_size: int) -> StoredCheckpoint | None:
    """The checkpoint signed at `tree_size`, if any."""
    row = await conn.fetchrow("SELECT * FROM checkpoints WHERE tree_size = $1", tree_size)
    if row is None:
        return None
    return StoredCheckpoint(
        row["tree_size"], bytes(row["root_hash"]), row["note"], row["created_at"]
    )


async def entry(conn: asyncpg.Connection, seq: int) -> bytes | None:
    """Canonical bytes of the entry at `seq`."""
    value = await conn.fetchval("SELECT canonical FROM publication_log WHERE seq = $1", seq)
    return bytes(value) if value is not None else None


async def size(conn: asyncpg.Connection) -> int:
    """Number of entries in the log (positions have no gaps)."""
    return int(await conn.fetchval("SELECT coalesce(max(seq) + 1, 0) FROM publication_log"))


async def inclusion(conn: asyncpg.Connection, index: int, tree_size: int) -> list[bytes]:
    """Audit path of entry `index` in the tree of the first `tree_size` entries."""
    return await StoredTree(conn).inclusion(index, tree_size)


async def consistency(conn: asyncpg.Connection, old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof from the tree of `old_size` entries to that of `new_size`."""
    return await StoredTree(conn).consistency(old_size, new_size)


@dataclass(frozen=True)
class LogRow:
    """A log entry as the publicity feed lists it."""

    seq: int
    kind: str
    record_id: str
    uscc: str
    canonical: bytes


async def list_entries(
    conn: asyncpg.Connection, *, uscc: str | None, after: int, limit: int
) -> list[LogRow]:
    """Entries in log order after position `after` (optionally one enterprise's)."""
    rows = await conn.fetch(
        """SELECT seq, kind, record_id, uscc, canonical FROM publication_log
           WHERE seq > $1 AND ($2::text IS NULL OR uscc = $2) ORDER BY seq LIMIT $3""",
        after, uscc, limit,
    )  # fmt: skip
    return [
        LogRow(r["seq"], r["kind"], r["record_id"], r["uscc"], bytes(r["canonical"])) for r in rows
    ]


class PublicationLog:
    """The publication log as the unit of work exposes it (`uow.log`): the functions above
    over the unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def append(
        self, entry_for: Callable[[int], LogEntry], *, record_id: str, uscc: str,
        signer: SignerKey, origin: str,
    ) -> Appended:
        """Append the entry `entry_for(seq)` builds and sign a checkpoint over the new log."""
        return await append(self.conn, entry_for, record_id=record_id, uscc=uscc,
                            signer=signer, origin=origin)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The largest signed checkpoint, None before the first append."""
        return await latest_checkpoint(self.conn)

    async def checkpoint_at(self, tree_size: int) -> StoredCheckpoint | None:
        """The checkpoint signed at `tree_size`, if any."""
        return await checkpoint_at(self.conn, tree_size)

    async def entry(self, seq: int) -> bytes | None:
        """Canonical bytes of the entry at `seq`."""
        return await entry(self.conn, seq)

    async def inclusion(self, index: int, tree_size: int) -> list[bytes]:
        """Audit path of entry `index` in the tree of the first `tree_size` entries."""
        return await inclusion(self.conn, index, tree_size)

    async def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """Consistency proof from the tree of `old_size` entries to that of `new_size`."""
        return await consistency(self.conn, old_size, new_size)

    async def entries(self, *, uscc: str | None, after: int, limit: int) -> list[LogRow]:
        """Entries in log order after position `after` (optionally one enterprise's)."""
        return await list_entries(self.conn, uscc=uscc, after=after, limit=limit)
