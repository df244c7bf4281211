"""Destination policy as data: UN Security Council arms embargoes and dated country
measures (e.g. a ban on dual-use exports to a country's military end users), each with
effective and suspension dates so that screening applies the measure in force on a date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArmsEmbargo:
    """A UN Security Council arms embargo on a destination (ISO 3166 alpha-2 code)."""

    country: str
    name: str
    scope: str
    resolution: str
    since: dt.date | None = None

    @property
    def is_full(self) -> bool:
        """True when the embargo covers the whole country, not only some parties or areas."""
        return self.scope.strip().lower() == "full"


@dataclass(frozen=True, slots=True)
class CountryMeasure:
    """A dated measure on a destination, e.g. MOFCOM banning dual-use exports to its
    military end users. ``applies_to`` is ``all``, ``military_end_user`` or ``military_end_use``;
    ``item_codes`` (prefixes) empty means every item."""

    measure_id: str
    country: str
    title_en: str
    title_zh: str
    basis: str
    effective_from: dt.date
    suspended_from: dt.date | None = None
    suspended_until: dt.date | None = None
    ended_on: dt.date | None = None
    applies_to: str = "all"
    item_codes: tuple[str, ...] = ()
    announcement: str = ""

    def in_force_on(self, day: dt.date) -> bool:
        """True when the measure is effective and not suspended or ended on ``day``."""
        if day < self.effective_from:
            return False
        if self.ended_on and day >= self.ended_on:
            return False
        if self.suspended_from and day >= self.suspended_from:
            if self.suspended_until is None or day < self.suspended_until:
                return False
        return True

    def covers_item(self, code: str) -> bool:
        """True when the measure covers the control code (no codes listed = all items)."""
        return not self.item_codes or any(code.startswith(p) for p in self.item_codes)


# The scopes a country measure may have (what ``CountryMeasure.applies_to`` holds).
MEASURE_SCOPES = ("all", "military_end_user", "military_end_use")


@dataclass(frozen=True, slots=True)
class MeasureRecord:
    """A country measure as an officer entered it: the measure plus who and when."""

    measure: CountryMeasure
    officer: str
    created_at: dt.datetime
    updated_at: dt.datetime
    request_id: str = ""
    request_fingerprint: str | None = None

    @property
    def measure_id(self) -> str:
        """The measure's id."""
        return self.measure.measure_id


def measure_date_violations(*, effective_from: dt.date | None, expires_on: dt.date | None,
                            suspended_from: dt.date | None, suspended_until: dt.date | None
                            ) -> list[tuple[str, str]]:
    """(field, reason) for each date of a new measure that contradicts another (ECL Art. 8:
    a measure applies from its effective date; a suspension is a window after it)."""
    out: list[tuple[str, str]] = []
    if effective_from and expires_on and expires_on <= effective_from:
        out.append(("expires_on", "after the effective date"))
    if suspended_until and (suspended_from is None or suspended_until <= suspended_from):
        out.append(("suspended_until", "after suspended_from"))
    if effective_from and suspended_from and suspended_from < effective_from:
        out.append(("suspended_from", "on or after the effective date"))
    return out


def suspension_violations(suspended_from: dt.date | None, suspended_until: dt.date | None
                          ) -> list[tuple[str, str]]:
    """(field, reason) when a suspension window ends before it starts."""
    if suspended_from and suspended_until and suspended_until <= suspended_from:
        return [("suspended_until", "after suspended_from")]
    return []


def suspension_starts_in_force(measure: CountryMeasure, suspended_from: dt.date) -> bool:
    """A suspension starts on or after the measure's effective date."""
    return suspended_from >= measure.effective_from
