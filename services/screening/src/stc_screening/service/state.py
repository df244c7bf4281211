"""The process's in-memory screening state: the index of every list entry, the control list
of items, the destination policy, and the matcher thread every job runs on.

It does no I/O: the index is filled by ``service.index`` (from storage) and changed only
after a change committed (``apply_committed``), on the matcher thread, so a job never sees
an index half-changed (see ``stc_screening.matcher``)."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable

from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.items import ControlItem
from stc_screening.domain.lists import ListChange, ListEntry
from stc_screening.domain.matching import Thresholds
from stc_screening.domain.policy import ArmsEmbargo, CountryMeasure
from stc_screening.match_pool import MatchPool
from stc_screening.matcher import Matcher
from stc_screening.policy_files import Policy


class ScreeningState:
    """The in-memory index of every list entry, plus the control list of items and the
    destination policy."""

    def __init__(self, thresholds: Thresholds, policy: Policy | None = None) -> None:
        self.thresholds = thresholds
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
        # forked matcher processes for batches (``match_pool``), when the service runs them
        self.pool: MatchPool | None = None
        if policy is not None:
            self.set_policy(policy)

    def set_policy(self, policy: Policy) -> None:
        """Use the shipped control list and destination policy."""
        self.control_items = dict(policy.control_items)
        self.embargoes = list(policy.embargoes)
        self.file_measures = list(policy.country_measures)

    @property
    def measures(self) -> list[CountryMeasure]:
        """Every country measure screening applies (each on the dates it is in force)."""
        return [m for m in self.file_measures if m.measure_id not in self.officer_measures] \
            + list(self.officer_measures.values())

    def set_officer_measures(self, measures: Iterable[CountryMeasure]) -> None:
        """The officers' measures as stored."""
        self.officer_measures = {m.measure_id: m for m in measures}

    def put_measure(self, measure: CountryMeasure) -> None:
        """A committed measure (added or changed)."""
        self.officer_measures[measure.measure_id] = measure

    async def replace_entries(self, entries: list[ListEntry]) -> None:
        """A new index of these entries (built on the matcher thread)."""
        await self.matcher.run_always(self._replace_index, entries)
        # the index is ~1M long-lived objects: a full collection walks them all (1.4 s here)
        # with the GIL held, stalling the event loop. Frozen, the collector skips them. (The
        # index is built once per process; a rebuild would keep the old one frozen.)
        gc.freeze()

    def _replace_index(self, entries: list[ListEntry]) -> None:
        self.index = ScreeningIndex(entries, thresholds=self.thresholds)
        self._changed()

    @property
    def generation(self) -> int:
        """The index's version: bumped by every change (a forked matcher process holding an
        older one is stale and gets no more work, ``match_pool``)."""
        return self._generation

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
