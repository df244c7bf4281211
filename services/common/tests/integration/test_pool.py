"""The connection pool over real PostgreSQL: a release costs no round trip, and still ends
an open transaction (issue 14: asyncpg's reset query was one more statement per release)."""

import pytest
from stc_common.db.pool import create_pool

pytestmark = pytest.mark.integration


async def test_release_sends_no_reset_query_but_rolls_back_an_open_transaction(fresh_database):
    dsn = await fresh_database("pool")
    pool = await create_pool(dsn, min_size=1, max_size=1)  # one connection: the same each time
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE t (v int)")
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            # session state survives the release: no RESET ALL went over the wire
            await conn.execute("SET application_name = 'stc-pool-test'")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid
            assert await conn.fetchval("SHOW application_name") == "stc-pool-test"
            tx = conn.transaction()
            await tx.start()
            await conn.execute("INSERT INTO t VALUES (1)")
            # released with the transaction open (a handler that forgot it, a cancellation)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM t") == 0  # rolled back
    finally:
        await pool.close()
