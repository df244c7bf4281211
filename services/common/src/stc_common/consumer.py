"""The inbox consumer loop: idempotent event handlers over Kafka with manual commits.

For each record: decode the CloudEvent envelope and the protobuf payload, then, in ONE
database transaction, insert `(consumer, event_id)` into the inbox and run the handler (whose
own events go to the outbox in that same transaction). The offset is committed to Kafka only
after that transaction committed: a crash in between redelivers the record, and the inbox
row turns the redelivery into a no-op. A record that cannot be decoded, or whose handler keeps
failing, goes to `<topic>.dlq` with the error and the partition moves on. Losing the database
is not the record's fault: the loop waits and retries without committing, with backoff and a
bounded number of attempts (then the consumer fails and the runtime restarts it, and in the
end fails the process). A dead-letter send that fails is retried the same way.

Events are trusted only from where they belong (issue 10 item 5): a `Subscription` may name
the topics and the CloudEvents sources it accepts its type from; the same type arriving on
another topic or from another source is dead-lettered with the reason, never handled. A
handler that finds a record unacceptable (a missing field, an unknown enum value) raises
`RejectEvent`: the record goes to the DLQ at once, without retries.

Records of one partition are handled in batches (at most `max_batch`, from one poll of at most
100 records): one transaction holds the inbox rows and the handlers' work of the whole batch,
so a busy consumer pays one commit (one WAL flush) per batch instead of one per record. The
first attempt runs the records without savepoints (a savepoint costs two round trips per
record); a handler failure rolls it back and the batch is done again with a savepoint per
record. There, a record whose handler fails ends the batch: the records before it are
committed, it goes through the one-record path (retries, dead letter), and the batch goes on
after it, so the order within a partition is kept. A failure of the batch transaction itself
(the database away) sends the whole batch through the one-record path. Work that must wait
for the commit (screening's in-memory index) goes through `record_scope` and `after_commit`,
in both paths; `ends_batch` commits the batch after a record whose work the next ones must see.

Offsets are committed to Kafka in one request for every partition handled, `commit_interval`
seconds (1 s) after the first record that is not committed yet was handled, and before the
consumer stops: an offset commit is a request the broker writes to its offsets topic, and
committing later loses nothing. What a crash or a rebalance leaves uncommitted (at most about
a second of records) is redelivered, and the inbox turns it into a no-op ('duplicate'). Before
(issue 14), a commit also went out at every poll that came back empty: at a few records a
second, that was one OffsetCommit request per record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from google.protobuf.message import Message

from stc_common import envelope
from stc_common.db.uow import UnitOfWork
from stc_common.engines import Backoff, FailedForGood, is_unavailable, sleep_or_stop
from stc_common.envelope import Envelope, EnvelopeError
from stc_common.kafka.clients import make_consumer, make_producer, pace_fetches
from stc_common.kafka.topics import TOPICS
from stc_common.logging import get_logger
from stc_common.metrics import (
    CONSUMER_LAG,
    CONSUMER_OFFSET_COMMITS,
    CONSUMER_TRANSACTIONS,
    EVENTS_CONSUMED,
)

Handler = Callable[[UnitOfWork, Envelope, Message], Awaitable[None]]
log = get_logger("stc_common.consumer")


class RejectEvent(Exception):
    """Raised by a handler: this record can never be handled (dead-letter it, no retries)."""


class _RolledBack(Exception):
    """A handler failed in a batch without savepoints: the batch's transaction rolled back."""


class ConsumerFailed(FailedForGood):
    """An engine stayed away for the consumer's bounded number of attempts."""


@dataclass(frozen=True)
class Subscription:
    """A consumed event type, its handler, and where the type is accepted from.

    `topics`: the topics the type is trusted from. Left out (None), they are the declared
    topics of the service whose protobuf package defines the type (`stc.credit.v1.*` only
    from topics the credit service owns, `stc.licensing.v1.*` only from licensing's …);
    types of no platform package (tests) are accepted from any topic. `sources`: the
    CloudEvents sources the type is trusted from; empty means any.
    """

    message_cls: type[Message]
    handler: Handler
    topics: tuple[str, ...] | None = None
    sources: tuple[str, ...] = ()

    @property
    def ce_type(self) -> str:
        """The CloudEvents type, i.e. the message's full protobuf name."""
        return self.message_cls.DESCRIPTOR.full_name

    @property
    def accepted_topics(self) -> tuple[str, ...]:
        """The topics this type is trusted from; empty means any."""
        if self.topics is not None:
            return self.topics
        parts = self.ce_type.split(".")
        if len(parts) < 3 or parts[0] != "stc":
            return ()
        return tuple(t.name for t in TOPICS if t.owner == parts[1])

    def refusal(self, topic: str, source: str) -> str | None:
        """Why a record of this type from `topic` and `source` is not trusted, or None."""
        accepted = self.accepted_topics
        if accepted and topic not in accepted:
            return f"{self.ce_type} is not accepted from topic {topic[:200]!r}"
        if self.sources and source not in self.sources:
            return f"{self.ce_type} is not accepted from source {source[:200]!r}"
        return None


class EventConsumer:
    """Consumes `topics` as consumer group `group_id`, handling the subscribed event types."""

    def __init__(
        self,
        *,
        name: str,
        topics: list[str],
        pool: asyncpg.Pool,
        bootstrap: str,
        group_id: str,
        subscriptions: list[Subscription],
        source: str,
        max_attempts: int = 3,
        client_id: str | None = None,
        max_transient_attempts: int = 30,
        max_batch: int = 50,
        commit_interval: float = 1.0,
    ) -> None:
        self.name, self.topics, self.pool, self.bootstrap = name, topics, pool, bootstrap
        self.group_id, self.source, self.max_attempts = group_id, source, max_attempts
        self.max_transient_attempts = max_transient_attempts
        self.handlers = {s.ce_type: s for s in subscriptions}
        self.client_id = client_id or name
        self.max_batch = max(1, max_batch)
        self.commit_interval = commit_interval
        self.assigned: set[TopicPartition] = set()
        self.ready = asyncio.Event()
        self.lag = 0  # records behind on the assigned partitions, as of the last poll
        self._next: dict[TopicPartition, int] = {}  # next offset to handle, per partition

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set."""
        consumer = make_consumer(
            self.bootstrap, *self.topics, group_id=self.group_id, client_id=self.client_id
        )
        dlq = make_producer(self.bootstrap, client_id=f"{self.client_id}-dlq")
        await consumer.start()
        await dlq.start()
        loop = asyncio.get_running_loop()
        # offsets handled but not yet committed, and when the first of them was handled
        to_commit: dict[TopicPartition, int] = {}
        pending_since = 0.0
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=100)
                pace_fetches(consumer, idle=not batch)  # long polls only while idle
                self.assigned = set(consumer.assignment())
                if self.assigned:
                    self.ready.set()
                for tp, records in batch.items():
                    done = None
                    for i in range(0, len(records), self.max_batch):
                        chunk = records[i:i + self.max_batch]
                        done = await self._process_batch(chunk, dlq, stop)
                        if stop.is_set():
                            break
                    # committed only after, and only up to the last record handled: every
                    # record up to here is in the database; the rest of the batch (stopped
                    # mid-batch) is redelivered after the restart
                    if done is not None:
                        if not to_commit:
                            pending_since = loop.time()
                        to_commit[tp] = self._next[tp] = done + 1
                    if stop.is_set():
                        break
                self._measure_lag(consumer)
                # a poll returns at least every 0.5 s, so a commit is due at most that late
                if to_commit and (stop.is_set()
                                  or loop.time() - pending_since >= self.commit_interval):
                    await self._commit(consumer, to_commit)
                    to_commit = {}
        finally:
            if to_commit:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._commit(consumer, to_commit), 5)
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await dlq.stop()

    def _measure_lag(self, consumer) -> None:
        """`lag` and its gauge: high watermark minus the next offset, over owned partitions."""
        lag = 0
        for tp in self.assigned:
            high, nxt = consumer.highwater(tp), self._next.get(tp)
            if high is not None and nxt is not None:
                lag += max(0, high - nxt)
        self._next = {tp: o for tp, o in self._next.items() if tp in self.assigned}
        self.lag = lag
        CONSUMER_LAG.labels(self.name).set(lag)

    async def _commit(self, consumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit `offsets` in one request, for the partitions this consumer still owns (a
        revoked one is redelivered to its new owner, where the inbox makes it a no-op)."""
        owned = consumer.assignment()
        offsets = {tp: off for tp, off in offsets.items() if tp in owned}
        if not offsets:
            return
        with contextlib.suppress(CommitFailedError, KafkaError):
            await consumer.commit(offsets)
            CONSUMER_OFFSET_COMMITS.labels(self.name).inc()

    async def _process_batch(self, records, dlq, stop: asyncio.Event) -> int | None:
        """Handle `records` (one partition, in order); return the offset of the last handled.

        Every record up to the returned offset is in the database (or dead-lettered)."""
        if len(records) == 1 or type(self).handle is not EventConsumer.handle:
            # one record, or a subclass that wraps each record's transaction itself (work
            # after the commit goes through `record_scope`/`after_commit`, which both paths
            # honour): the one-record path
            done = None
            for rec in records:
                await self._process(rec, dlq, stop)
                done = rec.offset
                if stop.is_set():
                    break
            return done
        done, pending = None, [(rec, await self._decode(rec, dlq, stop)) for rec in records]
        savepoints = False  # optimistic first: a failure redoes the batch with savepoints
        while pending:
            if stop.is_set():
                return done
            try:
                handled, failed = await self._batch_transaction(pending, stop, savepoints)
            except _RolledBack as exc:
                log.info("event.batch_redone", consumer=self.name, records=len(pending),
                         error=repr(exc.__cause__)[:500])
                savepoints = True  # the same records again, each in a savepoint of its own
                continue
            except Exception as exc:  # noqa: BLE001 - the whole batch goes the one-record way
                log.warning("event.batch_fallback", consumer=self.name, error=repr(exc),
                            records=len(pending))
                for rec, decoded in pending:
                    if decoded is not None:  # the undecodable ones are dead-lettered already
                        await self._process(rec, dlq, stop)
                    done = rec.offset
                    if stop.is_set():
                        break
                return done
            if handled:
                done = pending[handled - 1][0].offset
            if failed is None:
                if handled >= len(pending):
                    return done
                # a record asked to end the batch (`ends_batch`), or stopped mid-batch (the
                # loop's check above returns; the rest comes after the restart)
                pending = pending[handled:]
                continue
            # the failing record alone, through retries and the dead-letter topic
            await self._process(pending[handled][0], dlq, stop)
            done = pending[handled][0].offset
            pending = pending[handled + 1:]
        return done

    async def _batch_transaction(self, pending, stop: asyncio.Event,
                                 savepoints: bool = True) -> tuple[int, int | None]:
        """Handle the decoded records in one transaction; stop at the first handler failure,
        after a record that `ends_batch`, or after the record during which `stop` was set.
        Return (records committed, index of the failed record or None).

        With `savepoints`, each record runs in a savepoint of its own, so a failure undoes
        that record only and the records before it commit. Without (the first attempt), a
        failure rolls the whole transaction back and raises `_RolledBack`: the caller redoes
        the batch with savepoints. Records rarely fail, and a savepoint costs two round trips
        per record (issue 14)."""
        outcomes: list[tuple[Envelope | None, str, Any]] = []
        scopes: list[Any] = []
        failed = None
        CONSUMER_TRANSACTIONS.labels(self.name).inc()
        async with self.pool.acquire() as conn, conn.transaction():
            for i, (rec, decoded) in enumerate(pending):
                if decoded is None:
                    outcomes.append((None, "", rec))
                    continue
                env, message, sub = decoded
                structlog.contextvars.bind_contextvars(
                    event_id=env.id, ce_type=env.type, traceparent=env.traceparent)
                try:
                    with self.record_scope() as scope:
                        if savepoints:
                            async with conn.transaction():  # a failure undoes this one only
                                outcome = await self._handle_on(
                                    conn, env, message, sub, rec.topic, rec.partition,
                                    rec.offset)
                        else:
                            outcome = await self._handle_on(conn, env, message, sub, rec.topic,
                                                            rec.partition, rec.offset)
                except Exception as exc:  # noqa: BLE001 - retried alone by the caller
                    if is_unavailable(exc):
                        raise  # the database is away: the whole batch goes the one-record way
                    if not savepoints:
                        raise _RolledBack() from exc  # leaves the block: all rolled back
                    failed = i
                    break
                outcomes.append((env, outcome, rec))
                scopes.append(scope)
                if stop.is_set() or self.ends_batch(scope):
                    break
        # committed: what the handlers left to do after the commit (screening's index)
        await self.after_commit(scopes)
        for env, outcome, rec in outcomes:
            if env is not None:
                structlog.contextvars.bind_contextvars(
                    event_id=env.id, ce_type=env.type, traceparent=env.traceparent)
                EVENTS_CONSUMED.labels(self.name, env.type, outcome).inc()
                log.debug("event.handled", consumer=self.name, outcome=outcome,
                          topic=rec.topic, partition=rec.partition, offset=rec.offset)
        return len(outcomes), failed

    async def _decode(
        self, rec, dlq, stop: asyncio.Event
    ) -> tuple[Envelope, Message, Subscription] | None:
        """Envelope and payload of `rec`, or None (dead-lettered, untrusted or not subscribed)."""
        structlog.contextvars.unbind_contextvars("event_id", "ce_type", "traceparent")
        try:
            env = envelope.decode(rec.headers, rec.value, rec.key)
        except EnvelopeError as exc:
            await self._dead_letter(dlq, rec, f"undecodable: {exc}", stop)
            return None
        structlog.contextvars.bind_contextvars(
            event_id=env.id, ce_type=env.type, traceparent=env.traceparent
        )
        sub = self.handlers.get(env.type)
        if sub is None:
            EVENTS_CONSUMED.labels(self.name, env.type, "ignored").inc()
            return None
        if (refusal := sub.refusal(rec.topic, env.source)) is not None:
            await self._dead_letter(dlq, rec, f"untrusted: {refusal}", stop)
            return None
        try:
            return env, env.parse(sub.message_cls), sub
        except EnvelopeError as exc:
            await self._dead_letter(dlq, rec, f"undecodable: {exc}", stop)
            return None

    async def _process(self, rec, dlq, stop: asyncio.Event) -> None:
        structlog.contextvars.unbind_contextvars("event_id", "ce_type", "traceparent")
        try:
            env = envelope.decode(rec.headers, rec.value, rec.key)
        except EnvelopeError as exc:
            await self._dead_letter(dlq, rec, f"undecodable: {exc}", stop)
            return
        structlog.contextvars.bind_contextvars(
            event_id=env.id, ce_type=env.type, traceparent=env.traceparent
        )
        sub = self.handlers.get(env.type)
        if sub is None:
            EVENTS_CONSUMED.labels(self.name, env.type, "ignored").inc()
            return
        if (refusal := sub.refusal(rec.topic, env.source)) is not None:
            await self._dead_letter(dlq, rec, f"untrusted: {refusal}", stop)
            return
        try:
            message = env.parse(sub.message_cls)
        except EnvelopeError as exc:
            await self._dead_letter(dlq, rec, f"undecodable: {exc}", stop)
            return
        attempt, backoff = 0, Backoff(initial=0.5, maximum=10.0)
        while True:
            try:
                outcome = await self.handle(env, message, sub, rec.topic, rec.partition, rec.offset)
                EVENTS_CONSUMED.labels(self.name, env.type, outcome).inc()
                # per event at debug: the handlers log what happened (application.assessed
                # …), the counters count it; one line per event cost ~50 µs in every service
                log.debug(
                    "event.handled",
                    consumer=self.name,
                    outcome=outcome,
                    topic=rec.topic,
                    partition=rec.partition,
                    offset=rec.offset,
                )
                return
            except RejectEvent as exc:
                await self._dead_letter(dlq, rec, f"rejected: {exc}", stop)
                return
            except Exception as exc:
                if is_unavailable(exc):  # the database is away: wait, never skip the record
                    await self._wait_transient(backoff, exc, stop, "event.retry_transient")
                    continue
                attempt += 1
                if attempt >= self.max_attempts:
                    log.exception("event.failed", consumer=self.name)
                    await self._dead_letter(dlq, rec, f"handler failed: {exc!r}", stop)
                    return
                await asyncio.sleep(0.1 * attempt)

    async def _wait_transient(
        self, backoff: Backoff, exc: BaseException, stop: asyncio.Event, what: str
    ) -> None:
        """Back off after an engine error; raise once the attempts are used up or on stop."""
        delay = backoff.failed()
        if stop.is_set():
            raise exc
        if backoff.failures >= self.max_transient_attempts:
            raise ConsumerFailed(
                f"{self.name}: engine unavailable for {backoff.failures} attempts"
            ) from exc
        log.warning(what, consumer=self.name, error=repr(exc), retry_in=round(delay, 2))
        await sleep_or_stop(stop, delay)

    async def handle(
        self,
        env: Envelope,
        message: Message,
        sub: Subscription,
        topic: str,
        partition: int,
        offset: int,
    ) -> str:
        """Run one handler with its inbox row in one transaction: 'handled' or 'duplicate'."""
        CONSUMER_TRANSACTIONS.labels(self.name).inc()
        with self.record_scope() as scope:
            async with self.pool.acquire() as conn, conn.transaction():
                outcome = await self._handle_on(conn, env, message, sub, topic, partition,
                                                offset)
        # reached only when the transaction committed (an exception rolled it back)
        await self.after_commit([scope])
        return outcome

    def record_scope(self) -> contextlib.AbstractContextManager[Any]:
        """Entered around each record's handler, in both paths; what it yields goes to
        `after_commit` once that record's transaction committed (never when it rolled back).
        Nothing by default; screening gathers the index changes of its handlers here."""
        return contextlib.nullcontext()

    def ends_batch(self, scope: Any) -> bool:
        """Whether the batch commits right after the record whose scope this is, so that the
        records after it are handled after its `after_commit` (default: never)."""
        return False

    async def after_commit(self, scopes: list[Any]) -> None:
        """After a transaction committed: the scopes of its records, in order."""

    async def _handle_on(self, conn, env: Envelope, message: Message, sub: Subscription,
                         topic: str, partition: int, offset: int) -> str:
        """The inbox row and the handler on `conn`, inside the caller's transaction."""
        fresh = await conn.fetchval(
            """INSERT INTO inbox (consumer, event_id, ce_type, topic, partition, "offset")
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
            self.name,
            env.id,
            env.type,
            topic,
            partition,
            offset,
        )
        if not fresh:
            return "duplicate"
        await sub.handler(UnitOfWork(conn, self.source), env, message)
        return "handled"

    async def _dead_letter(self, dlq, rec, reason: str, stop: asyncio.Event) -> None:
        """Send the record to `<topic>.dlq`; a failed send is retried with backoff."""
        headers = list(rec.headers or ()) + [
            ("dlq_reason", reason.encode()[:4000]),
            ("dlq_consumer", self.name.encode()),
            ("dlq_source", f"{rec.topic}/{rec.partition}/{rec.offset}".encode()),
        ]
        backoff = Backoff(initial=0.5, maximum=10.0)
        while True:
            try:
                await (
                    await dlq.send(
                        f"{rec.topic}.dlq", value=rec.value, key=rec.key, headers=headers
                    )
                )
                break
            except Exception as exc:  # the broker is away or refuses: never skip silently
                await self._wait_transient(backoff, exc, stop, "event.dlq_retry")
        EVENTS_CONSUMED.labels(self.name, "?", "dead_lettered").inc()
        log.warning(
            "event.dead_lettered",
            consumer=self.name,
            reason=reason,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
        )
