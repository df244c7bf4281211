"""Labelled sets for measuring screening accuracy, shared by the unit test and
``bench/screening_accuracy.py``.

Positives (query -> the entry it must find first):
- ``ofac_alias``: every OFAC alias must rank its own entity first;
- ``prc_bilingual``: PRC list entries with both an English and a Chinese name: each name,
  and the Chinese in traditional characters;
- ``zh_variants``: synthetic Chinese probe entries (added to the index as
  ``OTHER_FOREIGN``, ids ``eval-probe:N``), queried in traditional characters, in pinyin
  (spaced, run together, hyphenated, surname last), in Wade-Giles / Cantonese surname
  spellings, and in Han for probes listed in pinyin;
- ``typo``: one random edit (delete, insert, substitute, transpose) in a primary name.

Typo classes (``build_typo_class_cases``, reported separately by the bench and the unit
test): one edit of one class (deletion, insertion, substitution, transposition of two
adjacent letters), at any position including the first and the last letter, in one word of
a given length (short: 3-4 letters, medium: 5-8, long: 9 or more), in a name of two words
or more (primary names and aliases of every list, Latin script), the other words exact.
A typo that turns the name into another listed name is left out (that is not a miss).

Negatives: at least 10,000 generated names of people and companies (Chinese in Han and in
pinyin, English, Russian, Arabic, Persian) none of which is a listed name after
normalisation. All generation is deterministic (fixed seed).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import opencc

from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import ListEntry, ListKind, PartyType
from stc_screening.domain.matching import Party
from stc_screening.domain.normalise import (
    ROMANISATION_VARIANTS,
    han_readings,
    normalise_name,
)

SEED = 20251128
_S2T = opencc.OpenCC("s2t")

ZH_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
               "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹"
               "薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单区")
ZH_GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉建国志海"
            "波宇浩然子轩梓涵欣怡雨萱晨阳思远嘉豪俊文博天佑一鸣立新永庆春生德福荣亮成林")
ZH_PLACES = ("北京", "上海", "深圳", "广州", "天津", "重庆", "杭州", "南京", "苏州", "成都",
             "武汉", "西安", "青岛", "大连", "厦门", "宁波", "无锡", "长沙", "郑州", "合肥")
ZH_WORDS = ("华信", "恒通", "瑞达", "鑫源", "中科", "天成", "金桥", "宏远", "永盛", "博创",
            "东方", "新锐", "星辰", "海川", "嘉禾", "汇通", "创维", "远航", "联拓", "晶华")
ZH_INDUSTRIES = {"科技": "Technology", "贸易": "Trading", "电子": "Electronics",
                 "机械": "Machinery", "化工": "Chemical", "材料": "Materials",
                 "精密仪器": "Precision Instruments", "进出口": "Import and Export",
                 "物流": "Logistics", "实业": "Industrial", "光电": "Optoelectronics",
                 "软件": "Software", "新能源": "New Energy", "医疗器械": "Medical Devices"}
ZH_FORMS = {"有限公司": "Co., Ltd.", "股份有限公司": "Co., Ltd.",
            "有限责任公司": "Co., Ltd.", "集团有限公司": "Group Co., Ltd."}

EN_FIRST = ("James John Robert Michael William David Richard Joseph Thomas Charles Mary "
            "Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Emily Oliver "
            "Harry George Jack Amelia Olivia Isla Sophie Lucy Daniel Matthew Andrew Paul Mark "
            "Steven Kevin Brian Edward Ronald Timothy").split()
EN_LAST = ("Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas "
           "Moore Martin Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen "
           "King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter "
           "Phillips Evans Turner Parker Collins Edwards Stewart Morris Murphy Cook Rogers "
           "Fletcher Holloway Pemberton Ashworth").split()
EN_CO_A = ("Blue Ridge", "Northern Star", "Summit", "Pinnacle", "Harbourside", "Oakfield",
           "Granite", "Silverline", "Crescent", "Redwood", "Lakeshore", "Ironbridge",
           "Meadowbrook", "Westgate", "Kingfisher", "Brightwater", "Stonehill", "Clearview",
           "Highland", "Riverside", "Evergreen", "Foxglove", "Larkspur", "Thornbury")
EN_CO_B = ("Logistics", "Engineering", "Systems", "Foods", "Textiles", "Analytics", "Marine",
           "Instruments", "Consulting", "Software", "Plastics", "Pharmaceuticals", "Optics",
           "Robotics", "Packaging", "Ceramics")
EN_FORMS = ("Ltd", "Inc.", "LLC", "Corporation", "Group", "Holdings", "Co.", "Limited", "plc")
RU_FIRST = ("Aleksandr Dmitry Sergei Andrei Alexei Ivan Mikhail Nikolai Vladimir Yuri Pavel "
            "Oleg Igor Konstantin Gennady Stanislav Vitaly Arkady Leonid Timofei").split()
RU_FIRST_F = "Elena Olga Tatiana Natalia Irina Svetlana Anna Maria Ekaterina Yulia".split()
RU_LAST = ("Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov Fedorov "
           "Morozov Volkov Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev "
           "Orlov Andreev Makarov Nikitin Zakharov Zaitsev Solovyov Borisov Yakovlev Grigoriev "
           "Romanov Vorobyov Sergeev Kuzmin Frolov Aleksandrov Dmitriev Korolev Gusev "
           "Kiselev").split()
AR_FIRST = ("Ahmad Mohammed Ali Hassan Hussein Omar Khalid Youssef Ibrahim Abdullah Mahmoud "
            "Mustafa Tariq Karim Samir Nabil Faisal Walid Hamza Bilal Amir Yasin Rashid Salim "
            "Jamal Adel Fadi Ziad Majid Nasser Fatima Aisha Mariam Layla Noor Huda").split()
AR_FAMILY = ("Al-Masri Haddad Khoury Nasr Saleh Farouk Qureshi Al-Amin Mansour Darwish "
             "Hijazi Shami Barakat Aziz Hamdan Kassab Sabbagh Tamimi Zoubi Khatib Jaber "
             "Awad Sayegh Bitar Qasim Ghanem Nassar Halabi").split()
FA_FIRST = ("Reza Mohammad Hossein Mehdi Amir Saeed Hamid Majid Behrouz Dariush Kourosh "
            "Farhad Arash Babak Parviz Shirin Maryam Fatemeh Zahra Leila Nasrin Parisa Azadeh "
            "Kambiz Siavash Omid Navid Pouya").split()
FA_LAST = ("Ahmadi Hosseini Rezaei Mohammadi Karimi Moradi Jafari Rahimi Kazemi Ebrahimi "
           "Hashemi Sadeghi Heidari Ghorbani Tehrani Shirazi Esfahani Tabrizi Najafi Rostami "
           "Bagheri Zand Farahani Nouri Amini Khorasani Ghaffari Mirzaei Soltani Yazdani").split()


@dataclass(frozen=True, slots=True)
class Case:
    """A positive: the query must find ``expected`` as its first hit."""

    query: str
    expected: str
    category: str


@dataclass(frozen=True, slots=True)
class LabelledSets:
    """Positives, negatives and the synthetic probe entries to add to the index."""

    positives: tuple[Case, ...]
    negatives: tuple[tuple[str, str], ...]  # (name, category)
    probes: tuple[ListEntry, ...]


@dataclass
class Report:
    """Measured accuracy and latency."""

    threshold: float
    positives: int = 0
    found_at_1: int = 0
    missed: list[tuple[Case, str]] = field(default_factory=list)
    by_category: dict[str, list[int]] = field(default_factory=dict)  # [found, total]
    negatives: int = 0
    false_positives: list[tuple[str, str, str, float]] = field(default_factory=list)
    neg_by_category: dict[str, list[int]] = field(default_factory=dict)  # [fp, total]
    wrong_top: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    negative_latencies_ms: list[float] = field(default_factory=list)

    @property
    def recall_at_1(self) -> float:
        """Share of positives whose expected entry is the first hit."""
        return self.found_at_1 / self.positives if self.positives else 0.0

    @property
    def false_positive_rate(self) -> float:
        """Share of negatives that produced any hit at the threshold."""
        return len(self.false_positives) / self.negatives if self.negatives else 0.0

    @property
    def precision(self) -> float:
        """Correct first hits over all first hits reported (positives and negatives)."""
        reported = self.found_at_1 + self.wrong_top + len(self.false_positives)
        return self.found_at_1 / reported if reported else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall@1."""
        p, r = self.precision, self.recall_at_1
        return 2 * p * r / (p + r) if p + r else 0.0

    def latency(self, pct: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies_ms:
            return 0.0
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(pct / 100 * (len(data) - 1))))]

    def category_recall(self) -> dict[str, float]:
        """recall@1 per positive category."""
        return {k: v[0] / v[1] for k, v in sorted(self.by_category.items())}

    def category_fpr(self) -> dict[str, float]:
        """False-positive rate per negative category."""
        return {k: v[0] / v[1] for k, v in sorted(self.neg_by_category.items())}


# --------------------------------------------------------------------------- positives


def _ofac_alias_cases(entries: Sequence[ListEntry]) -> list[Case]:
    return [Case(alias, e.entry_id, "ofac_alias")
            for e in entries if e.list_kind is ListKind.OFAC_SDN for alias in e.aliases]


def _prc_cases(entries: Sequence[ListEntry]) -> list[Case]:
    out = []
    for e in entries:
        if not e.list_kind.is_prc:
            continue
        zh = [n for n in e.names if normalise_name(n).is_han]
        en = [n for n in e.names if not normalise_name(n).is_han]
        if zh and en:
            out += [Case(en[0], e.entry_id, "prc_bilingual"),
                    Case(zh[0], e.entry_id, "prc_bilingual"),
                    Case(_S2T.convert(zh[0]), e.entry_id, "prc_bilingual")]
    return out


def _pinyin(chars: str, surname: bool) -> list[str]:
    return [han_readings(c, surname=(surname and i == 0))[0] for i, c in enumerate(chars)]


def _probes_and_variant_cases(rng: random.Random, n_people: int = 300,
                              n_companies: int = 100) -> tuple[list[ListEntry], list[Case]]:
    probes: list[ListEntry] = []
    cases: list[Case] = []
    seen: set[str] = set()
    while len(probes) < n_people:
        name = rng.choice(ZH_SURNAMES) + "".join(rng.choice(ZH_GIVEN)
                                                 for _ in range(rng.choice((1, 2, 2))))
        if name in seen:
            continue
        seen.add(name)
        eid = f"eval-probe:{len(probes)}"
        py = _pinyin(name, surname=True)
        sur, given = py[0].capitalize(), "".join(py[1:]).capitalize()
        given_hyph = "-".join(py[1:]).capitalize()
        if len(probes) % 2 == 0:
            # Listed in Han: found from traditional characters and from pinyin spellings.
            probes.append(ListEntry(eid, ListKind.OTHER_FOREIGN, (name,), PartyType.INDIVIDUAL,
                                    source="evaluation probe"))
            queries = [_S2T.convert(name), f"{sur} {given}", f"{given} {sur}",
                       f"{sur} {given_hyph}", f"{sur} {' '.join(p.capitalize() for p in py[1:])}"]
            variants = ROMANISATION_VARIANTS.get(py[0], ())
            if variants:
                queries.append(f"{rng.choice(variants).capitalize()} {given_hyph}")
        else:
            # Listed in pinyin (as OFAC writes Chinese names): found from Han.
            probes.append(ListEntry(eid, ListKind.OTHER_FOREIGN, (f"{sur.upper()}, {given}",),
                                    PartyType.INDIVIDUAL, source="evaluation probe"))
            queries = [name, _S2T.convert(name)]
        cases += [Case(q, eid, "zh_variants") for q in dict.fromkeys(queries)]
    while len(probes) < n_people + n_companies:
        place, word = rng.choice(ZH_PLACES), rng.choice(ZH_WORDS)
        industry = rng.choice(list(ZH_INDUSTRIES))
        form = rng.choice(list(ZH_FORMS))
        core = place + word + industry
        if core in seen:
            continue
        seen.add(core)
        eid = f"eval-probe:{len(probes)}"
        probes.append(ListEntry(eid, ListKind.OTHER_FOREIGN, (core + form,), PartyType.ENTITY,
                                source="evaluation probe"))
        other_form = rng.choice([f for f in ZH_FORMS if f != form])
        cases += [Case(_S2T.convert(core + form), eid, "zh_variants"),
                  Case(core + other_form, eid, "zh_variants")]
    return probes, cases


def _typo(rng: random.Random, name: str) -> str | None:
    words = name.split()
    idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.isascii()]
    if not idx:
        return None
    i = rng.choice(idx)
    w = words[i]
    p = rng.randrange(1, len(w) - 1)
    op = rng.choice(("delete", "insert", "substitute", "transpose"))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if w.isupper():
        letter = letter.upper()
    if op == "delete":
        w = w[:p] + w[p + 1:]
    elif op == "insert":
        w = w[:p] + letter + w[p:]
    elif op == "substitute":
        w = w[:p] + letter + w[p + 1:]
    else:
        w = w[:p] + w[p + 1] + w[p] + w[p + 2:]
    words[i] = w
    out = " ".join(words)
    return out if out != name else None


def _typo_cases(rng: random.Random, entries: Sequence[ListEntry], n: int) -> list[Case]:
    pool = [e for e in entries if not e.entry_id.startswith("eval-probe")]
    rng.shuffle(pool)
    out: list[Case] = []
    for e in pool:
        if len(out) >= n:
            break
        q = _typo(rng, e.primary_name)
        if q:
            out.append(Case(q, e.entry_id, "typo"))
    return out


TYPO_CLASSES = ("deletion", "insertion", "substitution", "transposition")
LENGTH_CLASSES = ("short", "medium", "long")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def length_class(n: int) -> str:
    """short (3-4 letters), medium (5-8) or long (9 or more); '' below 3."""
    if n < 3:
        return ""
    return "short" if n <= 4 else "medium" if n <= 8 else "long"


def apply_typo(rng: random.Random, word: str, op: str) -> str:
    """One edit of class ``op`` at a random position of ``word`` (case kept)."""
    upper = word.isupper()
    letter = rng.choice(_LETTERS)
    if upper:
        letter = letter.upper()
    if op == "deletion":
        p = rng.randrange(len(word))
        return word[:p] + word[p + 1:]
    if op == "insertion":
        p = rng.randrange(len(word) + 1)
        return word[:p] + letter + word[p:]
    if op == "substitution":
        p = rng.randrange(len(word))
        while letter.lower() == word[p].lower():
            letter = rng.choice(_LETTERS)
            letter = letter.upper() if upper else letter
        return word[:p] + letter + word[p + 1:]
    p = rng.randrange(len(word) - 1)
    return word[:p] + word[p + 1] + word[p] + word[p + 2:]


def build_typo_class_cases(entries: Sequence[ListEntry], per_cell: int = 250,
                           seed: int = SEED + 15) -> list[Case]:
    """Cases of category ``<typo class>/<length class>``, ``per_cell`` of each (fewer when
    the lists hold fewer suitable names); deterministic for a seed."""
    rng = random.Random(seed)
    listed: set[str] = set()
    pool: list[tuple[str, str, list[str]]] = []
    for e in entries:
        for n in e.names:
            norm = normalise_name(n)
            listed.add(norm.display)
            listed.add(norm.compact)
            if norm.is_han or not n.isascii():
                continue
            words = n.split()
            if len(words) >= 2:
                pool.append((e.entry_id, n, words))
    out: list[Case] = []
    for op in TYPO_CLASSES:
        for lc in LENGTH_CLASSES:
            order = list(range(len(pool)))
            rng.shuffle(order)
            made = 0
            for k in order:
                if made >= per_cell:
                    break
                entry_id, _, words = pool[k]
                idx = [i for i, w in enumerate(words)
                       if w.isalpha() and length_class(len(w)) == lc]
                if not idx:
                    continue
                i = rng.choice(idx)
                rest = sum(len(w) for j, w in enumerate(words) if j != i and w.isalnum())
                if rest < 3:
                    continue
                typo = apply_typo(rng, words[i], op)
                if typo.lower() == words[i].lower():
                    continue
                query = " ".join([*words[:i], typo, *words[i + 1:]])
                norm = normalise_name(query)
                if not norm.units or norm.display in listed or norm.compact in listed:
                    continue
                out.append(Case(query, entry_id, f"{op}/{lc}"))
                made += 1
    return out


# --------------------------------------------------------------------------- negatives


def _neg_generators(rng: random.Random):
    def zh_han() -> str:
        return rng.choice(ZH_SURNAMES) + "".join(rng.choice(ZH_GIVEN)
                                                 for _ in range(rng.choice((1, 2, 2))))

    def zh_pinyin() -> str:
        py = _pinyin(zh_han(), surname=True)
        return f"{py[0].capitalize()} {''.join(py[1:]).capitalize()}"

    def zh_co_han() -> str:
        return (rng.choice(ZH_PLACES) + rng.choice(ZH_WORDS) + rng.choice(list(ZH_INDUSTRIES))
                + rng.choice(list(ZH_FORMS)))

    def zh_co_en() -> str:
        place, word = rng.choice(ZH_PLACES), rng.choice(ZH_WORDS)
        ind = rng.choice(list(ZH_INDUSTRIES.values()))
        return (f"{''.join(_pinyin(place, False)).capitalize()} "
                f"{''.join(_pinyin(word, False)).capitalize()} {ind} "
                f"{rng.choice(list(ZH_FORMS.values()))}")

    def en_person() -> str:
        return f"{rng.choice(EN_FIRST)} {rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"

    def en_company() -> str:
        return f"{rng.choice(EN_CO_A)} {rng.choice(EN_CO_B)} {rng.choice(EN_FORMS)}"

    def ru_person() -> str:
        if rng.random() < 0.3:
            first, suffix, end = rng.choice(RU_FIRST_F), "ovna", "a"
        else:
            first, suffix, end = rng.choice(RU_FIRST), "ovich", ""
        father = rng.choice(RU_FIRST).rstrip("y").rstrip("i")
        return f"{first} {father}{suffix} {rng.choice(RU_LAST)}{end}"

    def ar_person() -> str:
        return f"{rng.choice(AR_FIRST)} {rng.choice(AR_FIRST)} {rng.choice(AR_FAMILY)}"

    def fa_person() -> str:
        return f"{rng.choice(FA_FIRST)} {rng.choice(FA_FIRST)} {rng.choice(FA_LAST)}"

    return {"zh_han": (zh_han, 1500), "zh_pinyin": (zh_pinyin, 1500),
            "zh_company_han": (zh_co_han, 1000), "zh_company_en": (zh_co_en, 1000),
            "en_person": (en_person, 1200), "en_company": (en_company, 1000),
            "ru_person": (ru_person, 1200), "ar_person": (ar_person, 1200),
            "fa_person": (fa_person, 1200)}


def _negatives(rng: random.Random, listed: set[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for category, (gen, count) in _neg_generators(rng).items():
        made, tries = 0, 0
        while made < count and tries < count * 50:
            tries += 1
            name = gen()
            norm = normalise_name(name)
            # Not a listed name: neither the same normalised form nor the same compact form.
            if name in seen or norm.display in listed or norm.compact in listed:
                continue
            seen.add(name)
            out.append((name, category))
            made += 1
    return out


# --------------------------------------------------------------------------- public


def build_labelled_sets(entries: Sequence[ListEntry], n_typos: int = 2000,
                        seed: int = SEED) -> LabelledSets:
    """Build positives, negatives and probe entries from the loaded list entries."""
    rng = random.Random(seed)
    probes, variant_cases = _probes_and_variant_cases(rng)
    all_entries = [*entries, *probes]
    listed: set[str] = set()
    for e in all_entries:
        for n in e.names:
            norm = normalise_name(n)
            listed.add(norm.display)
            listed.add(norm.compact)
    positives = [*_ofac_alias_cases(entries), *_prc_cases(entries), *variant_cases,
                 *_typo_cases(rng, entries, n_typos)]
    return LabelledSets(tuple(positives), tuple(_negatives(rng, listed)), tuple(probes))


def sample(cases: Sequence[Case], per_category: int, seed: int = SEED) -> list[Case]:
    """At most ``per_category`` cases of each category (deterministic)."""
    rng = random.Random(seed)
    by: dict[str, list[Case]] = {}
    for c in cases:
        by.setdefault(c.category, []).append(c)
    out: list[Case] = []
    for cat in sorted(by):
        items = by[cat]
        out += items if len(items) <= per_category else rng.sample(items, per_category)
    return out


def evaluate(index: ScreeningIndex, positives: Iterable[Case],
             negatives: Iterable[tuple[str, str]], threshold: float | None = None) -> Report:
    """Screen every labelled query and measure recall@1, false positives and latency."""
    thr = index.thresholds.potential if threshold is None else threshold
    report = Report(threshold=thr)
    for case in positives:
        t0 = time.perf_counter()
        hits = index.screen(Party(case.query), threshold=thr, limit=10)
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        report.positives += 1
        cat = report.by_category.setdefault(case.category, [0, 0])
        cat[1] += 1
        # Tie-aware: entries with the same top score are all "first".
        top = [h.entry_id for h in hits if hits and h.score == hits[0].score]
        if case.expected in top:
            report.found_at_1 += 1
            cat[0] += 1
        else:
            report.missed.append((case, hits[0].entry_id if hits else ""))
            if hits:
                report.wrong_top += 1
    for name, category in negatives:
        t0 = time.perf_counter()
        hits = index.screen(Party(name), threshold=thr, limit=1)
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        report.negative_latencies_ms.append(report.latencies_ms[-1])
        report.negatives += 1
        cat = report.neg_by_category.setdefault(category, [0, 0])
        cat[1] += 1
        if hits:
            cat[0] += 1
            nm = hits[0].name_match
            report.false_positives.append((name, hits[0].entry_id,
                                           nm.entry_name if nm else "", hits[0].score))
    return report


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return statistics.median(values)


def evaluate_baseline(entries: Iterable[ListEntry], positives: Iterable[Case],
                      negatives: Iterable[tuple[str, str]], threshold: float = 0.9) -> Report:
    """The same measurement for a whole-name Jaro-Winkler matcher (the approach of OFAC's
    Sanctions List Search and moov watchman), as a reference point; not those tools."""
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    names: list[str] = []
    owners: list[str] = []
    for e in entries:
        for n in e.names:
            names.append(_plain(n))
            owners.append(e.entry_id)
    report = Report(threshold=threshold)

    def top(query: str) -> tuple[list[str], float]:
        found = process.extract(_plain(query), names, scorer=JaroWinkler.normalized_similarity,
                                limit=20, score_cutoff=threshold)
        if not found:
            return [], 0.0
        best = found[0][1]
        return [owners[i] for _, s, i in found if s == best], best

    for case in positives:
        t0 = time.perf_counter()
        ids, _ = top(case.query)
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        report.positives += 1
        cat = report.by_category.setdefault(case.category, [0, 0])
        cat[1] += 1
        if case.expected in ids:
            report.found_at_1 += 1
            cat[0] += 1
        else:
            report.missed.append((case, ids[0] if ids else ""))
            report.wrong_top += bool(ids)
    for name, category in negatives:
        t0 = time.perf_counter()
        ids, best = top(name)
        report.latencies_ms.append((time.perf_counter() - t0) * 1000)
        report.negatives += 1
        cat = report.neg_by_category.setdefault(category, [0, 0])
        cat[1] += 1
        if ids:
            cat[0] += 1
            report.false_positives.append((name, ids[0], "", best))
    return report


def _plain(name: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in name.casefold()).split())
