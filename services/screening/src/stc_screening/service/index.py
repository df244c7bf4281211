"""Keeping the in-memory index (and the officers' country measures) equal to PostgreSQL,
the source of truth: the build at start, the reconciliation every replica runs, and one
entry brought in line after a list event (``events.index_sync`` follows the topic)."""

from __future__ import annotations

import time

from stc_common.logging import get_logger

from stc_screening.domain.lists import ListChange
from stc_screening.service.state import ScreeningState
from stc_screening.storage.uow import UowFactory

log = get_logger("stc_screening.index")


async def build_index(*, uows: UowFactory, state: ScreeningState) -> None:
    """(Re)build the index from every stored entry (on the matcher thread)."""
    t0 = time.perf_counter()
    async with uows() as uow:
        entries = await uow.lists.load_all()
    await state.replace_entries(entries)
    state.build_seconds = time.perf_counter() - t0
    log.info("index.built", entries=len(state.index), names=state.index.name_count,
             seconds=round(state.build_seconds, 3))


async def load_measures(*, uows: UowFactory, state: ScreeningState) -> None:
    """(Re)read the officers' country measures."""
    async with uows() as uow:
        records = await uow.measures.list_all()
    state.set_officer_measures(r.measure for r in records)


async def reconcile(*, uows: UowFactory, state: ScreeningState) -> int:
    """Make the index equal to the table; returns how many entries changed."""
    change = ListChange()
    async with uows() as uow:
        stored = await uow.lists.content_hashes()
        stale = [i for i, h in stored.items()
                 if (e := state.index.get(i)) is None or e.content_hash != h]
        for entry_id in stale:
            entry = await uow.lists.get(entry_id)
            if entry is not None:
                change.put.append(entry)
    change.removed = [e.entry_id for e in state.index.entries() if e.entry_id not in stored]
    await state.apply_committed(change)
    return len(stale) + len(change.removed)


async def sync_entry(*, uows: UowFactory, state: ScreeningState, entry_id: str,
                     content_hash: str) -> None:
    """Bring one entry of the index in line with the table (an event is only a hint)."""
    current = state.index.get(entry_id)
    if content_hash and current is not None and current.content_hash == content_hash:
        return
    async with uows() as uow:
        entry = await uow.lists.get(entry_id)
    if entry is not None:
        await state.apply_committed(ListChange(put=[entry]))
    else:
        await state.apply_committed(ListChange(removed=[entry_id]))
