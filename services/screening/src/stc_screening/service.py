"""Use cases of the screening service: list imports and officer list changes (each an event,
each re-screening the parties of pending applications and active licences), party and
transaction screening, classification help and Art. 12(4) consultations.

The in-memory index (``ScreeningState``) is built from PostgreSQL at start; a list change is
applied to it only after its transaction committed (and by every replica from the list
topic, see ``events.index_sync``). Re-screening runs in the transaction of the list change,
so the change, its ListEntry* event and every RescreeningMatch commit together.

Matching never runs on the event loop: every screen, search, classification and
re-screening is a job on the state's matcher thread (``stc_screening.matcher``), one party
or one chunk at a time, and every index change runs on that same thread.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2
from stc.screening.v1 import events_pb2 as ev
from stc_common.db.uow import UnitOfWork
from stc_common.errors import AlreadyExists, FailedPrecondition, NotFound
from stc_common.kafka.topics import SCREENING_CONSULTATION, SCREENING_LIST, SCREENING_RESULT
from stc_common.logging import get_logger

from stc_screening import rescreening
from stc_screening.api import mapping as m
from stc_screening.domain.classification import Candidate, classify_item
from stc_screening.domain.index import ScreeningIndex, SearchResult
from stc_screening.domain.items import ControlItem
from stc_screening.domain.lists import (
    ListEntry,
    ListKind,
    diff_entries,
    make_entry_id,
    normalise_identifier,
)
from stc_screening.domain.matching import Hit, Party, Thresholds
from stc_screening.domain.policy import ArmsEmbargo, CountryMeasure
from stc_screening.domain.transaction import Transaction, TransactionResult, screen_transaction
from stc_screening.importers.bis import parse_bis_dpl
from stc_screening.importers.control_list import parse_control_list
from stc_screening.importers.ofac import parse_ofac_sdn
from stc_screening.importers.policy import parse_arms_embargoes, parse_country_measures
from stc_screening.importers.prc import parse_prc_lists
from stc_screening.importers.un import parse_un_consolidated
from stc_screening.matcher import Matcher
from stc_screening.storage import consultations as crepo
from stc_screening.storage import lists as lrepo
from stc_screening.storage import measures as mrepo
from stc_screening.storage import results as rrepo
from stc_screening.storage import subjects as srepo

log = get_logger("stc_screening.service")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def utcnow() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


# ----------------------------------------------------------------------------- state


class ScreeningState:
    """The process's in-memory index of every list entry, plus the control list of items and
    the destination policy read from the data folder."""

    def __init__(self, thresholds: Thresholds, data_dir: Path) -> None:
        self.thresholds = thresholds
        self.data_dir = data_dir
        self.index = ScreeningIndex((), thresholds=thresholds)
        self.control_items: dict[str, ControlItem] = {}
        self.embargoes: list[ArmsEmbargo] = []
        # measures from policy/country_measures.csv (none is shipped) and, overriding them by
        # id, the measures officers entered (PostgreSQL)
        self.file_measures: list[CountryMeasure] = []
        self.officer_measures: dict[str, CountryMeasure] = {}
        self._version: str | None = None
        self._generation = 0  # bumped by every index change (lists_version's cache key)
        self.build_seconds = 0.0
        self.matcher = Matcher()

    def load_policy(self) -> None:
        """Read the control list, arms embargoes and country measures that are shipped."""
        cl = self.data_dir / "control_list"
        items: list[ControlItem] = []
        for path in sorted(cl.glob("*.csv")) if cl.is_dir() else []:
            items += parse_control_list(path)
        self.control_items = {i.code: i for i in items}
        pol = self.data_dir / "policy"
        emb = pol / "unsc_arms_embargoes.csv"
        self.embargoes = parse_arms_embargoes(emb) if emb.exists() else []
        meas = pol / "country_measures.csv"
        self.file_measures = parse_country_measures(meas) if meas.exists() else []

    @property
    def measures(self) -> list[CountryMeasure]:
        """Every country measure screening applies (each on the dates it is in force)."""
        return [m for m in self.file_measures if m.measure_id not in self.officer_measures] \
            + list(self.officer_measures.values())

    async def load_measures(self, pool: asyncpg.Pool) -> None:
        """(Re)read the officers' country measures from PostgreSQL."""
        async with pool.acquire() as conn:
            rows = await mrepo.list_all(conn)
        self.officer_measures = {r["measure_id"]: mrepo.to_domain(r) for r in rows}

    def put_measure(self, measure: CountryMeasure) -> None:
        """A committed measure (added or changed)."""
        self.officer_measures[measure.measure_id] = measure

    async def build(self, pool: asyncpg.Pool) -> None:
        """(Re)build the index from every stored entry (on the matcher thread)."""
        t0 = time.perf_counter()
        async with pool.acquire() as conn:
            entries = await lrepo.load_all(conn)
        await self.matcher.run_always(self._replace_index, entries)
        # the index is ~1M long-lived objects: a full collection walks them all (1.4 s here)
        # with the GIL held, stalling the event loop. Frozen, the collector skips them. (The
        # index is built once per process; a rebuild would keep the old one frozen.)
        gc.freeze()
        self.build_seconds = time.perf_counter() - t0
        log.info("index.built", entries=len(self.index), names=self.index.name_count,
                 seconds=round(self.build_seconds, 3))

    def _replace_index(self, entries: list[ListEntry]) -> None:
        self.index = ScreeningIndex(entries, thresholds=self.thresholds)
        self._changed()

    def _changed(self) -> None:
        self._generation += 1
        self._version = None

    def put(self, entry: ListEntry) -> None:
        """Index (or re-index) one entry (call on the matcher thread, or with no service)."""
        current = self.index.get(entry.entry_id)
        if current is None or current.content_hash != entry.content_hash:
            self.index.add(entry)
            self._changed()

    def drop(self, entry_id: str) -> None:
        """Remove one entry from the index (on the matcher thread, or with no service)."""
        if self.index.remove(entry_id):
            self._changed()

    def apply(self, change: ListChange) -> None:
        """Apply a committed change (on the matcher thread, or with no service running)."""
        for e in change.put:
            self.put(e)
        for entry_id in change.removed:
            self.drop(entry_id)

    async def apply_committed(self, change: ListChange) -> None:
        """Apply a committed change on the matcher thread, after the jobs already queued."""
        if change.put or change.removed:
            await self.matcher.run_always(self.apply, change)

    async def put_committed(self, entry: ListEntry) -> None:
        """Index one stored entry on the matcher thread."""
        await self.matcher.run_always(self.put, entry)

    async def drop_committed(self, entry_id: str) -> None:
        """Drop one entry on the matcher thread."""
        await self.matcher.run_always(self.drop, entry_id)

    @property
    def lists_version(self) -> str:
        """A hash of every indexed entry's content hash."""
        version = self._version
        if version is None:
            generation = self._generation
            h = hashlib.sha256()
            # entries() copies the values in one C call: safe beside the matcher thread
            for e in sorted(self.index.entries(), key=lambda e: e.entry_id):
                h.update(e.content_hash.encode())
            version = h.hexdigest()[:16]
            if generation == self._generation:  # no change meanwhile: cache it
                self._version = version
        return version


@dataclass
class ListChange:
    """What a committed change does to the index."""

    put: list[ListEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    events: int = 0
    rescreening_matches: int = 0


# ----------------------------------------------------------------------------- imports

# list name -> (relative path(s), parser, entry id prefixes)
LIST_SOURCES = {
    "ofac": ("lists/ofac_sdn*", parse_ofac_sdn, ("ofac-sdn",)),
    "un": ("lists/un_consolidated.xml", parse_un_consolidated, ("un",)),
    "bis": ("lists/bis_dpl.txt", parse_bis_dpl, ("bis-dpl",)),
    "prc": ("lists/prc_lists.csv", parse_prc_lists,
            ("prc-control-list", "prc-watch-list", "prc-unreliable-entity-list")),
}


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


def _sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def parse_list(data_dir: Path, name: str) -> tuple[Path, list[ListEntry]] | None:
    """Parse one shipped list; None when its file is missing."""
    pattern, parser, _ = LIST_SOURCES[name]
    found = sorted(data_dir.glob(pattern))
    if not found:
        return None
    return found[-1], parser(found[-1])


async def import_list(*, uow: UnitOfWork, name: str, path: Path, entries: list[ListEntry],
                      publish_initial: bool, change: ListChange,
                      thresholds: Thresholds | None = None) -> ImportSummary:
    """Load one parsed list idempotently: only what differs from the stored import is
    written, and each change is published (the first load only when ``publish_initial``)."""
    t0 = time.perf_counter()
    conn = uow.conn
    _, _, prefixes = LIST_SOURCES[name]
    # replicas starting together (and the CLI) import one after the other, each diffing
    # against what the one before committed: no duplicate key, no entry published twice
    await lrepo.lock_imports(conn)
    # entries an officer or the end-use check flow owns are never touched by an importer
    owned = await lrepo.owned_ids(conn)
    new = [e for e in entries if e.entry_id not in owned]
    old = await lrepo.load_sources(conn, prefixes)
    diff = diff_entries(old, new)
    await lrepo.insert_many(conn, diff.added, "import")
    await lrepo.update_many(conn, [n for _, n in diff.updated])
    await lrepo.delete_many(conn, [e.entry_id for e in diff.removed])
    publish = bool(old) or publish_initial
    now = m.ts(utcnow())
    published = 0
    triggers: dict[str, str] = {}
    if publish:
        events: list[tuple[str, object]] = []
        events += [(e.entry_id, ev.ListEntryAdded(entry=m.entry_to_pb(e), officer="importer",
                                                  reason=f"import of {path.name}",
                                                  added_at=now)) for e in diff.added]
        events += [(n.entry_id, ev.ListEntryUpdated(entry=m.entry_to_pb(n), officer="importer",
                                                    reason=f"import of {path.name}",
                                                    updated_at=now)) for _, n in diff.updated]
        events += [(e.entry_id, ev.ListEntryRemoved(
            entry_id=e.entry_id, list_kind=m.LIST_KIND_TO_PB[e.list_kind], officer="importer",
            reason=f"not in {path.name}", removed_at=now)) for e in diff.removed]
        ids = await uow.publish_many(SCREENING_LIST.name, events)  # type: ignore[arg-type]
        published = len(ids)
        triggers = {key: eid for (key, _), eid in zip(events, ids, strict=True)}
    changed = [*diff.added, *(n for _, n in diff.updated)]
    change.rescreening_matches += await rescreen(
        uow=uow, thresholds=thresholds, changed=changed, triggers=triggers)
    change.put.extend(changed)
    change.removed.extend(e.entry_id for e in diff.removed)
    change.events += published
    seconds = time.perf_counter() - t0
    by_kind: dict[str, int] = {}
    for e in new:
        by_kind[e.list_kind.value] = by_kind.get(e.list_kind.value, 0) + 1
    await lrepo.record_version(conn, list_name=name, source_path=str(path),
                               file_sha256=_sha256_path(path), entries=len(new),
                               added=len(diff.added), updated=len(diff.updated),
                               removed=len(diff.removed), seconds=seconds)
    log.info("list.imported", list=name, entries=len(new), added=len(diff.added),
             updated=len(diff.updated), removed=len(diff.removed), published=published,
             seconds=round(seconds, 3))
    return ImportSummary(name, str(path), len(new), len(diff.added), len(diff.updated),
                         len(diff.removed), published, seconds, by_kind)


async def import_lists(pool: asyncpg.Pool, *, source: str, data_dir: Path,
                       names: Sequence[str], publish_initial: bool,
                       state: ScreeningState | None = None,
                       thresholds: Thresholds | None = None) -> list[ImportSummary]:
    """Import the named lists, one transaction per list; the index follows after commit."""
    from stc_common.db.uow import unit_of_work

    out = []
    for name in names:
        parsed = parse_list(data_dir, name)
        if parsed is None:
            log.warning("list.file_missing", list=name, data_dir=str(data_dir))
            continue
        path, entries = parsed
        change = ListChange()
        async with unit_of_work(pool, source) as uow:
            out.append(await import_list(uow=uow, name=name, path=path, entries=entries,
                                         publish_initial=publish_initial, change=change,
                                         thresholds=state.thresholds if state else thresholds))
        if state is not None:
            await state.apply_committed(change)
    return out


# ----------------------------------------------------------------------------- re-screening


RESCREEN_CHUNK = 200  # kept parties per matcher job


def _rescreen_hits(index: ScreeningIndex, parties: list[tuple[dict, dict]]
                   ) -> list[tuple[dict, common_pb2.Party, Hit, ListEntry]]:
    """The hits of a chunk of (subject, party) pairs against the changed entries (pure)."""
    return rescreening.rescreen_hits(index, parties)  # issue 14: distinct parties once


async def rescreen(*, uow: UnitOfWork, thresholds: Thresholds | None,
                   changed: Sequence[ListEntry], triggers: dict[str, str],
                   matcher: Matcher | None = None) -> int:
    """Screen every kept party against the changed entries; publish a RescreeningMatch for
    each hit not reported before. Returns how many were published. The matching runs on the
    matcher thread in chunks (10,000 live licences are tens of thousands of parties)."""
    if not changed:
        return 0
    subjects = await srepo.all_subjects(uow.conn)
    if not subjects:
        return 0
    index = ScreeningIndex(changed, thresholds=thresholds or Thresholds())
    pairs = [(s, d) for s in subjects for d in s["parties"]]
    found: list[tuple[dict, common_pb2.Party, Hit, ListEntry]] = []
    for i in range(0, len(pairs), RESCREEN_CHUNK):
        chunk = pairs[i:i + RESCREEN_CHUNK]
        found += (await matcher.run_always(_rescreen_hits, index, chunk) if matcher is not None
                  else _rescreen_hits(index, chunk))
    now = m.ts(utcnow())
    count = 0
    for s, pmsg, h, entry in found:
        if not await srepo.claim_hit(uow.conn, s["subject_kind"], s["subject_id"],
                                     pmsg.party_id, h.entry_id, entry.content_hash):
            continue
        await uow.publish(SCREENING_RESULT.name, s["subject_id"], ev.RescreeningMatch(
            subject_id=s["subject_id"],
            subject_kind=ev.SubjectKind.Value(f"SUBJECT_KIND_{s['subject_kind']}"),
            exporter_uscc=s["exporter_uscc"],
            hit=m.hit_to_pb(h, entry=entry, party=pmsg),
            trigger_event_id=triggers.get(h.entry_id, ""), matched_at=now))
        count += 1
        log.info("rescreening.matched", subject_kind=s["subject_kind"],
                 subject_id=s["subject_id"], party_id=pmsg.party_id,
                 entry_id=h.entry_id, score=h.score)
    return count


# ----------------------------------------------------------------------------- officer changes

PRC_SOURCES = {ListKind.CONTROL_LIST: "prc-control-list", ListKind.WATCH_LIST: "prc-watch-list",
               ListKind.UNRELIABLE_ENTITY_LIST: "prc-unreliable-entity-list"}


def _require_prc(kind: ListKind) -> None:
    if not kind.is_prc:
        raise FailedPrecondition(
            f"{kind.value} is a foreign list: its entries come only from its importer",
            reason="FOREIGN_LIST_READ_ONLY")


@dataclass(frozen=True)
class AddEntry:
    """An officer's new entry (the entry id and hash are assigned here)."""

    entry: ev.ListEntry
    reason: str
    officer: str
    request_id: str = ""


async def add_list_entry(*, uow: UnitOfWork, state: ScreeningState, cmd: AddEntry,
                         change: ListChange, origin: str = "officer",
                         entry_id: str | None = None) -> ListEntry:
    """Put a party on a PRC list (ECL Art. 18, Reg. 26, UEL): store, publish ListEntryAdded,
    re-screen every kept party against it."""
    kind = m.LIST_KIND_FROM_PB[cmd.entry.list_kind]
    _require_prc(kind)
    eid = entry_id or make_entry_id(PRC_SOURCES[kind], uuid.uuid4().hex[:16])
    if cmd.request_id:
        earlier = await lrepo.claim_request(uow.conn, cmd.request_id, eid)
        if earlier is not None:
            got = await lrepo.get(uow.conn, earlier)
            if got is None:
                raise NotFound(f"list entry {earlier} no longer exists", reason="ENTRY_REMOVED")
            return got
    entry = m.entry_from_pb(cmd.entry, entry_id=eid, source=f"{origin}:{cmd.officer}")
    await lrepo.insert_many(uow.conn, [entry], origin)
    trigger = await uow.publish(SCREENING_LIST.name, entry.entry_id, ev.ListEntryAdded(
        entry=m.entry_to_pb(entry), officer=cmd.officer, reason=cmd.reason,
        added_at=m.ts(utcnow())))
    change.rescreening_matches += await rescreen(
        uow=uow, thresholds=state.thresholds, changed=[entry], triggers={entry.entry_id: trigger},
        matcher=state.matcher)
    change.put.append(entry)
    change.events += 1
    log.info("list_entry.added", entry_id=entry.entry_id, list=kind.value, officer=cmd.officer)
    return entry


async def update_list_entry(*, uow: UnitOfWork, state: ScreeningState, entry: ev.ListEntry,
                            reason: str, officer: str, change: ListChange) -> ListEntry:
    """Replace a PRC list entry's content; publish ListEntryUpdated and re-screen."""
    current = await lrepo.get(uow.conn, entry.entry_id, for_update=True)
    if current is None:
        raise NotFound(f"list entry {entry.entry_id} not found", reason="ENTRY_NOT_FOUND")
    _require_prc(current.list_kind)
    new_kind = m.LIST_KIND_FROM_PB.get(entry.list_kind, current.list_kind)
    if new_kind is not current.list_kind:
        raise FailedPrecondition("an entry cannot move between lists: remove it and add it to "
                                 "the other list", reason="LIST_KIND_CHANGED")
    updated = m.entry_from_pb(entry, entry_id=current.entry_id, source=current.source)
    if updated.content_hash == current.content_hash:
        return current
    await lrepo.update_many(uow.conn, [updated])
    await lrepo.take_over(uow.conn, updated.entry_id)
    trigger = await uow.publish(SCREENING_LIST.name, updated.entry_id, ev.ListEntryUpdated(
        entry=m.entry_to_pb(updated), officer=officer, reason=reason,
        updated_at=m.ts(utcnow())))
    change.rescreening_matches += await rescreen(
        uow=uow, thresholds=state.thresholds, changed=[updated],
        triggers={updated.entry_id: trigger}, matcher=state.matcher)
    change.put.append(updated)
    change.events += 1
    log.info("list_entry.updated", entry_id=updated.entry_id, officer=officer)
    return updated


async def remove_list_entry(*, uow: UnitOfWork, entry_id: str, reason: str, officer: str,
                            change: ListChange) -> bool:
    """Take a party off a PRC list (delisting on application, Reg. 29); ListEntryRemoved."""
    current = await lrepo.get(uow.conn, entry_id, for_update=True)
    if current is None:
        raise NotFound(f"list entry {entry_id} not found", reason="ENTRY_NOT_FOUND")
    _require_prc(current.list_kind)
    await lrepo.delete_many(uow.conn, [entry_id])
    await uow.conn.execute("DELETE FROM subject_hits WHERE entry_id = $1", entry_id)
    await uow.publish(SCREENING_LIST.name, entry_id, ev.ListEntryRemoved(
        entry_id=entry_id, list_kind=m.LIST_KIND_TO_PB[current.list_kind], officer=officer,
        reason=reason, removed_at=m.ts(utcnow())))
    change.removed.append(entry_id)
    change.events += 1
    log.info("list_entry.removed", entry_id=entry_id, officer=officer, reason=reason)
    return True


# ----------------------------------------------------------------------------- screening


async def search_entries(state: ScreeningState, query: str,
                         kinds: Iterable[ListKind] | None, fuzzy_threshold: float,
                         limit: int = 1000) -> list[SearchResult]:
    """Public list search (ECL Art. 18): identifier, exact name, words, then fuzzy."""
    return await state.matcher.run(state.index.search, query, lists=kinds,
                                   fuzzy_threshold=fuzzy_threshold, limit=limit)


def _sorted_entries(state: ScreeningState, kinds: Iterable[ListKind] | None
                    ) -> list[ListEntry]:
    wanted = set(kinds) if kinds is not None else None
    return sorted((e for e in state.index.entries() if wanted is None or e.list_kind in wanted),
                  key=lambda e: e.entry_id)


async def list_entries(state: ScreeningState, kinds: Iterable[ListKind] | None
                       ) -> list[ListEntry]:
    """Every indexed entry (of the given lists), by id: the public list without a query."""
    return await state.matcher.run(_sorted_entries, state, kinds)


async def screen_party(state: ScreeningState, party: Party,
                       kinds: Iterable[ListKind] | None = None, threshold: float | None = None,
                       limit: int = 20) -> list[Hit]:
    """Screen one party against the index (a job on the matcher thread)."""
    return await state.matcher.run(state.index.screen, party, lists=kinds,
                                   threshold=threshold, limit=limit)


BATCH_CHUNK = 25  # parties per matcher job of a batch: other callers wait at most one chunk


def _screen_chunk(index: ScreeningIndex, parties: Sequence[Party],
                  kinds: Iterable[ListKind] | None, threshold: float | None,
                  limit: int) -> list[list[Hit]]:
    kinds = list(kinds) if kinds is not None else None
    return [index.screen(p, lists=kinds, threshold=threshold, limit=limit)
            if p.name or p.identifiers else [] for p in parties]


async def screen_parties(state: ScreeningState, parties: Sequence[Party],
                         kinds: Iterable[ListKind] | None = None,
                         threshold: float | None = None, limit: int = 20
                         ) -> list[list[Hit]]:
    """Screen many parties (batch screening), the hits of each in the order given, in
    chunks of ``BATCH_CHUNK`` parties so that list changes and other callers interleave."""
    kinds = list(kinds) if kinds is not None else None
    out: list[list[Hit]] = []
    for i in range(0, len(parties), BATCH_CHUNK):
        out += await state.matcher.run(_screen_chunk, state.index,
                                       parties[i:i + BATCH_CHUNK], kinds, threshold, limit)
    return out


@dataclass(frozen=True)
class TransactionInput:
    """What transaction screening needs, in messages."""

    parties: Sequence[common_pb2.Party]
    destination: str
    items: Sequence[application_pb2.Item]
    end_use: application_pb2.EndUse
    certificate: application_pb2.EndUserCertificate | None
    facts: application_pb2.TransactionFacts | None
    flags: frozenset[str] = frozenset()
    end_use_quantity: float | None = None
    on: dt.date | None = None


def build_transaction(t: TransactionInput) -> Transaction:
    """The domain Transaction from an application's or a request's messages."""
    military = t.end_use.category == application_pb2.END_USE_CATEGORY_MILITARY
    parties = tuple(m.tx_party(p, military_end_use=military) for p in t.parties)
    flags = set(t.flags)
    issuer, issuer_gov = "", False
    if t.certificate is not None:
        issuer = t.certificate.issuer_name.strip()
        issuer_gov = t.certificate.issuer_kind == application_pb2.CERTIFICATE_ISSUER_GOVERNMENT
        if not issuer and t.certificate.issuer_kind == application_pb2.CERTIFICATE_ISSUER_END_USER:
            issuer = next((p.name for p in t.parties
                           if p.role == common_pb2.PARTY_ROLE_END_USER), "")
    routing: tuple[str, ...] = ()
    pay_country = payer = ""
    if t.facts is not None:
        routing = tuple(c.strip().upper() for c in t.facts.routing_countries if c.strip())
        pay_country, payer = t.facts.payment_country.strip(), t.facts.payer_name.strip()
        if t.facts.cash_payment:
            flags.add("CASH_PAYMENT")
        if t.facts.installation_declined:
            flags.add("DECLINES_INSTALLATION")
        if t.facts.remove_origin_marks:
            flags.add("REMOVE_ORIGIN_MARKS")
    end_use = t.end_use.statement.strip()
    if military and end_use:
        end_use += " (military end use)"
    elif military:
        end_use = "military end use"
    return Transaction(
        date=t.on or dt.datetime.now(SHANGHAI).date(), destination_country=t.destination.strip(),
        parties=parties, items=m.items_to_domain(list(t.items)), end_use=end_use,
        certificate_issuer=issuer, certificate_issuer_is_government=issuer_gov,
        routing_countries=routing, payment_country=pay_country, payer_name=payer,
        end_use_quantity=t.end_use_quantity, flags=frozenset(flags))


@dataclass
class TransactionScreening:
    """Party hits (as messages) and transaction findings."""

    party_hits: list[ev.PartyHit]
    result: TransactionResult
    raw_hits: dict[str, list[Hit]]


async def screen_transaction_input(state: ScreeningState, t: TransactionInput, *,
                                   refusable: bool = True) -> TransactionScreening:
    """Screen every party against the lists (one matcher job per party), then the whole
    transaction. ``refusable``: an RPC may be refused when the matcher is busy; a consumed
    event may not (it waits its turn)."""
    run = state.matcher.run if refusable else state.matcher.run_always
    tx = build_transaction(t)
    raw: dict[str, list[Hit]] = {}
    out: list[ev.PartyHit] = []
    for p in t.parties:
        party = m.party_to_domain(p)
        if not party.name and not party.identifiers:
            continue
        hits = await run(state.index.screen, party)
        if not party.name:  # identifiers only (the exporter by its USCC): exact matches
            hits = [h for h in hits if h.matched_identifier]
        raw[p.party_id] = hits
        for h in hits:
            pbh = m.hit_to_pb(h, entry=state.index.get(h.entry_id), party=p)
            pbh.party_name = pbh.party_name or h.matched_identifier
            out.append(pbh)
    result = await run(screen_transaction, tx, raw, state.embargoes, state.measures,
                       state.control_items or None)
    return TransactionScreening(out, result, raw)


async def screen_application(*, uow: UnitOfWork, state: ScreeningState, application_id: str,
                             exporter_uscc: str, content: application_pb2.ApplicationContent,
                             trigger_event_id: str, on: dt.date | None) -> ev.ScreeningCompleted:
    """Screen everything an application names (Flow 2), keep its parties for re-screening,
    store the result and publish ScreeningCompleted keyed by the application id. The exporter
    is screened too, by its USCC, whether or not it is among the parties (ECL Art. 18: a
    listed exporter may not export the controlled items)."""
    parties = with_exporter(list(content.parties), exporter_uscc)
    ts = await screen_transaction_input(state, TransactionInput(
        parties=parties, destination=content.destination,
        items=list(content.items), end_use=content.end_use,
        certificate=content.end_user_certificate if content.HasField("end_user_certificate")
        else None,
        facts=content.transaction if content.HasField("transaction") else None, on=on),
        refusable=False)
    await srepo.upsert(uow.conn, srepo.APPLICATION, application_id, exporter_uscc,
                       [m.party_to_dict(p) for p in parties])
    await srepo.record_hits(uow.conn, srepo.APPLICATION, application_id, [
        (pid, h.entry_id, (state.index.get(h.entry_id) or _NONE).content_hash)
        for pid, hits in ts.raw_hits.items() for h in hits])
    return await _complete(uow=uow, state=state, subject_kind="APPLICATION",
                           subject_id=application_id, exporter_uscc=exporter_uscc,
                           party_hits=ts.party_hits,
                           findings=[m.finding_to_pb(f) for f in ts.result.findings],
                           trigger_event_id=trigger_event_id)


EXPORTER_PARTY_ID = "exporter"


def with_exporter(parties: list[common_pb2.Party], exporter_uscc: str
                  ) -> list[common_pb2.Party]:
    """The parties, with the exporter carrying its USCC: the party in the exporter role gets
    the USCC as an identifier when it lacks it; without such a party, an exporter party with
    only the USCC is added (party id ``exporter``), so that list entries carrying that USCC
    are found by exact identifier."""
    uscc = exporter_uscc.strip()
    if not uscc:
        return parties
    key = normalise_identifier(uscc)
    out: list[common_pb2.Party] = []
    found = False
    for p in parties:
        if p.role == common_pb2.PARTY_ROLE_EXPORTER and not found:
            found = True
            if not any(normalise_identifier(i.value) == key for i in p.identifiers):
                q = common_pb2.Party()
                q.CopyFrom(p)
                q.identifiers.add(type="USCC", value=uscc)
                p = q
        out.append(p)
    if not found:
        out.append(common_pb2.Party(
            party_id=EXPORTER_PARTY_ID, role=common_pb2.PARTY_ROLE_EXPORTER,
            identifiers=[common_pb2.PartyIdentifier(type="USCC", value=uscc)]))
    return out


class _NoEntry:
    content_hash = ""


_NONE = _NoEntry()


async def _complete(*, uow: UnitOfWork, state: ScreeningState, subject_kind: str,
                    subject_id: str, exporter_uscc: str, party_hits: list[ev.PartyHit],
                    findings: list[ev.TransactionFinding], trigger_event_id: str
                    ) -> ev.ScreeningCompleted:
    sid = uuid.uuid4()
    msg = ev.ScreeningCompleted(
        screening_id=str(sid), subject_id=subject_id,
        subject_kind=ev.SubjectKind.Value(f"SUBJECT_KIND_{subject_kind}"),
        exporter_uscc=exporter_uscc, party_hits=party_hits, findings=findings,
        lists_version=state.lists_version, completed_at=m.ts(utcnow()))
    await rrepo.insert(uow.conn, screening_id=sid, subject_kind=subject_kind,
                       subject_id=subject_id, exporter_uscc=exporter_uscc,
                       trigger_event_id=trigger_event_id, lists_version=msg.lists_version,
                       result=msg.SerializeToString())
    await uow.publish(SCREENING_RESULT.name, subject_id, msg)
    log.info("screening.completed", subject_kind=subject_kind, subject_id=subject_id,
             hits=len(party_hits), findings=len(findings))
    return msg


# ----------------------------------------------------------------------------- projection


async def keep_licence(*, uow: UnitOfWork, licence_id: str, application_id: str,
                       exporter_uscc: str, parties: Sequence[common_pb2.Party]) -> None:
    """An issued licence: keep its parties for re-screening; its application is settled."""
    await srepo.upsert(uow.conn, srepo.LICENCE, licence_id, exporter_uscc,
                       [m.party_to_dict(p) for p in parties])
    if application_id:
        await srepo.drop(uow.conn, srepo.APPLICATION, application_id)
    log.info("subject.kept", subject_kind="LICENCE", subject_id=licence_id)


async def drop_subject(*, uow: UnitOfWork, kind: str, subject_id: str) -> None:
    """A decided or withdrawn application, an ended licence: no more re-screening."""
    if await srepo.drop(uow.conn, kind, subject_id):
        log.info("subject.dropped", subject_kind=kind, subject_id=subject_id)


async def screen_new_end_user(*, uow: UnitOfWork, state: ScreeningState, licence_id: str,
                              exporter_uscc: str, party: common_pb2.Party,
                              trigger_event_id: str) -> ev.ScreeningCompleted:
    """ECL Art. 16: screen the new end user of a change report; a control-list hit is a
    RescreeningMatch on the licence (licensing suspends it)."""
    dp = m.party_to_domain(party)
    hits = await state.matcher.run_always(state.index.screen, dp) if dp.name else []
    pbs = [m.hit_to_pb(h, entry=state.index.get(h.entry_id), party=party) for h in hits]
    msg = await _complete(uow=uow, state=state, subject_kind="CHANGE_REPORT",
                          subject_id=licence_id, exporter_uscc=exporter_uscc, party_hits=pbs,
                          findings=[], trigger_event_id=trigger_event_id)
    kept = await srepo.get(uow.conn, srepo.LICENCE, licence_id)
    if kept is not None and not any(d["party_id"] == party.party_id for d in kept["parties"]):
        await srepo.upsert(uow.conn, srepo.LICENCE, licence_id, kept["exporter_uscc"],
                           [*kept["parties"], m.party_to_dict(party)])
    for h, pb in zip(hits, pbs, strict=True):
        if h.list_kind is not ListKind.CONTROL_LIST:
            continue
        entry = state.index.get(h.entry_id)
        if not await srepo.claim_hit(uow.conn, srepo.LICENCE, licence_id, party.party_id,
                                     h.entry_id, entry.content_hash if entry else ""):
            continue
        await uow.publish(SCREENING_RESULT.name, licence_id, ev.RescreeningMatch(
            subject_id=licence_id, subject_kind=ev.SUBJECT_KIND_LICENCE,
            exporter_uscc=exporter_uscc, hit=pb, trigger_event_id=trigger_event_id,
            matched_at=m.ts(utcnow())))
        log.info("rescreening.matched", subject_kind="LICENCE", subject_id=licence_id,
                 entry_id=h.entry_id, cause="change_report")
    return msg


async def watch_list_non_cooperating(*, uow: UnitOfWork, state: ScreeningState, check_id: str,
                                     party: common_pb2.Party, officer: str,
                                     change: ListChange) -> ListEntry | None:
    """Reg. 26: a party that did not cooperate with an end-use check goes on the watch list."""
    entry_id = make_entry_id(PRC_SOURCES[ListKind.WATCH_LIST], f"check-{check_id}")
    if await lrepo.get(uow.conn, entry_id) is not None:
        return None
    pb = ev.ListEntry(list_kind=ev.LIST_KIND_WATCH_LIST, primary_name=party.name,
                      aliases=list(party.aliases),
                      countries=[party.country] if party.country else [],
                      addresses=[party.address] if party.address else [],
                      identifiers=list(party.identifiers), party_type="entity",
                      announcement=f"end-use check {check_id}",
                      remarks="did not cooperate with an end-use check (Reg. 26)")
    return await add_list_entry(
        uow=uow, state=state, change=change, origin="enduser", entry_id=entry_id,
        cmd=AddEntry(entry=pb, officer=officer or "enduser",
                     reason=f"Reg. 26: did not cooperate with end-use check {check_id}"))


# ----------------------------------------------------------------------------- country measures

SCOPES = ("all", "military_end_user", "military_end_use")


@dataclass(frozen=True)
class AddMeasure:
    """An officer enters a measure the authority announced."""

    measure: CountryMeasure
    officer: str
    reason: str
    request_id: str = ""


async def add_country_measure(*, uow: UnitOfWork, cmd: AddMeasure) -> dict:
    """Store a dated country measure and publish CountryMeasureAdded (ECL Art. 13(5): the
    destination's situation is weighed; the measure applies from its effective date)."""
    row, created = await mrepo.insert(uow.conn, cmd.measure, officer=cmd.officer,
                                      request_id=cmd.request_id)
    if not row:
        raise AlreadyExists(f"country measure {cmd.measure.measure_id} exists",
                            reason="MEASURE_EXISTS")
    if created:
        await uow.publish(SCREENING_LIST.name, row["measure_id"], ev.CountryMeasureAdded(
            measure=m.measure_to_pb(row), officer=cmd.officer, reason=cmd.reason,
            added_at=m.ts(row["created_at"])))
        log.info("country_measure.added", measure_id=row["measure_id"],
                 country=row["country"], effective_from=str(row["effective_from"]))
    return row


async def suspend_country_measure(*, uow: UnitOfWork, measure_id: str,
                                  suspended_from: dt.date, suspended_until: dt.date | None,
                                  officer: str, reason: str) -> dict:
    """Suspend a measure for a window (or until further notice): CountryMeasureChanged."""
    row = await mrepo.get(uow.conn, measure_id, for_update=True)
    if row is None:
        raise NotFound(f"country measure {measure_id} not found", reason="MEASURE_NOT_FOUND")
    if suspended_from < row["effective_from"]:
        raise FailedPrecondition("a suspension starts on or after the effective date",
                                 reason="SUSPENSION_BEFORE_EFFECTIVE")
    row = await mrepo.suspend(uow.conn, measure_id, suspended_from=suspended_from,
                              suspended_until=suspended_until, officer=officer)
    await uow.publish(SCREENING_LIST.name, measure_id, ev.CountryMeasureChanged(
        measure=m.measure_to_pb(row), officer=officer, reason=reason, change="SUSPENDED",
        changed_at=m.ts(row["updated_at"])))
    log.info("country_measure.suspended", measure_id=measure_id,
             suspended_from=str(suspended_from), suspended_until=str(suspended_until or ""))
    return row


async def list_country_measures(*, conn: asyncpg.Connection, country: str,
                                on: dt.date | None) -> list[dict]:
    """The stored measures (of one destination; in force on a date)."""
    rows = await mrepo.list_all(conn, country)
    if on is not None:
        rows = [r for r in rows if mrepo.to_domain(r).in_force_on(on)]
    return rows


# ----------------------------------------------------------------------------- classification


async def classify(state: ScreeningState, description: str, parameters: dict[str, float],
                   hs_code: str, limit: int) -> list[Candidate]:
    """Ranked control-list candidates for an item (help for Art. 12(4)), on the matcher."""
    return await state.matcher.run(
        classify_item, list(state.control_items.values()), description=description,
        parameters=parameters, hs_code=hs_code, limit=limit)


# ----------------------------------------------------------------------------- consultations


@dataclass(frozen=True)
class SubmitConsultation:
    """An exporter's question (Art. 12(4))."""

    exporter_uscc: str
    authority: str
    question: str
    item_description: str = ""
    hs_code: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    request_id: str = ""


async def submit_consultation(*, uow: UnitOfWork, cmd: SubmitConsultation) -> dict:
    """Store the question and route it to the authority (ConsultationSubmitted)."""
    row, created = await crepo.insert(
        uow.conn, request_id=cmd.request_id, exporter_uscc=cmd.exporter_uscc,
        authority=cmd.authority, question=cmd.question, item_description=cmd.item_description,
        hs_code=cmd.hs_code, parameters=cmd.parameters)
    if created:
        cid = str(row["consultation_id"])
        await uow.publish(SCREENING_CONSULTATION.name, cid, ev.ConsultationSubmitted(
            consultation_id=cid, exporter_uscc=cmd.exporter_uscc, authority=cmd.authority,
            question=cmd.question, submitted_at=m.ts(row["submitted_at"])))
        log.info("consultation.submitted", consultation_id=cid, authority=cmd.authority)
    return row


def _parse_id(consultation_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(consultation_id)
    except ValueError as exc:
        raise NotFound(f"consultation {consultation_id} not found",
                       reason="CONSULTATION_NOT_FOUND") from exc


async def list_consultations(*, conn: asyncpg.Connection, authority: str | None,
                             state: str | None, offset: int, limit: int) -> list:
    """The consultations routed to one authority (Art. 12(4); None: every authority's, for
    auditors), oldest first."""
    return await crepo.list_for_authority(conn, authority, state, offset, limit)


async def get_consultation(*, conn: asyncpg.Connection, consultation_id: str,
                           exporter_uscc: str | None, authority: str | None) -> dict:
    """One consultation; another tenant's (or another authority's) answers NOT_FOUND."""
    row = await crepo.get(conn, _parse_id(consultation_id))
    if (row is None or (exporter_uscc is not None and row["exporter_uscc"] != exporter_uscc)
            or (authority is not None and row["authority"] != authority)):
        raise NotFound(f"consultation {consultation_id} not found",
                       reason="CONSULTATION_NOT_FOUND")
    return row


async def answer_consultation(*, uow: UnitOfWork, consultation_id: str, authority: str,
                              officer: str, controlled: bool, control_code: str,
                              answer: str) -> dict:
    """The authority answers (ConsultationAnswered)."""
    cid = _parse_id(consultation_id)
    row = await crepo.get(uow.conn, cid, for_update=True)
    if row is None or row["authority"] != authority:  # another authority's: as if absent
        raise NotFound(f"consultation {consultation_id} not found",
                       reason="CONSULTATION_NOT_FOUND")
    if row["state"] != crepo.SUBMITTED:
        raise FailedPrecondition("the consultation is answered already",
                                 reason="CONSULTATION_ANSWERED")
    now = utcnow()
    row = await crepo.answer(uow.conn, cid, controlled=controlled, control_code=control_code,
                             answer_text=answer, officer=officer, at=now)
    await uow.publish(SCREENING_CONSULTATION.name, str(cid), ev.ConsultationAnswered(
        consultation_id=str(cid), exporter_uscc=row["exporter_uscc"], controlled=controlled,
        control_code=control_code, answer=answer, officer=officer, answered_at=m.ts(now)))
    log.info("consultation.answered", consultation_id=str(cid), controlled=controlled)
    return row
