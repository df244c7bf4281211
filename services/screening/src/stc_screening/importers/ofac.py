"""Parser for the OFAC SDN list in its legacy CSV form: ``sdn.csv``, ``alt.csv`` and
``add.csv``, no header row, ``-0-`` for an empty field.

sdn.csv: ent_num, name, type, program, title, call_sign, vess_type, tonnage, grt,
vess_flag, vess_owner, remarks. alt.csv: ent_num, alt_num, alt_type, alt_name, remarks.
add.csv: ent_num, add_num, address, city/state/postal code, country, remarks.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

from stc_screening.domain.lists import (
    Address,
    Identifier,
    ListEntry,
    ListKind,
    PartyType,
    make_entry_id,
)
from stc_screening.importers._common import clean, unique

SOURCE = "ofac-sdn"

_TYPES = {
    "individual": PartyType.INDIVIDUAL,
    "vessel": PartyType.VESSEL,
    "aircraft": PartyType.AIRCRAFT,
    "": PartyType.ENTITY,
}

# "Passport A1234567 (Iran)", "alt. National ID No. 123 (China)",
# "Unified Social Credit Code (USCC) 91310115MA1K4DLAXM (China)", "IMO 9187629".
_ID_RE = re.compile(
    r"^(?:alt\.\s+)?(?P<type>Passport|National ID No\.|Cedula No\.|Registration Number|"
    r"Registration ID|Tax ID No\.|Unified Social Credit Code \(USCC\)|"
    r"Vessel Registration Identification|Identification Number|Company Number|"
    r"Commercial Registry Number|C\.U\.R\.P\.|R\.F\.C\.|SWIFT/BIC|BIC|MMSI|"
    r"Business Registration Number|Business Number|Personal ID Card|"
    r"Aircraft Manufacturer's Serial Number \(MSN\)|Aircraft Tail Number|"
    r"Folio Mercantil No\.|Matricula Mercantil No|Government Gazette Number|"
    r"Public Security and Immigration No\.|D-U-N-S Number|NIT #|RUC #|Trade License No\.)"
    r"\s+(?P<value>(?:IMO\s+)?[A-Za-z0-9][A-Za-z0-9./-]*)"
    r"(?:\s+\((?P<country>[^)]*)\))?"
)
_NATIONALITY_RE = re.compile(r"^(?:alt\.\s+)?(?:nationality|citizen)\s+(?P<c>[A-Za-z ,'.-]+)$")

_ID_TYPES = {"Unified Social Credit Code (USCC)": "USCC"}


def parse_remarks(remarks: str) -> tuple[tuple[Identifier, ...], tuple[str, ...], tuple[str, ...]]:
    """Pull identifiers, nationalities and a.k.a. names out of an SDN remarks field."""
    ids: list[Identifier] = []
    nationalities: list[str] = []
    akas: list[str] = []
    for part in remarks.split(";"):
        seg = part.strip().rstrip(".").strip()
        if not seg:
            continue
        m = _ID_RE.match(seg)
        if m:
            value = m.group("value").removeprefix("IMO").strip()
            id_type = _ID_TYPES.get(m.group("type"), m.group("type").rstrip(".").strip())
            ids.append(Identifier(type=id_type, value=value, country=m.group("country") or ""))
            continue
        m = _NATIONALITY_RE.match(seg)
        if m:
            nationalities.append(m.group("c").strip())
            continue
        for aka in re.findall(r"a\.k\.a\.\s+'([^']+)'", seg):
            akas.append(aka)
    return tuple(ids), tuple(nationalities), tuple(akas)


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        # The files end with a DOS end-of-file byte (0x1A) on its own line: skip short rows.
        return [row for row in csv.reader(fh) if len(row) >= 3]


def parse_ofac_sdn(folder: str | Path) -> list[ListEntry]:
    """Parse sdn.csv with its alt.csv and add.csv (both optional) into list entries."""
    folder = Path(folder)
    alts: dict[str, list[str]] = defaultdict(list)
    if (folder / "alt.csv").exists():
        for row in _read(folder / "alt.csv"):
            alts[clean(row[0])].append(clean(row[3]))
    addresses: dict[str, list[Address]] = defaultdict(list)
    if (folder / "add.csv").exists():
        for row in _read(folder / "add.csv"):
            row = row + [""] * (6 - len(row))
            addr = Address(street=clean(row[2]), city=clean(row[3]), country=clean(row[4]))
            if addr.text():
                addresses[clean(row[0])].append(addr)
    entries: list[ListEntry] = []
    for row in _read(folder / "sdn.csv"):
        row = row + [""] * (12 - len(row))
        ent_num = clean(row[0])
        name = clean(row[1])
        if not ent_num or not name:
            continue
        remarks = clean(row[11])
        ids, nationalities, akas = parse_remarks(remarks)
        addrs = tuple(addresses.get(ent_num, ()))
        countries = unique([*(a.country for a in addrs), *nationalities, clean(row[9])])
        entries.append(
            ListEntry(
                entry_id=make_entry_id(SOURCE, ent_num),
                list_kind=ListKind.OFAC_SDN,
                names=unique([name, *alts.get(ent_num, ()), *akas]),
                party_type=_TYPES.get(clean(row[2]).lower(), PartyType.UNKNOWN),
                source="US Treasury OFAC SDN",
                countries=countries,
                addresses=addrs,
                identifiers=ids,
                programs=tuple(p.strip(" []") for p in clean(row[3]).split("] [")
                               if p.strip(" []")),
                remarks=remarks,
            )
        )
    return entries
