"""The outbox relay over real PostgreSQL and Kafka: SIGKILLed and restarted while rows are
written, every committed row is published exactly once."""

import asyncio
import os
import random
import signal
import sys
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from google.protobuf import wrappers_pb2
from stc_common.db.migrate import migrate
from stc_common.db.pool import create_pool
from stc_common.db.uow import unit_of_work
from stc_common.outbox import OutboxRelay

pytestmark = pytest.mark.integration


async def _read_records(bootstrap: str, topic: str, expected: int,
                        timeout: float = 60) -> list:
    """Every record on `topic`, read from the beginning until `expected` or the timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                got += records
            if len(got) >= expected:
                # read a little longer: duplicates would arrive after the expected count
                extra = await consumer.getmany(timeout_ms=1500)
                for records in extra.values():
                    got += records
                break
    finally:
        await consumer.stop()
    return got


async def _read_all(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[str]:
    """Every ce_id on `topic` (see `_read_records`)."""
    return [dict(r.headers)["ce_id"].decode()
            for r in await _read_records(bootstrap, topic, expected, timeout)]


async def _relay_round(pool, bootstrap: str, service: str) -> int:
    """One relay round over the pool's database (`publish_batch`): the rows it published."""
    from stc_common.kafka.clients import make_producer

    relay = OutboxRelay(dsn="unused", bootstrap=bootstrap, service=service, batch_size=100)
    producer = make_producer(bootstrap, client_id=service)
    await producer.start()
    try:
        async with pool.acquire() as conn:
            return await relay.publish_batch(conn, producer)
    finally:
        await producer.stop()


def _relay_cmd(dsn: str, bootstrap: str, service: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stc_common.tools.relay",
        "--service",
        service,
        "--dsn",
        dsn,
        "--bootstrap",
        bootstrap,
        "--batch-size",
        "25",
        "--poll-interval",
        "0.05",
    ]


async def test_relay_killed_mid_batch_publishes_every_row_once(
    fresh_database, new_topic, kafka_bootstrap
):
    dsn = await fresh_database("outbox")
    topic = await new_topic("outbox", partitions=3)
    await migrate(dsn, [])
    pool = await create_pool(dsn, max_size=4)
    service = f"svc-{uuid.uuid4().hex[:6]}"
    committed: list[str] = []
    writing = True

    async def writer():
        i = 0
        while writing:
            async with unit_of_work(pool, "/test") as uow:  # 5 events per transaction
                for _ in range(5):
                    committed.append(
                        await uow.publish(
                            topic, f"agg-{i % 17}", wrappers_pb2.StringValue(value=str(i))
                        )
                    )
                    i += 1
            await asyncio.sleep(0.002)

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    writer_task = asyncio.create_task(writer())
    rng = random.Random(7)
    kills = 0
    try:
        for _ in range(6):  # six crashes at random points while rows keep coming
            proc = await asyncio.create_subprocess_exec(
                *_relay_cmd(dsn, kafka_bootstrap, service),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(rng.uniform(1.5, 3.0))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1
        writing = False
        await writer_task
        # a last relay drains what is left, then stops cleanly
        proc = await asyncio.create_subprocess_exec(
            *_relay_cmd(dsn, kafka_bootstrap, service),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(600):
            async with pool.acquire() as conn:
                if await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0:
                    break
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
        published = await _read_all(kafka_bootstrap, topic, len(committed))
    finally:
        writing = False
        await pool.close()
    assert kills == 6
    assert len(committed) > 200
    assert len(published) == len(set(published)), "an event was published twice"
    assert set(published) == set(committed), "a committed event is missing from the topic"


async def test_acknowledged_but_unmarked_rows_are_not_published_again(
    fresh_database, new_topic, kafka_bootstrap
):
    """The crash window the relay guards: broker acked the batch, the UPDATE never committed."""
    dsn = await fresh_database("outbox")
    topic = await new_topic("outbox", partitions=2)
    await migrate(dsn, [])
    pool = await create_pool(dsn)
    try:
        ids = []
        async with unit_of_work(pool, "/test") as uow:
            for i in range(30):
                ids.append(
                    await uow.publish(topic, f"k{i}", wrappers_pb2.StringValue(value=str(i)))
                )

        from stc_common.kafka.clients import make_producer

        relay = OutboxRelay(dsn=dsn, bootstrap=kafka_bootstrap, service="crashy", batch_size=100)
        producer = make_producer(kafka_bootstrap, client_id="crashy")
        await producer.start()
        conn = await pool.acquire()

        class Crash(Exception):
            pass

        class DiesAfterAck:
            """The connection of a relay process that dies right after the broker's ack."""

            def __getattr__(self, name):
                return getattr(conn, name)

            async def execute(self, sql, *args, **kw):
                if "UPDATE outbox" in sql:
                    raise Crash()
                return await conn.execute(sql, *args, **kw)

            async def executemany(self, sql, *args, **kw):
                if "UPDATE outbox" in sql:
                    raise Crash()
                return await conn.executemany(sql, *args, **kw)

        with pytest.raises(Crash):
            await relay.publish_batch(DiesAfterAck(), producer)
        await producer.stop()
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 30
        await pool.release(conn)

        stop = asyncio.Event()
        task = asyncio.create_task(
            OutboxRelay(dsn=dsn, bootstrap=kafka_bootstrap, service="crashy").run(stop)
        )
        for _ in range(100):
            async with pool.acquire() as c:
                if await c.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0:
                    break
            await asyncio.sleep(0.1)
        stop.set()
        await task
        published = await _read_all(kafka_bootstrap, topic, 30, timeout=20)
    finally:
        await pool.close()
    assert sorted(published) == sorted(ids)  # thirty, once each


async def test_a_round_marks_each_row_with_its_partition_and_offset(
    fresh_database, new_topic, kafka_bootstrap
):
    """One round marks every row with where the broker put it (one UPDATE over arrays of ids
    and offsets, issue 14), and keeps the highest offset per partition for recovery."""
    dsn = await fresh_database("outbox")
    topic = await new_topic("outbox", partitions=2)
    await migrate(dsn, [])
    pool = await create_pool(dsn)
    try:
        async with unit_of_work(pool, "/test") as uow:
            for i in range(30):
                await uow.publish(topic, f"k{i}", wrappers_pb2.StringValue(value=str(i)))
        assert await _relay_round(pool, kafka_bootstrap, "marks") == 30
        records = await _read_records(kafka_bootstrap, topic, 30)
        where = {dict(r.headers)["ce_id"].decode(): (r.partition, r.offset) for r in records}
        assert len(records) == len(where) == 30  # each once
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_id::text AS eid, sent_partition, sent_offset,"
                                    " sent_at FROM outbox")
            positions = {r["partition"]: r["last_offset"] for r in await conn.fetch(
                "SELECT partition, last_offset FROM outbox_positions WHERE topic = $1", topic)}
    finally:
        await pool.close()
    assert len(rows) == 30 and all(r["sent_at"] is not None for r in rows)
    assert {r["eid"]: (r["sent_partition"], r["sent_offset"]) for r in rows} == where
    highest: dict[int, int] = {}
    for part, off in where.values():
        highest[part] = max(off, highest.get(part, -1))
    assert positions == highest and len(highest) == 2


async def test_only_one_relay_is_active(fresh_database, kafka_bootstrap):
    dsn = await fresh_database("outbox")
    await migrate(dsn, [])
    stop = asyncio.Event()
    a = OutboxRelay(dsn=dsn, bootstrap=kafka_bootstrap, service="single")
    b = OutboxRelay(dsn=dsn, bootstrap=kafka_bootstrap, service="single")
    ta, tb = asyncio.create_task(a.run(stop)), asyncio.create_task(b.run(stop))
    await asyncio.sleep(2)
    leaders = [r.leader for r in (a, b)]
    stop.set()
    await asyncio.gather(ta, tb)
    assert sorted(leaders) == [False, True]


async def test_poisoned_rows_are_quarantined_and_later_rows_go_on(
    fresh_database, new_topic, kafka_bootstrap
):
    """Issue 10 item 2: a record the broker refuses for good (over its 1 MiB limit, or bound for
    an invalid topic) is set aside with its reason; every other row is published once."""
    dsn = await fresh_database("outbox")
    topic = await new_topic("poison", partitions=2)
    await migrate(dsn, [])
    pool = await create_pool(dsn)
    try:
        good: list[str] = []
        async with unit_of_work(pool, "/test") as uow:
            for i in range(5):
                good.append(await uow.publish(topic, f"k{i}", wrappers_pb2.StringValue(value="a")))
            big = await uow.publish(
                topic, "big", wrappers_pb2.BytesValue(value=os.urandom(1_200_000))
            )
            for i in range(5, 10):
                good.append(await uow.publish(topic, f"k{i}", wrappers_pb2.StringValue(value="b")))
            bad_topic = await uow.publish(
                "no such topic!", "x", wrappers_pb2.StringValue(value="c")
            )
            for i in range(10, 15):
                good.append(await uow.publish(topic, f"k{i}", wrappers_pb2.StringValue(value="d")))

        stop = asyncio.Event()
        relay = OutboxRelay(dsn=dsn, bootstrap=kafka_bootstrap, service="poison", batch_size=4)
        task = asyncio.create_task(relay.run(stop))
        pending = None
        for _ in range(200):
            async with pool.acquire() as c:
                pending = await c.fetchval(
                    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND quarantined_at IS NULL"
                )
            if pending == 0:
                break
            await asyncio.sleep(0.1)
        # rows written after the poisoned ones are still published while the relay runs
        async with unit_of_work(pool, "/test") as uow:
            good.append(await uow.publish(topic, "late", wrappers_pb2.StringValue(value="e")))
        for _ in range(100):
            async with pool.acquire() as c:
                if await c.fetchval("SELECT sent_at FROM outbox WHERE event_id = $1", good[-1]):
                    break
            await asyncio.sleep(0.1)
        stop.set()
        await task
        async with pool.acquire() as c:
            quarantined = {
                str(r["event_id"]): r
                for r in await c.fetch(
                    """SELECT event_id, quarantined_at, quarantine_reason, sent_at FROM outbox
                       WHERE quarantined_at IS NOT NULL"""
                )
            }
        published = await _read_all(kafka_bootstrap, topic, len(good), timeout=20)
    finally:
        await pool.close()
    assert pending == 0
    assert set(quarantined) == {big, bad_topic}, "the poisoned rows are kept and marked"
    assert "MessageSizeTooLarge" in quarantined[big]["quarantine_reason"]
    assert "invalid topic" in quarantined[bad_topic]["quarantine_reason"]
    assert all(r["sent_at"] is None for r in quarantined.values())
    assert sorted(published) == sorted(good), "every other row is published exactly once"


async def test_deferred_outbox_rows_go_in_with_one_statement_in_order(
    fresh_database, new_topic, kafka_bootstrap
):
    """`defer_outbox` (issue 14): the events of a transaction are written with one statement
    before its commit, in the order published, and the relay publishes them as it publishes
    rows written one by one (same envelope); a rolled-back transaction writes none."""
    from stc_common.db.uow import UnitOfWork

    dsn = await fresh_database("outbox")
    topic = await new_topic("outbox", partitions=1)
    await migrate(dsn, [])
    pool = await create_pool(dsn)
    try:
        statements: list[str] = []
        async with pool.acquire() as conn, conn.transaction():
            uow = UnitOfWork(conn, "/test", defer_outbox=True)
            execute = conn.execute

            async def counted(query, *args):
                statements.append(query)
                return await execute(query, *args)

            uow.conn = type("C", (), {"execute": staticmethod(counted)})()
            ids = [await uow.publish(topic, f"k{i}", wrappers_pb2.StringValue(value=str(i)))
                   for i in range(3)]
            ids += await uow.publish_many(topic, [("k3", wrappers_pb2.StringValue(value="3"))])
            assert statements == []  # nothing written yet
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
            await uow.flush_outbox()
            assert len(statements) == 1
            assert uow.published == ids
        with pytest.raises(RuntimeError):
            async with unit_of_work(pool, "/test", defer_outbox=True) as uow:
                await uow.publish(topic, "gone", wrappers_pb2.StringValue(value="gone"))
                raise RuntimeError("the use case failed")
        async with pool.acquire() as conn:
            stored = [r["eid"] for r in await conn.fetch(
                "SELECT event_id::text AS eid FROM outbox ORDER BY id")]
        assert stored == ids  # in the order published, the failed one absent
        assert await _relay_round(pool, kafka_bootstrap, "defer") == 4
    finally:
        await pool.close()
    got = [(dict(r.headers)["ce_id"].decode(), r.key,
            wrappers_pb2.StringValue.FromString(r.value).value)
           for r in await _read_records(kafka_bootstrap, topic, 4)]
    assert got == [(ids[i], f"k{i}".encode(), str(i)) for i in range(4)]
