"""Licensing policy as versioned, dated data.

A `Policy` holds what the Art. 13 assessment weighs but the law leaves to the authorities:
destination risk tiers, UN Security Council arms embargoes (Art. 13(2) international
obligations), country measures with effective and suspension dates (e.g. MOFCOM
announcements banning dual-use exports to a country's military end users), item
sensitivity by control-code prefix and regime (Art. 13(4)), and the general-licence
thresholds (Art. 14). Policies live in YAML files shipped in `stc_licensing/policy/`
(`policy-<version>.yaml`) and the UNSC embargo table in its CSV (the shared data set), read
by stc_licensing.policy_files; this module builds a Policy from their data and reads no
files. Each policy has a version id and a SHA-256 content hash over its canonical JSON,
recorded in every assessment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from functools import cached_property
from typing import Any

from .canonical import sha256_hex
from .errors import NoPolicyInForce, PolicyError
from .model import ItemRegime


class Sensitivity(str, Enum):
    """Item sensitivity (Art. 13(4)); `rank` orders them."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """0 for LOW up to 3 for CRITICAL."""
        return list(Sensitivity).index(self)


class MeasureKind(str, Enum):
    """What a country measure does."""

    BAN = "BAN"  # exports of the covered items to the country are prohibited
    BAN_MILITARY_END_USE = "BAN_MILITARY_END_USE"  # prohibited to military end users / uses
    ENHANCED_REVIEW = "ENHANCED_REVIEW"  # every application is referred to an officer


@dataclass(frozen=True)
class ArmsEmbargo:
    """A UN Security Council arms embargo on a destination; `full` when scope is the whole
    country, else it targets the groups named in `scope`."""

    country: str
    name: str
    scope: str
    resolution: str
    since: dt.date | None = None

    @property
    def full(self) -> bool:
        """The embargo covers the whole country."""
        return self.scope.strip().lower() == "full"

    def in_force_on(self, day: dt.date) -> bool:
        """Imposed on or before `day`."""
        return self.since is None or self.since <= day


@dataclass(frozen=True)
class CountryMeasure:
    """A destination measure with its dates; suspended in [suspended_from, suspended_until)
    (open-ended when suspended_until is None) and ended from `expires_on`."""

    id: str
    country: str
    kind: MeasureKind
    regimes: tuple[ItemRegime, ...]
    effective_from: dt.date
    announcement: str
    description_en: str
    description_zh: str
    control_code_prefixes: tuple[str, ...] = ()
    suspended_from: dt.date | None = None
    suspended_until: dt.date | None = None
    expires_on: dt.date | None = None

    def in_force_on(self, day: dt.date) -> bool:
        """Effective, not expired and not suspended on `day`."""
        if day < self.effective_from or (self.expires_on is not None and day >= self.expires_on):
            return False
        if self.suspended_from is not None and self.suspended_from <= day and (
            self.suspended_until is None or day < self.suspended_until
        ):
            return False
        return True

    def covers(self, regime: ItemRegime, control_codes: Iterable[str]) -> bool:
        """True when the measure applies to this regime and (if it lists prefixes) a code."""
        if self.regimes and regime not in self.regimes:
            return False
        if not self.control_code_prefixes:
            return True
        return any(c.startswith(self.control_code_prefixes) for c in control_codes)


@dataclass(frozen=True)
class SensitivityRule:
    """Sensitivity of items whose code starts with `prefix` ('' = any), for `regime` (None =
    any regime). The most specific rule wins: regime-specific, then longest prefix."""

    prefix: str
    level: Sensitivity
    regime: ItemRegime | None = None
    note: str = ""


@dataclass(frozen=True)
class GeneralLicenceRules:
    """Art. 14 thresholds for general-licence eligibility."""

    regimes: tuple[ItemRegime, ...] = (ItemRegime.DUAL_USE,)
    min_licensed_exports: int = 3
    icp_audit_max_age_days: int = 3 * 365


@dataclass(frozen=True)
class Policy:
    """One dated version of the licensing policy."""

    version: str
    effective_from: dt.date
    destination_tiers: Mapping[str, int]
    default_tier: int = 2
    arms_embargoes: tuple[ArmsEmbargo, ...] = ()
    measures: tuple[CountryMeasure, ...] = ()
    sensitivity_rules: tuple[SensitivityRule, ...] = ()
    general_licence: GeneralLicenceRules = GeneralLicenceRules()
    effective_to: dt.date | None = None
    description: str = ""

    def __hash__(self) -> int:
        # destination_tiers is a dict, so the generated field-wise hash would fail.
        return hash(self.content_hash)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 over the canonical JSON of every field (the version included)."""
        return sha256_hex(self)

    def tier(self, country: str) -> int:
        """Destination risk tier: 1 low, 2 ordinary, 3 high."""
        return self.destination_tiers.get(country.upper(), self.default_tier)

    def embargoes_on(self, country: str, day: dt.date) -> tuple[ArmsEmbargo, ...]:
        """UN arms embargoes on `country` in force on `day`."""
        return tuple(e for e in self.arms_embargoes
                     if e.country == country.upper() and e.in_force_on(day))

    def measures_on(self, country: str, day: dt.date) -> tuple[CountryMeasure, ...]:
        """Country measures on `country` in force on `day`."""
        return tuple(m for m in self.measures
                     if m.country == country.upper() and m.in_force_on(day))

    def sensitivity(
        self, control_code: str, regime: ItemRegime
    ) -> tuple[Sensitivity, SensitivityRule | None]:
        """The sensitivity of one item and the rule that set it (LOW, None when none match)."""
        best: SensitivityRule | None = None
        best_key: tuple[int, int] | None = None
        for rule in self.sensitivity_rules:
            if rule.regime is not None and rule.regime != regime:
                continue
            if not control_code.startswith(rule.prefix):
                continue
            key = (1 if rule.regime is not None else 0, len(rule.prefix))
            # Specificity first; among equally specific rules the stricter wins.
            if best_key is None or key > best_key or (
                key == best_key and best is not None and rule.level.rank > best.level.rank
            ):
                best, best_key = rule, key
        return (best.level if best else Sensitivity.LOW), best

    def in_force_on(self, day: dt.date) -> bool:
        """`day` in [effective_from, effective_to)."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


def policy_in_force(policies: Iterable[Policy], on_date: dt.date) -> Policy:
    """The policy in force on `on_date`: of those whose dates cover it, the latest
    `effective_from` (a newer version supersedes without editing the older one)."""
    candidates = [p for p in policies if p.in_force_on(on_date)]
    if not candidates:
        raise NoPolicyInForce(f"no policy in force on {on_date.isoformat()}")
    return max(candidates, key=lambda p: (p.effective_from, p.version))


# --------------------------------------------------------------------------- from data


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise PolicyError(f"{where}: bad date {value!r}") from exc


def _required_date(value: Any, where: str) -> dt.date:
    found = _date(value, where)
    if found is None:
        raise PolicyError(f"{where}: effective_from is required")
    return found


def policy_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Policy:
    """Build a Policy from its YAML/JSON structure (see policy-2026.1.yaml)."""
    try:
        tiers: dict[str, int] = {}
        for tier, countries in (data.get("destination_tiers") or {}).items():
            for c in countries or ():
                tiers[str(c).upper()] = int(tier)
        measures = tuple(
            CountryMeasure(
                id=str(m["id"]),
                country=str(m["country"]).upper(),
                kind=MeasureKind(m["kind"]),
                regimes=tuple(ItemRegime(r) for r in m.get("regimes") or ()),
                effective_from=_required_date(m["effective_from"], f"{source}: {m['id']}"),
                announcement=str(m.get("announcement", "")),
                description_en=str(m.get("description_en", "")),
                description_zh=str(m.get("description_zh", "")),
                control_code_prefixes=tuple(str(p) for p in m.get("control_code_prefixes") or ()),
                suspended_from=_date(m.get("suspended_from"), source),
                suspended_until=_date(m.get("suspended_until"), source),
                expires_on=_date(m.get("expires_on"), source),
            )
            for m in data.get("country_measures") or ()
        )
        rules = tuple(
            SensitivityRule(
                prefix=str(r.get("prefix", "")),
                level=Sensitivity(r["level"]),
                regime=ItemRegime(r["regime"]) if r.get("regime") else None,
                note=str(r.get("note", "")),
            )
            for r in data.get("item_sensitivity") or ()
        )
        embargoes = tuple(
            ArmsEmbargo(
                country=str(e["country"]).upper(), name=str(e.get("name", "")),
                scope=str(e.get("scope", "full")), resolution=str(e.get("resolution", "")),
                since=_date(e.get("since"), source),
            )
            for e in data.get("arms_embargoes") or ()
        )
        gl = data.get("general_licence") or {}
        general = GeneralLicenceRules(
            regimes=tuple(ItemRegime(r) for r in gl.get("regimes", ["DUAL_USE"])),
            min_licensed_exports=int(gl.get("min_licensed_exports", 3)),
            icp_audit_max_age_days=int(gl.get("icp_audit_max_age_days", 3 * 365)),
        )
        return Policy(
            version=str(data["version"]),
            effective_from=_required_date(data["effective_from"], source),
            effective_to=_date(data.get("effective_to"), source),
            description=str(data.get("description", "")),
            destination_tiers=tiers,
            default_tier=int(data.get("default_tier", 2)),
            arms_embargoes=embargoes,
            measures=measures,
            sensitivity_rules=rules,
            general_licence=general,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{source}: {exc!r}") from exc


def with_embargoes(policy: Policy, embargoes: Iterable[ArmsEmbargo]) -> Policy:
    """The policy with `embargoes` replacing those it had (a new content hash results)."""
    return replace(policy, arms_embargoes=tuple(embargoes))
