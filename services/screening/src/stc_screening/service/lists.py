"""List use cases: imports of the shipped lists and officers' changes to the PRC lists (ECL
Art. 18; the watch list of Reg. 26; delisting, Reg. 29). Each change is stored, published on
the list topic and re-screens every kept party in one transaction; the in-memory index
follows only after the commit (``uow.index_change``, applied by the caller)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import Message
from stc_common.errors import FailedPrecondition, NotFound
from stc_common.idempotency import fingerprint, replay_or_refuse
from stc_common.logging import get_logger

from stc_screening.convert import content_from_party
from stc_screening.domain.lists import ListEntry, ListKind, diff_entries, make_entry_id
from stc_screening.domain.matching import Thresholds
from stc_screening.events import outgoing
from stc_screening.policy_files import LIST_SOURCES, ParsedList, parse_list
from stc_screening.service.commands import (
    AddListEntry,
    RemoveListEntry,
    UpdateListEntry,
    WatchListNonCooperating,
)
from stc_screening.service.rescreening import rescreen
from stc_screening.service.state import ScreeningState
from stc_screening.storage.uow import ScreeningUnitOfWork, UowFactory

log = get_logger("stc_screening.service")

PRC_SOURCES = {ListKind.CONTROL_LIST: "prc-control-list", ListKind.WATCH_LIST: "prc-watch-list",
               ListKind.UNRELIABLE_ENTITY_LIST: "prc-unreliable-entity-list"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ----------------------------------------------------------------------------- imports


@dataclass
class ImportSummary:
    """One list's import: counts and time."""

    list_name: str
    path: str
    entries: int
    added: int
    updated: int
    removed: int
    published: int
    seconds: float
    by_kind: dict[str, int] = field(default_factory=dict)


async def import_list(*, uow: ScreeningUnitOfWork, parsed: ParsedList, publish_initial: bool,
                      thresholds: Thresholds | None = None) -> ImportSummary:
    """Load one parsed list idempotently: only what differs from the stored import is
    written, and each change is published (the first load only when ``publish_initial``)."""
    t0 = time.perf_counter()
    name, path = parsed.name, parsed.path
    # replicas starting together (and the CLI) import one after the other, each diffing
    # against what the one before committed: no duplicate key, no entry published twice
    await uow.lists.lock_imports()
    # entries an officer or the end-use check flow owns are never touched by an importer
    owned = await uow.lists.owned_ids()
    new = [e for e in parsed.entries if e.entry_id not in owned]
    old = await uow.lists.load_sources(LIST_SOURCES[name].prefixes)
    diff = diff_entries(old, new)
    await uow.lists.insert_many(diff.added, "import")
    await uow.lists.update_many([n for _, n in diff.updated])
    await uow.lists.delete_many([e.entry_id for e in diff.removed])
    publish = bool(old) or publish_initial
    now = _now()
    published = 0
    triggers: dict[str, str] = {}
    if publish:
        events: list[tuple[str, Message]] = []
        events += [(e.entry_id, outgoing.list_entry_added(
            e, officer="importer", reason=f"import of {path.name}", at=now))
            for e in diff.added]
        events += [(n.entry_id, outgoing.list_entry_updated(
            n, officer="importer", reason=f"import of {path.name}", at=now))
            for _, n in diff.updated]
        events += [(e.entry_id, outgoing.list_entry_removed(
            e, officer="importer", reason=f"not in {path.name}", at=now))
            for e in diff.removed]
        ids = await uow.publish_many(outgoing.LIST_TOPIC, events)
        published = len(ids)
        triggers = {key: eid for (key, _), eid in zip(events, ids, strict=True)}
    changed = [*diff.added, *(n for _, n in diff.updated)]
    change = uow.index_change
    change.rescreening_matches += await rescreen(
        uow=uow, thresholds=thresholds, changed=changed, triggers=triggers)
    change.put.extend(changed)
    change.removed.extend(e.entry_id for e in diff.removed)
    change.events += published
    seconds = time.perf_counter() - t0
    by_kind: dict[str, int] = {}
    for e in new:
        by_kind[e.list_kind.value] = by_kind.get(e.list_kind.value, 0) + 1
    await uow.lists.record_version(list_name=name, source_path=str(path),
                                   file_sha256=parsed.file_sha256, entries=len(new),
                                   added=len(diff.added), updated=len(diff.updated),
                                   removed=len(diff.removed), seconds=seconds)
    log.info("list.imported", list=name, entries=len(new), added=len(diff.added),
             updated=len(diff.updated), removed=len(diff.removed), published=published,
             seconds=round(seconds, 3))
    return ImportSummary(name, str(path), len(new), len(diff.added), len(diff.updated),
                         len(diff.removed), published, seconds, by_kind)


async def import_lists(uows: UowFactory, *, data_dir: Path, names: Sequence[str],
                       publish_initial: bool, state: ScreeningState | None = None,
                       thresholds: Thresholds | None = None) -> list[ImportSummary]:
    """Import the named lists, one transaction per list; the index follows after commit."""
    out = []
    for name in names:
        parsed = parse_list(data_dir, name)
        if parsed is None:
            log.warning("list.file_missing", list=name, data_dir=str(data_dir))
            continue
        async with uows() as uow:
            out.append(await import_list(
                uow=uow, parsed=parsed, publish_initial=publish_initial,
                thresholds=state.thresholds if state else thresholds))
        if state is not None:
            await state.apply_committed(uow.index_change)
    return out


# ----------------------------------------------------------------------------- officer changes


def _require_prc(kind: ListKind) -> None:
    if not kind.is_prc:
        raise FailedPrecondition(
            f"{kind.value} is a foreign list: its entries come only from its importer",
            reason="FOREIGN_LIST_READ_ONLY")


async def add_list_entry(*, uow: ScreeningUnitOfWork, state: ScreeningState, cmd: AddListEntry,
                         origin: str = "officer", entry_id: str | None = None) -> ListEntry:
    """Put a party on a PRC list (ECL Art. 18, Reg. 26, UEL): store, publish ListEntryAdded,
    re-screen every kept party against it. A repeated request id replays the entry it
    created; with a different request it is refused (REQUEST_ID_REUSED)."""
    _require_prc(cmd.list_kind)
    eid = entry_id or make_entry_id(PRC_SOURCES[cmd.list_kind], uuid.uuid4().hex[:16])
    if cmd.request_id:
        fp = fingerprint(cmd)
        earlier = await uow.lists.claim_request(cmd.request_id, eid, fp)
        if earlier is not None:
            earlier_id, stored_fp = earlier
            replay_or_refuse(stored_fp, fp, what="list entry", existing_id=earlier_id)
            got = await uow.lists.get(earlier_id)
            if got is None:
                raise NotFound(f"list entry {earlier_id} no longer exists",
                               reason="ENTRY_REMOVED")
            return got
    entry = cmd.content.entry(entry_id=eid, list_kind=cmd.list_kind,
                              source=f"{origin}:{cmd.officer}")
    await uow.lists.insert_many([entry], origin)
    trigger = await uow.publish(outgoing.LIST_TOPIC, entry.entry_id, outgoing.list_entry_added(
        entry, officer=cmd.officer, reason=cmd.reason, at=_now()))
    change = uow.index_change
    change.rescreening_matches += await rescreen(
        uow=uow, thresholds=state.thresholds, changed=[entry], triggers={entry.entry_id: trigger},
        matcher=state.matcher)
    change.put.append(entry)
    change.events += 1
    log.info("list_entry.added", entry_id=entry.entry_id, list=cmd.list_kind.value,
             officer=cmd.officer)
    return entry


async def update_list_entry(*, uow: ScreeningUnitOfWork, state: ScreeningState,
                            cmd: UpdateListEntry) -> ListEntry:
    """Replace a PRC list entry's content; publish ListEntryUpdated and re-screen."""
    current = await uow.lists.get(cmd.entry_id, for_update=True)
    if current is None:
        raise NotFound(f"list entry {cmd.entry_id} not found", reason="ENTRY_NOT_FOUND")
    _require_prc(current.list_kind)
    if cmd.list_kind is not None and cmd.list_kind is not current.list_kind:
        raise FailedPrecondition("an entry cannot move between lists: remove it and add it to "
                                 "the other list", reason="LIST_KIND_CHANGED")
    updated = cmd.content.entry(entry_id=current.entry_id, list_kind=current.list_kind,
                                source=current.source)
    if updated.content_hash == current.content_hash:
        return current
    await uow.lists.update_many([updated])
    await uow.lists.take_over(updated.entry_id)
    trigger = await uow.publish(outgoing.LIST_TOPIC, updated.entry_id,
                                outgoing.list_entry_updated(updated, officer=cmd.officer,
                                                            reason=cmd.reason, at=_now()))
    change = uow.index_change
    change.rescreening_matches += await rescreen(
        uow=uow, thresholds=state.thresholds, changed=[updated],
        triggers={updated.entry_id: trigger}, matcher=state.matcher)
    change.put.append(updated)
    change.events += 1
    log.info("list_entry.updated", entry_id=updated.entry_id, officer=cmd.officer)
    return updated


async def remove_list_entry(*, uow: ScreeningUnitOfWork, cmd: RemoveListEntry) -> bool:
    """Take a party off a PRC list (delisting on application, Reg. 29); ListEntryRemoved."""
    current = await uow.lists.get(cmd.entry_id, for_update=True)
    if current is None:
        raise NotFound(f"list entry {cmd.entry_id} not found", reason="ENTRY_NOT_FOUND")
    _require_prc(current.list_kind)
    await uow.lists.delete_many([cmd.entry_id])
    await uow.subjects.forget_entry(cmd.entry_id)
    await uow.publish(outgoing.LIST_TOPIC, cmd.entry_id, outgoing.list_entry_removed(
        current, officer=cmd.officer, reason=cmd.reason, at=_now()))
    uow.index_change.removed.append(cmd.entry_id)
    uow.index_change.events += 1
    log.info("list_entry.removed", entry_id=cmd.entry_id, officer=cmd.officer,
             reason=cmd.reason)
    return True


async def watch_list_non_cooperating(*, uow: ScreeningUnitOfWork, state: ScreeningState,
                                     cmd: WatchListNonCooperating) -> ListEntry | None:
    """Reg. 26: a party that did not cooperate with an end-use check goes on the watch list
    (once per check: a redelivered or repeated event adds nothing)."""
    entry_id = make_entry_id(PRC_SOURCES[ListKind.WATCH_LIST], f"check-{cmd.check_id}")
    if await uow.lists.get(entry_id) is not None:
        return None
    content = content_from_party(
        cmd.party, announcement=f"end-use check {cmd.check_id}",
        remarks="did not cooperate with an end-use check (Reg. 26)")
    return await add_list_entry(
        uow=uow, state=state, origin="enduser", entry_id=entry_id,
        cmd=AddListEntry(list_kind=ListKind.WATCH_LIST, content=content,
                         officer=cmd.officer or "enduser",
                         reason=f"Reg. 26: did not cooperate with end-use check {cmd.check_id}"))
