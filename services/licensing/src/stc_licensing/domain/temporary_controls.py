"""Temporary controls (ECL Art. 9(2); issue 11 item 5): the register's rules.

To safeguard national security and interests or fulfil international obligations, the
authority may, by announcement, place goods, technologies and services outside the control
lists under temporary control for at most two years (临时管制的实施期限不超过二年). Before a
measure expires the authority evaluates it and decides to cancel it, extend it, or put its
items on the control list. Art. 12(2): a temporarily controlled item needs a licence as a
listed one does.

A measure names its items by control code (a prefix of the dual-use list's code format) or by
HS code (temporary controls often name goods the lists do not yet describe). Here:

- `validate_measure`: announcement, at least one item, end after start and at most two
  years after it (Art. 9(2));
- `extend`: a later end, still within two years of the start (the two-year limit holds for
  the measure as a whole); `cancel` and `move_to_control_list` end it early;
- `covering`: the measures in force on a day that cover an application's item, so the
  assessment treats the item as controlled (finding `F4-TEMPORARY-CONTROL`);
- `cap_validity`: a licence resting on a measure never outlives it;
- `due_for_alert`: measures whose end is near, for the expiry alert (once each).

No I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

#: Art. 9(2): at most two years.
MAX_YEARS = 2
#: The expiry alert goes out this many days before the end (the authority's evaluation).
ALERT_DAYS_BEFORE_END = 60


class MeasureStatus(str, Enum):
    """Life of a temporary control measure."""

    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"  # ended early by announcement
    LISTED = "LISTED"  # its items went on the control list (the measure ends)
    EXPIRED = "EXPIRED"  # its end passed


@dataclass(frozen=True)
class ControlledItem:
    """One item of a measure: a control-code prefix or an HS-code prefix (one of them)."""

    control_code: str = ""
    hs_code: str = ""
    description: str = ""

    def covers(self, control_code: str, hs_code: str) -> bool:
        """Whether an application's item falls under this line."""
        if self.control_code and control_code.startswith(self.control_code):
            return True
        return bool(self.hs_code) and hs_code.replace(".", "").startswith(
            self.hs_code.replace(".", ""))


@dataclass(frozen=True)
class TemporaryControl:
    """A temporary control measure (Art. 9(2)): `start` to `end` inclusive."""

    measure_id: str
    announcement: str
    items: tuple[ControlledItem, ...]
    start: dt.date
    end: dt.date
    status: MeasureStatus = MeasureStatus.ACTIVE
    ended_on: dt.date | None = None  # cancelled or listed on this day: its last day
    alert_sent: bool = False
    note: str = ""

    def in_force_on(self, day: dt.date) -> bool:
        """Whether the measure applies on `day` (through the day it was cancelled or its items
        were listed, not after)."""
        return self.start <= day <= self.effective_end

    @property
    def effective_end(self) -> dt.date:
        """The last day the measure applies."""
        return self.end if self.ended_on is None else min(self.end, self.ended_on)


@dataclass(frozen=True)
class Problem:
    """A field and why it is wrong."""

    field: str
    reason: str


def limit_of(start: dt.date) -> dt.date:
    """The last day a measure that starts on `start` may run (two years, Art. 9(2))."""
    try:
        later = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        later = start.replace(year=start.year + MAX_YEARS, day=28)
    return later - dt.timedelta(days=1)


def validate_measure(m: TemporaryControl) -> list[Problem]:
    """What is wrong with a new measure; empty when it can be registered."""
    problems = []
    if not m.announcement.strip():
        problems.append(Problem("announcement", "the announcement that imposes the measure "
                                                "is required (Art. 9(2))"))
    if not m.items:
        problems.append(Problem("items", "a measure controls at least one item"))
    for i, item in enumerate(m.items):
        if bool(item.control_code) == bool(item.hs_code):
            problems.append(Problem(f"items[{i}]", "name the item by control_code or by "
                                                   "hs_code (one of them)"))
    if m.end < m.start:
        problems.append(Problem("end", "is before start"))
    elif m.end > limit_of(m.start):
        problems.append(Problem("end", f"a temporary control lasts at most two years "
                                       f"(Art. 9(2)): {limit_of(m.start)} at the latest"))
    return problems


class MeasureRefused(ValueError):
    """A change the register refuses (the field and why)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _active(m: TemporaryControl, today: dt.date) -> None:
    if m.status is not MeasureStatus.ACTIVE or today > m.end:
        raise MeasureRefused("measure", f"measure {m.measure_id} is {m.status.value.lower()}"
                             if m.status is not MeasureStatus.ACTIVE else
                             f"measure {m.measure_id} expired on {m.end}")


def extend(m: TemporaryControl, new_end: dt.date, today: dt.date, note: str) -> TemporaryControl:
    """The measure with a later end, within two years of its start (Art. 9(2))."""
    _active(m, today)
    if new_end <= m.end:
        raise MeasureRefused("end", f"an extension ends after the current end {m.end}")
    if new_end > limit_of(m.start):
        raise MeasureRefused("end", f"a temporary control lasts at most two years (Art. 9(2)): "
                                    f"{limit_of(m.start)} at the latest; list the items on the "
                                    "control list instead")
    return replace(m, end=new_end, alert_sent=False, note=note)


def cancel(m: TemporaryControl, today: dt.date, note: str) -> TemporaryControl:
    """The measure cancelled on `today` (its last day; it no longer applies after it)."""
    _active(m, today)
    return replace(m, status=MeasureStatus.CANCELLED, ended_on=today, note=note)


def move_to_control_list(m: TemporaryControl, today: dt.date, note: str) -> TemporaryControl:
    """The measure ended because its items went on the control list (Art. 9(2))."""
    _active(m, today)
    return replace(m, status=MeasureStatus.LISTED, ended_on=today, note=note)


def covering(measures: Iterable[TemporaryControl], control_code: str, hs_code: str,
             day: dt.date) -> list[TemporaryControl]:
    """The measures in force on `day` that cover an item."""
    return [m for m in measures if m.in_force_on(day)
            and any(i.covers(control_code, hs_code) for i in m.items)]


def resting_on(measures: Iterable[TemporaryControl],
               items: Sequence[tuple[str, str]], day: dt.date) -> list[TemporaryControl]:
    """The measures in force on `day` that a licence for these (control_code, hs_code) items
    rests on: the items the measures cover."""
    seen: dict[str, TemporaryControl] = {}
    for code, hs in items:
        for m in covering(measures, code, hs, day):
            seen.setdefault(m.measure_id, m)
    return list(seen.values())


def cap_validity(valid_until: dt.date, measures: Iterable[TemporaryControl]) -> dt.date:
    """A licence resting on temporary controls is valid at most until the earliest end."""
    ends = [m.effective_end for m in measures]
    return min([valid_until, *ends])


def due_for_alert(measures: Iterable[TemporaryControl], today: dt.date,
                  days_before: int = ALERT_DAYS_BEFORE_END) -> list[TemporaryControl]:
    """Active measures within `days_before` days of their end that have not been alerted."""
    return [m for m in measures if m.status is MeasureStatus.ACTIVE and not m.alert_sent
            and today <= m.end <= today + dt.timedelta(days=days_before)]


def due_to_expire(measures: Iterable[TemporaryControl], today: dt.date
                  ) -> list[TemporaryControl]:
    """Active measures whose end has passed."""
    return [m for m in measures if m.status is MeasureStatus.ACTIVE and m.end < today]


# --------------------------------------------------------------- the assessment (Art. 13(4))


def with_temporary_controls(assessment, application, measures: Iterable[TemporaryControl],
                            day: dt.date):
    """The assessment with each item under a temporary control in force treated as controlled
    (Art. 12(2)): finding `F4-TEMPORARY-CONTROL` (CAUTION) on factor 4 naming the measure, and
    the condition that the licence ends with the measure; the recommendation follows the worst
    factor as in `assess`. Unchanged when no item is covered."""
    from stc_licensing.domain import assessment as da

    measures = list(measures)
    added: list[da.Finding] = []
    for i, item in enumerate(application.content.items):
        for m in covering(measures, item.control_code, item.hs_code, day):
            cond = da.Condition(
                "C-TEMPORARY-CONTROL-END",
                f"Valid no longer than temporary control {m.measure_id} ({m.announcement}), "
                f"which ends on {m.effective_end} (Art. 9(2))",
                f"有效期不超过临时管制措施{m.measure_id}的截止日{m.effective_end}（第九条第二款）")
            added.append(da.Finding(
                "F4-TEMPORARY-CONTROL", da.Level.CAUTION,
                f"Item {item.control_code or item.hs_code or i} is under temporary control "
                f"{m.measure_id} ({m.announcement}) until {m.effective_end}: controlled "
                "(Arts. 9(2), 12(2))",
                f"物项处于临时管制（{m.announcement}），至{m.effective_end}，按管制物项管理"
                "（第九条第二款、第十二条第二款）",
                (da.Evidence(da.EvidenceKind.ITEM_SENSITIVITY, f"items[{i}]",
                             f"temporary control {m.measure_id}"),), cond))
    if not added:
        return assessment
    factors = []
    for fa in assessment.factors:
        if fa.factor is da.Factor.ITEM_SENSITIVITY:
            level = max((fa.level, da.Level.CAUTION), key=lambda lv: lv.rank)
            fa = replace(fa, level=level, findings=fa.findings + tuple(added))
        factors.append(fa)
    worst = max((fa.level for fa in factors), key=lambda lv: lv.rank)
    recommendation = {
        da.Level.PROHIBITIVE: da.Recommendation.DENY,
        da.Level.CONCERN: da.Recommendation.REFER,
        da.Level.CAUTION: da.Recommendation.GRANT_WITH_CONDITIONS,
        da.Level.CLEAR: da.Recommendation.GRANT,
    }[worst]
    conditions = assessment.conditions
    if recommendation is not da.Recommendation.DENY:
        seen = {c.code for c in conditions}
        for f in added:
            if f.condition and f.condition.code not in seen:
                conditions += (f.condition,)
                seen.add(f.condition.code)
    return replace(assessment, factors=tuple(factors), recommendation=recommendation,
                   conditions=conditions)
