"""Parser for the UN Security Council consolidated sanctions list XML
(``CONSOLIDATED_LIST`` with ``INDIVIDUALS`` and ``ENTITIES``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from stc_screening.domain.lists import (
    Address,
    Identifier,
    ListEntry,
    ListKind,
    PartyType,
    make_entry_id,
)
from stc_screening.importers._common import clean, parse_date, unique

SOURCE = "un"


def _text(el: ET.Element | None, tag: str) -> str:
    if el is None:
        return ""
    child = el.find(tag)
    return clean(child.text) if child is not None else ""


def _values(el: ET.Element, tag: str) -> list[str]:
    return [clean(v.text) for node in el.findall(tag) for v in node.findall("VALUE") if v.text]


def _addresses(el: ET.Element, tag: str) -> tuple[Address, ...]:
    out = []
    for a in el.findall(tag):
        addr = Address(
            street=_text(a, "STREET"),
            city=_text(a, "CITY"),
            region=_text(a, "STATE_PROVINCE"),
            postal_code=_text(a, "ZIP_CODE"),
            country=_text(a, "COUNTRY"),
        )
        if addr.text():
            out.append(addr)
    return tuple(out)


def _entry(el: ET.Element, party_type: PartyType, prefix: str) -> ListEntry | None:
    dataid = _text(el, "DATAID")
    parts = [_text(el, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    primary = " ".join(p for p in parts if p)
    if not dataid or not primary:
        return None
    aliases = [_text(a, "ALIAS_NAME") for a in el.findall(f"{prefix}_ALIAS")]
    names = unique([primary, _text(el, "NAME_ORIGINAL_SCRIPT"), *aliases])
    ids = []
    for d in el.findall(f"{prefix}_DOCUMENT"):
        number = _text(d, "NUMBER")
        if number:
            ids.append(Identifier(
                type=_text(d, "TYPE_OF_DOCUMENT") or "document",
                value=number,
                country=_text(d, "ISSUING_COUNTRY") or _text(d, "COUNTRY_OF_ISSUE"),
            ))
    addrs = _addresses(el, f"{prefix}_ADDRESS")
    countries = unique([*_values(el, "NATIONALITY"), *(a.country for a in addrs)])
    return ListEntry(
        entry_id=make_entry_id(SOURCE, _text(el, "REFERENCE_NUMBER") or dataid),
        list_kind=ListKind.UN_CONSOLIDATED,
        names=names,
        party_type=party_type,
        source="UN Security Council consolidated list",
        countries=countries,
        addresses=addrs,
        identifiers=tuple(ids),
        programs=unique([_text(el, "UN_LIST_TYPE")]),
        announcement=_text(el, "REFERENCE_NUMBER"),
        listed_on=parse_date(_text(el, "LISTED_ON")),
        remarks=_text(el, "COMMENTS1"),
    )


def parse_un_consolidated(path: str | Path) -> list[ListEntry]:
    """Parse the UN consolidated list XML into list entries (individuals and entities)."""
    root = ET.parse(path).getroot()
    entries: list[ListEntry] = []
    for el in root.iter("INDIVIDUAL"):
        e = _entry(el, PartyType.INDIVIDUAL, "INDIVIDUAL")
        if e:
            entries.append(e)
    for el in root.iter("ENTITY"):
        e = _entry(el, PartyType.ENTITY, "ENTITY")
        if e:
            entries.append(e)
    return entries
