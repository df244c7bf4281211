"""The migration runner against a real PostgreSQL."""

import asyncio

import asyncpg
import pytest
from stc_common.db.migrate import COMMON_MIGRATIONS, MigrationError, MigrationSource, migrate

pytestmark = pytest.mark.integration


async def test_migrations_run_twice_without_harm(fresh_database, tmp_path):
    dsn = await fresh_database("mig")
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (tmp_path / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    src = [MigrationSource("svc", tmp_path)]
    first = await migrate(dsn, src)
    second = await migrate(dsn, src)
    common = [f"common/{p.name}" for p in sorted(COMMON_MIGRATIONS.glob("*.sql"))]
    assert common[0] == "common/0001_outbox_inbox.sql"
    assert first == [*common, "svc/0001_things.sql", "svc/0002_more.sql"]
    assert second == []
    conn = await asyncpg.connect(dsn)
    try:
        cols = await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'things' ORDER BY ordinal_position"
        )
        assert [c["column_name"] for c in cols] == ["id", "name"]
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(common) + 2
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_file_once(fresh_database, tmp_path):
    dsn = await fresh_database("mig")
    (tmp_path / "0001_t.sql").write_text("CREATE TABLE t (id int);")
    results = await asyncio.gather(
        *(migrate(dsn, [MigrationSource("svc", tmp_path)]) for _ in range(3))
    )
    applied = [name for r in results for name in r]
    common = [f"common/{p.name}" for p in sorted(COMMON_MIGRATIONS.glob("*.sql"))]
    assert sorted(applied) == [*common, "svc/0001_t.sql"]


async def test_changed_migration_is_refused(fresh_database, tmp_path):
    dsn = await fresh_database("mig")
    f = tmp_path / "0001_t.sql"
    f.write_text("CREATE TABLE t (id int);")
    await migrate(dsn, [MigrationSource("svc", tmp_path)])
    f.write_text("CREATE TABLE t (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(dsn, [MigrationSource("svc", tmp_path)])


async def test_failed_migration_leaves_nothing_half_applied(fresh_database, tmp_path):
    dsn = await fresh_database("mig")
    (tmp_path / "0001_bad.sql").write_text("CREATE TABLE ok (id int); SELECT * FROM nope;")
    with pytest.raises(MigrationError, match="0001_bad.sql failed"):
        await migrate(dsn, [MigrationSource("svc", tmp_path)])
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('ok')") is None
        assert (
            await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE name LIKE 'svc/%'")
            == 0
        )
    finally:
        await conn.close()
