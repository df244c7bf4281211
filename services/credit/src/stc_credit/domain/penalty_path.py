"""The penalty path of a case (issue 11, item 7): how each case the end-user service opens can
close lawfully, and the Administrative Penalty Law's reduced or waived penalties.

The end-user service opens two kinds of case (`records.CaseSource`): an end-user or end-use
change not reported at once (ECL Art. 16, Regulations Art. 25) and a diversion found by an
end-use check (ECL Art. 17). Neither provision carries a fine of its own; the penalty follows
the export the facts made unlawful (ECL Art. 34 beyond the licence's scope, Art. 35(1) a
licence obtained by deceit, Art. 37 trade with a control-listed party). Which articles fit
each case, and the reading that makes them fit, is data: `case_penalties` in
`stc_credit/data/penalties.yaml`, next to the penalty table.

Administrative Penalty Law (APL, 2021 revision): Art. 32 — the penalty shall be lighter or
reduced (从轻或者减轻) on the grounds it lists; Art. 33 — no penalty (不予行政处罚) for a
minor violation promptly corrected without harmful consequences, or when the party proves it
had no subjective fault; a first minor violation promptly corrected may go unpenalised;
Art. 36 — two years (five in the listed cases) without discovery bar a penalty. The ground is
recorded on the decision (`PenaltyDecision.ground`); `check_decision` says whether a decision
is lawful for its case. No I/O beyond reading the packaged data once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from stc_credit.domain.penalties import Article, Sanction, Violation, check_penalty
from stc_credit.domain.records import CaseSource

#: The data file's names of the case sources (the CaseOpened event's words).
_SOURCE_KEYS = {
    CaseSource.CHANGE_NOT_REPORTED: "failure_to_report",
    CaseSource.END_USE_CHECK_DIVERSION: "diversion",
}


class Effect(enum.StrEnum):
    """What an Administrative Penalty Law ground does to the penalty."""

    REDUCED = "reduced"  # APL Art. 32: 从轻或者减轻
    NOT_PENALISED = "not_penalised"  # APL Arts. 33, 36: 不予行政处罚
    MAY_NOT_PENALISE = "may_not_penalise"  # APL Art. 33(1), first violation: 可以不予


class Closing(enum.StrEnum):
    """How an officer closes a case."""

    PENALTY = "penalty"  # a penalty decision under an article of the case (maybe reduced)
    NOT_PENALISED = "not_penalised"  # a violation, but no penalty on an APL ground
    DISMISSED = "dismissed"  # no violation established


@dataclass(frozen=True)
class Ground:
    """One ground of the Administrative Penalty Law, e.g. `32(1)` or `33(2)`."""

    code: str
    effect: Effect
    text: str

    @property
    def citation(self) -> str:
        """How a decision cites it."""
        return f"Administrative Penalty Law Art. {self.code}"


@dataclass(frozen=True)
class CasePath:
    """The lawful closings of one kind of case and the articles a penalty may rest on."""

    source: CaseSource
    basis: str
    articles: Mapping[Article, str]  # article → the reading that makes it apply
    closings: frozenset[Closing]


@dataclass(frozen=True)
class PenaltyPaths:
    """The packaged data: case paths by source and APL grounds by code."""

    cases: Mapping[CaseSource, CasePath]
    grounds: Mapping[str, Ground]


@dataclass(frozen=True)
class PenaltyDecision:
    """An officer's closing of a case, as checked here.

    `ground` is the APL ground code: required for NOT_PENALISED, and for a PENALTY whose fine
    goes below the article's minimum (a reduction, APL Art. 32)."""

    closing: Closing
    article: Article | str | None = None
    fine_fen: int | None = None
    turnover_fen: int | None = None
    sanctions: frozenset[Sanction | str] = frozenset()
    serious: bool = False
    ground: str | None = None
    first_violation: bool = False


def parse_paths(document: Mapping[str, Any]) -> PenaltyPaths:
    """The case paths and APL grounds of the penalty data; ValueError when malformed."""
    grounds: dict[str, Ground] = {}
    for code, row in document["administrative_penalty_law"]["grounds"].items():
        grounds[str(code)] = Ground(str(code), Effect(row["effect"]), str(row["text"]))
    cases: dict[CaseSource, CasePath] = {}
    by_key = {v: k for k, v in _SOURCE_KEYS.items()}
    for key, row in document["case_penalties"].items():
        source = by_key[key]
        articles = {Article(str(a)): str(why) for a, why in row["articles"].items()}
        cases[source] = CasePath(source, str(row["basis"]), articles,
                                 frozenset(Closing(c) for c in row["closings"]))
    missing = set(CaseSource) - set(cases)
    if missing:
        raise ValueError(f"case_penalties lacks {sorted(missing)}: every case must close lawfully")
    return PenaltyPaths(cases, grounds)


@cache
def load_paths() -> PenaltyPaths:
    """The packaged case paths and grounds (`stc_credit/data/penalties.yaml`), loaded once."""
    text = resources.files("stc_credit").joinpath("data/penalties.yaml").read_text("utf-8")
    return parse_paths(yaml.safe_load(text))


def case_path(source: CaseSource | str, paths: PenaltyPaths | None = None) -> CasePath:
    """How a case of `source` may close."""
    return (paths or load_paths()).cases[CaseSource(source)]


def check_decision(source: CaseSource | str, decision: PenaltyDecision,
                   paths: PenaltyPaths | None = None) -> list[Violation]:
    """Problems of closing a case of `source` with `decision`; empty when it is lawful."""
    paths = paths or load_paths()
    path = case_path(source, paths)
    problems: list[Violation] = []
    if decision.closing not in path.closings:
        return [Violation("closing", f"{decision.closing} does not close a {source} case")]
    ground = None
    if decision.ground is not None:
        ground = paths.grounds.get(decision.ground)
        if ground is None:
            problems.append(Violation("ground", f"{decision.ground!r} is not a ground of the "
                                                "Administrative Penalty Law (Arts. 32, 33, 36)"))

    if decision.closing is Closing.DISMISSED:
        if decision.fine_fen or decision.sanctions:
            problems.append(Violation("sanctions", "a dismissed case carries no penalty"))
        return problems

    if decision.closing is Closing.NOT_PENALISED:
        if decision.ground is None:
            problems.append(Violation("ground", "no penalty for an established violation needs "
                                                "its Administrative Penalty Law ground"))
        elif ground is not None:
            if ground.effect is Effect.REDUCED:
                problems.append(Violation("ground", f"{ground.citation} reduces a penalty; it "
                                                    "does not waive it"))
            elif ground.effect is Effect.MAY_NOT_PENALISE and not decision.first_violation:
                problems.append(Violation("ground", f"{ground.citation} applies to a first "
                                                    "violation only"))
        if decision.fine_fen or decision.sanctions:
            problems.append(Violation("sanctions", "a case not penalised carries no sanction"))
        return problems

    # a penalty: under an article that fits the case, within its sanctions and fine
    if decision.article is None or _article(decision.article) not in path.articles:
        allowed = ", ".join(f"Art. {a}" for a in path.articles)
        return problems + [Violation("article", f"a {source} case is penalised under {allowed}")]
    if ground is not None and ground.effect is not Effect.REDUCED:
        problems.append(Violation("ground", f"{ground.citation} means no penalty; close the "
                                            "case as not penalised"))
    reduced = ground is not None and ground.effect is Effect.REDUCED
    problems += check_penalty(decision.article, decision.turnover_fen, decision.fine_fen,
                              decision.sanctions, serious=decision.serious, reduced=reduced)
    return problems


def _article(value: Article | str) -> Article | None:
    try:
        return Article(value)
    except ValueError:
        return None


def grounds_with(effect: Effect, paths: PenaltyPaths | None = None) -> Iterable[Ground]:
    """The grounds of one effect (for a form's choices)."""
    return [g for g in (paths or load_paths()).grounds.values() if g.effect is effect]
