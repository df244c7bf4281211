"""In-memory screening index over list entries.

Two passes per query: a candidate pass over an inverted index of name keys (Han
characters, pinyin syllable keys, Latin tokens, consonant skeletons, one-deletion
neighbourhoods for typos, compact forms), weighted by inverse document frequency; then exact
re-scoring of the best candidates with ``matching``. Identifiers (USCC, passport, IMO ...)
have their own exact index and decide on their own.

The index is plain Python state owned by one process; ``add`` replaces an entry with the
same id, so re-imports and ``ListEntryUpdated`` events apply in place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from stc_screening.domain.lists import ListEntry, ListKind, normalise_identifier
from stc_screening.domain.matching import (
    DEFAULT_THRESHOLDS,
    Hit,
    NameMatch,
    Party,
    Thresholds,
    compare_names,
    score_entry,
)
from stc_screening.domain.normalise import NormalisedName, consonant_skeleton, normalise_name
from stc_screening.domain.search import MatchKind, SearchIndex

_PAREN_RE = re.compile(r"\s*[(（]([^()（）]*)[)）]\s*")

# How many candidate names are re-scored exactly, and the document frequency above which
# a key is too common to nominate candidates on its own.
CANDIDATES = 60
MAX_DF_FRACTION = 0.08
# Feature adjustments can lift a name score by at most this much; names further below the
# threshold are not turned into hits.
MAX_LIFT = 0.06


def name_variants(name: str) -> tuple[str, ...]:
    """The name, the name without parenthesised parts, and each parenthesised part."""
    out = [name]
    if _PAREN_RE.search(name):
        bare = _PAREN_RE.sub(" ", name).strip()
        if bare:
            out.append(bare)
        out.extend(p.strip() for p in _PAREN_RE.findall(name) if len(p.strip()) >= 3)
    return tuple(dict.fromkeys(out))


def name_keys(norm: NormalisedName) -> set[str]:
    """Inverted-index keys of a normalised name."""
    keys: set[str] = set()
    for u in norm.units:
        if u.han:
            keys.add("h" + u.han)
        if u.syllable:
            keys.update("k" + k for k in u.keys)
            continue
        t = u.text
        keys.add("t" + t)
        if len(t) >= 4:
            keys.add("s" + consonant_skeleton(t))
        if 4 <= len(t) <= 14:
            # One-deletion neighbourhood (SymSpell): any single edit shares a key.
            keys.add("d" + t)
            keys.update("d" + t[:i] + t[i + 1:] for i in range(len(t)))
    c = norm.compact
    if len(c) >= 4:
        keys.add("c" + c)
    if 5 <= len(c) <= 16 and len(norm.units) > 1:
        # Deletion neighbourhood of the whole name too, for typos in run-together or
        # segmented names ("Jiangzdhou" -> jiang zhou).
        keys.add("d" + c)
        keys.update("d" + c[:i] + c[i + 1:] for i in range(len(c)))
    units = norm.units
    if len(units) >= 2 and all(u.syllable for u in units):
        # Chinese names: syllables alone are common, adjacent pairs (cyclic, so that the
        # surname-last order shares them) are selective.
        n = len(units)
        for i in range(n if n > 2 else 1):
            a, b = units[i], units[(i + 1) % n]
            keys.update(f"b{x}|{y}" for x in a.keys for y in b.keys)
            keys.update(f"b{y}|{x}" for x in a.keys for y in b.keys)
    return keys


@dataclass(frozen=True, slots=True)
class _NameRecord:
    entry_id: str
    name: str
    norm: NormalisedName


class ScreeningIndex:
    """In-memory index of list entries; ``screen`` returns hits sorted by score."""

    def __init__(self, entries: Iterable[ListEntry] = (),
                 thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        self.thresholds = thresholds
        self._entries: dict[str, ListEntry] = {}
        self._names: list[_NameRecord | None] = []
        self._entry_names: dict[str, list[int]] = {}
        self._postings: dict[str, list[int]] = {}
        self._identifiers: dict[str, set[str]] = {}
        self._live_names = 0
        self._search = SearchIndex()
        # normalised compact name -> {entry id: the name}, for exact-name search results
        self._exact: dict[str, dict[str, str]] = {}
        for e in entries:
            self.add(e)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    @property
    def name_count(self) -> int:
        """Number of indexed names (primary names, aliases and their variants)."""
        return self._live_names

    def get(self, entry_id: str) -> ListEntry | None:
        """The entry with this id, or None."""
        return self._entries.get(entry_id)

    def entries(self) -> list[ListEntry]:
        """All entries in the index."""
        return list(self._entries.values())

    def add(self, entry: ListEntry) -> None:
        """Index an entry, replacing any entry with the same id."""
        if entry.entry_id in self._entries:
            self.remove(entry.entry_id)
        self._entries[entry.entry_id] = entry
        ids: list[int] = []
        seen: set[str] = set()
        for name in entry.names:
            for variant in name_variants(name):
                norm = normalise_name(variant)
                if not norm.units or norm.display in seen:
                    continue
                seen.add(norm.display)
                self._exact.setdefault(norm.compact, {}).setdefault(entry.entry_id, variant)
                nid = len(self._names)
                self._names.append(_NameRecord(entry.entry_id, variant, norm))
                ids.append(nid)
                for key in name_keys(norm):
                    self._postings.setdefault(key, []).append(nid)
        self._entry_names[entry.entry_id] = ids
        self._live_names += len(ids)
        self._search.add(entry.entry_id, entry.names)
        for ident in entry.identifiers:
            key = ident.key
            if len(key) >= 5:
                self._identifiers.setdefault(key, set()).add(entry.entry_id)

    def remove(self, entry_id: str) -> bool:
        """Drop an entry; returns False when it was not indexed."""
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return False
        ids = self._entry_names.pop(entry_id, [])
        for nid in ids:
            rec = self._names[nid]
            if rec is not None:
                holders = self._exact.get(rec.norm.compact)
                if holders is not None:
                    holders.pop(entry_id, None)
                    if not holders:
                        del self._exact[rec.norm.compact]
                for key in name_keys(rec.norm):
                    posting = self._postings.get(key)
                    if posting is not None:
                        try:
                            posting.remove(nid)
                        except ValueError:
                            pass
                        if not posting:
                            del self._postings[key]
            self._names[nid] = None
        self._live_names -= len(ids)
        self._search.remove(entry_id)
        for ident in entry.identifiers:
            holders = self._identifiers.get(ident.key)
            if holders is not None:
                holders.discard(entry_id)
                if not holders:
                    del self._identifiers[ident.key]
        return True

    def _candidates(self, norms: list[NormalisedName], limit: int) -> list[int]:
        n = max(1, self._live_names)
        max_df = max(50, int(n * MAX_DF_FRACTION))
        acc: dict[int, float] = {}
        keys: set[str] = set()
        for norm in norms:
            keys |= name_keys(norm)
        common: list[tuple[int, str]] = []
        for key in keys:
            posting = self._postings.get(key)
            if not posting:
                continue
            if len(posting) > max_df:
                common.append((len(posting), key))
                continue
            w = math.log(n / len(posting))
            if key[0] == "d":
                w *= 0.5
            get = acc.get
            for nid in posting:
                acc[nid] = get(nid, 0.0) + w
        if not acc and common:
            # Only very common keys ("Mohammed Ali"): fall back to the rarest of them.
            _, key = min(common)
            return self._postings[key][: limit * 20]
        if len(acc) <= limit:
            return list(acc)
        return sorted(acc, key=acc.__getitem__, reverse=True)[:limit]

    def screen(self, party: Party, lists: Iterable[ListKind] | None = None,
               threshold: float | None = None, limit: int = 20) -> list[Hit]:
        """Screen a party; hits at or above ``threshold`` (default: potential), best first."""
        floor = self.thresholds.potential if threshold is None else threshold
        kinds = set(lists) if lists is not None else None
        hits: dict[str, Hit] = {}
        for ident in party.identifiers:
            for entry_id in self._identifiers.get(normalise_identifier(ident.value), ()):
                entry = self._entries[entry_id]
                if kinds is None or entry.list_kind in kinds:
                    hits[entry_id] = score_entry(party, entry, None, self.thresholds)
        query_names = [v for name in party.names for v in name_variants(name)]
        norms = [normalise_name(q) for q in query_names]
        norms_named = [(q, nq) for q, nq in zip(query_names, norms, strict=True) if nq.units]
        best: dict[str, NameMatch] = {}
        for nid in self._candidates([nq for _, nq in norms_named], CANDIDATES):
            rec = self._names[nid]
            if rec is None:
                continue
            if kinds is not None and self._entries[rec.entry_id].list_kind not in kinds:
                continue
            for q, nq in norms_named:
                score, method, pairs = compare_names(nq, rec.norm)
                cur = best.get(rec.entry_id)
                if cur is None or score > cur.score:
                    best[rec.entry_id] = NameMatch(
                        q, rec.name, nq.display, rec.norm.display, nq.stripped,
                        rec.norm.stripped, round(score, 4), method, pairs)
        for entry_id, nm in best.items():
            if entry_id in hits:
                hits[entry_id] = score_entry(party, self._entries[entry_id], nm, self.thresholds)
                continue
            if nm.score + MAX_LIFT < floor:
                continue
            hit = score_entry(party, self._entries[entry_id], nm, self.thresholds)
            if hit.score >= floor:
                hits[entry_id] = hit
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.entry_id))
        return ranked[:limit]

    def search(self, query: str, lists: Iterable[ListKind] | None = None,
               fuzzy_threshold: float = 0.75, limit: int = 1000) -> list[SearchResult]:
        """Public list search: an identifier typed alone (exact), an exact name, names
        containing every word of the query (whole words, prefixes, Han substrings, pinyin),
        then whole-name fuzzy matches; ranked in that order, then by score."""
        q = query.strip()
        if not q:
            return []
        kinds = set(lists) if lists is not None else None
        out: dict[str, SearchResult] = {}

        def offer(entry_id: str, kind: MatchKind, score: float, name: str) -> None:
            entry = self._entries.get(entry_id)
            if entry is None or (kinds is not None and entry.list_kind not in kinds):
                return
            cur = out.get(entry_id)
            if cur is None:
                out[entry_id] = SearchResult(entry_id, kind, round(score, 4), name)
            elif kind > cur.kind or (kind == cur.kind and score > cur.score):
                # the best kind names the match; the score is the best of any kind
                out[entry_id] = SearchResult(entry_id, kind, round(max(score, cur.score), 4),
                                             name)
            elif score > cur.score:
                out[entry_id] = SearchResult(entry_id, cur.kind, round(score, 4), cur.matched)

        ident = normalise_identifier(q)
        if len(ident) >= 5:
            for entry_id in self._identifiers.get(ident, ()):
                entry = self._entries[entry_id]
                shown = next((i.value for i in entry.identifiers if i.key == ident), q)
                offer(entry_id, MatchKind.IDENTIFIER, 1.0, shown)
        norm = normalise_name(q)
        if norm.units:
            for entry_id, name in self._exact.get(norm.compact, {}).items():
                offer(entry_id, MatchKind.EXACT_NAME, 1.0, name)
        for th in self._search.search(q):
            offer(th.entry_id, MatchKind.TOKEN, th.score, th.name)
        if norm.units:
            for hit in self.screen(Party(q), lists=kinds, threshold=fuzzy_threshold,
                                   limit=limit):
                if hit.name_match is not None:
                    offer(hit.entry_id, MatchKind.FUZZY, hit.score, hit.name_match.entry_name)
        ranked = sorted(out.values(), key=lambda r: (-r.kind, -r.score, r.entry_id))
        return ranked[:limit]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One public-search result: the entry, how it matched, a score within that kind and the
    name (or identifier) that matched."""

    entry_id: str
    kind: MatchKind
    score: float
    matched: str
