"""In-memory screening index over list entries.

Two passes per query: a candidate pass over an inverted index of name keys (Han
characters, pinyin syllable keys, Latin tokens, consonant skeletons, one-deletion
neighbourhoods of every word from two letters on and of the compact form, for typos),
weighted by inverse document frequency and counted once per piece of the name (the best key
of each word); then exact re-scoring of the best candidates with ``matching``, skipping the
names whose size alone rules them out. Identifiers (USCC, passport, IMO ...) have their own
exact index and decide on their own.

The index is plain Python state owned by one process; ``add`` replaces an entry with the
same id, so re-imports and ``ListEntryUpdated`` events apply in place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from stc_screening.domain.lists import ListEntry, ListKind, normalise_identifier
from stc_screening.domain.matching import (
    DEFAULT_THRESHOLDS,
    Hit,
    NameMatch,
    Party,
    Thresholds,
    compare_names,
    score_entry,
    unit_similarity,
)
from stc_screening.domain.normalise import NormalisedName, consonant_skeleton, normalise_name
from stc_screening.domain.search import (
    GOOD_FUZZY,
    WEAK_FACTOR,
    MatchKind,
    MatchStrength,
    SearchIndex,
    matches_well,
)

_PAREN_RE = re.compile(r"\s*[(（]([^()（）]*)[)）]\s*")

# How many candidate names are re-scored exactly, and the document frequency above which
# a key is too common to nominate candidates on its own.
CANDIDATES = 60
MAX_DF_FRACTION = 0.08
# A key shared through one deletion counts this much of an exact key of the same rarity.
DELETION_WEIGHT = 0.75
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


def name_key_groups(norm: NormalisedName) -> list[frozenset[str]]:
    """Inverted-index keys of a normalised name, grouped by the piece of the name they come
    from (a word, a syllable, the compact form, a pair of syllables): a candidate earns the
    best key of each group once, so a word shared exactly does not also count its whole
    deletion neighbourhood, and a typo found through the compact form competes fairly."""
    groups: list[frozenset[str]] = []
    for u in norm.units:
        keys: set[str] = set()
        if u.han:
            keys.add("h" + u.han)
        t = u.text
        if u.syllable:
            keys.update("k" + k for k in u.keys)
            if not u.han and len(t) >= 3:
                # A Latin word that is also a romanised syllable ("Sham", "Man") can be a
                # misspelt word of another language: its deletions too.
                keys.add("d" + t)
                keys.update("d" + t[:i] + t[i + 1:] for i in range(len(t)))
            groups.append(frozenset(keys))
            continue
        keys.add("t" + t)
        if len(t) >= 4:
            keys.add("s" + (u.skeleton or consonant_skeleton(t)))
        if 2 <= len(t) <= 14:
            # One-deletion neighbourhood (SymSpell): any single edit shares a key, short
            # words included ("Jon" ~ "John", "AB" ~ "ABC"); very common keys are left
            # out at query time by their document frequency.
            keys.add("d" + t)
            if len(t) >= 3:
                keys.update("d" + t[:i] + t[i + 1:] for i in range(len(t)))
        groups.append(frozenset(keys))
    c = norm.compact
    keys = set()
    if len(c) >= 4:
        keys.add("c" + c)
    if 5 <= len(c) <= 16 and len(norm.units) > 1:
        # Deletion neighbourhood of the whole name too, for typos in run-together or
        # segmented names ("Jiangzdhou" -> jiang zhou).
        keys.add("d" + c)
        keys.update("d" + c[:i] + c[i + 1:] for i in range(len(c)))
    if keys:
        groups.append(frozenset(keys))
    units = norm.units
    if len(units) >= 2 and all(u.syllable for u in units):
        # Chinese names: syllables alone are common, adjacent pairs (cyclic, so that the
        # surname-last order shares them) are selective.
        n = len(units)
        for i in range(n if n > 2 else 1):
            a, b = units[i], units[(i + 1) % n]
            pair = {f"b{x}|{y}" for x in a.keys for y in b.keys}
            pair.update(f"b{y}|{x}" for x in a.keys for y in b.keys)
            groups.append(frozenset(pair))
    return groups


def name_keys(norm: NormalisedName) -> set[str]:
    """Inverted-index keys of a normalised name."""
    return set().union(*name_key_groups(norm))


@dataclass(frozen=True, slots=True)
class _NameRecord:
    entry_id: str
    name: str
    norm: NormalisedName
    top: tuple[float, ...] = ()  # sums of the k heaviest unit weights, k = 0..n
    length: int = 0  # letters of the compact form
    forms: bool = False  # legal forms were stripped


def _top_weights(norm: NormalisedName) -> tuple[float, ...]:
    out = [0.0]
    for w in sorted((u.weight for u in norm.units), reverse=True):
        out.append(out[-1] + w)
    return tuple(out)


def _record(entry_id: str, name: str, norm: NormalisedName) -> _NameRecord:
    return _NameRecord(entry_id, name, norm, _top_weights(norm), len(norm.compact),
                       bool(norm.stripped))


def _bound(q_top: tuple[float, ...], q_len: int, e_top: tuple[float, ...], e_len: int
           ) -> float:
    """An upper bound of ``compare_names`` from the sizes of the two names alone (legal
    forms aside): at most min(n, m) unit pairs, each worth its two weights; a compact
    ratio at most 2 min / (sum) of the lengths; Han characters at most min / max."""
    k = min(len(q_top), len(e_top)) - 1
    units = (q_top[k] + e_top[k]) / (q_top[-1] + e_top[-1])
    compact = 2 * min(q_len, e_len) / (q_len + e_len) if q_len >= 5 else 0.0
    return units if units > compact else compact


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
                if not norm.units:
                    continue
                if norm.display in seen:
                    self._merge_forms(ids, norm)
                    continue
                seen.add(norm.display)
                self._exact.setdefault(norm.compact, {}).setdefault(entry.entry_id, variant)
                nid = len(self._names)
                self._names.append(_record(entry.entry_id, variant, norm))
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

    def _merge_forms(self, ids: list[int], norm: NormalisedName) -> None:
        """Another variant of an indexed name ("AVUAR LLC" beside "AVUAR OOO"): its legal
        forms join the record's, so that a query naming either form gets the credit."""
        for nid in ids:
            rec = self._names[nid]
            if rec is not None and rec.norm.display == norm.display:
                extra = tuple(f for f in norm.stripped if f not in rec.norm.stripped)
                if extra:
                    merged = replace(rec.norm, stripped=rec.norm.stripped + extra)
                    self._names[nid] = _record(rec.entry_id, rec.name, merged)
                return

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
            id_holders = self._identifiers.get(ident.key)
            if id_holders is not None:
                id_holders.discard(entry_id)
                if not id_holders:
                    del self._identifiers[ident.key]
        return True

    def _candidates(self, norms: list[NormalisedName], limit: int) -> list[int]:
        n = max(1, self._live_names)
        max_df = max(50, int(n * MAX_DF_FRACTION))
        log_n = math.log(n)
        groups: set[frozenset[str]] = set()
        for norm in norms:
            groups.update(name_key_groups(norm))
        weights: dict[str, float] = {}
        common: list[tuple[int, str]] = []
        acc: dict[int, float] = {}
        postings = self._postings
        for group in groups:
            best: dict[int, float] = {}
            for key in group:
                w = weights.get(key)
                posting = postings.get(key)
                if not posting:
                    continue
                if len(posting) > max_df:
                    common.append((len(posting), key))
                    continue
                if w is None:
                    w = log_n - math.log(len(posting))
                    if key[0] == "d":
                        w *= DELETION_WEIGHT
                    weights[key] = w
                get = best.get
                for nid in posting:
                    if get(nid, -1.0) < w:
                        best[nid] = w
            get = acc.get
            for nid, w in best.items():
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
        # The best (score, query name, its normal form, record, method, pairs) per entry;
        # NameMatch objects are built only for the entries that can become hits.
        best: dict[str, tuple] = {}
        queries = [(q, nq, _top_weights(nq), len(nq.compact)) for q, nq in norms_named]
        bound_floor = floor - MAX_LIFT
        for nid in self._candidates([nq for _, nq in norms_named], CANDIDATES):
            rec = self._names[nid]
            if rec is None:
                continue
            entry_id = rec.entry_id
            if kinds is not None and self._entries[entry_id].list_kind not in kinds:
                continue
            cur = best.get(entry_id)
            for q, nq, q_top, q_len in queries:
                if entry_id not in hits and not rec.forms:
                    # (an entry with a legal form may match the query without its last
                    # or first word, a misspelt form: no bound from the sizes then)
                    # A pair that cannot reach the floor, or beat this entry's best name,
                    # whatever its words are, is not compared.
                    bound = _bound(q_top, q_len, rec.top, rec.length)
                    if bound < bound_floor or (cur is not None and bound <= cur[0]):
                        continue
                score, method, pairs = compare_names(nq, rec.norm)
                if cur is None or score > cur[0]:
                    cur = (score, q, nq, rec, method, pairs)
                    best[entry_id] = cur
        for entry_id, (score, q, nq, rec, method, pairs) in best.items():
            if entry_id not in hits and score + MAX_LIFT < floor:
                continue
            nm = NameMatch(q, rec.name, nq.display, rec.norm.display, nq.stripped,
                           rec.norm.stripped, round(score, 4), method, pairs)
            if entry_id in hits:
                hits[entry_id] = score_entry(party, self._entries[entry_id], nm, self.thresholds)
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
        then whole-name fuzzy matches; ranked in that order, then by score. Each result
        says how well it matches (``strength``; ``matches_well`` over the answer is False
        when nothing on the lists matches well)."""
        q = query.strip()
        if not q:
            return []
        kinds = set(lists) if lists is not None else None
        out: dict[str, SearchResult] = {}

        def offer(entry_id: str, kind: MatchKind, score: float, name: str,
                  strength: MatchStrength = MatchStrength.STRONG) -> None:
            entry = self._entries.get(entry_id)
            if entry is None or (kinds is not None and entry.list_kind not in kinds):
                return
            new = SearchResult(entry_id, kind, round(score, 4), name, strength)
            cur = out.get(entry_id)
            if cur is None or (kind, strength, score) > (cur.kind, cur.strength, cur.score):
                out[entry_id] = new

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
        han_query = bool(norm.han) and len(norm.han) == len(norm.units)
        if han_query and len(norm.units) >= 2:
            # Han typed, the list writes the name in Latin letters: the query's pinyin read
            # in order as words of the name (华为 -> "HUAWEI TECHNOLOGIES").
            for th in self._search.search(norm.compact):
                offer(th.entry_id, MatchKind.FUZZY, min(GOOD_FUZZY, th.score), th.name,
                      MatchStrength.GOOD)
        if norm.units:
            for hit in self.screen(Party(q), lists=kinds, threshold=fuzzy_threshold,
                                   limit=limit):
                nm = hit.name_match
                if nm is None:
                    continue
                strength = (MatchStrength.GOOD if hit.score >= GOOD_FUZZY
                            else MatchStrength.WEAK)
                score = hit.score
                if han_query and not normalise_name(nm.entry_name).han and not _in_order(
                        norm, normalise_name(nm.entry_name)):
                    # Only the same syllables in another order link the two (华为 ~ Weihua).
                    strength = MatchStrength.WEAK
                if strength is MatchStrength.WEAK:
                    score *= WEAK_FACTOR
                offer(hit.entry_id, MatchKind.FUZZY, score, nm.entry_name, strength)
        ranked = sorted(out.values(), key=lambda r: (-r.kind, -r.strength, -r.score,
                                                     r.entry_id))
        return ranked[:limit]

    def search_matches_well(self, results: Iterable[SearchResult]) -> bool:
        """False when no result is better than weak: nothing on the lists matches well."""
        return matches_well(r.strength for r in results)


def _in_order(q: NormalisedName, e: NormalisedName) -> bool:
    """True when the query's units read, in their order, as consecutive units of the entry
    name; for three syllables or more also with the surname moved to the end (Western
    order). Two syllables swapped ("hua wei" / "wei hua") are not in order."""
    qu, eu = q.units, e.units
    n = len(qu)
    orders = [qu]
    if n >= 3:
        orders.append((*qu[1:], qu[0]))
    for seq in orders:
        for start in range(len(eu) - n + 1):
            if all(unit_similarity(seq[i], eu[start + i]) > 0.0 for i in range(n)):
                return True
    return False


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One public-search result: the entry, how it matched, a score within that kind and the
    name (or identifier) that matched."""

    entry_id: str
    kind: MatchKind
    score: float
    matched: str
    strength: MatchStrength = MatchStrength.STRONG
