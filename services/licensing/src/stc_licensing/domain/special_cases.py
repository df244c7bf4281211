"""Control list and watch list as the law handles them (issue 11, item 1). Pure rules.

ECL Art. 18 and the Dual-use Regulations' control-list articles: a listing on the control list
(管控名单) carries a measure - transactions with the party prohibited (PROHIBIT), restricted
(RESTRICT), or exports to it suspended (SUSPEND). Where a transaction is only restricted, the
exporter may make a special-case application (特殊情况申请); the authority then decides on it
(the assessment refers it, it does not deny it automatically). A PROHIBIT or SUSPEND listing
stays a refusal, with or without a special-case request.

Reg. 26: an application involving a party on the watch list (关注名单) must carry a risk
assessment report and an undertaking (`WatchListMaterials`); without them the assessment says
which document is missing. Such an application is never a general-licence case (Art. 14;
`assessment.general_licence_eligibility`, GL-WATCH-LIST) and its decision is not bound by the
Reg. 17 time limit (`time_limit_exemption`).

`control_list_finding` and `watch_list_findings` are called from the Art. 13(6) factor of
`assessment.py`; each returns the finding's level, code and texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MIN_JUSTIFICATION = 20


class ControlMeasure(str, Enum):
    """What a control-list designation imposes on the party (Art. 18)."""

    PROHIBIT = "PROHIBIT"
    RESTRICT = "RESTRICT"
    SUSPEND = "SUSPEND"


@dataclass(frozen=True)
class SpecialCaseRequest:
    """Art. 18: the exporter's special-case application for a restricted party."""

    list_entry_ids: tuple[str, ...]
    justification: str


@dataclass(frozen=True)
class WatchListMaterials:
    """Reg. 26: the risk assessment report and the undertaking (SHA-256 of each document)."""

    risk_assessment_sha256: str = ""
    undertaking_sha256: str = ""


@dataclass(frozen=True)
class Outcome:
    """A finding the assessment adds: level name (CLEAR/CAUTION/CONCERN/PROHIBITIVE), code,
    English and Chinese text."""

    level: str
    code: str
    en: str
    zh: str


def validate_special_case(sc: SpecialCaseRequest | None) -> list[tuple[str, str]]:
    """Field violations of a special-case request ((field, reason) pairs)."""
    if sc is None:
        return []
    out = []
    if not sc.list_entry_ids or any(not e.strip() for e in sc.list_entry_ids):
        out.append(("special_case.list_entry_ids",
                    "name the control-list entries the transaction involves (Art. 18)"))
    if len(sc.justification.strip()) < MIN_JUSTIFICATION:
        out.append(("special_case.justification",
                    f"state the grounds of the special case (at least {MIN_JUSTIFICATION} "
                    "characters, Art. 18)"))
    return out


def validate_watch_list_materials(wm: WatchListMaterials | None) -> list[tuple[str, str]]:
    """Field violations of the Reg. 26 documents when given (each a SHA-256, 64 hex)."""
    if wm is None:
        return []
    out = []
    for name in ("risk_assessment_sha256", "undertaking_sha256"):
        value = getattr(wm, name)
        if value and not _SHA256.match(value):
            out.append((f"watch_list_materials.{name}",
                        "must be the document's SHA-256 (64 lower-case hex characters)"))
    return out


def control_list_finding(measure: ControlMeasure | None, entry_id: str,
                         special_case: SpecialCaseRequest | None) -> Outcome:
    """The Art. 18 finding for a MATCH on the control list under `measure` (None: the
    listing names none, treated as PROHIBIT)."""
    measure = measure or ControlMeasure.PROHIBIT
    if measure == ControlMeasure.RESTRICT:
        if special_case is not None and entry_id in special_case.list_entry_ids:
            return Outcome(
                "CONCERN", "F6-CONTROL-LIST-SPECIAL-CASE",
                "A party is on the control list with transactions restricted; the exporter "
                "made a special-case application: the officer decides on its grounds (Art. 18)",
                "当事方列入管控名单（限制交易），出口经营者已提出特殊情况申请，由主管部门审查决定（第十八条）")
        return Outcome(
            "PROHIBITIVE", "F6-CONTROL-LIST-RESTRICTED",
            "A party is on the control list with transactions restricted: refused unless the "
            "exporter makes a special-case application naming the entry (Art. 18)",
            "当事方列入管控名单（限制交易），未提出特殊情况申请的不予许可（第十八条）")
    if measure == ControlMeasure.SUSPEND:
        return Outcome(
            "PROHIBITIVE", "F6-CONTROL-LIST-SUSPENDED",
            "A party is on the control list with exports to it suspended: no licence while "
            "the measure lasts; no special case (Art. 18)",
            "当事方列入管控名单，已责令中止相关出口，不适用特殊情况申请（第十八条）")
    return Outcome(
        "PROHIBITIVE", "F6-CONTROL-LIST-MATCH",
        "A party is on the control list with transactions prohibited: refused; no special "
        "case (Art. 18)",
        "当事方列入管控名单，禁止与其交易，不适用特殊情况申请（第十八条）")


def watch_list_findings(materials: WatchListMaterials | None) -> tuple[Outcome, ...]:
    """The Reg. 26 findings for a hit on the watch list: F6-WATCH-LIST (CONCERN: the officer
    decides, no general licence, no time limit) and, when the risk assessment report or the
    undertaking is missing, F6-WATCH-LIST-MATERIALS-MISSING naming the missing fields."""
    found = [Outcome(
        "CONCERN", "F6-WATCH-LIST",
        "A party is (or may be) on the watch list: a risk assessment report and an "
        "undertaking are required; no general licence; the decision is not bound by the time "
        "limit (Reg. 26)",
        "当事方列入（或疑似列入）关注名单，须提交风险评估报告和承诺书；不适用通用许可，审查不受时限限制（条例第二十六条）")]
    missing = []
    if materials is None or not materials.risk_assessment_sha256:
        missing.append("watch_list_materials.risk_assessment_sha256 (risk assessment report)")
    if materials is None or not materials.undertaking_sha256:
        missing.append("watch_list_materials.undertaking_sha256 (undertaking)")
    if missing:
        found.append(Outcome(
            "CONCERN", "F6-WATCH-LIST-MATERIALS-MISSING",
            "Reg. 26 documents missing; the officer requests them: " + "; ".join(missing),
            "缺少条例第二十六条规定的材料：" + "；".join(missing)))
    return tuple(found)


WATCH_LIST_EXEMPTION = ("Reg. 26: a party is on the watch list; the decision is not bound by "
                        "the Reg. 17 time limit")


def time_limit_exemption(watch_listed: bool) -> str:
    """Why the Reg. 17 time limit does not bind an assessed case ('' when it binds)."""
    return WATCH_LIST_EXEMPTION if watch_listed else ""
