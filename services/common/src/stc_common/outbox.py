"""The outbox relay: publishes committed outbox rows to Kafka, in order, exactly once.

- One active relay per service: a PostgreSQL session advisory lock; others wait as standbys.
- Rows are read with FOR UPDATE SKIP LOCKED, sent with an idempotent acks=all producer, and
  marked sent only after the broker acknowledged every row of the batch (never publish-then-
  forget, never mark-then-publish).
- A crash between the acknowledgement and the UPDATE leaves published rows unmarked. Before
  publishing anything, a relay that takes over reads its topics from the last confirmed
  offsets (`outbox_positions`) and marks the events it finds there, so nothing is published
  twice. The same recovery runs after any send error.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import zlib
from collections.abc import Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from stc_common.db.pool import connect
from stc_common.kafka.clients import make_producer
from stc_common.logging import get_logger
from stc_common.metrics import EVENTS_PUBLISHED, OUTBOX_PENDING, RELAY_LEADER

log = get_logger("stc_common.outbox")


def relay_lock_key(service: str) -> int:
    """Advisory lock id of a service's relay."""
    return 0x57C_1000_0000 + zlib.crc32(service.encode())


class OutboxRelay:
    """Publishes a service's outbox; run `run(stop)` as a task or its own process."""

    def __init__(
        self,
        *,
        dsn: str,
        bootstrap: str,
        service: str,
        batch_size: int = 200,
        poll_interval: float = 0.2,
    ) -> None:
        self.dsn, self.bootstrap, self.service = dsn, bootstrap, service
        self.batch_size, self.poll_interval = batch_size, poll_interval
        self._wake = asyncio.Event()
        self.leader = False

    async def run(self, stop: asyncio.Event) -> None:
        """Take the relay lock, recover, then publish until `stop` is set."""
        lock_conn = await connect(self.dsn)
        try:
            while not stop.is_set():
                if await lock_conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", relay_lock_key(self.service)
                ):
                    break
                await _wait(stop, 1.0)
            if stop.is_set():
                return
            self.leader = True
            RELAY_LEADER.labels(self.service).set(1)
            log.info("relay.leader", service=self.service)
            await lock_conn.add_listener("stc_outbox", lambda *_: self._wake.set())
            work = await connect(self.dsn)
            try:
                await self._lead(work, stop)
            finally:
                await work.close()
        finally:
            self.leader = False
            RELAY_LEADER.labels(self.service).set(0)
            with contextlib.suppress(Exception):
                await lock_conn.close()

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            producer = make_producer(self.bootstrap, client_id=f"{self.service}-relay")
            try:
                await producer.start()
                await self.recover(conn)
                backoff = 0.5
                while not stop.is_set():
                    sent = await self.publish_batch(conn, producer)
                    if sent < self.batch_size:
                        self._wake.clear()
                        await _wait(stop, self.poll_interval, self._wake)
            except (asyncpg.PostgresConnectionError, OSError):
                raise  # lost the database (and with it the lock): let the supervisor restart us
            except Exception as exc:  # broker errors: recover, then retry with backoff
                log.warning("relay.error", error=repr(exc), retry_in=backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, 10)
            finally:
                with contextlib.suppress(Exception):
                    await producer.stop()

    async def publish_batch(self, conn: asyncpg.Connection, producer) -> int:
        """Publish up to batch_size unsent rows; mark them after the broker acknowledged all."""
        async with conn.transaction():
            rows = await conn.fetch(
                """SELECT id, event_id, topic, key, headers, payload FROM outbox
                   WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch_size,
            )
            if not rows:
                OUTBOX_PENDING.labels(self.service).set(0)
                return 0
            futures = []
            for r in rows:
                headers = [(k, base64.b64decode(v)) for k, v in r["headers"]]
                futures.append(
                    await producer.send(
                        r["topic"], value=r["payload"], key=r["key"], headers=headers
                    )
                )
            metas = await asyncio.gather(*futures)
            await conn.executemany(
                """UPDATE outbox SET sent_at = now(), sent_partition = $2, sent_offset = $3
                   WHERE id = $1""",
                [(r["id"], m.partition, m.offset) for r, m in zip(rows, metas, strict=True)],
            )
            await _save_positions(conn, ((m.topic, m.partition, m.offset) for m in metas))
        for r in rows:
            EVENTS_PUBLISHED.labels(self.service, r["topic"]).inc()
        log.debug("relay.published", count=len(rows))
        return len(rows)

    async def recover(self, conn: asyncpg.Connection) -> int:
        """Mark unsent rows whose events are already on their topics; return how many."""
        topics = [
            r["topic"]
            for r in await conn.fetch("SELECT DISTINCT topic FROM outbox WHERE sent_at IS NULL")
        ]
        if not topics:
            return 0
        positions = {
            (r["topic"], r["partition"]): r["last_offset"]
            for r in await conn.fetch(
                "SELECT topic, partition, last_offset FROM outbox_positions WHERE topic = ANY($1)",
                topics,
            )
        }
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            client_id=f"{self.service}-relay-recovery",
        )
        await consumer.start()
        found: dict[str, tuple[str, int, int]] = {}
        try:
            tps = []
            for t in topics:
                parts = consumer.partitions_for_topic(t)
                if parts is None:
                    await consumer._client.force_metadata_update()  # noqa: SLF001
                    parts = consumer.partitions_for_topic(t) or set()
                tps += [TopicPartition(t, p) for p in sorted(parts)]
            if not tps:
                return 0
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            pending = set()
            for tp in tps:
                start = positions.get((tp.topic, tp.partition), -1) + 1
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    pending.add(tp)
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batch.items():
                    for rec in records:
                        ce_id = dict(rec.headers or ()).get("ce_id")
                        if ce_id:
                            found[ce_id.decode()] = (tp.topic, tp.partition, rec.offset)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        if not found:
            return 0
        async with conn.transaction():
            status = await conn.executemany(
                """UPDATE outbox SET sent_at = now(), sent_partition = $2, sent_offset = $3
                   WHERE event_id = $1::uuid AND sent_at IS NULL""",
                [(eid, p, o) for eid, (_, p, o) in found.items()],
            )
            del status
            await _save_positions(conn, found.values())
        log.info("relay.recovered", already_published=len(found))
        return len(found)


async def _save_positions(conn: asyncpg.Connection, items: Iterable[tuple[str, int, int]]) -> None:
    best: dict[tuple[str, int], int] = {}
    for topic, part, off in items:
        best[(topic, part)] = max(off, best.get((topic, part), -1))
    await conn.executemany(
        """INSERT INTO outbox_positions (topic, partition, last_offset) VALUES ($1, $2, $3)
           ON CONFLICT (topic, partition)
           DO UPDATE SET last_offset =
               GREATEST(outbox_positions.last_offset, EXCLUDED.last_offset)""",
        [(t, p, o) for (t, p), o in best.items()],
    )


async def _wait(stop: asyncio.Event, timeout: float, other: asyncio.Event | None = None) -> None:
    """Sleep up to `timeout`, waking early when `stop` (or `other`) is set."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if other is not None:
        waiters.append(asyncio.ensure_future(other.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
