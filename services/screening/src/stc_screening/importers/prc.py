"""Parser for the PRC list designations CSV (header: list, name_en, name_zh, country,
announcement, date). ``list`` is ``control_list`` (管控名单, ECL Art. 18), ``watch_list``
(关注名单, Reg. 26) or ``unreliable_entity_list`` (不可靠实体清单); the Chinese list names
are accepted as well."""

from __future__ import annotations

import csv
from pathlib import Path

from stc_screening.domain.lists import ListEntry, ListKind, PartyType, make_entry_id, slug_key
from stc_screening.importers._common import clean, parse_date, unique

SOURCE = "prc"

LIST_NAMES: dict[str, ListKind] = {
    "control_list": ListKind.CONTROL_LIST,
    "管控名单": ListKind.CONTROL_LIST,
    "出口管制管控名单": ListKind.CONTROL_LIST,
    "watch_list": ListKind.WATCH_LIST,
    "关注名单": ListKind.WATCH_LIST,
    "unreliable_entity_list": ListKind.UNRELIABLE_ENTITY_LIST,
    "不可靠实体清单": ListKind.UNRELIABLE_ENTITY_LIST,
}


def parse_prc_lists(path: str | Path) -> list[ListEntry]:
    """Parse the PRC designations CSV; the same party on two lists gives two entries."""
    entries = []
    seen: set[str] = set()
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            kind_name = clean(row.get("list")).lower()
            if kind_name not in LIST_NAMES:
                raise ValueError(f"unknown PRC list name {row.get('list')!r}")
            kind = LIST_NAMES[kind_name]
            name_en, name_zh = clean(row.get("name_en")), clean(row.get("name_zh"))
            names = unique([name_en, name_zh])
            if not names:
                continue
            entry_id = make_entry_id(f"prc-{kind.value.lower().replace('_', '-')}",
                                     slug_key(names[0], clean(row.get("country"))))
            if entry_id in seen:
                continue
            seen.add(entry_id)
            entries.append(
                ListEntry(
                    entry_id=entry_id,
                    list_kind=kind,
                    names=names,
                    party_type=PartyType.ENTITY,
                    source="MOFCOM announcement",
                    countries=unique([clean(row.get("country"))]),
                    announcement=clean(row.get("announcement")),
                    listed_on=parse_date(clean(row.get("date"))),
                )
            )
    return entries
