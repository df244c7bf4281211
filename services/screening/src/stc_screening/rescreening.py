"""Re-screening the kept parties of pending applications and live licences against the
entries of one list change (ECL Art. 18: a party put on the control list suspends the
licences that name it), in bulk: with 10,000 live licences that is tens of thousands of
parties per change, most of them named by several licences.

Each distinct party (same names, country, address and identifiers) is screened once; the
stored party becomes a matcher ``Party`` directly, and a message is built only for the
parties that hit. Pure: runs as a job on the matcher thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stc.common.v1 import common_pb2

from stc_screening.api import mapping as m
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import Identifier, ListEntry
from stc_screening.domain.matching import Hit, Party


def stored_party(d: dict[str, Any]) -> Party:
    """The matcher's Party from a party as the re-screening projection stores it (the same
    as ``mapping.party_to_domain`` of ``mapping.party_from_dict``)."""
    return Party(name=d["name"].strip(),
                 aliases=tuple(a.strip() for a in d.get("aliases", ()) if a.strip()),
                 country=d.get("country", "").strip(), address=d.get("address", "").strip(),
                 identifiers=tuple(Identifier(i.get("type", "").strip().upper(),
                                              i["value"].strip(), i.get("country", ""))
                                   for i in d.get("identifiers", ()) if i["value"].strip()))


def rescreen_hits(index: ScreeningIndex, parties: Sequence[tuple[dict, dict]]
                  ) -> list[tuple[dict, common_pb2.Party, Hit, ListEntry]]:
    """The hits of (subject, stored party) pairs against the index of changed entries, as
    (subject, party message, hit, entry); a party without a name hits by identifier only."""
    out = []
    seen: dict[Party, list[Hit]] = {}
    for s, d in parties:
        party = stored_party(d)
        hits = seen.get(party)
        if hits is None:
            hits = []
            if party.name or party.identifiers:
                hits = [h for h in index.screen(party)
                        if party.name or h.matched_identifier]
            seen[party] = hits
        if not hits:
            continue
        pmsg = m.party_from_dict(d)
        for h in hits:
            entry = index.get(h.entry_id)
            assert entry is not None
            out.append((s, pmsg, h, entry))
    return out
