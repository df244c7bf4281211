"""The files screening reads from its data folder (laid out like shared/data): the shipped
lists (``lists/``), the control list of items (``control_list/``) and the destination policy
(``policy/``: UN arms embargoes, country measures). Parsing is in ``importers/``; this module
only finds the files; the finding texts and red flags shipped inside the package
(``stc_screening/data``) are read here too."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from stc_screening.domain.items import ControlItem
from stc_screening.domain.lists import ListEntry
from stc_screening.domain.policy import ArmsEmbargo, CountryMeasure
from stc_screening.domain.transaction import FindingText, Severity
from stc_screening.importers.bis import parse_bis_dpl
from stc_screening.importers.control_list import parse_control_list
from stc_screening.importers.ofac import parse_ofac_sdn
from stc_screening.importers.policy import parse_arms_embargoes, parse_country_measures
from stc_screening.importers.prc import parse_prc_lists
from stc_screening.importers.un import parse_un_consolidated


@dataclass(frozen=True)
class ListSource:
    """Where a shipped list lives, how to parse it, and the entry id prefixes it owns."""

    pattern: str
    parse: Callable[[Path], list[ListEntry]]
    prefixes: tuple[str, ...]


LIST_SOURCES: dict[str, ListSource] = {
    "ofac": ListSource("lists/ofac_sdn*", parse_ofac_sdn, ("ofac-sdn",)),
    "un": ListSource("lists/un_consolidated.xml", parse_un_consolidated, ("un",)),
    "bis": ListSource("lists/bis_dpl.txt", parse_bis_dpl, ("bis-dpl",)),
    "prc": ListSource("lists/prc_lists.csv", parse_prc_lists,
                      ("prc-control-list", "prc-watch-list", "prc-unreliable-entity-list")),
}


@dataclass(frozen=True)
class ParsedList:
    """One shipped list, parsed."""

    name: str
    path: Path
    file_sha256: str
    entries: list[ListEntry]


def _sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def parse_list(data_dir: Path, name: str) -> ParsedList | None:
    """Parse one shipped list; None when its file is missing."""
    source = LIST_SOURCES[name]
    found = sorted(data_dir.glob(source.pattern))
    if not found:
        return None
    path = found[-1]
    return ParsedList(name, path, _sha256_path(path), source.parse(path))


@dataclass(frozen=True)
class Policy:
    """The control list of items and the destination policy that are shipped."""

    control_items: dict[str, ControlItem] = field(default_factory=dict)
    embargoes: list[ArmsEmbargo] = field(default_factory=list)
    country_measures: list[CountryMeasure] = field(default_factory=list)


def load_policy(data_dir: Path) -> Policy:
    """Read the control list, arms embargoes and country measures that are shipped."""
    cl = data_dir / "control_list"
    items: list[ControlItem] = []
    for path in sorted(cl.glob("*.csv")) if cl.is_dir() else []:
        items += parse_control_list(path)
    pol = data_dir / "policy"
    emb = pol / "unsc_arms_embargoes.csv"
    meas = pol / "country_measures.csv"
    return Policy(control_items={i.code: i for i in items},
                  embargoes=parse_arms_embargoes(emb) if emb.exists() else [],
                  country_measures=parse_country_measures(meas) if meas.exists() else [])


def _read_table(name: str, code_field: str = "code") -> dict[str, FindingText]:
    text = resources.files("stc_screening.data").joinpath(name).read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines()):
        out[row[code_field]] = FindingText(row[code_field], Severity[row["severity"]],
                                           row["text_en"], row["text_zh"], row.get("article", ""))
    return out


@lru_cache(maxsize=1)
def finding_texts() -> dict[str, FindingText]:
    """The shipped findings and red-flag tables, by code (the red flags of diversion that
    MOFCOM's 2021 guideline lists, numbered RF01-RF20)."""
    texts = _read_table("findings.csv")
    texts.update({k: FindingText(v.code, v.severity, v.text_en, v.text_zh,
                                 f"red flag {int(k[2:])}")
                  for k, v in _read_table("red_flags.csv").items()})
    return texts
