"""ClassifyItem help (ECL Art. 12(4) consultations): rank control-list entries for an item
described in words, by technical parameters or by HS code, with the reasons for each
candidate. HS codes are reference only: the control code and its parameters decide, so an
HS match alone never ranks above a keyword and parameter match."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stc_screening.domain.items import ControlItem

# A few Chinese terms of the list's subjects, so Chinese descriptions find English entries.
ZH_GLOSSARY: dict[str, str] = {
    "钨": "tungsten", "钐": "samarium", "钆": "gadolinium", "稀土": "rare-earth",
    "永磁": "permanent magnet", "磁体": "magnet", "磁": "magnet", "合金": "alloy",
    "氧化物": "oxide", "氧化": "oxide", "靶材": "sputtering target", "碳化": "carbide",
    "仲钨酸铵": "ammonium paratungstate", "粉末": "powder", "颗粒": "particles",
    "技术": "technology", "冶炼": "smelting", "分离": "separation", "开采": "mining",
    "生产线": "production lines", "回收": "recycling", "化合物": "compounds",
    "混合物": "mixtures", "金属": "metal", "镓": "gallium", "锗": "germanium", "石墨": "graphite",
    "锑": "antimony", "维修": "repair", "装配": "assembly", "钴": "cobalt", "镍": "nickel",
    "铁": "iron", "铜": "copper", "镁": "magnesium", "铝": "aluminium",
}

_STOP = frozenset("""a an and or of the for with in on at to by from not under its their than
including include includes containing contain other others any all more less at least above
below as it is are be""".split())
_WORD_RE = re.compile(r"[a-z][a-z0-9-]*")
_COMPARATORS = {"above": ">", "more than": ">", "exceeding": ">", "greater than": ">",
                "at least": ">=", "not less than": ">=", "below": "<", "less than": "<",
                "at most": "<=", "not more than": "<="}
_CMP = "|".join(sorted(_COMPARATORS, key=len, reverse=True))
_NUM = r"([0-9]+(?:\.[0-9]+)?)"
# "density above 17.5 g/cm3", "ultimate tensile strength above 1270 MPa"
_UNITS = r"(g/cm3|mpa|gpa|%|k|°c|mm|nm|kg|w|kw|mhz|ghz)?"
_PARAM_RE = re.compile(rf"([a-z][a-z ]{{2,40}}?)\s+({_CMP})\s+{_NUM}\s*{_UNITS}", re.IGNORECASE)
# "at least 97% tungsten"
_PCT_RE = re.compile(rf"({_CMP})\s+{_NUM}\s*%\s+([a-z]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A technical parameter threshold read from an entry's description."""

    parameter: str
    comparator: str
    value: float
    unit: str = ""

    def met_by(self, value: float) -> bool:
        """True when ``value`` satisfies the threshold."""
        return {">": value > self.value, ">=": value >= self.value,
                "<": value < self.value, "<=": value <= self.value}[self.comparator]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a candidate was ranked: ``keyword``, ``parameter`` or ``hs``."""

    kind: str
    detail: str
    weight: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A control-list entry that may cover the item, with its score and reasons."""

    code: str
    description_en: str
    score: float
    reasons: tuple[Reason, ...]


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def keywords(text: str) -> set[str]:
    """Content words of a description (lower case, crude plural stemming), Chinese glossed."""
    for zh, en in ZH_GLOSSARY.items():
        if zh in text:
            text += " " + en
    words = set()
    for w in _WORD_RE.findall(text.lower()):
        for part in [w, *w.split("-")]:
            if part and part not in _STOP and len(part) > 2 and not part.isdigit():
                words.add(_stem(part))
    return words


def thresholds(description: str) -> tuple[Threshold, ...]:
    """Parameter thresholds stated in an entry's description."""
    out = []
    for m in _PARAM_RE.finditer(description):
        # "... alloys with density above 17.5" -> "density"; the last words name it.
        name = re.split(r"\bwith\b|\band\b|,", m.group(1).lower())[-1].strip()
        name = " ".join(name.split()[-3:])
        if not name:
            continue
        out.append(Threshold(name, _COMPARATORS[m.group(2).lower()], float(m.group(3)),
                             (m.group(4) or "").lower()))
    for m in _PCT_RE.finditer(description):
        out.append(Threshold(m.group(3).lower(), _COMPARATORS[m.group(1).lower()],
                             float(m.group(2)), "%"))
    return tuple(out)


def _param_key(name: str) -> str:
    return " ".join(re.sub(r"[_%()]", " ", name.lower()).replace("content", "").split())


def classify_item(items: Sequence[ControlItem], description: str = "",
                  parameters: Mapping[str, float] | None = None, hs_code: str = "",
                  limit: int = 5) -> list[Candidate]:
    """Rank control-list entries for an item; candidates with no reason are left out."""
    parameters = parameters or {}
    query = keywords(description)
    docs = {it.code: keywords(it.description_en + " " + it.description_zh) for it in items}
    df: dict[str, int] = {}
    for words in docs.values():
        for w in words:
            df[w] = df.get(w, 0) + 1
    n = max(1, len(items))
    hs = "".join(ch for ch in hs_code if ch.isdigit())
    out = []
    for it in items:
        reasons: list[Reason] = []
        shared = query & docs[it.code]
        if shared:
            total = sum(math.log(1 + n / df.get(w, 1)) for w in query) or 1.0
            got = sum(math.log(1 + n / df[w]) for w in shared)
            reasons.append(Reason("keyword", "matched " + ", ".join(sorted(shared)),
                                  round(got / total, 4)))
        for th in thresholds(it.description_en):
            for pname, value in parameters.items():
                key = _param_key(pname)
                if not key or (key not in th.parameter and th.parameter not in key):
                    continue
                ok = th.met_by(float(value))
                reasons.append(Reason(
                    "parameter",
                    f"{th.parameter} {value:g}{th.unit and ' ' + th.unit} "
                    f"{'meets' if ok else 'does not meet'} {th.comparator} {th.value:g}",
                    0.3 if ok else -0.3))
        if hs:
            for ref in it.reference_hs:
                if ref == hs:
                    reasons.append(Reason("hs", f"HS {hs} is a reference code of the entry "
                                          "(reference only)", 0.25))
                    break
                if len(hs) >= 6 and ref[:6] == hs[:6]:
                    reasons.append(Reason("hs", f"HS {hs} shares heading {ref[:6]} "
                                          "(reference only)", 0.1))
                    break
        if reasons:
            score = round(sum(r.weight for r in reasons), 4)
            out.append(Candidate(it.code, it.description_en, score, tuple(reasons)))
    out.sort(key=lambda c: (-c.score, c.code))
    return [c for c in out if c.score > 0][:limit]
