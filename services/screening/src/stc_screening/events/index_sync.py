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
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from stc.screening.v1 import events_pb2 as ev
from stc_common import envelope
from stc_common.kafka.clients import pace_fetches
from stc_common.kafka.topics import SCREENING_LIST
from stc_common.logging import get_logger

from stc_screening.config import SOURCE
from stc_screening.service import index
from stc_screening.service.state import ScreeningState
from stc_screening.storage.uow import UowFactory, uow_factory

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


async def apply_event(uows: UowFactory, state: ScreeningState, entry_id: str,
                      content_hash: str) -> bool:
    """Bring one entry of the index in line with the table; False when the id is not one
    the service issues (skipped, logged)."""
    if not valid_entry_id(entry_id):
        log.warning("index.sync_skipped", entry_id=repr(entry_id)[:100],
                    reason="not an entry id this service issues")
        return False
    await index.sync_entry(uows=uows, state=state, entry_id=entry_id,
                           content_hash=content_hash)
    return True


async def handle_record(uows: UowFactory, state: ScreeningState, rec: Any) -> None:
    """One record of the list topic (raises only when the database fails)."""
    try:
        env = envelope.decode(rec.headers, rec.value, rec.key)
        if env.type in _MEASURE_TYPES:
            # another replica's measure change: re-read the measures
            await index.load_measures(uows=uows, state=state)
            return
        cls = _TYPES.get(env.type)
        if cls is None:
            return
        msg = env.parse(cls)
    except envelope.EnvelopeError:
        return
    if isinstance(msg, ev.ListEntryRemoved):
        await apply_event(uows, state, msg.entry_id, "")
    else:
        await apply_event(uows, state, msg.entry.entry_id, msg.entry.content_hash)


async def follow(uows: UowFactory, state: ScreeningState, bootstrap: str,
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
        fixed = await index.reconcile(uows=uows, state=state)
        await index.load_measures(uows=uows, state=state)
        last = time.monotonic()
        log.info("index.sync_started", partitions=len(tps), reconciled=fixed)
        dirty = False
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            # long polls while idle, short ones while changes flow (stc_common.kafka.clients):
            # an idle replica asks every 5 s instead of twice a second
            pace_fetches(consumer, idle=not batch)
            for records in batch.values():
                for rec in records:
                    try:
                        await handle_record(uows, state, rec)
                    except (asyncpg.PostgresError, ValueError, KeyError, TypeError) as exc:
                        # e.g. a value PostgreSQL refuses: this record is skipped, the next
                        # reconciliation brings the index in line with the table
                        dirty = True
                        log.error("index.sync_record_failed", topic=rec.topic,
                                  partition=rec.partition, offset=rec.offset,
                                  error=repr(exc)[:300])
            if dirty or time.monotonic() - last >= reconcile_every:
                fixed = await index.reconcile(uows=uows, state=state)
                dirty, last = False, time.monotonic()
                if fixed:
                    log.info("index.reconciled", changed=fixed)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


def index_sync(state: ScreeningState, bootstrap: str, reconcile_every: float = 30.0
               ) -> Callable[[asyncpg.Pool, asyncio.Event], Awaitable[None]]:
    """The background task (pool, stop) that follows the list topic; it never ends the
    service: a broken connection is replaced after a backoff (1 s doubling to 30 s)."""

    async def sync_index(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                await follow(uow_factory(pool, SOURCE), state, bootstrap, stop, reconcile_every)
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
