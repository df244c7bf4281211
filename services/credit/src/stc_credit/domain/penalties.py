"""The statutory penalty table of the Export Control Law 2020, Chapter IV (Arts. 33-38).

The table itself is data (`stc_credit/data/penalties.yaml`) so a correction of an amount
needs no code change. This module loads it into frozen dataclasses and checks a proposed
penalty against it with `check_penalty`.

Money: every amount in the code is an integer number of fen (分, 1 yuan = 100 fen); the
YAML holds whole yuan and is converted on load. Bounds are inclusive: in PRC law 以上 and
以下 include the number itself (Civil Code Art. 1259).

Measures such as warning letters and supervisory talks (Art. 30) are not penalties and
have no place in this table; see `records.Measure`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

FEN_PER_YUAN = 100


class Article(enum.StrEnum):
    """A penalty article of ECL Chapter IV; `35(1)` and `35(2)` are the two paragraphs."""

    ART_33 = "33"
    ART_34 = "34"
    ART_35_1 = "35(1)"
    ART_35_2 = "35(2)"
    ART_36 = "36"
    ART_37 = "37"
    ART_38 = "38"


class Sanction(enum.StrEnum):
    """Administrative sanctions named in ECL Arts. 33-38."""

    WARNING = "warning"  # 警告
    ORDER_TO_STOP = "order_to_stop"  # 责令停止违法行为
    CONFISCATION = "confiscation"  # 没收违法所得
    FINE = "fine"  # 罚款
    LICENCE_REVOCATION = "licence_revocation"  # 撤销许可并收回证件 (Art. 35(1))
    SUSPENSION = "suspension"  # 责令停业整顿
    REVOCATION_OF_QUALIFICATION = "revocation_of_qualification"  # 吊销出口经营资格


#: Sanctions that make a case serious for publicity and standing purposes.
SEVERE_SANCTIONS = frozenset(
    {Sanction.SUSPENSION, Sanction.REVOCATION_OF_QUALIFICATION, Sanction.LICENCE_REVOCATION}
)


@dataclass(frozen=True)
class FineRule:
    """How the fine of an article is bounded (amounts in fen, bounds inclusive).

    With `turnover_threshold_fen` set and turnover >= threshold, the fine lies between
    `multiple_min` and `multiple_max` times the turnover; otherwise (no turnover, or below
    the threshold, or no threshold at all) it lies in `fixed_min_fen`..`fixed_max_fen`.
    """

    fixed_min_fen: int
    fixed_max_fen: int
    turnover_threshold_fen: int | None = None
    multiple_min: int | None = None
    multiple_max: int | None = None

    def range_for(self, turnover_fen: int | None) -> tuple[int, int, str]:
        """The inclusive (min, max) fine for this turnover and a words-only description."""
        if (
            self.turnover_threshold_fen is not None
            and turnover_fen is not None
            and turnover_fen >= self.turnover_threshold_fen
        ):
            assert self.multiple_min is not None and self.multiple_max is not None
            return (
                self.multiple_min * turnover_fen,
                self.multiple_max * turnover_fen,
                f"{self.multiple_min}-{self.multiple_max} times the turnover",
            )
        return self.fixed_min_fen, self.fixed_max_fen, "the fixed range"


@dataclass(frozen=True)
class ArticleRule:
    """One row of the penalty table."""

    article: Article
    title: str
    violations: tuple[str, ...]
    sanctions: frozenset[Sanction]
    serious_sanctions: frozenset[Sanction]
    fine_required: bool
    fine: FineRule | None


@dataclass(frozen=True)
class PenaltyTable:
    """The whole table, keyed by article."""

    version: int
    rules: Mapping[Article, ArticleRule]

    def rule(self, article: Article | str) -> ArticleRule:
        """The rule of `article`; KeyError when it is not a penalty article."""
        return self.rules[Article(article)]


@dataclass(frozen=True)
class Violation:
    """A problem with a proposed penalty: which field and why (English, for the officer)."""

    field: str
    reason: str


def _yuan(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"amount must be a non-negative whole number of yuan: {value!r}")
    return value * FEN_PER_YUAN


def parse_table(document: Mapping[str, Any]) -> PenaltyTable:
    """Build a `PenaltyTable` from the parsed YAML document; ValueError when malformed."""
    if document.get("amount_unit") != "yuan":
        raise ValueError("penalty table: amount_unit must be 'yuan'")
    rules: dict[Article, ArticleRule] = {}
    for key, row in document["articles"].items():
        article = Article(str(key))
        fine_row = row.get("fine")
        fine: FineRule | None = None
        if fine_row is not None:
            fixed_min, fixed_max = (_yuan(v) for v in fine_row["fixed_range_yuan"])
            if fixed_min > fixed_max:
                raise ValueError(f"Art. {article}: fixed range is inverted")
            threshold = fine_row.get("turnover_threshold_yuan")
            multiple = fine_row.get("multiple")
            if (threshold is None) != (multiple is None):
                raise ValueError(f"Art. {article}: threshold and multiple go together")
            fine = FineRule(
                fixed_min_fen=fixed_min,
                fixed_max_fen=fixed_max,
                turnover_threshold_fen=None if threshold is None else _yuan(threshold),
                multiple_min=None if multiple is None else int(multiple[0]),
                multiple_max=None if multiple is None else int(multiple[1]),
            )
        sanctions = frozenset(Sanction(s) for s in row["sanctions"])
        if (Sanction.FINE in sanctions) != (fine is not None):
            raise ValueError(f"Art. {article}: 'fine' sanction and fine rule go together")
        rules[article] = ArticleRule(
            article=article,
            title=str(row["title"]),
            violations=tuple(str(v) for v in row.get("violations", ())),
            sanctions=sanctions,
            serious_sanctions=frozenset(Sanction(s) for s in row.get("serious_sanctions", ())),
            fine_required=bool(row.get("fine_required", False)),
            fine=fine,
        )
    missing = set(Article) - set(rules)
    if missing:
        raise ValueError(f"penalty table lacks articles {sorted(missing)}")
    return PenaltyTable(version=int(document["version"]), rules=rules)


@cache
def load_table() -> PenaltyTable:
    """The packaged penalty table (`stc_credit/data/penalties.yaml`), loaded once."""
    text = resources.files("stc_credit").joinpath("data/penalties.yaml").read_text("utf-8")
    return parse_table(yaml.safe_load(text))


def check_penalty(
    article: Article | str,
    turnover_fen: int | None,
    fine_fen: int | None,
    sanctions: Iterable[Sanction | str],
    *,
    serious: bool = False,
    reduced: bool = False,
    table: PenaltyTable | None = None,
) -> list[Violation]:
    """Check a proposed penalty against ECL Arts. 33-38; an empty list means it is lawful.

    `turnover_fen` is the illegal business turnover (None or 0: none established);
    `fine_fen` the fine (None: no fine); `sanctions` the other sanctions (FINE is implied
    by a fine amount and may be listed too). Serious-case sanctions (suspension,
    revocation of qualification) need `serious=True`. `reduced=True` is a reduction under the
    Administrative Penalty Law Art. 32 (减轻, its ground recorded: `penalty_path`): the fine
    may go below the article's minimum, never above its maximum.
    """
    table = table or load_table()
    problems: list[Violation] = []
    try:
        rule = table.rule(article)
    except (KeyError, ValueError):
        return [Violation("article", f"{article!r} is not a penalty article of ECL Arts. 33-38")]

    if turnover_fen is not None and turnover_fen < 0:
        problems.append(Violation("turnover_fen", "turnover must not be negative"))
        turnover_fen = None

    chosen: set[Sanction] = set()
    for s in sanctions:
        try:
            chosen.add(Sanction(s))
        except ValueError:
            problems.append(Violation("sanctions", f"unknown sanction {s!r}"))
    if fine_fen is not None and fine_fen > 0:
        chosen.add(Sanction.FINE)

    allowed = rule.sanctions | (rule.serious_sanctions if serious else frozenset())
    for s in sorted(chosen - allowed):
        if s in rule.serious_sanctions:
            reason = f"{s} is only allowed in a serious case under Art. {rule.article}"
        else:
            reason = f"{s} is not a sanction of Art. {rule.article}"
        problems.append(Violation("sanctions", reason))

    if rule.fine is None:
        return problems
    if fine_fen is None or fine_fen == 0:
        if rule.fine_required:
            problems.append(
                Violation("fine_fen", f"Art. {rule.article} requires a fine (并处罚款)")
            )
        return problems
    if fine_fen < 0:
        problems.append(Violation("fine_fen", "fine must not be negative"))
        return problems
    low, high, basis = rule.fine.range_for(turnover_fen or None)
    if fine_fen < low and not reduced:
        problems.append(
            Violation(
                "fine_fen",
                f"fine {fine_fen} fen is below the minimum {low} fen "
                f"({basis}, Art. {rule.article})",
            )
        )
    elif fine_fen > high:
        problems.append(
            Violation(
                "fine_fen",
                f"fine {fine_fen} fen is above the maximum {high} fen "
                f"({basis}, Art. {rule.article})",
            )
        )
    return problems
