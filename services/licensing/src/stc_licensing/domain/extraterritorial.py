"""Extraterritorial rules (issue 11, item 6): re-exports of foreign-made items that contain
PRC-controlled content above a published de minimis share.

ECL Art. 45 makes re-exports of controlled items follow the Law; Art. 44 reaches organisations
and persons outside the PRC who breach it. MOFCOM has published rules by announcement that
count the PRC-controlled content of an item made abroad: at or above a de minimis share of the
item's value, its re-export from a third country needs a licence. Each rule is dated policy
data (`stc_licensing/policy/extraterritorial.yaml`): the content it counts (control-code
prefixes), the share, when it applies and when it is suspended. This module loads the rules
and decides one re-export. No I/O beyond reading the packaged file once.

Worked example (docs/law.md, "Art. 45 de minimis"): a motor made in Germany, worth EUR 2,000,
with a PRC-origin magnet of listed rare-earth material worth EUR 3 — 0.15 % of its value — to
be re-exported to a third country on 1 December 2026: at or above 0.1 %, a licence is needed;
with a EUR 1 magnet (0.05 %) it is not; during a suspension no licence is needed under the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Suspension:
    """A period [start, end) in which a rule does not apply, and the announcement."""

    start: dt.date
    end: dt.date | None
    by: str

    def covers(self, day: dt.date) -> bool:
        """Whether `day` falls in the suspension."""
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class DeMinimisRule:
    """One published rule: re-exports whose PRC-controlled content is at least
    `share` of the item's value need a licence (ECL Art. 45)."""

    rule_id: str
    announcement: str
    basis: str
    description: str
    content_prefixes: tuple[str, ...]
    share: Decimal
    effective_from: dt.date
    effective_to: dt.date | None = None
    suspended: tuple[Suspension, ...] = ()

    def counts(self, control_code: str) -> bool:
        """Whether PRC content with this control code counts towards the share."""
        return any(control_code.startswith(p) for p in self.content_prefixes)

    def applies_on(self, day: dt.date) -> tuple[bool, Suspension | None]:
        """Whether the rule applies on `day`, and the suspension that stops it, if any."""
        if day < self.effective_from or (self.effective_to and day >= self.effective_to):
            return False, None
        stop = next((s for s in self.suspended if s.covers(day)), None)
        return stop is None, stop


@dataclass(frozen=True)
class PrcContent:
    """PRC-origin controlled content inside the foreign-made item."""

    control_code: str
    value_minor: int  # the same currency and unit as the item's value


@dataclass(frozen=True)
class ReExport:
    """A foreign-made item to be re-exported from a third country."""

    description: str
    made_in: str  # ISO 3166 alpha-2, not CN
    item_value_minor: int
    content: tuple[PrcContent, ...]
    on_date: dt.date


@dataclass(frozen=True)
class DeMinimisOutcome:
    """The decision of one rule on one re-export, with the figures that led to it."""

    rule: DeMinimisRule
    share: Decimal  # counted PRC content / item value
    licence_required: bool
    reason: str


def decide(re_export: ReExport, rules: Iterable[DeMinimisRule]) -> list[DeMinimisOutcome]:
    """Every rule's decision on the re-export (rules not in force on its date say so)."""
    if re_export.item_value_minor <= 0:
        raise ValueError("item_value_minor must be positive")
    if re_export.made_in.upper() == "CN":
        raise ValueError("an item made in the PRC is an export, not a re-export of a "
                         "foreign-made item")
    out = []
    for rule in rules:
        counted = sum(c.value_minor for c in re_export.content if rule.counts(c.control_code))
        share = Decimal(counted) / Decimal(re_export.item_value_minor)
        applies, stop = rule.applies_on(re_export.on_date)
        pct = f"{share * 100:.3f} %"
        limit = f"{rule.share * 100:g} %"
        if not applies:
            why = (f"suspended by {stop.by}" if stop else
                   f"not in force on {re_export.on_date.isoformat()}")
            out.append(DeMinimisOutcome(rule, share, False, f"{rule.rule_id} {why}; "
                                                            f"PRC content {pct}"))
        elif counted and share >= rule.share:
            out.append(DeMinimisOutcome(rule, share, True,
                                        f"PRC-controlled content {pct} ≥ de minimis {limit} "
                                        f"({rule.announcement}; {rule.basis}): licence required"))
        else:
            out.append(DeMinimisOutcome(rule, share, False,
                                        f"PRC-controlled content {pct} < de minimis {limit} "
                                        f"({rule.announcement})"))
    return out


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def parse_rules(doc: Mapping[str, Any]) -> tuple[DeMinimisRule, ...]:
    """The rules of the data file; ValueError naming the rule when one is malformed."""
    rules = []
    for row in doc.get("rules") or ():
        rid = str(row.get("id") or "?")
        try:
            share = Decimal(str(row["de_minimis_share"]))
        except (KeyError, InvalidOperation) as exc:
            raise ValueError(f"{rid}: de_minimis_share must be a decimal fraction") from exc
        if not Decimal(0) < share < Decimal(1):
            raise ValueError(f"{rid}: de_minimis_share must lie between 0 and 1")
        if not row.get("content_prefixes") or not str(row.get("announcement", "")).strip():
            raise ValueError(f"{rid}: content_prefixes and announcement are required")
        rules.append(DeMinimisRule(
            rule_id=rid, announcement=str(row["announcement"]), basis=str(row["basis"]),
            description=str(row.get("description", "")),
            content_prefixes=tuple(str(p) for p in row["content_prefixes"]), share=share,
            effective_from=_date(row["effective_from"]),
            effective_to=_date(row["effective_to"]) if row.get("effective_to") else None,
            suspended=tuple(Suspension(_date(s["from"]),
                                       _date(s["to"]) if s.get("to") else None, str(s["by"]))
                            for s in row.get("suspended") or ())))
    return tuple(rules)
