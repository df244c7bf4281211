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


def embargo_for(embargoes: dict[str, ArmsEmbargo] | list[ArmsEmbargo],
                country: str, day: dt.date | None = None) -> ArmsEmbargo | None:
    """The arms embargo on ``country`` in force on ``day`` (any date when None)."""
    items = embargoes.values() if isinstance(embargoes, dict) else embargoes
    for e in items:
        if e.country.upper() == country.upper() and (day is None or e.since is None
                                                      or e.since <= day):
            return e
    return None
