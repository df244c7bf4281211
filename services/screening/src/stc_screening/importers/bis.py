"""Parser for the US BIS Denied Persons List, tab-separated with a header row (Name,
Street_Address, City, State, Country, Postal_Code, Effective_Date, Expiration_Date,
Standard_Order, Last_Update, Action, FR_Citation). One row per name and address; rows of
the same person (same name and effective date) are merged into one entry."""

from __future__ import annotations

import csv
from pathlib import Path

from stc_screening.domain.lists import (
    Address,
    ListEntry,
    ListKind,
    PartyType,
    make_entry_id,
    slug_key,
)
from stc_screening.importers._common import clean, parse_date, unique

SOURCE = "bis-dpl"


def parse_bis_dpl(path: str | Path) -> list[ListEntry]:
    """Parse the Denied Persons List into list entries, ids from name and effective date."""
    groups: dict[str, list[dict[str, str]]] = {}
    with Path(path).open(encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = clean(row.get("Name"))
            if not name:
                continue
            key = slug_key(name, clean(row.get("Effective_Date")))
            groups.setdefault(key, []).append(row)
    entries = []
    for key, rows in groups.items():
        first = rows[0]
        addrs = tuple(
            Address(
                street=clean(r.get("Street_Address")),
                city=clean(r.get("City")),
                region=clean(r.get("State")),
                postal_code=clean(r.get("Postal_Code")),
                country=clean(r.get("Country")),
            )
            for r in rows
        )
        entries.append(
            ListEntry(
                entry_id=make_entry_id(SOURCE, key),
                list_kind=ListKind.BIS_DPL,
                names=unique([clean(first["Name"])]),
                party_type=PartyType.UNKNOWN,
                source="US Commerce BIS Denied Persons List",
                countries=unique([a.country for a in addrs]),
                addresses=tuple(a for a in addrs if a.text()),
                announcement=clean(first.get("FR_Citation")),
                listed_on=parse_date(clean(first.get("Effective_Date"))),
                remarks=clean(first.get("Action")),
            )
        )
    return entries
