"""Re-screening: on a list change, every kept party of a pending application or an active
licence is screened against the changed entries, inside the change's transaction, and each
new hit is published as a RescreeningMatch (licensing suspends or holds, ECL Art. 18)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from stc.common.v1 import common_pb2
from stc_common.logging import get_logger

from stc_screening.convert import hit_to_pb, party_from_dict
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import Identifier, ListEntry
from stc_screening.domain.matching import Hit, Party, Thresholds
from stc_screening.events import outgoing
from stc_screening.matcher import Matcher
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.service")
RESCREEN_CHUNK = 200  # kept parties per matcher job


def stored_party(d: dict[str, Any]) -> Party:
    """The matcher's Party from a party as the re-screening projection stores it (the same
    as ``convert.party_to_domain`` of ``convert.party_from_dict``, without the message)."""
    return Party(name=d["name"].strip(),
                 aliases=tuple(a.strip() for a in d.get("aliases", ()) if a.strip()),
                 country=d.get("country", "").strip(), address=d.get("address", "").strip(),
                 identifiers=tuple(Identifier(i.get("type", "").strip().upper(),
                                              i["value"].strip(), i.get("country", ""))
                                   for i in d.get("identifiers", ()) if i["value"].strip()))


def rescreen_hits(index: ScreeningIndex, parties: Sequence[tuple[dict[str, Any], dict[str, Any]]]
                  ) -> list[tuple[dict[str, Any], common_pb2.Party, Hit, ListEntry]]:
    """The hits of (subject, stored party) pairs against the index of changed entries, as
    (subject, party message, hit, entry); pure, run on the matcher thread. With 10,000 live
    licences a list change re-screens tens of thousands of parties, most named by several
    licences: each distinct party (same names, country, address, identifiers) is screened
    once, and a message is built only for the parties that hit (issue 14). A party without
    a name hits by identifier only."""
    out = []
    seen: dict[Party, list[Hit]] = {}
    for s, d in parties:
        party = stored_party(d)
        hits = seen.get(party)
        if hits is None:
            hits = []
            if party.name or party.identifiers:
                hits = [h for h in index.screen(party) if party.name or h.matched_identifier]
            seen[party] = hits
        if not hits:
            continue
        pmsg = party_from_dict(d)
        for h in hits:
            entry = index.get(h.entry_id)
            assert entry is not None
            out.append((s, pmsg, h, entry))
    return out


async def rescreen(*, uow: ScreeningUnitOfWork, thresholds: Thresholds | None,
                   changed: Sequence[ListEntry], triggers: dict[str, str],
                   matcher: Matcher | None = None) -> int:
    """Screen every kept party against the changed entries; publish a RescreeningMatch for
    each hit not reported before. Returns how many were published. The matching runs on the
    matcher thread in chunks (10,000 live licences are tens of thousands of parties)."""
    if not changed:
        return 0
    subjects = await uow.subjects.all_subjects()
    if not subjects:
        return 0
    index = ScreeningIndex(changed, thresholds=thresholds or Thresholds())
    pairs = [(s, d) for s in subjects for d in s["parties"]]
    found: list[tuple[dict[str, Any], common_pb2.Party, Hit, ListEntry]] = []
    for i in range(0, len(pairs), RESCREEN_CHUNK):
        chunk = pairs[i:i + RESCREEN_CHUNK]
        found += (await matcher.run_always(rescreen_hits, index, chunk) if matcher is not None
                  else rescreen_hits(index, chunk))
    now = dt.datetime.now(dt.UTC)
    count = 0
    for s, pmsg, h, entry in found:
        if not await uow.subjects.claim_hit(s["subject_kind"], s["subject_id"],
                                            pmsg.party_id, h.entry_id, entry.content_hash):
            continue
        await uow.publish(outgoing.RESULT_TOPIC, s["subject_id"], outgoing.rescreening_match(
            subject_kind=s["subject_kind"], subject_id=s["subject_id"],
            exporter_uscc=s["exporter_uscc"], hit=hit_to_pb(h, entry=entry, party=pmsg),
            trigger_event_id=triggers.get(h.entry_id, ""), at=now))
        count += 1
        log.info("rescreening.matched", subject_kind=s["subject_kind"],
                 subject_id=s["subject_id"], party_id=pmsg.party_id,
                 entry_id=h.entry_id, score=h.score)
    return count
