"""Re-screening: on a list change, every kept party of a pending application or an active
licence is screened against the changed entries, inside the change's transaction, and each
new hit is published as a RescreeningMatch (licensing suspends or holds, ECL Art. 18)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from stc.common.v1 import common_pb2
from stc_common.logging import get_logger

from stc_screening.convert import hit_to_pb, party_from_dict, party_to_domain
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import ListEntry
from stc_screening.domain.matching import Hit, Thresholds
from stc_screening.events import outgoing
from stc_screening.matcher import Matcher
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.service")
RESCREEN_CHUNK = 200  # kept parties per matcher job


def _rescreen_hits(index: ScreeningIndex, parties: list[tuple[dict[str, Any], dict[str, Any]]]
                   ) -> list[tuple[dict[str, Any], common_pb2.Party, Hit, ListEntry]]:
    """The hits of a chunk of (subject, party) pairs against the changed entries (pure)."""
    out = []
    for s, d in parties:
        pmsg = party_from_dict(d)
        party = party_to_domain(pmsg)
        if not party.name and not party.identifiers:
            continue
        for h in index.screen(party):
            if not party.name and not h.matched_identifier:
                continue
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
        found += (await matcher.run_always(_rescreen_hits, index, chunk) if matcher is not None
                  else _rescreen_hits(index, chunk))
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
