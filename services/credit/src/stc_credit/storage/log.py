"""The append-only publication log in PostgreSQL and its signed checkpoints.

Appends are serialised by a transaction-scoped advisory lock, so `seq` has no gaps and
each append's checkpoint covers exactly the entries before it. The database refuses
UPDATE, DELETE and TRUNCATE on `publication_log` and `checkpoints` (migration 0001).

Tree heads and proofs are computed from the stored leaf hashes (not from the entry bytes),
so a byte changed in a stored entry shows up as a leaf that no longer matches its proof.
Each append reads every leaf hash once (O(n)); a table of complete-subtree hashes
(`merkle.NodeSource`) is the next step when the log grows past ~10^5 entries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from stc_credit.domain.canonical import LogEntry, encode_entry
from stc_credit.domain.checkpoint import Checkpoint, SignerKey, sign_checkpoint
from stc_credit.domain.merkle import (
    LeafHashSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)

_APPEND_LOCK = 0x57C_C4ED_0001


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
    """Stored leaf hashes in log order (the first `size`)."""
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
    hashes = await leaf_hashes(conn)
    size = len(hashes)
    root = root_hash(hashes, size)
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
    """Number of entries in the log."""
    return int(await conn.fetchval("SELECT count(*) FROM publication_log"))


async def inclusion(conn: asyncpg.Connection, index: int, tree_size: int) -> list[bytes]:
    """Audit path of entry `index` in the tree of the first `tree_size` entries."""
    hashes = await leaf_hashes(conn, tree_size)
    return inclusion_proof(LeafHashSource(hashes), index, tree_size)


async def consistency(conn: asyncpg.Connection, old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof from the tree of `old_size` entries to that of `new_size`."""
    hashes = await leaf_hashes(conn, new_size)
    return consistency_proof(LeafHashSource(hashes), old_size, new_size)


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
