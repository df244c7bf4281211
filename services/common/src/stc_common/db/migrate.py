"""Plain-SQL migration runner.

Files `NNNN_name.sql` are applied in order, each in its own transaction, and recorded in
`schema_migrations` with a SHA-256 checksum. A session advisory lock serialises concurrent
runners, so two processes starting together apply each file once; an applied file whose
checksum has changed stops the run (edit by adding a new file, never by rewriting one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from stc_common.logging import get_logger

COMMON_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x57C_0001  # advisory lock id for migrations
log = get_logger("stc_common.migrate")


class MigrationError(RuntimeError):
    """An applied migration was changed, or a migration failed."""


@dataclass(frozen=True)
class MigrationSource:
    """A folder of .sql files and the prefix their names get in schema_migrations."""

    prefix: str
    folder: Path


async def migrate(
    dsn_or_conn: str | asyncpg.Connection, sources: list[MigrationSource]
) -> list[str]:
    """Apply the pending migrations of `sources` (common first); return the names applied."""
    conn = (
        dsn_or_conn
        if isinstance(dsn_or_conn, asyncpg.Connection)
        else await asyncpg.connect(dsn_or_conn)
    )
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY, checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                r["name"]: r["checksum"]
                for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
            }
            all_sources = [MigrationSource("common", COMMON_MIGRATIONS), *sources]
            for src in all_sources:
                for path in sorted(src.folder.glob("*.sql")):
                    name = f"{src.prefix}/{path.name}"
                    sql = path.read_text(encoding="utf-8")
                    checksum = hashlib.sha256(sql.encode()).hexdigest()
                    if name in done:
                        if done[name] != checksum:
                            raise MigrationError(
                                f"migration {name} was changed after it was applied "
                                f"(checksum {done[name][:12]} -> {checksum[:12]}); "
                                "add a new file instead"
                            )
                        continue
                    async with conn.transaction():
                        try:
                            await conn.execute(sql)
                        except asyncpg.PostgresError as exc:
                            raise MigrationError(f"migration {name} failed: {exc}") from exc
                        await conn.execute(
                            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                            name,
                            checksum,
                        )
                    applied_now.append(name)
                    log.info("migration.applied", migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        if not isinstance(dsn_or_conn, asyncpg.Connection):
            await conn.close()
    return applied_now
