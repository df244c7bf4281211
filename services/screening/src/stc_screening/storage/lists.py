"""List entries (every field kept as jsonb), import runs, and officer request ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
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


async def load_all(conn: asyncpg.Connection) -> list[ListEntry]:
    """Every stored entry."""
    rows = await conn.fetch("SELECT raw FROM list_entries")
    return [entry_from_raw(r["raw"]) for r in rows]


async def load_sources(conn: asyncpg.Connection, source_prefixes: Sequence[str]
                       ) -> list[ListEntry]:
    """Entries whose id starts with one of the prefixes (one importer's entries)."""
    rows = await conn.fetch(
        "SELECT raw FROM list_entries WHERE origin = 'import' "
        "AND split_part(entry_id, ':', 1) = ANY($1::text[])", list(source_prefixes))
    return [entry_from_raw(r["raw"]) for r in rows]


async def get(conn: asyncpg.Connection, entry_id: str, *, for_update: bool = False
              ) -> ListEntry | None:
    """One entry or None."""
    sql = "SELECT raw FROM list_entries WHERE entry_id = $1"
    raw = await conn.fetchval(sql + (" FOR UPDATE" if for_update else ""), entry_id)
    return entry_from_raw(raw) if raw is not None else None


# PostgreSQL advisory lock keys (any bigint; these spell "STCSCRIM" and "STCSCRST")
IMPORT_LOCK = 0x5354435343524D
START_LOCK = 0x53544353435354


async def lock_imports(conn: asyncpg.Connection) -> None:
    """Serialise list imports across replicas and the CLI until the transaction ends: the
    second importer waits, then diffs against what the first committed."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", IMPORT_LOCK)


async def insert_many(conn: asyncpg.Connection, entries: Iterable[ListEntry], origin: str
                      ) -> None:
    """Insert entries (batched)."""
    await conn.executemany(
        """INSERT INTO list_entries (entry_id, list_kind, source, primary_name, content_hash,
                                     raw, origin) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [(e.entry_id, e.list_kind.value, e.source, e.primary_name, e.content_hash,
          entry_to_raw(e), origin) for e in entries])


async def update_many(conn: asyncpg.Connection, entries: Iterable[ListEntry]) -> None:
    """Replace stored entries with new content."""
    await conn.executemany(
        """UPDATE list_entries SET list_kind = $2, source = $3, primary_name = $4,
                  content_hash = $5, raw = $6, updated_at = now() WHERE entry_id = $1""",
        [(e.entry_id, e.list_kind.value, e.source, e.primary_name, e.content_hash,
          entry_to_raw(e)) for e in entries])


async def delete_many(conn: asyncpg.Connection, entry_ids: Iterable[str]) -> None:
    """Delete entries."""
    await conn.execute("DELETE FROM list_entries WHERE entry_id = ANY($1::text[])",
                       list(entry_ids))


async def count(conn: asyncpg.Connection) -> int:
    """Number of stored entries."""
    return await conn.fetchval("SELECT count(*) FROM list_entries")


async def counts_by_kind(conn: asyncpg.Connection) -> dict[str, int]:
    """Entries per list kind."""
    rows = await conn.fetch("SELECT list_kind, count(*) AS n FROM list_entries GROUP BY 1")
    return {r["list_kind"]: r["n"] for r in rows}


async def lists_version(conn: asyncpg.Connection) -> str:
    """A hash of every entry's content hash (what ScreeningCompleted.lists_version reports)."""
    return await conn.fetchval(
        "SELECT coalesce(md5(string_agg(content_hash, '' ORDER BY entry_id)), '') "
        "FROM list_entries")


async def record_version(conn: asyncpg.Connection, *, list_name: str, source_path: str,
                         file_sha256: str, entries: int, added: int, updated: int,
                         removed: int, seconds: float) -> None:
    """Record one import run."""
    await conn.execute(
        """INSERT INTO list_versions (list_name, source_path, file_sha256, entries, added,
                                      updated, removed, seconds)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        list_name, source_path, file_sha256, entries, added, updated, removed, seconds)


async def claim_request(conn: asyncpg.Connection, request_id: str, entry_id: str) -> str | None:
    """Remember an officer's request id; the entry id of an earlier identical request."""
    got = await conn.fetchval(
        """INSERT INTO list_requests (request_id, entry_id) VALUES ($1, $2)
           ON CONFLICT (request_id) DO NOTHING RETURNING entry_id""", request_id, entry_id)
    if got is not None:
        return None
    return await conn.fetchval("SELECT entry_id FROM list_requests WHERE request_id = $1",
                               request_id)


async def owned_ids(conn: asyncpg.Connection) -> set[str]:
    """Ids of entries an officer or the end-use-check flow owns (importers never touch them)."""
    return {r["entry_id"] for r in await conn.fetch(
        "SELECT entry_id FROM list_entries WHERE origin <> 'import'")}


async def take_over(conn: asyncpg.Connection, entry_id: str) -> None:
    """An officer edited an imported entry: from now on it is the officer's, not the importer's."""
    await conn.execute("UPDATE list_entries SET origin = 'officer' WHERE entry_id = $1 "
                       "AND origin = 'import'", entry_id)


async def content_hashes(conn: asyncpg.Connection) -> dict[str, str]:
    """{entry id: content hash} of every stored entry."""
    rows = await conn.fetch("SELECT entry_id, content_hash FROM list_entries")
    return {r["entry_id"]: r["content_hash"] for r in rows}
