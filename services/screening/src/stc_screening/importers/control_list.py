"""Parser for the control-list CSV (code, category, type, description_en, reference_hs
separated by ``;``, source; an optional description_zh column is accepted)."""

from __future__ import annotations

import csv
from pathlib import Path

from stc_screening.domain.items import ControlItem
from stc_screening.importers._common import clean


def parse_control_list(path: str | Path) -> list[ControlItem]:
    """Parse the control-list CSV into control items; a bad code raises ValueError."""
    items = []
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            code = clean(row.get("code"))
            if not code:
                continue
            hs = tuple(h.strip() for h in clean(row.get("reference_hs")).split(";") if h.strip())
            items.append(ControlItem(
                code=code,
                category=clean(row.get("category")) or code[0],
                type=clean(row.get("type")) or code[1],
                description_en=clean(row.get("description_en")),
                reference_hs=hs,
                source=clean(row.get("source")),
                description_zh=clean(row.get("description_zh")),
            ))
    return items
