"""The inbox consumer over real Kafka and PostgreSQL: redelivery is a no-op, a consumer group
shares partitions through a rebalance, poison records go to the DLQ."""

import asyncio
import contextlib
import contextvars
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from google.protobuf import wrappers_pb2
from stc_common import envelope
from stc_common.consumer import EventConsumer, Subscription
from stc_common.db.migrate import migrate
from stc_common.db.pool import create_pool
from stc_common.kafka.clients import make_producer

pytestmark = pytest.mark.integration


async def _setup(dsn: str) -> asyncpg.Pool:
    await migrate(dsn, [])
    pool = await create_pool(dsn, max_size=6)
    async with pool.acquire() as c:
        await c.execute("CREATE TABLE effects (event_id text, value text, handled_by text)")
    return pool


def _recorder(name: str, fail_on: str | None = None):
    async def handle(uow, env, msg):
        if fail_on is not None and msg.value == fail_on:
            raise RuntimeError(f"cannot handle {msg.value}")
        await uow.conn.execute("INSERT INTO effects VALUES ($1, $2, $3)", env.id, msg.value, name)

    return handle


def _consumer(name, topic, pool, bootstrap, group, handler):
    return EventConsumer(
        name="effects",
        topics=[topic],
        pool=pool,
        bootstrap=bootstrap,
        group_id=group,
        subscriptions=[Subscription(wrappers_pb2.StringValue, handler)],
        source="/test",
        client_id=name,
    )


async def _produce(bootstrap, topic, messages, *, event_ids=None, keys=None):
    producer = make_producer(bootstrap, client_id="test")
    await producer.start()
    ids = []
    try:
        for i, m in enumerate(messages):
            eid, headers, value = envelope.encode(
                m, source="/test", event_id=(event_ids or {}).get(i)
            )
            key = (keys[i] if keys else f"k{i}").encode()
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
            ids.append(eid)
    finally:
        await producer.stop()
    return ids


async def _wait_count(pool, sql, expected, timeout=30):
    for _ in range(int(timeout * 10)):
        async with pool.acquire() as c:
            n = await c.fetchval(sql)
        if n >= expected:
            return n
        await asyncio.sleep(0.1)
    return n


async def test_redelivered_event_is_a_no_op(fresh_database, new_topic, kafka_bootstrap):
    pool = await _setup(await fresh_database("inbox"))
    topic = await new_topic("inbox")
    same = str(uuid.uuid4())
    # the same event three times (a producer retry, a replay), then another event
    await _produce(
        kafka_bootstrap,
        topic,
        [wrappers_pb2.StringValue(value=v) for v in "aaab"],
        event_ids={0: same, 1: same, 2: same},
    )
    stop = asyncio.Event()
    c = _consumer("c1", topic, pool, kafka_bootstrap, f"g-{uuid.uuid4().hex[:6]}", _recorder("c1"))
    task = asyncio.create_task(c.run(stop))
    await _wait_count(pool, "SELECT count(*) FROM inbox", 2)
    await asyncio.sleep(1)
    stop.set()
    await task
    # a second consumer in a NEW group re-reads everything from the start: still no effect
    stop2 = asyncio.Event()
    c2 = _consumer("c2", topic, pool, kafka_bootstrap, f"g-{uuid.uuid4().hex[:6]}", _recorder("c2"))
    t2 = asyncio.create_task(c2.run(stop2))
    await asyncio.sleep(3)
    stop2.set()
    await t2
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id, value FROM effects ORDER BY value")
    await pool.close()
    assert [r["value"] for r in rows] == ["a", "b"]
    assert rows[0]["event_id"] == same


async def test_group_shares_partitions_and_survives_rebalance(
    fresh_database, new_topic, kafka_bootstrap
):
    pool = await _setup(await fresh_database("group"))
    topic = await new_topic("group", partitions=4)
    group = f"g-{uuid.uuid4().hex[:6]}"
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = _consumer("a", topic, pool, kafka_bootstrap, group, _recorder("a"))
    b = _consumer("b", topic, pool, kafka_bootstrap, group, _recorder("b"))
    ta = asyncio.create_task(a.run(stop_a))
    await asyncio.wait_for(a.ready.wait(), 30)
    tb = asyncio.create_task(b.run(stop_b))
    await asyncio.wait_for(b.ready.wait(), 30)
    for _ in range(100):  # the rebalance gives each member some partitions
        if a.assigned and b.assigned and len(a.assigned) + len(b.assigned) == 4:
            break
        await asyncio.sleep(0.1)
    shared = (len(a.assigned), len(b.assigned))
    n = 200
    producer_task = asyncio.create_task(
        _produce(
            kafka_bootstrap,
            topic,
            [wrappers_pb2.StringValue(value=str(i)) for i in range(n)],
            keys=[f"agg-{i}" for i in range(n)],
        )
    )
    await _wait_count(pool, "SELECT count(*) FROM effects", n // 3)
    stop_a.set()  # member a leaves mid-stream: b takes over its partitions
    await ta
    await producer_task
    got = await _wait_count(pool, "SELECT count(DISTINCT value) FROM effects", n, timeout=60)
    await asyncio.sleep(1)
    stop_b.set()
    await tb
    async with pool.acquire() as conn:
        total = await conn.fetchval("SELECT count(*) FROM effects")
        by = dict(await conn.fetch("SELECT handled_by, count(*) FROM effects GROUP BY 1"))
    await pool.close()
    assert shared[0] >= 1 and shared[1] >= 1 and sum(shared) == 4
    assert got == n and total == n, "every event handled exactly once"
    assert by.get("a", 0) > 0 and by.get("b", 0) > 0


async def test_poison_records_go_to_dlq_and_partition_moves_on(
    fresh_database, new_topic, kafka_bootstrap
):
    pool = await _setup(await fresh_database("dlq"))
    topic = await new_topic("dlq")
    producer = make_producer(kafka_bootstrap, client_id="poison")
    await producer.start()
    await producer.send_and_wait(topic, value=b"not a cloudevent", key=b"x")  # no headers
    _, headers, _ = envelope.encode(wrappers_pb2.StringValue(value="x"), source="/t")
    await producer.send_and_wait(topic, value=b"\xff\xff\xff", key=b"y", headers=headers)
    await producer.stop()
    await _produce(
        kafka_bootstrap,
        topic,
        [wrappers_pb2.StringValue(value="explode"), wrappers_pb2.StringValue(value="fine")],
    )
    stop = asyncio.Event()
    c = _consumer(
        "c",
        topic,
        pool,
        kafka_bootstrap,
        f"g-{uuid.uuid4().hex[:6]}",
        _recorder("c", fail_on="explode"),
    )
    task = asyncio.create_task(c.run(stop))
    await _wait_count(pool, "SELECT count(*) FROM effects", 1)
    stop.set()
    await task
    async with pool.acquire() as conn:
        values = [r["value"] for r in await conn.fetch("SELECT value FROM effects")]
    await pool.close()
    dlq = AIOKafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await dlq.start()
    reasons = []
    try:
        for _ in range(20):
            for recs in (await dlq.getmany(timeout_ms=500)).values():
                reasons += [dict(r.headers)["dlq_reason"].decode() for r in recs]
            if len(reasons) >= 3:
                break
    finally:
        await dlq.stop()
    assert values == ["fine"]
    assert len(reasons) == 3
    assert reasons[0].startswith("undecodable") and "ce_id" in reasons[0]
    assert reasons[1].startswith("undecodable") and "not a valid" in reasons[1]
    assert reasons[2].startswith("handler failed") and "explode" in reasons[2]


async def test_stop_mid_batch_commits_only_what_was_handled(
    fresh_database, new_topic, kafka_bootstrap
):
    """SIGTERM (stop) while a batch is being handled: the offset committed is the one after
    the last record handled, not after the batch, so the rest is handled after the restart.
    (It was the batch's last offset + 1: the unhandled rest of the batch was lost.)"""
    pool = await _setup(await fresh_database("stopmid"))
    topic = await new_topic("stopmid")
    # one partition, five records: the first poll returns them as one batch
    await _produce(
        kafka_bootstrap, topic, [wrappers_pb2.StringValue(value=v) for v in "abcde"], keys=["k"] * 5
    )
    group = f"g-{uuid.uuid4().hex[:6]}"
    stop = asyncio.Event()
    recorder = _recorder("c1")

    async def stop_after_first(uow, env, msg):
        await recorder(uow, env, msg)
        stop.set()  # the process was told to stop while handling "a"

    c1 = _consumer("c1", topic, pool, kafka_bootstrap, group, stop_after_first)
    await asyncio.wait_for(c1.run(stop), 30)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM effects") == 1
    # restarted with the same group: the other four are handled, none is lost
    stop2 = asyncio.Event()
    c2 = _consumer("c2", topic, pool, kafka_bootstrap, group, _recorder("c2"))
    t2 = asyncio.create_task(c2.run(stop2))
    n = await _wait_count(pool, "SELECT count(*) FROM effects", 5, timeout=20)
    stop2.set()
    await t2
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT value, handled_by FROM effects ORDER BY value")
    await pool.close()
    assert n == 5
    assert [(r["value"], r["handled_by"]) for r in rows] == [
        ("a", "c1"), ("b", "c2"), ("c", "c2"), ("d", "c2"), ("e", "c2")
    ]


async def test_a_batch_is_one_transaction_and_a_failing_record_is_isolated_in_order(
    fresh_database, new_topic, kafka_bootstrap
):
    """Records of one poll share one transaction (one WAL flush), each in a savepoint: a
    handler failure in the middle dead-letters that record alone, the records before it are
    committed, the ones after it follow, all in partition order, each exactly once."""
    pool = await _setup(await fresh_database("batch"))
    topic = await new_topic("batch")
    values = [f"v{i:02d}" for i in range(40)]
    # one key: one partition, so the order is the partition's order
    await _produce(kafka_bootstrap, topic, [wrappers_pb2.StringValue(value=v) for v in values],
                   keys=["same"] * len(values))
    async with pool.acquire() as conn:  # txid_current(): the top-level transaction's id
        await conn.execute("ALTER TABLE effects ADD COLUMN tx bigint DEFAULT txid_current()")
    stop = asyncio.Event()
    c = _consumer("b", topic, pool, kafka_bootstrap, f"g-{uuid.uuid4().hex[:6]}",
                  _recorder("b", fail_on="v17"))
    task = asyncio.create_task(c.run(stop))
    await _wait_count(pool, "SELECT count(*) FROM effects", 39)
    stop.set()
    await task
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT value, tx FROM effects ORDER BY ctid")
        inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'effects'")
    await pool.close()
    assert [r["value"] for r in rows] == [v for v in values if v != "v17"]
    assert inbox == 39  # the dead-lettered record has no inbox row: its savepoint rolled back
    transactions = {r["tx"] for r in rows}
    # 40 records in at most a few polls: a handful of transactions, not one per record
    assert len(transactions) <= 6, len(transactions)
    before = {r["tx"] for r in rows if r["value"] < "v17"}
    after = {r["tx"] for r in rows if r["value"] > "v17"}
    assert not before & after  # the batch was committed at the failure, then went on


async def _committed(bootstrap, group, topic) -> int:
    """The group's committed offsets on `topic`, summed over its partitions."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


async def test_offsets_are_committed_once_per_interval_not_once_per_record(
    fresh_database, new_topic, kafka_bootstrap
):
    """Issue 14: an offset commit is a broker request; records arriving one by one are
    committed together (`commit_interval` after the first uncommitted one, or on stop), never
    one request per record, and nothing handled is left uncommitted while the consumer runs:
    a restart of the group redelivers nothing."""
    from stc_common.metrics import CONSUMER_OFFSET_COMMITS, CONSUMER_TRANSACTIONS

    pool = await _setup(await fresh_database("commits"))
    topic = await new_topic("commits")
    group = f"g-{uuid.uuid4().hex[:6]}"
    stop = asyncio.Event()
    c = _consumer("c1", topic, pool, kafka_bootstrap, group, _recorder("c1"))
    c.name = "effects-commits"  # counters of this test alone
    c.commit_interval = 1.0
    commits0 = CONSUMER_OFFSET_COMMITS.labels(c.name)._value.get()
    txns0 = CONSUMER_TRANSACTIONS.labels(c.name)._value.get()
    task = asyncio.create_task(c.run(stop))
    await asyncio.wait_for(c.ready.wait(), 30)
    n = 40  # 4 records every 0.1 s: the consumer sees them over many polls
    for i in range(0, n, 4):
        await _produce(kafka_bootstrap, topic, [wrappers_pb2.StringValue(value=f"v{j}")
                                                for j in range(i, i + 4)], keys=["one"] * 4)
        await asyncio.sleep(0.1)
    assert await _wait_count(pool, "SELECT count(*) FROM effects", n) == n
    # quiet now: within about a second everything handled is committed, while it runs
    for _ in range(100):
        if await _committed(kafka_bootstrap, group, topic) == n:
            break
        await asyncio.sleep(0.2)
    assert await _committed(kafka_bootstrap, group, topic) == n
    commits = CONSUMER_OFFSET_COMMITS.labels(c.name)._value.get() - commits0
    txns = CONSUMER_TRANSACTIONS.labels(c.name)._value.get() - txns0
    stop.set()
    await task
    assert txns >= 2, txns  # the records came over several polls
    assert 1 <= commits < txns, (commits, txns)


async def test_lag_counts_the_records_not_handled_yet(fresh_database, new_topic, kafka_bootstrap):
    """The backlog behind a consumer (`lag`, gauge stc_consumer_lag): 150 records waiting on
    one partition and polls of at most 100, so after the first poll some are still behind;
    once all are handled it is 0."""
    pool = await _setup(await fresh_database("lag"))
    topic = await new_topic("lag")
    n = 150
    await _produce(kafka_bootstrap, topic, [wrappers_pb2.StringValue(value=f"v{i}")
                                            for i in range(n)], keys=["one"] * n)
    seen: list[int] = []
    record = _recorder("c")

    async def handler(uow, env, msg):
        seen.append(c.lag)  # as of the poll before this record's
        await record(uow, env, msg)

    c = _consumer("c", topic, pool, kafka_bootstrap, f"g-{uuid.uuid4().hex[:6]}", handler)
    c.name = "effects-lag"
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    assert await _wait_count(pool, "SELECT count(*) FROM effects", n) == n
    for _ in range(50):  # the poll after the last record measures again
        if c.lag == 0:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task
    await pool.close()
    assert max(seen) > 0  # behind while the second poll's records were handled
    assert max(seen) <= n - 1
    assert c.lag == 0


async def test_a_clean_batch_runs_without_savepoints_and_hooks_see_only_commits(
    fresh_database, new_topic, kafka_bootstrap
):
    """A batch whose handlers all succeed runs without a savepoint per record (its rows share
    one transaction id: a savepoint that writes takes a subtransaction id of its own; issue
    14). `record_scope` wraps every handler, `after_commit` gets the scopes of committed
    records only, in order, and `ends_batch` commits the batch right after its record."""
    pool = await _setup(await fresh_database("hooks"))
    topic = await new_topic("hooks")
    values = [f"v{i:02d}" for i in range(30)]
    await _produce(kafka_bootstrap, topic, [wrappers_pb2.StringValue(value=v) for v in values],
                   keys=["same"] * len(values))
    current: contextvars.ContextVar[list | None] = contextvars.ContextVar("scope", default=None)
    committed: list[str] = []

    async def handle(uow, env, msg):
        if msg.value == "v21":
            raise RuntimeError("cannot handle v21")
        current.get().append(msg.value)
        await uow.conn.execute("INSERT INTO effects VALUES ($1, $2, 'h')", env.id, msg.value)

    class Hooked(EventConsumer):
        @contextlib.contextmanager
        def record_scope(self):
            scope: list[str] = []
            token = current.set(scope)
            try:
                yield scope
            finally:
                current.reset(token)

        def ends_batch(self, scope):
            return scope == ["v10"]

        async def after_commit(self, scopes):
            for scope in scopes:
                committed.extend(scope)

    c = Hooked(name="effects", topics=[topic], pool=pool, bootstrap=kafka_bootstrap,
               group_id=f"g-{uuid.uuid4().hex[:6]}", source="/test", client_id="hooked",
               subscriptions=[Subscription(wrappers_pb2.StringValue, handle)])
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    await _wait_count(pool, "SELECT count(*) FROM effects", 29)
    stop.set()
    await task
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT value, xmin::text::bigint AS xmin FROM effects "
                                "ORDER BY ctid")
    await pool.close()
    expected = [v for v in values if v != "v21"]
    assert [r["value"] for r in rows] == expected
    # the failing record's batch was redone with savepoints; its rolled-back first attempt
    # never reached after_commit, so every committed record is there exactly once, in order
    assert committed == expected
    xmin = {r["value"]: r["xmin"] for r in rows}
    # before v10 (which ends its batch): one transaction, no subtransaction per record
    assert len({xmin[v] for v in values[:11]}) <= 2, sorted(xmin.items())[:11]
    assert xmin["v10"] != xmin["v11"]  # v10 ended its batch: v11 is in the next transaction


async def test_fetches_are_long_polls_only_while_the_consumer_is_idle(new_topic, kafka_bootstrap):
    """Issue 14: an idle consumer asks the broker every 5 s, not twice a second; a poll that
    returns records switches back to aiokafka's 0.5 s, so a busy partition left out of a
    fetch is not held back for 5 s; and a record still ends a long poll at once."""
    from stc_common.kafka.clients import (
        BUSY_FETCH_WAIT_MS,
        IDLE_FETCH_WAIT_MS,
        make_consumer,
        pace_fetches,
    )

    topic = await new_topic("pacing")
    consumer = make_consumer(kafka_bootstrap, topic, group_id=f"g-{uuid.uuid4().hex[:6]}",
                             client_id="pacing")
    await consumer.start()
    try:
        fetcher = consumer._fetcher  # noqa: SLF001 - the wait aiokafka builds fetches with
        assert fetcher._fetch_max_wait_ms == BUSY_FETCH_WAIT_MS  # noqa: SLF001
        got = {}
        for _ in range(20):  # until the group has assigned the partitions: nothing there
            got = await consumer.getmany(timeout_ms=300)
            pace_fetches(consumer, idle=not got)
            if consumer.assignment():
                break
        assert not got
        assert fetcher._fetch_max_wait_ms == IDLE_FETCH_WAIT_MS  # noqa: SLF001
        await _produce(kafka_bootstrap, topic, [wrappers_pb2.StringValue(value="v")])
        records = []
        for _ in range(30):
            got = await consumer.getmany(timeout_ms=1000)
            pace_fetches(consumer, idle=not got)
            records += [r for rs in got.values() for r in rs]
            if records:
                break
        assert len(records) == 1
        assert fetcher._fetch_max_wait_ms == BUSY_FETCH_WAIT_MS  # noqa: SLF001
    finally:
        await consumer.stop()
