"""Load every shipped list from a data folder laid out like ``shared/data`` (lists/ofac_sdn_2021,
lists/un_consolidated.xml, lists/bis_dpl.txt, lists/prc_lists.csv); missing files are skipped."""

from __future__ import annotations

from pathlib import Path

from stc_screening.domain.lists import ListEntry
from stc_screening.importers.bis import parse_bis_dpl
from stc_screening.importers.ofac import parse_ofac_sdn
from stc_screening.importers.prc import parse_prc_lists
from stc_screening.importers.un import parse_un_consolidated


def load_lists(data_dir: str | Path) -> list[ListEntry]:
    """Parse every list file found under ``data_dir/lists``."""
    lists = Path(data_dir) / "lists"
    entries: list[ListEntry] = []
    ofac = sorted(lists.glob("ofac_sdn*"))
    if ofac:
        entries += parse_ofac_sdn(ofac[-1])
    if (lists / "un_consolidated.xml").exists():
        entries += parse_un_consolidated(lists / "un_consolidated.xml")
    if (lists / "bis_dpl.txt").exists():
        entries += parse_bis_dpl(lists / "bis_dpl.txt")
    if (lists / "prc_lists.csv").exists():
        entries += parse_prc_lists(lists / "prc_lists.csv")
    return entries
