"""Parsers for destination policy files: the UN arms embargo CSV (country, name, scope,
resolution, since) and a country-measures CSV (measure_id, country, title_en, title_zh,
basis, effective_from, suspended_from, suspended_until, ended_on, applies_to, item_codes)."""

from __future__ import annotations

import csv
from pathlib import Path

from stc_screening.domain.policy import ArmsEmbargo, CountryMeasure
from stc_screening.importers._common import clean, parse_date


def parse_arms_embargoes(path: str | Path) -> list[ArmsEmbargo]:
    """Parse the UNSC arms embargo CSV."""
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        return [
            ArmsEmbargo(
                country=clean(r["country"]).upper(),
                name=clean(r.get("name")),
                scope=clean(r.get("scope")),
                resolution=clean(r.get("resolution")),
                since=parse_date(clean(r.get("since"))),
            )
            for r in csv.DictReader(fh)
            if clean(r.get("country"))
        ]


def parse_country_measures(path: str | Path) -> list[CountryMeasure]:
    """Parse a country-measures CSV; dates are ISO, item_codes ``;``-separated prefixes."""
    out = []
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            effective = parse_date(clean(r.get("effective_from")))
            if effective is None:
                raise ValueError(f"measure {r.get('measure_id')!r} has no effective date")
            out.append(CountryMeasure(
                measure_id=clean(r["measure_id"]),
                country=clean(r["country"]).upper(),
                title_en=clean(r.get("title_en")),
                title_zh=clean(r.get("title_zh")),
                basis=clean(r.get("basis")),
                effective_from=effective,
                suspended_from=parse_date(clean(r.get("suspended_from"))),
                suspended_until=parse_date(clean(r.get("suspended_until"))),
                ended_on=parse_date(clean(r.get("ended_on"))),
                applies_to=clean(r.get("applies_to")) or "all",
                item_codes=tuple(c.strip() for c in clean(r.get("item_codes")).split(";")
                                 if c.strip()),
            ))
    return out
