"""Officer discretion with reasons (issue 11, item 2). Pure rules.

The Art. 13 assessment is a recommendation: the officer of the competent authority decides
(ECL Art. 5, Art. 13). The decision records how the officer treated every finding of the
newest assessment - ACCEPTED, or OVERRIDDEN with the reason (required for every override) -
so that the file shows why a decision departs from the recommendation (Art. 41 review reads
it). A finding the officer does not name is recorded as accepted.

What the law forbids no override can change; `forbidden_approval` names the article:
- Art. 18: a control-list party under PROHIBIT or SUSPEND, or under RESTRICT without a
  special-case application (codes of `special_cases.py`);
- Art. 23: military items without a military export qualification valid on the day of the
  decision whose scope covers every item (`military_qualification_gap`);
- Art. 39: an application ban the authority decided on the exporter;
- Art. 14: a general licence outside its conditions is checked by the service
  (`service._check_general_licence`, GENERAL_LICENCE_NOT_ELIGIBLE).

An approval must override every PROHIBITIVE finding with a reason (the officer's discretion,
on the record); otherwise the approval is refused with a field error on `finding_judgements`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from .model import ItemRegime, MilitaryQualification


class Verdict(str, Enum):
    """How the officer treated one finding."""

    ACCEPTED = "ACCEPTED"
    OVERRIDDEN = "OVERRIDDEN"


@dataclass(frozen=True)
class Judgement:
    """The officer's judgement of one finding (`reason` required for an override)."""

    code: str
    verdict: Verdict | None
    reason: str = ""


@dataclass(frozen=True)
class FindingView:
    """A finding of the assessment as the decision sees it: its code and level name."""

    code: str
    level: str


# Findings no officer may approve over, with the article that forbids it.
NOT_OVERRIDABLE: dict[str, str] = {
    "F6-CONTROL-LIST-SUSPENDED": "Art. 18 (control list: exports suspended)",
    "F6-CONTROL-LIST-RESTRICTED": "Art. 18 (control list: restricted, no special-case "
                                  "application)",
    "F6-CONTROL-LIST-MATCH": "Art. 18 (control list: transactions prohibited)",
    "F8-NO-MILITARY-QUALIFICATION": "Art. 23 (military export qualification)",
    "F7-APPLICATION-BAN": "Art. 39 (application ban decided by the authority)",
}


@dataclass(frozen=True)
class Ruling:
    """The judgements to record, the field errors of the request and what the law forbids."""

    judgements: tuple[Judgement, ...]
    violations: tuple[tuple[str, str], ...]
    forbidden: tuple[tuple[str, str], ...]  # (finding code, article)


def judge(findings: list[FindingView], given: list[Judgement], *, approving: bool) -> Ruling:
    """Check the officer's judgements against the newest assessment's findings and complete
    them (unnamed findings accepted)."""
    codes = [f.code for f in findings]
    violations: list[tuple[str, str]] = []
    seen: dict[str, Judgement] = {}
    for i, j in enumerate(given):
        if j.code not in codes:
            violations.append((f"finding_judgements[{i}].code",
                               f"no finding {j.code!r} in the newest assessment"))
            continue
        if j.code in seen:
            violations.append((f"finding_judgements[{i}].code",
                               f"finding {j.code} is judged twice"))
            continue
        if j.verdict is None:
            violations.append((f"finding_judgements[{i}].verdict", "accepted or overridden"))
            continue
        if j.verdict == Verdict.OVERRIDDEN and not j.reason.strip():
            violations.append((f"finding_judgements[{i}].reason",
                               f"overriding {j.code} requires the officer's reason"))
            continue
        seen[j.code] = Judgement(j.code, j.verdict, j.reason.strip())
    forbidden: list[tuple[str, str]] = []
    if approving:
        for f in findings:
            if f.code in NOT_OVERRIDABLE:
                forbidden.append((f.code, NOT_OVERRIDABLE[f.code]))
            elif f.level == "PROHIBITIVE" and (
                    f.code not in seen or seen[f.code].verdict != Verdict.OVERRIDDEN):
                violations.append((
                    "finding_judgements",
                    f"finding {f.code} is PROHIBITIVE: an approval overrides it with the "
                    "officer's reason, or the application is denied"))
    out: list[Judgement] = []
    for code in dict.fromkeys(codes):
        out.append(seen.get(code, Judgement(code, Verdict.ACCEPTED)))
    return Ruling(tuple(out), tuple(violations), tuple(forbidden))


def military_qualification_gap(regime: ItemRegime, qualification: MilitaryQualification | None,
                               items: list[tuple[str, str]], day: dt.date) -> str:
    """Art. 23: why a military export may not be licensed on `day` ('' when it may).

    `items`: (control code, description) of each item. An item is within the qualification's
    scope when a scope entry is a prefix of its control code or occurs in its description
    (case-insensitive)."""
    if regime != ItemRegime.MILITARY:
        return ""
    if qualification is None:
        return "the exporter holds no military export qualification (Art. 23)"
    if not qualification.is_valid_on(day):
        return (f"the military export qualification {qualification.certificate_no} is not "
                f"valid on {day.isoformat()} (Art. 23)")
    scope = [s.strip().casefold() for s in qualification.scope if s.strip()]
    outside = [code or desc for code, desc in items
               if not any(code.casefold().startswith(s) or s in desc.casefold()
                          for s in scope)]
    if outside:
        return (f"items outside the scope of military export qualification "
                f"{qualification.certificate_no} ({', '.join(scope) or 'no scope'}): "
                f"{', '.join(outside)} (Art. 23)")
    return ""
