"""Kafka helpers for integration tests on the shared broker.

Many test runs share the topics of the local broker, so a test must never read a topic's
history or a consumer group's old offsets: it starts reading at the topics' current ends and
filters what it sees by its own keys. Everything here uses the public aiokafka API only.

- `topic_partitions(bootstrap, topics)`: every partition of the topics (they must exist).
- `start_group_at_end(bootstrap, group_id, topics)`: commit a new consumer group at the ends.
- `TopicReader(bootstrap, topics)`: collects the decoded CloudEvents arriving from now on.
- `produce_event(producer, topic, key, message, source=...)`: publish one event as a service
  would (CloudEvents binary mode, key = subject).
- `delete_topics_with_prefix(bootstrap, prefix)`: remove what a test's own Faust app created
  (its changelog and assignor topics are named after the test's consumer group prefix).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from stc_common import envelope

__all__ = [
    "Received",
    "TopicReader",
    "delete_topics_with_prefix",
    "produce_event",
    "start_group_at_end",
    "topic_partitions",
]


async def topic_partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of `topics`, in topic and partition order.

    Raises AssertionError for a topic the broker does not have (`make up` creates the
    declared ones): reading nothing from a missing topic would make a test pass vacuously.
    """
    topics = list(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    parts = {d["topic"]: sorted(p["partition"] for p in d["partitions"])
             for d in described if d["error_code"] == 0}
    tps = []
    for topic in topics:
        assert parts.get(topic), f"topic {topic} not found (make up creates it)"
        tps += [TopicPartition(topic, p) for p in parts[topic]]
    return tps


async def delete_topics_with_prefix(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (cleanup only: errors are ignored)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    except Exception:  # cleanup only
        pass
    finally:
        await admin.close()


async def start_group_at_end(bootstrap: str, group_id: str, topics: Iterable[str]) -> None:
    """Commit a new consumer group at the topics' current end offsets.

    Call it before the service under test starts its consumer with this group: the group then
    sees only what is produced from now on. The history other tests left on the shared topics
    is not this test's business (replaying it made a first event wait behind thousands of
    foreign ones).
    """
    tps = await topic_partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


async def produce_event(producer: AIOKafkaProducer, topic: str, key: str, message: Any, *,
                        source: str, event_id: str | None = None) -> str:
    """Publish `message` as a CloudEvent keyed by `key` (also its subject); its event id.

    `producer` is a started `stc_common.kafka.clients.make_producer(...)`; `source` names the
    service the event pretends to come from; `event_id` fixes the id (to test redelivery).
    """
    eid, headers, value = envelope.encode(message, source=source, subject=key,
                                          event_id=event_id)
    await producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers)
    return eid


@dataclass(frozen=True)
class Received:
    """One decoded event as the reader saw it; `at` is `time.perf_counter()` on arrival."""

    topic: str
    key: bytes | None
    envelope: envelope.Envelope
    at: float


class TopicReader:
    """Reads topics from their current end, keeping every decoded event with its arrival time.

    Assigns all partitions (no consumer group, read_committed), seeks to the end at `start()`
    and collects in a background task until `stop()`; records that are no CloudEvent are
    skipped. Use it as an async context manager or call `start()`/`stop()`. `timeout` is the
    default of the `wait_*` methods (seconds).

    Three ways to look at what arrived, by what the test knows:
    - by Kafka key and message class: `events(key, cls)`, `wait_for(key, cls, pred)`;
    - by CloudEvent type and subject: `find(ce_type, subject)`, `wait_find(ce_type, subject, n)`;
    - by any predicate on (envelope, key bytes): `wait_match(pred)`, `envelopes(key=...)`.
    """

    def __init__(self, bootstrap: str, topics: str | Sequence[str], *,
                 timeout: float = 20.0) -> None:
        self.bootstrap = bootstrap
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.timeout = timeout
        self.received: list[Received] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None
        self._new = asyncio.Event()

    async def start(self) -> TopicReader:
        """Position at the topics' ends (resolved now, before anything is produced)."""
        tps = await topic_partitions(self.bootstrap, self.topics)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                          enable_auto_commit=False,
                                          isolation_level="read_committed")
        await self._consumer.start()
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        """Stop collecting; what was received stays readable."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer:
            await self._consumer.stop()
            self._consumer = None

    async def __aenter__(self) -> TopicReader:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for rec in records:
                    with contextlib.suppress(envelope.EnvelopeError):
                        env = envelope.decode(rec.headers, rec.value, rec.key)
                        self.received.append(Received(rec.topic, rec.key, env,
                                                      time.perf_counter()))
                        self._new.set()

    async def _until(self, found: Callable[[], Any], timeout: float | None, what: str) -> Any:
        """Re-evaluate `found()` whenever events arrive until it is truthy; return it."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.perf_counter() + timeout
        while True:
            self._new.clear()
            got = found()
            if got:
                return got
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{what} within {timeout}s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=min(left, 0.5))

    async def wait_caught_up(self, timeout: float | None = None) -> None:
        """Wait until the reader has read everything on its topics up to their ends as of
        now: after it, an event that is not in `received` was not published before the call
        (how a test proves that something was published exactly once, not only at least once).
        """
        assert self._consumer is not None, "start() the reader first"
        consumer = self._consumer
        tps = list(consumer.assignment())
        ends = await consumer.end_offsets(tps)

        async def behind() -> list:
            return [tp for tp in tps if await consumer.position(tp) < ends[tp]]

        timeout = self.timeout if timeout is None else timeout
        deadline = time.perf_counter() + timeout
        while left := await behind():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"reader still behind on {left} after {timeout}s")
            await asyncio.sleep(0.05)

    # -- by key and message class ------------------------------------------------------

    def events(self, key: str, message_cls) -> list:
        """Decoded events of one type with the given key, in arrival order."""
        name = message_cls.DESCRIPTOR.full_name
        return [r.envelope.parse(message_cls) for r in self.received
                if r.envelope.type == name and r.key == key.encode()]

    async def wait_for(self, key: str, message_cls, pred: Callable[[Any], bool] = lambda m: True,
                       timeout: float | None = None) -> tuple[Any, float]:
        """The first event of this type and key matching `pred`, with its arrival time.

        Raises TimeoutError when none arrived within `timeout`.
        """
        name = message_cls.DESCRIPTOR.full_name

        def first():
            for r in self.received:
                if r.envelope.type == name and r.key == key.encode():
                    msg = r.envelope.parse(message_cls)
                    if pred(msg):
                        return msg, r.at
            return None

        return await self._until(first, timeout, f"no {name} for {key}")

    # -- by CloudEvent type and subject ------------------------------------------------

    def find(self, ce_type: str, subject: str, topic: str | None = None
             ) -> list[envelope.Envelope]:
        """The envelopes of this CloudEvent type and subject (on `topic`, if given)."""
        return [r.envelope for r in self.received
                if r.envelope.type == ce_type and r.envelope.subject == subject
                and (topic is None or r.topic == topic)]

    async def wait_find(self, ce_type: str, subject: str, n: int = 1,
                        timeout: float | None = None, topic: str | None = None
                        ) -> list[envelope.Envelope]:
        """`find(...)` once it holds at least `n` envelopes; TimeoutError otherwise."""
        def enough():
            found = self.find(ce_type, subject, topic)
            return found if len(found) >= n else None

        return await self._until(enough, timeout, f"no {n}x {ce_type} for {subject}")

    # -- by predicate ----------------------------------------------------------------------

    def envelopes(self, key: str | None = None) -> list[envelope.Envelope]:
        """Every envelope received (with this Kafka key, if given), in arrival order."""
        return [r.envelope for r in self.received if key is None or r.key == key.encode()]

    async def wait_match(self, pred: Callable[[envelope.Envelope, bytes | None], bool],
                         timeout: float | None = None) -> tuple[envelope.Envelope, float]:
        """The first envelope for which `pred(envelope, key)` holds, with its arrival time.

        Raises TimeoutError when none did within `timeout` (a test waits out a quiet period
        with a predicate that never holds).
        """
        def first():
            for r in self.received:
                if pred(r.envelope, r.key):
                    return r.envelope, r.at
            return None

        return await self._until(first, timeout, f"no matching event on {self.topics}")
