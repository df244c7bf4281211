"""The outbox relay: publishes committed outbox rows to Kafka, in order, exactly once.

- One active relay per service: a PostgreSQL session advisory lock; others wait as standbys.
- Rows are read with FOR UPDATE SKIP LOCKED, sent with an idempotent acks=all producer, and
  marked sent only after the broker acknowledged every row of the batch (never publish-then-
  forget, never mark-then-publish).
- A crash between the acknowledgement and the UPDATE leaves published rows unmarked. Before
  publishing anything, a relay that takes over reads its topics from the last confirmed
  offsets (`outbox_positions`) and marks the events it finds there, so nothing is published
  twice. The same recovery runs after any send error.
- A row the broker refuses for good (too large, invalid or unknown topic) is quarantined —
  kept, marked with the reason and time, counted, logged with its id — and the relay goes
  on with the rows after it; transient broker errors retry in order. Release a quarantined
  row after fixing its cause with `UPDATE outbox SET quarantined_at = NULL WHERE id = …`.
- Cost per event (issue 14): a round publishes every pending row (up to `batch_size`) in one
  transaction and one produce round, marking them and the topics' positions with one
  statement (over arrays of ids and offsets, not one execution per row). Woken by the outbox
  trigger's NOTIFY, the relay lingers `linger_s` (5 ms) first, so the rows of transactions
  that commit together go out together; the fallback poll (no NOTIFY came) first asks with
  one autocommit statement whether anything is pending, instead of opening a transaction
  for nothing, and backs off (up to `max_poll_interval`, 5 s) while it finds nothing: an
  idle relay costs PostgreSQL one statement every 5 s, not one a second.
- Losing PostgreSQL starts the relay over on new connections, with backoff and a bounded
  number of attempts (then `RelayFailed`, and the process exits non-zero).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import zlib
from collections.abc import Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka import errors as kafka_errors

from stc_common.db.pool import connect
from stc_common.engines import Backoff, FailedForGood, is_db_unavailable, sleep_or_stop
from stc_common.kafka.clients import make_producer
from stc_common.logging import get_logger
from stc_common.metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_BATCHES,
    OUTBOX_PENDING,
    OUTBOX_QUARANTINED,
    RELAY_LEADER,
)

log = get_logger("stc_common.outbox")


def relay_lock_key(service: str) -> int:
    """Advisory lock id of a service's relay."""
    return 0x57C_1000_0000 + zlib.crc32(service.encode())


class RelayFailed(FailedForGood):
    """The relay could not reach PostgreSQL for its bounded number of attempts."""


# The broker will refuse these records however often they are sent: quarantine, go on.
_PERMANENT = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.CorruptRecordException,
    kafka_errors.UnsupportedForMessageFormatError,
    kafka_errors.PolicyViolationError,
    # aiokafka's own checks before a record leaves the process
    ValueError,
    TypeError,
    AssertionError,
)
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def refusal_reason(exc: BaseException) -> str | None:
    """Why the broker will never take a record, or None when a retry may succeed."""
    if isinstance(exc, _PERMANENT):
        return f"{type(exc).__name__}: {exc}"[:1000]
    return None


class OutboxRelay:
    """Publishes a service's outbox; run `run(stop)` as a task or its own process.

    Losing PostgreSQL (the lock connection or the work connection) closes both connections
    and starts over with new ones after a backoff: the lock is taken again (another replica
    may have it by then) and recovery runs before anything is published. After
    `max_db_failures` consecutive failed attempts `run` raises `RelayFailed`, so the process
    fails instead of waiting on a dead connection. Broker errors retry in order, without
    limit: nothing can be lost by waiting for the broker.
    """

    def __init__(
        self,
        *,
        dsn: str,
        bootstrap: str,
        service: str,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        max_poll_interval: float = 5.0,
        linger_s: float = 0.005,
        max_db_failures: int = 20,
        unknown_topic_grace_s: float = 30.0,
        lock_check_interval_s: float = 5.0,
    ) -> None:
        self.dsn, self.bootstrap, self.service = dsn, bootstrap, service
        self.batch_size, self.poll_interval = batch_size, poll_interval
        self.max_poll_interval = max(poll_interval, max_poll_interval)
        self.linger_s = linger_s
        self.max_db_failures = max_db_failures
        self.unknown_topic_grace_s = unknown_topic_grace_s
        self.lock_check_interval_s = lock_check_interval_s
        self._wake = asyncio.Event()
        self._db_backoff = Backoff(initial=0.5, maximum=10.0)
        self._missing_since: dict[str, float] = {}
        self.leader = False

    async def run(self, stop: asyncio.Event) -> None:
        """Take the relay lock, recover, then publish until `stop` is set."""
        while not stop.is_set():
            try:
                await self._run_once(stop)
                return
            except Exception as exc:
                if not is_db_unavailable(exc):
                    raise
                delay = self._db_backoff.failed()
                if self._db_backoff.failures >= self.max_db_failures:
                    log.error(
                        "relay.failed",
                        service=self.service,
                        error=repr(exc),
                        attempts=self._db_backoff.failures,
                    )
                    raise RelayFailed(
                        f"PostgreSQL unreachable after {self._db_backoff.failures} attempts"
                    ) from exc
                log.warning(
                    "relay.db_lost",
                    service=self.service,
                    error=repr(exc),
                    attempt=self._db_backoff.failures,
                    retry_in=round(delay, 2),
                )
                await sleep_or_stop(stop, delay)

    async def _run_once(self, stop: asyncio.Event) -> None:
        lock_conn = await connect(self.dsn)
        try:
            while not stop.is_set():
                if await lock_conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", relay_lock_key(self.service)
                ):
                    break
                self._db_backoff.succeeded()  # the database answers: a healthy standby
                await _wait(stop, 1.0)
            if stop.is_set():
                return
            self.leader = True
            RELAY_LEADER.labels(self.service).set(1)
            log.info("relay.leader", service=self.service)
            await lock_conn.add_listener("stc_outbox", lambda *_: self._wake.set())
            work = await connect(self.dsn)
            try:
                await self._lead(work, lock_conn, stop)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(work.close(), 2)
                if not work.is_closed():
                    work.terminate()
        finally:
            self.leader = False
            RELAY_LEADER.labels(self.service).set(0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lock_conn.close(), 2)
            if not lock_conn.is_closed():
                lock_conn.terminate()

    async def _check_lock(self, lock_conn: asyncpg.Connection) -> None:
        """Raise when the lock's session is gone: the lock went with it."""
        if lock_conn.is_closed():
            raise asyncpg.ConnectionDoesNotExistError("relay lock connection is closed")
        await lock_conn.fetchval("SELECT 1", timeout=5)

    async def _lead(
        self, conn: asyncpg.Connection, lock_conn: asyncpg.Connection, stop: asyncio.Event
    ) -> None:
        backoff = Backoff(initial=0.5, maximum=10.0)
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            producer = make_producer(self.bootstrap, client_id=f"{self.service}-relay")
            try:
                await producer.start()
                await self.recover(conn)
                backoff.succeeded()
                self._db_backoff.succeeded()
                checked = loop.time()
                woken = True  # after recovery: look at once
                idle = 0  # fallback polls in a row that found nothing
                while not stop.is_set():
                    if loop.time() - checked > self.lock_check_interval_s:
                        await self._check_lock(lock_conn)
                        checked = loop.time()
                    elif lock_conn.is_closed():
                        await self._check_lock(lock_conn)
                    sent = 0
                    if woken or await self._pending(conn):
                        # cleared before the read: a NOTIFY during the round (rows committed
                        # after its SELECT) sets it again, and the next round starts at once
                        self._wake.clear()
                        sent = await self.publish_batch(conn, producer)
                        idle = 0
                    else:
                        idle += 1
                    woken = sent >= self.batch_size  # a full round: more may be waiting
                    if not woken:
                        woken = await _wait(stop, self._poll_wait(idle), self._wake)
                        if woken and self.linger_s > 0:
                            await _wait(stop, self.linger_s)
            except Exception as exc:
                # lost the database (and with it the lock): start over in run(); an OSError
                # or timeout from the broker's side is not a lost database
                if conn.is_closed() or lock_conn.is_closed():  # whatever asyncpg raised
                    raise asyncpg.ConnectionDoesNotExistError(
                        f"relay connection lost: {exc!r}"
                    ) from exc
                if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError) and (
                    is_db_unavailable(exc)
                ):
                    raise
                delay = backoff.failed()  # broker errors: recover, then retry in order
                log.warning("relay.error", error=repr(exc), retry_in=round(delay, 2))
                await _wait(stop, delay)
            finally:
                with contextlib.suppress(Exception):
                    await producer.stop()

    def _poll_wait(self, idle: int) -> float:
        """How long to wait for a NOTIFY before polling: `poll_interval`, doubled after each
        poll that found nothing, up to `max_poll_interval`. Every outbox insert wakes the
        relay at once, so the poll only catches what no NOTIFY announced (a row released
        from quarantine, a notification lost with a connection); polling at the same pace
        while idle cost every relay 5–20 statements a second (issue 14)."""
        return min(self.poll_interval * (2 ** min(idle, 10)), self.max_poll_interval)

    async def _topic_refused(self, producer, topic: str) -> str | None:
        """Why `topic` can never take a record, None if it can; raises while unsure."""
        if not _TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
            return f"invalid topic name {topic[:300]!r}"
        if producer.client.cluster.partitions_for_topic(topic) is not None:
            self._missing_since.pop(topic, None)
            return None
        metadata = await producer.client.fetch_all_metadata()  # raises if the broker is away
        if metadata.partitions_for_topic(topic) is not None:
            self._missing_since.pop(topic, None)
            return None
        now = asyncio.get_running_loop().time()
        since = self._missing_since.setdefault(topic, now)
        if now - since >= self.unknown_topic_grace_s:
            return f"unknown topic {topic!r} (missing for {now - since:.0f} s)"
        raise kafka_errors.UnknownTopicOrPartitionError(f"topic {topic!r} does not exist (yet)")

    async def _pending(self, conn: asyncpg.Connection) -> bool:
        """Whether any row waits (one autocommit statement on the partial index)."""
        return bool(await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM outbox
                              WHERE sent_at IS NULL AND quarantined_at IS NULL)"""))

    async def publish_batch(self, conn: asyncpg.Connection, producer) -> int:
        """Publish up to batch_size pending rows; mark them after the broker acknowledged them.

        A row the broker refuses for good is quarantined (kept, marked with the reason) and
        the rows after it go on. A transient error stops the batch: the rows acknowledged
        before it are marked, the rest are sent again, in order, on the next round.
        """
        transient: BaseException | None = None
        refused: list[tuple[asyncpg.Record, str]] = []
        async with conn.transaction():
            rows = await conn.fetch(
                """SELECT id, event_id, topic, key, headers, payload FROM outbox
                   WHERE sent_at IS NULL AND quarantined_at IS NULL
                   ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch_size,
            )
            if not rows:
                OUTBOX_PENDING.labels(self.service).set(0)
                return 0
            sending: list[tuple[asyncpg.Record, asyncio.Future]] = []
            for r in rows:
                try:
                    reason = await self._topic_refused(producer, r["topic"])
                    if reason is None:
                        headers = [(k, base64.b64decode(v)) for k, v in r["headers"]]
                        sending.append(
                            (
                                r,
                                await producer.send(
                                    r["topic"], value=r["payload"], key=r["key"], headers=headers
                                ),
                            )
                        )
                        continue
                except Exception as exc:
                    reason = refusal_reason(exc)
                    if reason is None:
                        transient = exc
                        break
                refused.append((r, reason))
            results = await asyncio.gather(*(f for _, f in sending), return_exceptions=True)
            published = []
            for (r, _), res in zip(sending, results, strict=True):
                if isinstance(res, BaseException):
                    reason = refusal_reason(res)
                    if reason is not None:
                        refused.append((r, reason))
                    else:
                        transient = transient or res
                else:
                    published.append((r, res))
            if published:
                # one statement for the round, not one per row nor one for the rows and
                # another for the positions (issue 14): the marks in a data-modifying CTE
                await conn.execute(
                    """WITH m AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[],
                                                      $4::text[]) AS m(id, part, off, topic)),
                            marked AS (UPDATE outbox o SET sent_at = now(),
                                              sent_partition = m.part, sent_offset = m.off
                                       FROM m WHERE o.id = m.id)
                       INSERT INTO outbox_positions (topic, partition, last_offset)
                       SELECT topic, part, max(off) FROM m GROUP BY topic, part
                       ON CONFLICT (topic, partition) DO UPDATE SET last_offset =
                           GREATEST(outbox_positions.last_offset, EXCLUDED.last_offset)""",
                    [r["id"] for r, _ in published],
                    [m.partition for _, m in published],
                    [m.offset for _, m in published],
                    [m.topic for _, m in published],
                )
            await conn.executemany(
                """UPDATE outbox SET quarantined_at = now(), quarantine_reason = $2
                   WHERE id = $1""",
                [(r["id"], reason) for r, reason in refused],
            )
        OUTBOX_BATCHES.labels(self.service).inc()
        for r, _ in published:
            EVENTS_PUBLISHED.labels(self.service, r["topic"]).inc()
        for r, reason in refused:
            OUTBOX_QUARANTINED.labels(self.service, r["topic"][:100]).inc()
            log.error(
                "relay.quarantined",
                outbox_id=r["id"],
                event_id=str(r["event_id"]),
                topic=r["topic"][:300],
                reason=reason,
            )
        log.debug("relay.published", count=len(published), quarantined=len(refused))
        if transient is not None:
            raise transient
        return len(published) + len(refused)

    async def recover(self, conn: asyncpg.Connection) -> int:
        """Mark unsent rows whose events are already on their topics; return how many."""
        topics = [
            r["topic"]
            for r in await conn.fetch(
                """SELECT DISTINCT topic FROM outbox
                   WHERE sent_at IS NULL AND quarantined_at IS NULL"""
            )
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
    if not best:
        return
    await conn.execute(
        """INSERT INTO outbox_positions (topic, partition, last_offset)
           SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
           ON CONFLICT (topic, partition)
           DO UPDATE SET last_offset =
               GREATEST(outbox_positions.last_offset, EXCLUDED.last_offset)""",
        [t for t, _ in best], [p for _, p in best], list(best.values()),
    )


async def _wait(stop: asyncio.Event, timeout: float, other: asyncio.Event | None = None) -> bool:
    """Sleep up to `timeout`, waking early when `stop` (or `other`) is set; True if `other`
    was set."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if other is not None:
        waiters.append(asyncio.ensure_future(other.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
    return other is not None and other.is_set()
