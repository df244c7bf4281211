"""Keeps this replica's in-memory index current from stc.screening.list.v1.

Every replica reads the list topic from its end (no consumer group: each replica needs every
change), and treats an event only as a hint: the entry is re-read from PostgreSQL, the
source of truth, so replays, reordering and events of other deployments on the same topic
are harmless. Changes between the index build and the first read are caught by one
reconciliation of (entry id, content hash) after the topic positions are fixed, and the same
reconciliation runs every ``reconcile_every`` seconds (and after any record that failed), so
a replica's index lags the table by the relay's and the fetch's delay (well under a second)
and, whatever went wrong, by at most one reconciliation interval.

Nothing a topic holds stops the sync: an entry id the service would never issue (empty, over
200 characters, a NUL or other control character, which PostgreSQL text refuses) is skipped
and logged; a record whose handling fails is logged and left to the next reconciliation; a
broken Kafka or database connection is replaced after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from stc.screening.v1 import events_pb2 as ev
from stc_common import envelope
from stc_common.kafka.topics import SCREENING_LIST
from stc_common.logging import get_logger

from stc_screening.service import ListChange, ScreeningState
from stc_screening.storage import lists as lrepo

log = get_logger("stc_screening.index_sync")
_TYPES = {c.DESCRIPTOR.full_name: c
          for c in (ev.ListEntryAdded, ev.ListEntryUpdated, ev.ListEntryRemoved)}
_MEASURE_TYPES = {c.DESCRIPTOR.full_name for c in (ev.CountryMeasureAdded,
                                                    ev.CountryMeasureChanged)}


MAX_ENTRY_ID = 200


def valid_entry_id(entry_id: str) -> bool:
    """An id as the service issues them: 1-200 characters, no NUL or control characters."""
    return 0 < len(entry_id) <= MAX_ENTRY_ID and not any(ord(ch) < 32 or ord(ch) == 127
                                                         for ch in entry_id)


async def reconcile(pool: asyncpg.Pool, state: ScreeningState) -> int:
    """Make the index equal to the table; returns how many entries changed."""
    change = ListChange()
    async with pool.acquire() as conn:
        stored = await lrepo.content_hashes(conn)
        stale = [i for i, h in stored.items()
                 if (e := state.index.get(i)) is None or e.content_hash != h]
        for entry_id in stale:
            entry = await lrepo.get(conn, entry_id)
            if entry is not None:
                change.put.append(entry)
    change.removed = [e.entry_id for e in state.index.entries() if e.entry_id not in stored]
    await state.apply_committed(change)
    return len(stale) + len(change.removed)


async def apply_event(pool: asyncpg.Pool, state: ScreeningState, entry_id: str,
                      content_hash: str) -> bool:
    """Bring one entry of the index in line with the table; False when the id is not one
    the service issues (skipped, logged)."""
    if not valid_entry_id(entry_id):
        log.warning("index.sync_skipped", entry_id=repr(entry_id)[:100],
                    reason="not an entry id this service issues")
        return False
    current = state.index.get(entry_id)
    if content_hash and current is not None and current.content_hash == content_hash:
        return True
    async with pool.acquire() as conn:
        entry = await lrepo.get(conn, entry_id)
    if entry is not None:
        await state.put_committed(entry)
    else:
        await state.drop_committed(entry_id)
    return True


async def handle_record(pool: asyncpg.Pool, state: ScreeningState, rec) -> None:
    """One record of the list topic (raises only when the database fails)."""
    try:
        env = envelope.decode(rec.headers, rec.value, rec.key)
        if env.type in _MEASURE_TYPES:
            # another replica's measure change: re-read the measures
            await state.load_measures(pool)
            return
        cls = _TYPES.get(env.type)
        if cls is None:
            return
        msg = env.parse(cls)
    except envelope.EnvelopeError:
        return
    if isinstance(msg, ev.ListEntryRemoved):
        await apply_event(pool, state, msg.entry_id, "")
    else:
        await apply_event(pool, state, msg.entry.entry_id, msg.entry.content_hash)


async def follow(pool: asyncpg.Pool, state: ScreeningState, bootstrap: str,
                 stop: asyncio.Event, reconcile_every: float) -> None:
    """Follow the list topic from its end until ``stop``; reconcile on start, periodically
    and after a failed record."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, isolation_level="read_committed")
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(SCREENING_LIST.name)
        if not parts:
            metadata = await consumer._client.fetch_all_metadata()  # noqa: SLF001
            parts = metadata.partitions_for_topic(SCREENING_LIST.name) or set()
        tps = [TopicPartition(SCREENING_LIST.name, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        fixed = await reconcile(pool, state)
        await state.load_measures(pool)
        last = time.monotonic()
        log.info("index.sync_started", partitions=len(tps), reconciled=fixed)
        dirty = False
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batch.values():
                for rec in records:
                    try:
                        await handle_record(pool, state, rec)
                    except (asyncpg.PostgresError, ValueError, KeyError, TypeError) as exc:
                        # e.g. a value PostgreSQL refuses: this record is skipped, the next
                        # reconciliation brings the index in line with the table
                        dirty = True
                        log.error("index.sync_record_failed", topic=rec.topic,
                                  partition=rec.partition, offset=rec.offset,
                                  error=repr(exc)[:300])
            if dirty or time.monotonic() - last >= reconcile_every:
                fixed = await reconcile(pool, state)
                dirty, last = False, time.monotonic()
                if fixed:
                    log.info("index.reconciled", changed=fixed)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


def index_sync(state: ScreeningState, bootstrap: str, reconcile_every: float = 30.0):
    """The background task (pool, stop) that follows the list topic; it never ends the
    service: a broken connection is replaced after a backoff (1 s doubling to 30 s)."""

    async def sync_index(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                await follow(pool, state, bootstrap, stop, reconcile_every)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, never exit
                if time.monotonic() - started > 60:
                    backoff = 1.0
                log.error("index.sync_failed", error=repr(exc)[:300], retry_in_s=backoff)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)

    return sync_index
