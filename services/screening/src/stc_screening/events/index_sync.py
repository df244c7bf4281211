"""Keeps this replica's in-memory index current from stc.screening.list.v1.

Every replica reads the list topic from its end (no consumer group: each replica needs every
change), and treats an event only as a hint: the entry is re-read from PostgreSQL, the
source of truth, so replays, reordering and events of other deployments on the same topic
are harmless. Changes between the index build and the first read are caught by one
reconciliation of (entry id, content hash) after the topic positions are fixed.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from stc.screening.v1 import events_pb2 as ev
from stc_common import envelope
from stc_common.kafka.topics import SCREENING_LIST
from stc_common.logging import get_logger

from stc_screening.service import ScreeningState
from stc_screening.storage import lists as lrepo

log = get_logger("stc_screening.index_sync")
_TYPES = {c.DESCRIPTOR.full_name: c
          for c in (ev.ListEntryAdded, ev.ListEntryUpdated, ev.ListEntryRemoved)}
_MEASURE_TYPES = {c.DESCRIPTOR.full_name for c in (ev.CountryMeasureAdded,
                                                    ev.CountryMeasureChanged)}


async def reconcile(pool: asyncpg.Pool, state: ScreeningState) -> int:
    """Make the index equal to the table; returns how many entries changed."""
    async with pool.acquire() as conn:
        stored = await lrepo.content_hashes(conn)
        stale = [i for i, h in stored.items()
                 if (e := state.index.get(i)) is None or e.content_hash != h]
        for entry_id in stale:
            entry = await lrepo.get(conn, entry_id)
            if entry is not None:
                state.put(entry)
    gone = [e.entry_id for e in state.index.entries() if e.entry_id not in stored]
    for entry_id in gone:
        state.drop(entry_id)
    return len(stale) + len(gone)


async def apply_event(pool: asyncpg.Pool, state: ScreeningState, entry_id: str,
                      content_hash: str) -> None:
    """Bring one entry of the index in line with the table."""
    current = state.index.get(entry_id)
    if content_hash and current is not None and current.content_hash == content_hash:
        return
    async with pool.acquire() as conn:
        entry = await lrepo.get(conn, entry_id)
    if entry is not None:
        state.put(entry)
    else:
        state.drop(entry_id)


def index_sync(state: ScreeningState, bootstrap: str):
    """The background task (pool, stop) that follows the list topic."""

    async def sync_index(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
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
            log.info("index.sync_started", partitions=len(tps), reconciled=fixed)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batch.values():
                    for rec in records:
                        try:
                            env = envelope.decode(rec.headers, rec.value, rec.key)
                            if env.type in _MEASURE_TYPES:
                                # another replica's measure change: re-read the measures
                                await state.load_measures(pool)
                                continue
                            cls = _TYPES.get(env.type)
                            if cls is None:
                                continue
                            msg = env.parse(cls)
                        except envelope.EnvelopeError:
                            continue
                        if isinstance(msg, ev.ListEntryRemoved):
                            await apply_event(pool, state, msg.entry_id, "")
                        else:
                            await apply_event(pool, state, msg.entry.entry_id,
                                              msg.entry.content_hash)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    return sync_index
