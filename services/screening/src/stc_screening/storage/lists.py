"""List entries (every field kept as jsonb), import runs, and officer request ids: the
``ListRepository`` of the screening unit of work, plain SQL over asyncpg."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg

from stc_screening.domain.lists import Address, Identifier, ListEntry, ListKind, PartyType


def entry_to_raw(e: ListEntry) -> dict[str, Any]:
    """Every field of a domain entry as JSON-able data."""
    return {
        "entry_id": e.entry_id, "list_kind": e.list_kind.value, "names": list(e.names),
        "party_type": e.party_type.value, "legal_basis": e.legal_basis, "source": e.source,
        "countries": list(e.countries),
        "addresses": [{"street": a.street, "city": a.city, "region": a.region,
                       "postal_code": a.postal_code, "country": a.country} for a in e.addresses],
        "identifiers": [{"type": i.type, "value": i.value, "country": i.country}
                        for i in e.identifiers],
        "programs": list(e.programs), "announcement": e.announcement,
        "listed_on": e.listed_on.isoformat() if e.listed_on else None,
        "remarks": e.remarks, "content_hash": e.content_hash,
    }


def entry_from_raw(r: dict[str, Any]) -> ListEntry:
    """The domain entry back from its stored form."""
    return ListEntry(
        entry_id=r["entry_id"], list_kind=ListKind(r["list_kind"]), names=tuple(r["names"]),
        party_type=PartyType(r.get("party_type") or "UNKNOWN"),
        legal_basis=r.get("legal_basis", ""), source=r.get("source", ""),
        countries=tuple(r.get("countries", ())),
        addresses=tuple(Address(**a) for a in r.get("addresses", ())),
        identifiers=tuple(Identifier(**i) for i in r.get("identifiers", ())),
        programs=tuple(r.get("programs", ())), announcement=r.get("announcement", ""),
        listed_on=dt.date.fromisoformat(r["listed_on"]) if r.get("listed_on") else None,
        remarks=r.get("remarks", ""), content_hash=r.get("content_hash", ""),
    )


# PostgreSQL advisory lock keys (any bigint; these spell "STCSCRIM" and "STCSCRST")
IMPORT_LOCK = 0x5354435343524D
START_LOCK = 0x53544353435354


@contextlib.asynccontextmanager
async def start_lock(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Hold the session advisory lock replicas take at start (the first imports the lists,
    the others wait and then find the table full); yields the locked connection."""
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", START_LOCK)
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", START_LOCK)


class ListRepository:
    """The list_entries, list_versions and list_requests tables."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def load_all(self) -> list[ListEntry]:
        """Every stored entry."""
        rows = await self.conn.fetch("SELECT raw FROM list_entries")
        return [entry_from_raw(r["raw"]) for r in rows]

    async def load_sources(self, source_prefixes: Sequence[str]) -> list[ListEntry]:
        """Imported entries whose id starts with one of the prefixes (one importer's)."""
        rows = await self.conn.fetch(
            "SELECT raw FROM list_entries WHERE origin = 'import' "
            "AND split_part(entry_id, ':', 1) = ANY($1::text[])", list(source_prefixes))
        return [entry_from_raw(r["raw"]) for r in rows]

    async def get(self, entry_id: str, *, for_update: bool = False) -> ListEntry | None:
        """One entry or None."""
        sql = "SELECT raw FROM list_entries WHERE entry_id = $1"
        raw = await self.conn.fetchval(sql + (" FOR UPDATE" if for_update else ""), entry_id)
        return entry_from_raw(raw) if raw is not None else None

    async def lock_imports(self) -> None:
        """Serialise list imports across replicas and the CLI until the transaction ends: the
        second importer waits, then diffs against what the first committed."""
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", IMPORT_LOCK)

    async def insert_many(self, entries: Iterable[ListEntry], origin: str) -> None:
        """Insert entries (batched); ``origin`` is import, officer or enduser."""
        await self.conn.executemany(
            """INSERT INTO list_entries (entry_id, list_kind, source, primary_name, content_hash,
                                         raw, origin) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            [(e.entry_id, e.list_kind.value, e.source, e.primary_name, e.content_hash,
              entry_to_raw(e), origin) for e in entries])

    async def update_many(self, entries: Iterable[ListEntry]) -> None:
        """Replace stored entries with new content."""
        await self.conn.executemany(
            """UPDATE list_entries SET list_kind = $2, source = $3, primary_name = $4,
                      content_hash = $5, raw = $6, updated_at = now() WHERE entry_id = $1""",
            [(e.entry_id, e.list_kind.value, e.source, e.primary_name, e.content_hash,
              entry_to_raw(e)) for e in entries])

    async def delete_many(self, entry_ids: Iterable[str]) -> None:
        """Delete entries."""
        await self.conn.execute("DELETE FROM list_entries WHERE entry_id = ANY($1::text[])",
                                list(entry_ids))

    async def count(self) -> int:
        """Number of stored entries."""
        return int(await self.conn.fetchval("SELECT count(*) FROM list_entries"))

    async def record_version(self, *, list_name: str, source_path: str, file_sha256: str,
                             entries: int, added: int, updated: int, removed: int,
                             seconds: float) -> None:
        """Record one import run."""
        await self.conn.execute(
            """INSERT INTO list_versions (list_name, source_path, file_sha256, entries, added,
                                          updated, removed, seconds)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            list_name, source_path, file_sha256, entries, added, updated, removed, seconds)

    async def claim_request(self, request_id: str, entry_id: str, fingerprint: str
                            ) -> tuple[str, str | None] | None:
        """Bind an officer's request id to a new entry id; None when it is new, else the
        earlier (entry id, request fingerprint) — a fingerprint of None for old rows."""
        got = await self.conn.fetchval(
            """INSERT INTO list_requests (request_id, entry_id, request_fingerprint)
               VALUES ($1, $2, $3)
               ON CONFLICT (request_id) DO NOTHING RETURNING entry_id""",
            request_id, entry_id, fingerprint)
        if got is not None:
            return None
        row = await self.conn.fetchrow(
            "SELECT entry_id, request_fingerprint FROM list_requests WHERE request_id = $1",
            request_id)
        return row["entry_id"], row["request_fingerprint"]

    async def owned_ids(self) -> set[str]:
        """Ids of entries an officer or the end-use-check flow owns (importers never touch
        them)."""
        return {r["entry_id"] for r in await self.conn.fetch(
            "SELECT entry_id FROM list_entries WHERE origin <> 'import'")}

    async def take_over(self, entry_id: str) -> None:
        """An officer edited an imported entry: from now on it is the officer's."""
        await self.conn.execute("UPDATE list_entries SET origin = 'officer' WHERE entry_id = $1 "
                                "AND origin = 'import'", entry_id)

    async def content_hashes(self) -> dict[str, str]:
        """{entry id: content hash} of every stored entry."""
        rows = await self.conn.fetch("SELECT entry_id, content_hash FROM list_entries")
        return {r["entry_id"]: r["content_hash"] for r in rows}
