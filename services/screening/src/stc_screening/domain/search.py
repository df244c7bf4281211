"""Public list search (ECL Art. 18: the control list is public): what a person expects from
a list-search box, on top of the screening matcher.

Every name and alias of an entry is indexed as search terms, normalised the same way for
entries and queries: NFKC (full-width to half-width), traditional to simplified Chinese,
case and diacritics folded, Cyrillic transliterated. Terms are

- Latin words (``ryonbong``), looked up exactly and, from three letters on, by prefix
  (``lockh`` -> ``lockheed``) over a sorted vocabulary;
- Han characters and Han bigrams, so that any Han substring of a name (``华为`` in
  ``华为技术有限公司``) is found by intersecting bigram postings and checking the substring;
- the pinyin of Han names, syllable by syllable and run together (``huawei`` finds
  ``华为技术有限公司`` by prefix of ``huaweijishu...``).

A query matches a name when every query term matches a term of that same name; words in the
name's order and a larger share of the name covered rank higher. Ranking across kinds is
``IDENTIFIER > EXACT_NAME > TOKEN > FUZZY``, then by ``MatchStrength`` and score (see
``ScreeningIndex.search``): a Han substring of a listed Han name is a TOKEN and outranks
any pinyin reading; a Han query read as pinyin words of a Latin name, in order, is a GOOD
fuzzy result; a fuzzy result linked to a Han query only by the same syllables in another
order (华为 ~ "Weihua") is WEAK, and an answer with nothing better than WEAK says that
nothing on the lists matches well (``matches_well``).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from stc_screening.domain.normalise import fold_latin, han_readings, to_simplified

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN_RE = re.compile(f"[{_HAN}]+")
_WORD_RE = re.compile(f"[^\\W_{_HAN}]+")
_APOS_RE = re.compile(r"[’'`´]")
# A query word shorter than this is matched as a whole word only, not as a prefix.
MIN_PREFIX = 3


class MatchKind(IntEnum):
    """How a search result matched; higher ranks first."""

    FUZZY = 1
    TOKEN = 2
    EXACT_NAME = 3
    IDENTIFIER = 4


class MatchStrength(IntEnum):
    """How well a search result answers the query, for the person reading it.

    STRONG: an identifier, the name itself, or every word (or the Han text) of the query in
    the name. GOOD: a close spelling, or a Han query whose pinyin reads the name's words in
    order. WEAK: related only by sound at a distance, or by the same syllables in another
    order (华为 ~ "Weihua"): shown last, flagged, never the reason to stop looking.
    """

    WEAK = 1
    GOOD = 2
    STRONG = 3


# The public list search (ECL Art. 18: the lists are public) shows fuzzy results from this
# score on; a lower threshold than screening's, since a reader browses rather than decides.
PUBLIC_SEARCH_THRESHOLD = 0.75
# A fuzzy result at or above this score is GOOD, below it WEAK.
GOOD_FUZZY = 0.9
# A weak result's score is scaled by this, so that it ranks under the good ones of its kind.
WEAK_FACTOR = 0.75


def matches_well(strengths: Iterable[MatchStrength]) -> bool:
    """False when nothing in the answer is better than WEAK: the list holds no name that
    matches the query well (the answer should say so rather than show a coincidence)."""
    return any(s >= MatchStrength.GOOD for s in strengths)


@dataclass(frozen=True, slots=True)
class SearchForm:
    """A name (or query) as search terms: Latin words in order, Han runs, and the pinyin
    words of the Han runs."""

    words: tuple[str, ...]
    han: tuple[str, ...]
    pinyin: tuple[str, ...]

    @property
    def chars(self) -> int:
        """Size of the name for coverage: letters of the words plus Han characters."""
        return sum(map(len, self.words)) + sum(map(len, self.han)) or 1


def search_form(text: str) -> SearchForm:
    """Normalise a name or query into search terms (pure)."""
    t = to_simplified(unicodedata.normalize("NFKC", text))
    t = _APOS_RE.sub("", t)
    han = tuple(_HAN_RUN_RE.findall(t))
    words = tuple(w for w in (fold_latin(x) for x in _WORD_RE.findall(t)) if w)
    words = tuple(w for raw in words for w in _WORD_RE.findall(raw))  # folding may split
    py: list[str] = []
    for run in han:
        syl = [han_readings(ch)[0] for ch in run]
        py.extend(syl)
        if len(syl) > 1:
            py.append("".join(syl))
    return SearchForm(words, han, tuple(py))


@dataclass(frozen=True, slots=True)
class _Rec:
    entry_id: str
    name: str
    form: SearchForm
    han_text: str


@dataclass(frozen=True, slots=True)
class TermHit:
    """A name that contains every term of the query."""

    entry_id: str
    name: str
    score: float


def _terms(form: SearchForm) -> set[str]:
    keys = {"w" + w for w in form.words}
    keys.update("w" + p for p in form.pinyin)
    for run in form.han:
        keys.update("h" + ch for ch in run)
        keys.update("h" + run[i:i + 2] for i in range(len(run) - 1))
    return keys


class SearchIndex:
    """Term -> name postings over every name and alias of the indexed entries."""

    def __init__(self) -> None:
        self._recs: list[_Rec | None] = []
        self._by_entry: dict[str, list[int]] = {}
        self._postings: dict[str, set[int]] = {}
        self._vocab: list[str] | None = None

    def add(self, entry_id: str, names: tuple[str, ...]) -> None:
        """Index the names of an entry (replacing what the entry had)."""
        self.remove(entry_id)
        ids: list[int] = []
        for name in dict.fromkeys(names):
            form = search_form(name)
            if not form.words and not form.han:
                continue
            rid = len(self._recs)
            self._recs.append(_Rec(entry_id, name, form, "".join(form.han)))
            ids.append(rid)
            for key in _terms(form):
                posting = self._postings.get(key)
                if posting is None:
                    self._postings[key] = {rid}
                    if key[0] == "w":
                        self._vocab = None
                else:
                    posting.add(rid)
        self._by_entry[entry_id] = ids

    def remove(self, entry_id: str) -> None:
        """Forget an entry's names."""
        for rid in self._by_entry.pop(entry_id, ()):
            rec = self._recs[rid]
            if rec is None:
                continue
            for key in _terms(rec.form):
                posting = self._postings.get(key)
                if posting is not None:
                    posting.discard(rid)
                    if not posting:
                        del self._postings[key]
            self._recs[rid] = None

    def _sorted_vocab(self) -> list[str]:
        if self._vocab is None:
            self._vocab = sorted(k[1:] for k in self._postings if k[0] == "w")
        return self._vocab

    def _word(self, word: str) -> tuple[set[int], set[int]]:
        """(names with this exact word, names with a word starting with it)."""
        exact = self._postings.get("w" + word, set())
        if len(word) < MIN_PREFIX:
            return exact, set()
        vocab = self._sorted_vocab()
        prefixed: set[int] = set()
        i = bisect.bisect_left(vocab, word)
        while i < len(vocab) and vocab[i].startswith(word):
            if vocab[i] != word:
                prefixed |= self._postings.get("w" + vocab[i], set())
            i += 1
        return exact, prefixed

    def _han(self, run: str) -> set[int]:
        if len(run) == 1:
            return set(self._postings.get("h" + run, set()))
        out: set[int] | None = None
        for i in range(len(run) - 1):
            posting = self._postings.get("h" + run[i:i + 2], set())
            out = set(posting) if out is None else out & posting
            if not out:
                return set()
        return {rid for rid in out or () if (r := self._recs[rid]) and run in r.han_text}

    def search(self, query: str) -> list[TermHit]:
        """Names containing every term of the query, best per entry, best first."""
        q = search_form(query)
        if not q.words and not q.han:
            return []
        sets: list[set[int]] = []
        exact_words: list[set[int]] = []
        for w in q.words:
            exact, prefixed = self._word(w)
            sets.append(exact | prefixed)
            exact_words.append(exact)
        sets.extend(self._han(run) for run in q.han)
        if not sets or any(not s for s in sets):
            return []
        sets.sort(key=len)
        found = set(sets[0])
        for s in sets[1:]:
            found &= s
            if not found:
                return []
        best: dict[str, TermHit] = {}
        qchars = sum(map(len, q.words)) + sum(map(len, q.han))
        for rid in found:
            rec = self._recs[rid]
            if rec is None:
                continue
            coverage = min(1.0, qchars / rec.form.chars)
            whole = sum(rid in e for e in exact_words) / max(1, len(exact_words))
            ordered = _in_order(q.words, rec.form.words)
            score = round(0.5 + 0.3 * coverage + 0.1 * whole + 0.09 * ordered, 4)
            cur = best.get(rec.entry_id)
            if cur is None or score > cur.score:
                best[rec.entry_id] = TermHit(rec.entry_id, rec.name, score)
        return sorted(best.values(), key=lambda h: (-h.score, h.entry_id))


def _in_order(query: tuple[str, ...], name: tuple[str, ...]) -> float:
    """1 when the query words appear in the name as a contiguous run (by prefix)."""
    if len(query) < 2:
        return 1.0
    n = len(query)
    for i in range(len(name) - n + 1):
        if all(name[i + j].startswith(query[j]) for j in range(n)):
            return 1.0
    return 0.0
