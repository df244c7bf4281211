"""The Art. 13 assessment: a pure function from an application and what is known about it to a
factor-by-factor opinion, a recommendation and general-licence eligibility (Art. 14).

`assess(application, operator, screening, standing, policy, on_date)` looks at nothing else:
no clock, no I/O. It records the policy version and content hash and a SHA-256 of its
canonical inputs (`inputs_hash`), so the same call reproduces the same assessment.

Levels per factor: CLEAR < CAUTION < CONCERN < PROHIBITIVE. The recommendation follows the
worst factor: PROHIBITIVE -> DENY, CONCERN -> REFER (an officer must weigh it),
CAUTION -> GRANT_WITH_CONDITIONS (the findings' conditions), all CLEAR -> GRANT.

The rules, by factor of Art. 13 (codes are stable and appear in findings):

(1) national security and interests: catch-all declarations (Art. 12(3)) that the exporter
    knows or was told the items may serve WMD or terrorism (PROHIBITIVE) or endanger national
    security (CONCERN); a CRITICAL item to a tier-3 destination (CONCERN).
(2) international obligations: a UN Security Council arms embargo on the destination - full
    scope with military, nuclear or HIGH+ items PROHIBITIVE, otherwise CONCERN; partial scope
    CONCERN for military items, CAUTION otherwise; a party on the UN consolidated list (MATCH
    PROHIBITIVE, potential CONCERN); nuclear and scheduled-chemical exports carry the
    government-assurance condition (CAUTION).
(3) type of export: transit, transshipment and re-export CAUTION (CONCERN to tier 3);
    temporary exports carry a return condition; technology transfers of HIGH items CAUTION,
    CRITICAL CONCERN.
(4) sensitivity of the items (policy rules by code prefix and regime): HIGH CAUTION,
    CRITICAL CONCERN.
(5) destination: tier 3 CAUTION, CONCERN with military or HIGH+ items; a country measure in
    force - BAN PROHIBITIVE, BAN_MILITARY_END_USE PROHIBITIVE for a military end use or
    red flag RF15, else CAUTION with a no-military-use condition, ENHANCED_REVIEW CONCERN;
    screening's destination findings (HIGH CONCERN, else CAUTION); a UN embargo CONCERN.
(6) end user and end use: PRC control list (Art. 18) MATCH by the listing's measure -
    PROHIBIT and SUSPEND PROHIBITIVE, RESTRICT PROHIBITIVE unless the exporter made a
    special-case application naming the entry (then CONCERN: the officer decides;
    special_cases.py), potential CONCERN; watch list (Reg. 26) CONCERN, saying which of the
    risk assessment report and the undertaking is missing; Unreliable Entity List CONCERN; foreign lists (OFAC, BIS)
    MATCH CAUTION; red flags by severity (HIGH CONCERN, else CAUTION); the end-user
    certificate (Art. 15) missing or not from the end user or its government CONCERN,
    expired CAUTION; an end user outside the destination CAUTION; a military end use of
    dual-use items CAUTION with an end-use check (Art. 17).
(7) the exporter's credit record (Art. 39): banned PROHIBITIVE, PENALISED CONCERN, WARNED or
    active records CAUTION.
(8) other factors set by law: military items without a valid qualification (Art. 23)
    PROHIBITIVE; temporary controls (Art. 9) CAUTION.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from .canonical import sha256_hex
from .inputs import (
    CreditLevel,
    CreditStanding,
    HitDecision,
    ListKind,
    PartyHit,
    ScreeningOutcome,
    Severity,
)
from .model import (
    Application,
    CatchAllConcern,
    CertificateIssuer,
    EndUseCategory,
    ExportOperator,
    ExportType,
    IcpAuditOutcome,
    IcpElement,
    IcpStatus,
    ItemRegime,
    PartyRole,
    party_key,
)
from .policy import MeasureKind, Policy, Sensitivity, SensitivityRule
from .special_cases import control_list_finding, watch_list_findings
from .validation import certificate_required

# --------------------------------------------------------------------------- result types


class Factor(str, Enum):
    """The eight factors of Art. 13, in the law's order (`number` 1-8)."""

    NATIONAL_SECURITY = "NATIONAL_SECURITY"
    INTERNATIONAL_OBLIGATIONS = "INTERNATIONAL_OBLIGATIONS"
    EXPORT_TYPE = "EXPORT_TYPE"
    ITEM_SENSITIVITY = "ITEM_SENSITIVITY"
    DESTINATION = "DESTINATION"
    END_USER_AND_END_USE = "END_USER_AND_END_USE"
    CREDIT_RECORD = "CREDIT_RECORD"
    OTHER = "OTHER"

    @property
    def number(self) -> int:
        """The item number of Art. 13 (1-8)."""
        return list(Factor).index(self) + 1

    @property
    def title_en(self) -> str:
        """English title of the factor."""
        return FACTOR_TITLES[self][0]

    @property
    def title_zh(self) -> str:
        """Chinese title of the factor."""
        return FACTOR_TITLES[self][1]


FACTOR_TITLES: dict[Factor, tuple[str, str]] = {
    Factor.NATIONAL_SECURITY: ("national security and interests", "国家安全和利益"),
    Factor.INTERNATIONAL_OBLIGATIONS: (
        "international obligations and external commitments", "国际义务和对外承诺"),
    Factor.EXPORT_TYPE: ("type of export", "出口类型"),
    Factor.ITEM_SENSITIVITY: ("sensitivity of the items", "管制物项敏感程度"),
    Factor.DESTINATION: ("destination country or region", "出口目的国家或者地区"),
    Factor.END_USER_AND_END_USE: ("end user and end use", "最终用户和最终用途"),
    Factor.CREDIT_RECORD: ("the exporter's credit record", "出口经营者的相关信用记录"),
    Factor.OTHER: ("other factors set by law", "法律、行政法规规定的其他因素"),
}


class Level(str, Enum):
    """How much a factor weighs against the export; `rank` orders them."""

    CLEAR = "CLEAR"
    CAUTION = "CAUTION"
    CONCERN = "CONCERN"
    PROHIBITIVE = "PROHIBITIVE"

    @property
    def rank(self) -> int:
        """0 (CLEAR) to 3 (PROHIBITIVE)."""
        return list(Level).index(self)


class EvidenceKind(str, Enum):
    """Where a finding's evidence comes from."""

    SCREENING_HIT = "SCREENING_HIT"
    RED_FLAG = "RED_FLAG"
    DESTINATION_FINDING = "DESTINATION_FINDING"
    DESTINATION_MEASURE = "DESTINATION_MEASURE"
    ARMS_EMBARGO = "ARMS_EMBARGO"
    DESTINATION_TIER = "DESTINATION_TIER"
    ITEM_SENSITIVITY = "ITEM_SENSITIVITY"
    CREDIT_RECORD = "CREDIT_RECORD"
    DECLARATION = "DECLARATION"
    CERTIFICATE = "CERTIFICATE"
    APPLICATION = "APPLICATION"
    OPERATOR = "OPERATOR"


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: its kind, a reference (list entry, measure id, record id,
    field path) and a short detail."""

    kind: EvidenceKind
    ref: str
    detail: str = ""


@dataclass(frozen=True)
class Condition:
    """A licence condition proposed by the assessment."""

    code: str
    text_en: str
    text_zh: str


@dataclass(frozen=True)
class Finding:
    """One reason behind a factor's level, in English and Chinese, with evidence."""

    code: str
    level: Level
    text_en: str
    text_zh: str
    evidence: tuple[Evidence, ...] = ()
    condition: Condition | None = None


@dataclass(frozen=True)
class FactorAssessment:
    """One Art. 13 factor: its level (the worst of its findings, CLEAR if none)."""

    factor: Factor
    level: Level
    findings: tuple[Finding, ...]


class Recommendation(str, Enum):
    """What the assessment recommends to the officer."""

    GRANT = "GRANT"
    GRANT_WITH_CONDITIONS = "GRANT_WITH_CONDITIONS"
    REFER = "REFER"
    DENY = "DENY"


@dataclass(frozen=True)
class Reason:
    """A coded bilingual reason (general-licence eligibility)."""

    code: str
    text_en: str
    text_zh: str


@dataclass(frozen=True)
class GeneralLicenceEligibility:
    """Art. 14: whether the exporter may be granted a general licence for this application;
    `reasons` lists what blocks it, or one GL-ELIGIBLE reason when eligible."""

    eligible: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Assessment:
    """The result of `assess`: eight factors in order, the recommendation, the proposed
    conditions (empty for DENY), general-licence eligibility and reproducibility data."""

    application_id: str
    assessed_on: dt.date
    factors: tuple[FactorAssessment, ...]
    recommendation: Recommendation
    conditions: tuple[Condition, ...]
    general_licence: GeneralLicenceEligibility
    policy_version: str
    policy_hash: str
    inputs_hash: str
    screening_id: str

    def factor(self, factor: Factor) -> FactorAssessment:
        """The assessment of one factor."""
        return self.factors[factor.number - 1]

    @property
    def level(self) -> Level:
        """The worst level over all factors."""
        return max((f.level for f in self.factors), key=lambda lv: lv.rank)


# --------------------------------------------------------------------------- conditions

COND_DELIVERY_VERIFICATION = Condition(
    "C-DELIVERY-VERIFICATION",
    "Submit a delivery verification (proof of arrival at the end user) within 90 days of export",
    "出口后90日内提交到货核查证明",
)
COND_NO_RETRANSFER = Condition(
    "C-NO-RETRANSFER",
    "No re-export, transfer or change of end use without prior approval (Art. 16)",
    "未经批准不得再出口、转让或者改变最终用途（第十六条）",
)
COND_GOVERNMENT_ASSURANCES = Condition(
    "C-GOVERNMENT-ASSURANCES",
    "Government assurances of peaceful use, safeguards and no re-transfer without consent",
    "须取得进口国政府关于和平用途、保障监督及未经同意不再转让的保证",
)
COND_RETURN = Condition(
    "C-RETURN",
    "The items return to China before the licence expires; submit proof of re-import",
    "物项须在许可证有效期内复运进境并提交复进口证明",
)
COND_NO_MILITARY_USE = Condition(
    "C-NO-MILITARY-END-USE",
    "No military end user or military end use (destination measure in force)",
    "不得用于军事用户或军事用途（目的地管制措施）",
)
COND_END_USE_CHECK = Condition(
    "C-END-USE-CHECK",
    "The end user accepts an end-use check (Art. 17)",
    "最终用户接受最终用途核查（第十七条）",
)
COND_VALID_CERTIFICATE = Condition(
    "C-VALID-CERTIFICATE",
    "A currently valid end-user certificate is filed before shipment (Art. 15)",
    "出运前提交有效的最终用户和最终用途证明文件（第十五条）",
)
COND_SHIPMENT_REPORTS = Condition(
    "C-SHIPMENT-REPORTS",
    "The exporter reports every shipment within 5 working days",
    "出口经营者须在每批出运后5个工作日内报告",
)
COND_TEMPORARY_CONTROL = Condition(
    "C-TEMPORARY-CONTROL",
    "Validity limited to the period of the temporary control (Art. 9)",
    "许可有效期不超过临时管制期限（第九条）",
)
DEFAULT_CONDITION = COND_DELIVERY_VERIFICATION

_FOREIGN_LISTS = frozenset({ListKind.OFAC_SDN, ListKind.BIS_DPL, ListKind.OTHER})
_DUAL_USE_LIKE = frozenset({ItemRegime.DUAL_USE, ItemRegime.TEMPORARY_CONTROL,
                            ItemRegime.CATCH_ALL})


# --------------------------------------------------------------------------- assessment


class _Findings:
    def __init__(self) -> None:
        self.by_factor: dict[Factor, list[Finding]] = {f: [] for f in Factor}

    def add(self, factor: Factor, level: Level, code: str, en: str, zh: str,
            evidence: tuple[Evidence, ...] = (), condition: Condition | None = None) -> None:
        self.by_factor[factor].append(Finding(code, level, en, zh, evidence, condition))

    def factors(self) -> tuple[FactorAssessment, ...]:
        out = []
        for factor in Factor:
            findings = tuple(self.by_factor[factor])
            level = max((f.level for f in findings), key=lambda lv: lv.rank, default=Level.CLEAR)
            out.append(FactorAssessment(factor, level, findings))
        return tuple(out)


def inputs_hash(
    application: Application,
    operator: ExportOperator,
    screening: ScreeningOutcome,
    standing: CreditStanding,
    policy: Policy,
    on_date: dt.date,
) -> str:
    """SHA-256 of the canonical inputs of `assess` (the application's state is not an input)."""
    return sha256_hex({
        "application_id": application.id,
        "content": application.content,
        "operator": operator,
        "screening": screening,
        "standing": standing,
        "policy_version": policy.version,
        "policy_hash": policy.content_hash,
        "on_date": on_date,
    })


@dataclass(frozen=True)
class AssessmentSnapshot:
    """Everything `assess` read besides the policy: the application, the exporter's record
    (ICP, audits, export history, qualification), the screening, the credit standing and the
    day. Saved with each assessment (canonical JSON) so that it can be replayed - and its
    inputs hash re-checked - after the exporter's record or standing changed (Art. 13(7))."""

    application: Application
    operator: ExportOperator
    screening: ScreeningOutcome
    standing: CreditStanding
    on_date: dt.date

    def inputs_hash(self, policy: Policy) -> str:
        """The inputs hash of an assessment of this snapshot under `policy`."""
        return inputs_hash(self.application, self.operator, self.screening, self.standing,
                           policy, self.on_date)

    def replay(self, policy: Policy) -> Assessment:
        """The assessment of this snapshot under `policy` (the stored version it used)."""
        return assess(self.application, self.operator, self.screening, self.standing, policy,
                      self.on_date)


def assess(
    application: Application,
    operator: ExportOperator,
    screening: ScreeningOutcome,
    standing: CreditStanding,
    policy: Policy,
    on_date: dt.date,
) -> Assessment:
    """Assess `application` on the eight Art. 13 factors under `policy` as of `on_date`."""
    content = application.content
    if operator.uscc != content.exporter_uscc:
        raise ValueError("the operator is not the application's exporter")
    if standing.uscc != content.exporter_uscc:
        raise ValueError("the credit standing is not the application's exporter's")
    f = _Findings()
    sens = _item_sensitivities(application, policy)
    max_sens = max((s for s, _ in sens), key=lambda s: s.rank, default=Sensitivity.LOW)
    tier = policy.tier(content.destination)

    _national_security(f, application, max_sens, tier)
    _international_obligations(f, application, screening, policy, on_date, max_sens)
    _export_type(f, application, max_sens, tier)
    _item_sensitivity(f, application, sens)
    _destination(f, application, screening, policy, on_date, max_sens, tier)
    _end_user_and_end_use(f, application, screening, on_date)
    _credit_record(f, standing, on_date)
    _other(f, application, operator, on_date)

    factors = f.factors()
    worst = max((fa.level for fa in factors), key=lambda lv: lv.rank)
    recommendation = {
        Level.PROHIBITIVE: Recommendation.DENY,
        Level.CONCERN: Recommendation.REFER,
        Level.CAUTION: Recommendation.GRANT_WITH_CONDITIONS,
        Level.CLEAR: Recommendation.GRANT,
    }[worst]
    conditions: tuple[Condition, ...] = ()
    if recommendation in (Recommendation.GRANT_WITH_CONDITIONS, Recommendation.REFER):
        seen: dict[str, Condition] = {}
        for fa in factors:
            for finding in fa.findings:
                if finding.condition is not None:
                    seen.setdefault(finding.condition.code, finding.condition)
        conditions = tuple(seen.values())
        if recommendation == Recommendation.GRANT_WITH_CONDITIONS and not conditions:
            conditions = (DEFAULT_CONDITION,)

    return Assessment(
        application_id=application.id,
        assessed_on=on_date,
        factors=factors,
        recommendation=recommendation,
        conditions=conditions,
        general_licence=general_licence_eligibility(
            application, operator, screening, standing, policy, on_date, recommendation),
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        inputs_hash=inputs_hash(application, operator, screening, standing, policy, on_date),
        screening_id=screening.screening_id,
    )


def _item_sensitivities(
    application: Application, policy: Policy
) -> list[tuple[Sensitivity, SensitivityRule | None]]:
    content = application.content
    return [policy.sensitivity(i.control_code, content.regime) for i in content.items]


def _hit_evidence(application: Application, hit: PartyHit) -> Evidence:
    if hit.party_index is None:
        who = f"exporter {application.content.exporter_uscc}"
    else:
        party = application.content.parties[hit.party_index]
        who = f"parties[{hit.party_index}] {party.role.value} {party.name}"
    return Evidence(
        EvidenceKind.SCREENING_HIT,
        f"{hit.list_kind.value}:{hit.entry_id}",
        f"{who}; score {hit.score:.2f}; {hit.decision.value}",
    )


def _national_security(f: _Findings, application: Application, max_sens: Sensitivity,
                       tier: int) -> None:
    """Art. 13(1), Art. 12(3)."""
    content = application.content
    for i, d in enumerate(content.catch_all_declarations):
        if not d.knows_or_informed:
            continue
        ev = (Evidence(EvidenceKind.DECLARATION, f"catch_all_declarations[{i}]", d.statement),)
        if d.concern in (CatchAllConcern.WMD, CatchAllConcern.TERRORISM):
            f.add(Factor.NATIONAL_SECURITY, Level.PROHIBITIVE, "F1-CATCH-ALL-WMD-TERRORISM",
                  f"The exporter knows or was informed the items may serve {d.concern.value} "
                  "(Art. 12(3))",
                  "出口经营者知道或者被告知物项可能用于大规模杀伤性武器或恐怖主义目的（第十二条第三款）",
                  ev)
        else:
            f.add(Factor.NATIONAL_SECURITY, Level.CONCERN, "F1-CATCH-ALL-NATIONAL-SECURITY",
                  "The exporter knows or was informed the items may endanger national security "
                  "and interests (Art. 12(3))",
                  "出口经营者知道或者被告知物项可能危害国家安全和利益（第十二条第三款）", ev)
    if max_sens == Sensitivity.CRITICAL and tier >= 3:
        f.add(Factor.NATIONAL_SECURITY, Level.CONCERN, "F1-CRITICAL-TO-HIGH-RISK",
              "Critical items to a high-risk destination",
              "极敏感物项出口至高风险目的地",
              (Evidence(EvidenceKind.DESTINATION_TIER, content.destination, f"tier {tier}"),))


def _international_obligations(f: _Findings, application: Application,
                               screening: ScreeningOutcome, policy: Policy, on_date: dt.date,
                               max_sens: Sensitivity) -> None:
    """Art. 13(2): UN Security Council arms embargoes and sanctions; nuclear and CWC assurances."""
    content = application.content
    strategic = content.regime in (ItemRegime.MILITARY, ItemRegime.NUCLEAR) or (
        max_sens.rank >= Sensitivity.HIGH.rank)
    for e in policy.embargoes_on(content.destination, on_date):
        ev = (Evidence(EvidenceKind.ARMS_EMBARGO, f"{e.country}:{e.resolution}",
                       f"{e.name}: {e.scope}"),)
        if e.full:
            level = Level.PROHIBITIVE if strategic else Level.CONCERN
            f.add(Factor.INTERNATIONAL_OBLIGATIONS, level, "F2-UN-ARMS-EMBARGO",
                  f"{e.name} is under a full UN Security Council arms embargo ({e.resolution})",
                  f"目的地受联合国安理会全面武器禁运（{e.resolution}）", ev)
        elif content.regime == ItemRegime.MILITARY:
            f.add(Factor.INTERNATIONAL_OBLIGATIONS, Level.CONCERN, "F2-UN-ARMS-EMBARGO-PARTIAL",
                  f"UN arms embargo on {e.name} covering {e.scope} ({e.resolution}): the end "
                  "user must be shown to be outside its scope",
                  f"联合国安理会对该目的地部分对象实施武器禁运（{e.resolution}），须确认最终用户不在禁运范围内",
                  ev)
        else:
            f.add(Factor.INTERNATIONAL_OBLIGATIONS, Level.CAUTION, "F2-UN-ARMS-EMBARGO-PARTIAL",
                  f"UN arms embargo on {e.name} covering {e.scope} ({e.resolution})",
                  f"联合国安理会对该目的地部分对象实施武器禁运（{e.resolution}）",
                  ev, COND_NO_RETRANSFER)
    for hit in screening.party_hits:
        if hit.list_kind != ListKind.UN_CONSOLIDATED:
            continue
        match = hit.decision == HitDecision.MATCH
        f.add(Factor.INTERNATIONAL_OBLIGATIONS,
              Level.PROHIBITIVE if match else Level.CONCERN,
              "F2-UN-SANCTIONS-MATCH" if match else "F2-UN-SANCTIONS-POTENTIAL",
              "A party is on the UN Security Council consolidated sanctions list"
              if match else "A party may be on the UN Security Council consolidated sanctions list",
              "当事方列入联合国安理会综合制裁名单" if match else "当事方疑似列入联合国安理会综合制裁名单",
              (_hit_evidence(application, hit),))
    if content.regime == ItemRegime.NUCLEAR:
        f.add(Factor.INTERNATIONAL_OBLIGATIONS, Level.CAUTION, "F2-NUCLEAR-ASSURANCES",
              "Nuclear exports need government assurances (NPT, IAEA safeguards)",
              "核出口须取得接受方政府保证（《不扩散核武器条约》、国际原子能机构保障监督）",
              (Evidence(EvidenceKind.APPLICATION, "regime", content.regime.value),),
              COND_GOVERNMENT_ASSURANCES)
    if content.regime == ItemRegime.CONTROLLED_CHEMICAL:
        f.add(Factor.INTERNATIONAL_OBLIGATIONS, Level.CAUTION, "F2-CWC-ASSURANCES",
              "Scheduled chemicals: Chemical Weapons Convention transfer rules apply",
              "监控化学品：适用《禁止化学武器公约》的转让规定",
              (Evidence(EvidenceKind.APPLICATION, "regime", content.regime.value),),
              COND_GOVERNMENT_ASSURANCES)


def _export_type(f: _Findings, application: Application, max_sens: Sensitivity,
                 tier: int) -> None:
    """Art. 13(3)."""
    content = application.content
    et = content.export_type
    ev = (Evidence(EvidenceKind.APPLICATION, "export_type", et.value),)
    if et in (ExportType.TRANSIT, ExportType.TRANSSHIPMENT, ExportType.RE_EXPORT):
        level = Level.CONCERN if tier >= 3 else Level.CAUTION
        f.add(Factor.EXPORT_TYPE, level, "F3-DIVERSION-PRONE-TYPE",
              f"{et.value.replace('_', ' ').lower()} carries a higher risk of diversion"
              + (" to a high-risk destination" if tier >= 3 else ""),
              "过境、转运、再出口存在较高的转移风险" + ("，且目的地为高风险地区" if tier >= 3 else ""),
              ev, COND_NO_RETRANSFER)
    elif et in (ExportType.TEMPORARY_EXHIBITION, ExportType.TEMPORARY_REPAIR):
        f.add(Factor.EXPORT_TYPE, Level.CAUTION, "F3-TEMPORARY-EXPORT",
              "Temporary export: the items must come back",
              "临时出口：物项须复运进境", ev, COND_RETURN)
    elif et in (ExportType.TECHNOLOGY_TRANSFER,
                ExportType.PROVISION_TO_FOREIGN_PERSONS_IN_CHINA):
        if max_sens == Sensitivity.CRITICAL:
            f.add(Factor.EXPORT_TYPE, Level.CONCERN, "F3-CRITICAL-TECHNOLOGY",
                  "Transfer of critical technology or items to foreign persons",
                  "向境外或外国人员转移极敏感技术或物项", ev)
        elif max_sens == Sensitivity.HIGH:
            f.add(Factor.EXPORT_TYPE, Level.CAUTION, "F3-SENSITIVE-TECHNOLOGY",
                  "Transfer of sensitive technology or items to foreign persons",
                  "向境外或外国人员转移敏感技术或物项", ev, COND_NO_RETRANSFER)


def _item_sensitivity(
    f: _Findings, application: Application, sens: list[tuple[Sensitivity, SensitivityRule | None]]
) -> None:
    """Art. 13(4): sensitivity by control-code prefix and regime (policy rules)."""
    content = application.content
    for i, (level, rule) in enumerate(sens):
        if level.rank < Sensitivity.MEDIUM.rank:
            continue
        item = content.items[i]
        ev = (Evidence(EvidenceKind.ITEM_SENSITIVITY, f"items[{i}].control_code",
                       f"{item.control_code or '(unlisted)'}: {level.value}"
                       + (f" ({rule.note})" if rule and rule.note else "")),)
        if level == Sensitivity.CRITICAL:
            f.add(Factor.ITEM_SENSITIVITY, Level.CONCERN, "F4-CRITICAL-ITEM",
                  f"Item {item.control_code or i} is critical", "物项极为敏感", ev)
        elif level == Sensitivity.HIGH:
            f.add(Factor.ITEM_SENSITIVITY, Level.CAUTION, "F4-HIGH-SENSITIVITY",
                  f"Item {item.control_code or i} is highly sensitive", "物项高度敏感", ev,
                  COND_DELIVERY_VERIFICATION)
        else:
            f.add(Factor.ITEM_SENSITIVITY, Level.CLEAR, "F4-MEDIUM-SENSITIVITY",
                  f"Item {item.control_code or i} is of medium sensitivity", "物项中度敏感", ev)


def _destination(f: _Findings, application: Application, screening: ScreeningOutcome,
                 policy: Policy, on_date: dt.date, max_sens: Sensitivity, tier: int) -> None:
    """Art. 13(5): risk tier, country measures in force, screening findings, embargoes."""
    content = application.content
    dest = content.destination
    tier_ev = Evidence(EvidenceKind.DESTINATION_TIER, dest,
                       f"tier {tier} (policy {policy.version})")
    if tier >= 3:
        if content.regime == ItemRegime.MILITARY or max_sens.rank >= Sensitivity.HIGH.rank:
            f.add(Factor.DESTINATION, Level.CONCERN, "F5-HIGH-RISK-SENSITIVE",
                  f"Military or highly sensitive items to high-risk destination {dest}",
                  "军品或高度敏感物项出口至高风险目的地", (tier_ev,))
        else:
            f.add(Factor.DESTINATION, Level.CAUTION, "F5-HIGH-RISK-DESTINATION",
                  f"{dest} is a high-risk destination", "目的地为高风险国家或地区",
                  (tier_ev,), COND_DELIVERY_VERIFICATION)
    codes = [i.control_code for i in content.items]
    military_use = content.end_use.category == EndUseCategory.MILITARY or any(
        rf.code.upper() == "RF15" for rf in screening.red_flags)
    for m in policy.measures_on(dest, on_date):
        if not m.covers(content.regime, codes):
            continue
        ev = (Evidence(EvidenceKind.DESTINATION_MEASURE, m.id, m.announcement),)
        if m.kind == MeasureKind.BAN:
            f.add(Factor.DESTINATION, Level.PROHIBITIVE, "F5-DESTINATION-BAN",
                  f"Export prohibited by {m.announcement}: {m.description_en}",
                  f"{m.description_zh}（{m.announcement}）", ev)
        elif m.kind == MeasureKind.BAN_MILITARY_END_USE and military_use:
            f.add(Factor.DESTINATION, Level.PROHIBITIVE, "F5-MILITARY-END-USE-BAN",
                  f"Military end use or end user in {dest} prohibited by {m.announcement}",
                  f"{m.description_zh}（{m.announcement}）", ev)
        elif m.kind == MeasureKind.BAN_MILITARY_END_USE:
            f.add(Factor.DESTINATION, Level.CAUTION, "F5-MILITARY-END-USE-MEASURE",
                  f"{m.description_en} ({m.announcement})",
                  f"{m.description_zh}（{m.announcement}）", ev, COND_NO_MILITARY_USE)
        else:
            f.add(Factor.DESTINATION, Level.CONCERN, "F5-ENHANCED-REVIEW",
                  f"{m.description_en} ({m.announcement})",
                  f"{m.description_zh}（{m.announcement}）", ev)
    for d in screening.destination_findings:
        f.add(Factor.DESTINATION, Level.CONCERN if d.severity == Severity.HIGH else Level.CAUTION,
              f"F5-SCREENING-{d.code}", d.description,
              f"筛查发现的目的地风险：{d.code}",
              (Evidence(EvidenceKind.DESTINATION_FINDING, d.measure_ref or d.code,
                        d.description),),
              None if d.severity == Severity.HIGH else COND_DELIVERY_VERIFICATION)
    for e in policy.embargoes_on(dest, on_date):
        f.add(Factor.DESTINATION, Level.CONCERN if e.full else Level.CAUTION,
              "F5-EMBARGOED-DESTINATION",
              f"{e.name} is under a UN arms embargo ({e.scope})",
              "目的地受联合国武器禁运",
              (Evidence(EvidenceKind.ARMS_EMBARGO, f"{e.country}:{e.resolution}", e.scope),),
              None if e.full else COND_NO_RETRANSFER)


def _end_user_and_end_use(f: _Findings, application: Application,
                          screening: ScreeningOutcome, on_date: dt.date) -> None:
    """Art. 13(6), Art. 15-18, Reg. 26."""
    content = application.content
    fac = Factor.END_USER_AND_END_USE
    for hit in screening.party_hits:
        ev = (_hit_evidence(application, hit),)
        match = hit.decision == HitDecision.MATCH
        if hit.list_kind == ListKind.PRC_CONTROL_LIST:
            if match:  # the listing's measure decides (Art. 18; special_cases.py)
                o = control_list_finding(hit.measure, hit.entry_id, content.special_case)
                f.add(fac, Level(o.level), o.code, o.en, o.zh, ev)
            else:
                f.add(fac, Level.CONCERN, "F6-CONTROL-LIST-POTENTIAL",
                      "A party may be on the PRC control list (Art. 18)",
                      "当事方疑似列入管控名单（第十八条）", ev)
        elif hit.list_kind == ListKind.PRC_WATCH_LIST:
            for o in watch_list_findings(content.watch_list_materials):  # Reg. 26
                f.add(fac, Level(o.level), o.code, o.en, o.zh, ev)
        elif hit.list_kind == ListKind.UNRELIABLE_ENTITY_LIST:
            f.add(fac, Level.CONCERN, "F6-UNRELIABLE-ENTITY-LIST",
                  "A party is (or may be) on the Unreliable Entity List: check the measures "
                  "imposed on it",
                  "当事方列入（或疑似列入）不可靠实体清单，须核对对其采取的措施", ev)
        elif hit.list_kind in _FOREIGN_LISTS and match:
            f.add(fac, Level.CAUTION, "F6-FOREIGN-LIST-MATCH",
                  "A party is on a foreign restricted-party list (not binding in the PRC; "
                  "a diversion indicator)",
                  "当事方列入外国限制名单（在中国境内不具约束力，作为转移风险参考）",
                  ev, COND_END_USE_CHECK)
    for rf in screening.red_flags:
        ev = (Evidence(EvidenceKind.RED_FLAG, rf.code, rf.description),)
        if rf.severity == Severity.HIGH:
            f.add(fac, Level.CONCERN, f"F6-RED-FLAG-{rf.code}",
                  f"Diversion red flag {rf.code}: {rf.description}",
                  f"转移风险警示 {rf.code}", ev)
        else:
            f.add(fac, Level.CAUTION, f"F6-RED-FLAG-{rf.code}",
                  f"Diversion red flag {rf.code}: {rf.description}",
                  f"转移风险警示 {rf.code}", ev, COND_END_USE_CHECK)
    cert = content.end_user_certificate
    if certificate_required(content):
        if cert is None:
            f.add(fac, Level.CONCERN, "F6-NO-CERTIFICATE",
                  "No end-user certificate (Art. 15)", "未提交最终用户和最终用途证明文件（第十五条）",
                  (Evidence(EvidenceKind.CERTIFICATE, "end_user_certificate", "missing"),))
        elif cert.issuer_kind == CertificateIssuer.OTHER:
            f.add(fac, Level.CONCERN, "F6-CERTIFICATE-ISSUER",
                  "The end-user certificate is not issued by the end user or its government "
                  "(Art. 15)",
                  "最终用户证明文件并非由最终用户或其所在国家和地区政府机构出具（第十五条）",
                  (Evidence(EvidenceKind.CERTIFICATE, cert.document_sha256, cert.issuer_name),))
        elif not cert.is_valid_on(on_date):
            f.add(fac, Level.CAUTION, "F6-CERTIFICATE-EXPIRED",
                  "The end-user certificate is not valid on the assessment date",
                  "最终用户证明文件在评估日无效",
                  (Evidence(EvidenceKind.CERTIFICATE, cert.document_sha256,
                            f"expires {cert.expires_on}"),), COND_VALID_CERTIFICATE)
    if content.export_type not in (ExportType.PROVISION_TO_FOREIGN_PERSONS_IN_CHINA,):
        for i, p in enumerate(content.parties):
            if p.role == PartyRole.END_USER and p.country != content.destination:
                f.add(fac, Level.CAUTION, "F6-END-USER-OUTSIDE-DESTINATION",
                      f"End user {p.name} is in {p.country}, not the destination "
                      f"{content.destination}",
                      "最终用户所在国家与出口目的地不一致",
                      (Evidence(EvidenceKind.APPLICATION, f"parties[{i}].country", p.country),),
                      COND_NO_RETRANSFER)
    if content.end_use.category == EndUseCategory.MILITARY and content.regime in _DUAL_USE_LIKE:
        f.add(fac, Level.CAUTION, "F6-MILITARY-END-USE",
              "Dual-use items declared for a military end use",
              "两用物项申报用于军事用途",
              (Evidence(EvidenceKind.APPLICATION, "end_use.category", "MILITARY"),),
              COND_END_USE_CHECK)


def _credit_record(f: _Findings, standing: CreditStanding, on_date: dt.date) -> None:
    """Art. 13(7), Art. 39."""
    fac = Factor.CREDIT_RECORD
    ev = tuple(Evidence(EvidenceKind.CREDIT_RECORD, ref) for ref in standing.record_refs) or (
        Evidence(EvidenceKind.CREDIT_RECORD, standing.uscc, standing.level.value),)
    if standing.is_banned_on(on_date) or standing.level == CreditLevel.BANNED:
        until = f" until {standing.ban_until.isoformat()}" if standing.ban_until else ""
        f.add(fac, Level.PROHIBITIVE, "F7-APPLICATION-BAN",
              f"The exporter is barred from applying{until} (Art. 39)",
              "出口经营者在禁止申请期内（第三十九条）", ev)
    elif standing.level == CreditLevel.PENALISED:
        f.add(fac, Level.CONCERN, "F7-PENALISED",
              f"The exporter has been penalised ({standing.active_record_count} active records)",
              "出口经营者受过行政处罚", ev)
    elif standing.level == CreditLevel.WARNED or standing.active_record_count > 0:
        f.add(fac, Level.CAUTION, "F7-WARNED",
              f"The exporter's credit record has {standing.active_record_count} active records",
              "出口经营者存在有效的信用记录", ev, COND_SHIPMENT_REPORTS)


def _other(f: _Findings, application: Application, operator: ExportOperator,
           on_date: dt.date) -> None:
    """Art. 13(8): other factors set by law (Art. 23 qualification, Art. 9 temporary control)."""
    content = application.content
    qualified = operator.has_valid_military_qualification(on_date)
    if content.regime == ItemRegime.MILITARY and not qualified:
        f.add(Factor.OTHER, Level.PROHIBITIVE, "F8-NO-MILITARY-QUALIFICATION",
              "The exporter holds no valid military export qualification (Art. 23)",
              "出口经营者不具有有效的军品出口经营资格（第二十三条）",
              (Evidence(EvidenceKind.OPERATOR, operator.uscc,
                        operator.military_qualification.certificate_no
                        if operator.military_qualification else "none"),))
    if content.regime == ItemRegime.TEMPORARY_CONTROL:
        f.add(Factor.OTHER, Level.CAUTION, "F8-TEMPORARY-CONTROL",
              "Items under temporary control (Art. 9, at most two years)",
              "临时管制物项（第九条，期限不超过二年）",
              (Evidence(EvidenceKind.APPLICATION, "regime", content.regime.value),),
              COND_TEMPORARY_CONTROL)


# --------------------------------------------------------------------------- Art. 14


def general_licence_eligibility(
    application: Application,
    operator: ExportOperator,
    screening: ScreeningOutcome,
    standing: CreditStanding,
    policy: Policy,
    on_date: dt.date,
    recommendation: Recommendation,
) -> GeneralLicenceEligibility:
    """Art. 14: ICP audited and working, clean credit, export history, stable end users;
    never with a watch-list party (Reg. 26) or a control-list party."""
    content = application.content
    rules = policy.general_licence
    blocks: list[Reason] = []
    if content.regime not in rules.regimes:
        blocks.append(Reason("GL-REGIME",
                             f"General licences are not available for {content.regime.value} items",
                             "该类物项不适用通用许可"))
    weak = [e.value for e in IcpElement
            if (a := operator.icp_element(e)) is None
            or a.status != IcpStatus.IMPLEMENTED or not a.evidence_refs]
    if weak:
        blocks.append(Reason("GL-ICP-INCOMPLETE",
                             "ICP elements not implemented with evidence: " + ", ".join(weak),
                             "内部合规制度要素未全部建立并提供证明：" + "、".join(weak)))
    audit = operator.latest_icp_audit()
    if audit is None or audit.outcome != IcpAuditOutcome.EFFECTIVE or (
        (on_date - audit.audited_on).days > rules.icp_audit_max_age_days
    ):
        blocks.append(Reason("GL-ICP-NOT-AUDITED",
                             "No recent officer audit found the ICP effective (Art. 14)",
                             "内部合规制度未经主管部门近期审核认定运行有效（第十四条）"))
    if not standing.is_clean(on_date):
        blocks.append(Reason("GL-CREDIT", "The exporter's credit standing is not clean",
                             "出口经营者信用记录不良"))
    if operator.licensed_exports < rules.min_licensed_exports:
        blocks.append(Reason(
            "GL-EXPORT-HISTORY",
            f"Fewer than {rules.min_licensed_exports} licensed exports on record "
            f"({operator.licensed_exports})",
            f"许可出口记录少于{rules.min_licensed_exports}次"))
    end_users = content.end_users
    if not end_users or any(party_key(p) not in operator.established_end_users
                            for p in end_users):
        blocks.append(Reason("GL-END-USERS-NOT-STABLE",
                             "Not every end user is an established end user of the exporter",
                             "最终用户并非均为稳定的最终用户"))
    if any(h.list_kind == ListKind.PRC_WATCH_LIST for h in screening.party_hits):
        blocks.append(Reason("GL-WATCH-LIST",
                             "A party is on the watch list: no general licence (Reg. 26)",
                             "当事方列入关注名单，不得适用通用许可（条例第二十六条）"))
    if any(h.list_kind == ListKind.PRC_CONTROL_LIST for h in screening.party_hits):
        blocks.append(Reason("GL-CONTROL-LIST", "A party is on the control list (Art. 18)",
                             "当事方列入管控名单（第十八条）"))
    if recommendation in (Recommendation.DENY, Recommendation.REFER):
        blocks.append(Reason("GL-ASSESSMENT",
                             f"The assessment recommends {recommendation.value}",
                             "评估结论不支持通用许可"))
    if blocks:
        return GeneralLicenceEligibility(False, tuple(blocks))
    return GeneralLicenceEligibility(True, (Reason(
        "GL-ELIGIBLE",
        "ICP audited and effective, clean credit, export history and stable end users (Art. 14)",
        "内部合规制度经审核运行有效，信用良好，有出口记录且最终用户稳定（第十四条）"),))
