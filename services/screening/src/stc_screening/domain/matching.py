"""Scoring a screened party against one list entry: name similarity over normalised units
(Han characters compared one by one, Han to pinyin, romanisation variants, typos through
rapidfuzz: one edit of any word, short ones included, keeps most of that word's weight, but
two romanised syllables one letter apart stay two characters; a legal form both names carry
counts once a word is misspelt), then identifiers, country, address and party type, with an
explanation of every step and a CLEAR / POTENTIAL_MATCH / MATCH decision on configurable
thresholds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from stc_screening.domain.countries import country_code
from stc_screening.domain.lists import Identifier, ListEntry, ListKind, PartyType
from stc_screening.domain.normalise import (
    PINYIN_SYLLABLES,
    NormalisedName,
    Unit,
    fold_latin,
    normalise_name,
)


class Decision(str, Enum):
    """Outcome of screening one party against one entry."""

    CLEAR = "CLEAR"
    POTENTIAL_MATCH = "POTENTIAL_MATCH"
    MATCH = "MATCH"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score thresholds: at or above ``match`` is MATCH, at or above ``potential`` is a hit."""

    potential: float = 0.84
    match: float = 0.95

    def decide(self, score: float) -> Decision:
        """The decision for a score."""
        if score >= self.match:
            return Decision.MATCH
        if score >= self.potential:
            return Decision.POTENTIAL_MATCH
        return Decision.CLEAR


DEFAULT_THRESHOLDS = Thresholds()

# Feature weights (additive adjustments to the name score), kept here to be tuned as data.
COUNTRY_AGREES = 0.03
COUNTRY_CONFLICTS = -0.08
ADDRESS_AGREES = 0.03
TYPE_CONFLICTS = -0.05
VARIANT_SIM = 0.94
PINYIN_PAIR_SIM = 0.86  # a romanisation variant (Chang ~ Zhang) or a non-default Han reading
MIN_TOKEN_SIM = 0.75  # below this a typo'd token counts as not matching at all
SHORT_EDIT_SIM = 0.8  # a word of 3-4 letters one edit (OSA) from the other: "Jon" ~ "John"
ONE_EDIT_SIM = 0.85  # a word of 5 letters or more one edit (OSA) from the other
SYLLABLE_EDIT_SIM = 0.6  # two romanised syllables one letter apart are two characters
FORM_WEIGHT = 2.0  # a legal form both names carry ("Group", "Ltd"), per side
MISSPELT_FORM_CAP = 0.99  # the best a name with a misspelt legal form ("Inm" for Inc) gets
SKELETON_SIM = 0.88  # same consonant skeleton, different vowels
COMPACT_MIN = 0.88  # spacing / hyphenation rescue: only near-identical compact forms
COMPACT_FACTOR = 0.98


@dataclass(frozen=True, slots=True)
class Party:
    """A party to screen: names in any script, and whatever else the application gives."""

    name: str
    aliases: tuple[str, ...] = ()
    party_type: PartyType = PartyType.UNKNOWN
    country: str = ""
    address: str = ""
    identifiers: tuple[Identifier, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Primary name then aliases."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class NameMatch:
    """The best pair of names between a party and an entry and how they compare."""

    query_name: str
    entry_name: str
    query_normalised: str
    entry_normalised: str
    stripped_query: tuple[str, ...]
    stripped_entry: tuple[str, ...]
    score: float
    method: str  # "han-chars", "units", "compact"
    unit_pairs: tuple[tuple[str, str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """One entry that a party may be: score, decision, features and the explanation."""

    entry_id: str
    list_kind: ListKind
    legal_basis: str
    score: float
    decision: Decision
    name_match: NameMatch | None
    features: Mapping[str, float] = field(default_factory=dict)
    matched_identifier: str = ""
    explanation: str = ""


# Similarity of two Latin units by their texts (everything else about a Latin unit follows
# from its text); bounded, cleared when full.
LATIN_SIM: dict[tuple[str, str], float] = {}
LATIN_SIM_MAX = 400_000


def unit_similarity(a: Unit, b: Unit) -> float:
    """Similarity of two name units in [0, 1]."""
    if a.han or b.han:
        return _unit_similarity(a, b)
    key = (a.text, b.text)
    sim = LATIN_SIM.get(key)
    if sim is None:
        if len(LATIN_SIM) >= LATIN_SIM_MAX:
            LATIN_SIM.clear()
        sim = LATIN_SIM[key] = _unit_similarity(a, b)
    return sim


def _unit_similarity(a: Unit, b: Unit) -> float:
    if a.han and b.han:
        return 1.0 if a.han == b.han else 0.0
    at, bt = a.text, b.text
    if at == bt:
        return 1.0
    if not a.keys.isdisjoint(b.keys):
        if (not a.han and not b.han and at in PINYIN_SYLLABLES
                and bt in PINYIN_SYLLABLES):
            # Two different valid pinyin spellings (Chang / Zhang): ambiguous, weaker.
            return PINYIN_PAIR_SIM
        return VARIANT_SIM
    if a.han or b.han:
        return 0.0
    la, lb = len(at), len(bt)
    longer = la if la > lb else lb
    if longer < 3 or (la - lb > 1 or lb - la > 1) and not (a.skeleton and b.skeleton):
        return 0.0
    if a.syllable and b.syllable:
        # One letter apart, two romanised syllables are two different characters
        # (peng / teng): some evidence, never enough to carry a name alone.
        return SYLLABLE_EDIT_SIM if OSA.distance(at, bt, score_cutoff=1) <= 1 else 0.0
    if longer <= 4:
        # Short words: one deletion, insertion, substitution or transposition.
        return SHORT_EDIT_SIM if OSA.distance(at, bt, score_cutoff=1) <= 1 else 0.0
    sim = OSA.normalized_similarity(at, bt)
    if sim < ONE_EDIT_SIM and OSA.distance(at, bt, score_cutoff=1) <= 1:
        sim = ONE_EDIT_SIM
    if sim < SKELETON_SIM and a.skeleton and a.skeleton == b.skeleton:
        # Transliteration variants (Mohammed / Muhammad) share their consonants.
        sim = SKELETON_SIM
    return sim if sim >= MIN_TOKEN_SIM else 0.0


def align_sequence(q: tuple[Unit, ...], e: tuple[Unit, ...]
                   ) -> tuple[float, tuple[tuple[str, str, float], ...]]:
    """Positional comparison of two Chinese names of equal length, in order or with the
    surname moved from first to last (or back): "Zhang Xiaoming" = "Xiaoming Zhang"."""
    n = len(q)
    best: tuple[float, tuple[tuple[str, str, float], ...]] = (0.0, ())
    denom = sum(u.weight for u in q) + sum(u.weight for u in e)
    orders = [tuple(range(n))]
    if n >= 2:
        orders += [(*range(1, n), 0), (n - 1, *range(0, n - 1))]
    for order in orders:
        total = 0.0
        pairs = []
        for i, j in enumerate(order):
            s = unit_similarity(q[i], e[j])
            total += s * (q[i].weight + e[j].weight)
            pairs.append((q[i].han or q[i].text, e[j].han or e[j].text, round(s, 3)))
        if total / denom > best[0]:
            best = (total / denom, tuple(pairs))
    return best


def align_units(q: tuple[Unit, ...], e: tuple[Unit, ...]
                ) -> tuple[float, tuple[tuple[str, str, float], ...]]:
    """Greedy one-to-one alignment of units, order-free; weighted Dice-style score."""
    if not q or not e:
        return 0.0, ()
    pairs = []
    for i, a in enumerate(q):
        for j, b in enumerate(e):
            s = unit_similarity(a, b)
            if s > 0.0:
                pairs.append((s, -abs(i - j), i, j))
    pairs.sort(reverse=True)
    used_q: set[int] = set()
    used_e: set[int] = set()
    total = 0.0
    matched: list[tuple[str, str, float]] = []
    for s, _, i, j in pairs:
        if i in used_q or j in used_e:
            continue
        used_q.add(i)
        used_e.add(j)
        total += s * (q[i].weight + e[j].weight)
        matched.append((q[i].han or q[i].text, e[j].han or e[j].text, round(s, 3)))
    denom = sum(u.weight for u in q) + sum(u.weight for u in e)
    return total / denom, tuple(matched)


def compare_names(q: NormalisedName, e: NormalisedName
                  ) -> tuple[float, str, tuple[tuple[str, str, float], ...]]:
    """Score two normalised names; returns (score, method, unit pairs)."""
    result = _compare(q, e)
    if result[0] < 0.999 and e.stripped and not q.han and len(q.units) >= 2:
        alt = without_misspelt_form(q, e)
        if alt is not None:
            other = _compare(alt, e)
            if other[0] > result[0]:
                # a misspelt word remains: never an exact match
                return min(other[0], MISSPELT_FORM_CAP), other[1], other[2]
    return result


def without_misspelt_form(q: NormalisedName, e: NormalisedName) -> NormalisedName | None:
    """The query without its last (or first) word when that word misspells by one edit a
    legal form the entry carries ("INM" for the entry's "Inc", "TNE" for "The")."""
    forms = [f for f in forms_of(e.stripped) if len(f) >= 3 and " " not in f]
    if not forms:
        return None
    for pos in (-1, 0):
        text = q.units[pos].text
        if len(text) < 3 or text in forms:
            continue
        for form in forms:
            if (abs(len(form) - len(text)) <= 1
                    and OSA.distance(text, form, score_cutoff=1) <= 1):
                rest = q.units[:-1] if pos == -1 else q.units[1:]
                alt = normalise_name(" ".join(u.text for u in rest))
                if not alt.units:
                    return None
                return replace(alt, stripped=(*alt.stripped, f"{text} (~{form})"))
    return None


def _compare(q: NormalisedName, e: NormalisedName
             ) -> tuple[float, str, tuple[tuple[str, str, float], ...]]:
    if q.han and e.han and len(q.han) == len(q.units) and len(e.han) == len(e.units):
        # Both wholly Han: character by character, in order.
        score = Levenshtein.normalized_similarity(q.han, e.han)
        return score, "han-chars", tuple((c, c, 1.0) for c in q.han if c in e.han)
    both_chinese = (all(u.syllable for u in q.units) and all(u.syllable for u in e.units))
    if both_chinese and len(q.units) == len(e.units):
        score, pairs = align_sequence(q.units, e.units)
        method = "syllables"
    else:
        score, pairs = align_units(q.units, e.units)
        method = "units"
    # Spelling rescue on the compact forms, except between two well-formed Chinese names:
    # there a syllable one letter away is another character, so another name.
    if score < 0.999 and not both_chinese and len(q.compact) >= 5 and e.compact:
        compact = fuzz.ratio(q.compact, e.compact)
        if len(q.units) == len(e.units):
            # Word order is free ("BIN LADIN, Usama"), but only between names with the
            # same number of words: sorting a name with a word missing lines up strangers.
            compact = max(compact, fuzz.ratio("".join(sorted(u.text for u in q.units)),
                                              "".join(sorted(u.text for u in e.units))))
        compact /= 100.0
        if compact >= COMPACT_MIN and compact * COMPACT_FACTOR > score:
            score, method = compact * COMPACT_FACTOR, "compact"
    if 0.0 < score < 1.0 and q.stripped and e.stripped and not q.han and not e.han:
        # A legal form both names carry ("ABC Group" / "AB Group") is part of the evidence
        # once a word is misspelt; it never lifts a name to an exact match.
        forms = forms_of(q.stripped) & forms_of(e.stripped)
        if forms:
            denom = sum(u.weight for u in q.units) + sum(u.weight for u in e.units)
            extra = 2 * FORM_WEIGHT * min(2, len(forms))
            score = min(0.999, (score * denom + extra) / (denom + extra))
    return score, method, pairs


def forms_of(stripped: tuple[str, ...]) -> set[str]:
    """Legal forms as stripped, misspelt ones ("compnay (~company)") by the form meant."""
    return {f.rsplit("(~", 1)[1].rstrip(")") if "(~" in f else f for f in stripped}


def best_name_match(query_names: Iterable[str], entry_names: Iterable[str]) -> NameMatch | None:
    """The best-scoring pair of (query name, entry name)."""
    best: NameMatch | None = None
    entry_list = list(entry_names)
    for qn in query_names:
        nq = normalise_name(qn)
        if not nq.units:
            continue
        for en in entry_list:
            ne = normalise_name(en)
            if not ne.units:
                continue
            score, method, pairs = compare_names(nq, ne)
            if best is None or score > best.score:
                best = NameMatch(qn, en, nq.display, ne.display, nq.stripped, ne.stripped,
                                 round(score, 4), method, pairs)
    return best


def _address_tokens(text: str) -> set[str]:
    return {fold_latin(t) for t in text.replace(",", " ").split() if len(t) > 2}


def identifier_match(party: Party, entry: ListEntry) -> Identifier | None:
    """The entry's identifier that equals one of the party's (same value), if any."""
    keys = {i.key for i in party.identifiers if len(i.key) >= 5}
    for ident in entry.identifiers:
        if ident.key in keys:
            return ident
    return None


def score_entry(party: Party, entry: ListEntry, name_match: NameMatch | None,
                thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Hit:
    """Combine the name match with identifiers, country, address and type into a hit."""
    features: dict[str, float] = {}
    ident = identifier_match(party, entry)
    if ident is not None:
        features["identifier"] = 1.0
        if name_match:
            features["name"] = name_match.score
        return Hit(entry.entry_id, entry.list_kind, entry.legal_basis, 1.0, Decision.MATCH,
                   name_match, features, f"{ident.type} {ident.value}",
                   f"identifier {ident.type} {ident.value} equals the party's; "
                   + _explain(name_match))
    score = name_match.score if name_match else 0.0
    features["name"] = score
    if party.country and entry.countries:
        qc = country_code(party.country)
        ecs = {country_code(c) for c in entry.countries}
        adj = COUNTRY_AGREES if qc in ecs else COUNTRY_CONFLICTS
        features["country"] = adj
        score += adj
    if party.address and entry.addresses:
        qa = _address_tokens(party.address)
        best = 0.0
        for a in entry.addresses:
            ea = _address_tokens(a.text())
            if qa and ea:
                best = max(best, len(qa & ea) / min(len(qa), len(ea)))
        if best >= 0.5:
            features["address"] = ADDRESS_AGREES
            score += ADDRESS_AGREES
    if (party.party_type not in (PartyType.UNKNOWN,) and entry.party_type != PartyType.UNKNOWN
            and party.party_type != entry.party_type):
        features["party_type"] = TYPE_CONFLICTS
        score += TYPE_CONFLICTS
    score = round(min(1.0, max(0.0, score)), 4)
    decision = thresholds.decide(score)
    return Hit(entry.entry_id, entry.list_kind, entry.legal_basis, score, decision,
               name_match, features, "", _explain(name_match, features))


def _explain(nm: NameMatch | None, features: Mapping[str, float] | None = None) -> str:
    if nm is None:
        return "no comparable name"
    parts = [f"query name {nm.query_name!r} ~ entry name {nm.entry_name!r} "
             f"({nm.method}, {nm.score:.3f}); normalised {nm.query_normalised!r} vs "
             f"{nm.entry_normalised!r}"]
    if nm.stripped_query or nm.stripped_entry:
        parts.append(f"legal forms stripped: query {list(nm.stripped_query)}, "
                     f"entry {list(nm.stripped_entry)}")
    if nm.unit_pairs:
        parts.append("units " + ", ".join(f"{a}={b}:{s}" for a, b, s in nm.unit_pairs))
    if features:
        parts.append("features " + ", ".join(f"{k}={v:+.2f}" if k != "name" else f"{k}={v:.3f}"
                                             for k, v in features.items()))
    return "; ".join(parts)


def screen_entry(party: Party, entry: ListEntry,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Hit:
    """Score a party against one entry without an index (all names compared)."""
    return score_entry(party, entry, best_name_match(party.names, entry.names), thresholds)
