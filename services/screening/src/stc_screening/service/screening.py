"""Screening use cases: party and batch screening,
transaction screening (parties, destination, items, end use, red flags), the screening of a
submitted application (Flow 2) and of a change report's new end user (Art. 16).

Matching never runs on the event loop: every screen is a job on the state's
matcher thread (``stc_screening.matcher``), one party or one chunk at a time; the chunks of a
batch go to the forked matcher processes instead while they hold the current index
(``stc_screening.match_pool``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2
from stc.screening.v1 import events_pb2 as ev
from stc_common.logging import get_logger
from stc_common.prc_time import prc_today

from stc_screening.convert import (
    finding_to_pb,
    hit_to_pb,
    items_to_domain,
    party_to_dict,
    party_to_domain,
    tx_party,
)
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import ListEntry, ListKind, normalise_identifier
from stc_screening.domain.matching import Hit, Party
from stc_screening.domain.transaction import Transaction, TransactionResult, screen_transaction
from stc_screening.events import outgoing
from stc_screening.match_pool import PoolUnavailable
from stc_screening.policy_files import finding_texts
from stc_screening.service.commands import (
    ScreenApplication,
    ScreenNewEndUser,
    ScreenParties,
    ScreenParty,
    ScreenTransaction,
)
from stc_screening.service.state import ScreeningState
from stc_screening.storage import subjects as kinds_of
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.service")
BATCH_CHUNK = 25  # parties per matcher job of a batch: other callers wait at most one chunk
POOL_CHUNK = 50  # parties per job of a forked matcher process (match_pool)
POOL_MIN_CHUNK = 5
POOL_MIN_BATCH = 2  # a single party stays on the matcher thread
EXPORTER_PARTY_ID = "exporter"


@dataclass(frozen=True)
class Screened:
    """Hits of one or more parties, the entries they name, and the lists' version."""

    hits: list[list[Hit]]
    entries: dict[str, ListEntry]
    lists_version: str


def _entries_of(state: ScreeningState, hits: Iterable[Hit]) -> dict[str, ListEntry]:
    out = {}
    for h in hits:
        e = state.index.get(h.entry_id)
        if e is not None:
            out[h.entry_id] = e
    return out


# ----------------------------------------------------------------------------- parties


async def screen_party(*, state: ScreeningState, cmd: ScreenParty) -> Screened:
    """Screen one party against the index (a job on the matcher thread)."""
    hits = await state.matcher.run(state.index.screen, cmd.party, lists=cmd.kinds,
                                   threshold=cmd.threshold, limit=cmd.limit)
    return Screened([hits], _entries_of(state, hits), state.lists_version)


def _screen_chunk(index: ScreeningIndex, parties: Sequence[Party],
                  kinds: Iterable[ListKind] | None, threshold: float | None,
                  limit: int) -> list[list[Hit]]:
    kinds = list(kinds) if kinds is not None else None
    return [index.screen(p, lists=kinds, threshold=threshold, limit=limit)
            if p.name or p.identifiers else [] for p in parties]


def pool_handler(state: ScreeningState) -> Callable[[tuple], list[list[Hit]]]:
    """What a forked matcher process does with a chunk: screen it against its copy of the
    index (``state.index`` as it was at the fork; nothing changes it in the child)."""
    def handle(payload: tuple) -> list[list[Hit]]:
        return _screen_chunk(state.index, *payload)
    return handle


def _distinct(parties: Sequence[Party]) -> tuple[list[Party], list[int]]:
    """The distinct parties of a batch and, for each party given, its place among them (a
    batch that names one customer a hundred times screens it once)."""
    where: dict[Party, int] = {}
    distinct: list[Party] = []
    slots: list[int] = []
    for p in parties:
        i = where.get(p)
        if i is None:
            i = where[p] = len(distinct)
            distinct.append(p)
        slots.append(i)
    return distinct, slots


def _pool_chunk(n: int, workers: int) -> int:
    """Parties per pool chunk: POOL_CHUNK, smaller for a batch that would not fill every
    worker, so that a 40-party batch still spreads over both cores."""
    return max(POOL_MIN_CHUNK, min(POOL_CHUNK, -(-n // max(1, workers))))


async def _chunk(state: ScreeningState, parties: Sequence[Party],
                 kinds: list[ListKind] | None, threshold: float | None,
                 limit: int) -> list[list[Hit]]:
    """One chunk on a forked matcher process of the current index, else on the matcher
    thread (the pool stale after a list change, stopped, or its worker gone)."""
    pool = state.pool
    if pool is not None:
        try:
            return await pool.run_chunk((list(parties), kinds, threshold, limit))
        except PoolUnavailable:
            pass
    out: list[list[Hit]] = []
    for i in range(0, len(parties), BATCH_CHUNK):
        out += await state.matcher.run(_screen_chunk, state.index, parties[i:i + BATCH_CHUNK],
                                       kinds, threshold, limit)
    return out


async def screen_parties(*, state: ScreeningState, cmd: ScreenParties) -> Screened:
    """Screen many parties (batch screening), the hits of each in the order given; each
    distinct party once. With a pool of matcher processes on the current index the chunks
    run there in parallel; otherwise on the matcher thread in chunks of ``BATCH_CHUNK``
    parties, so that list changes and other callers interleave."""
    kinds = list(cmd.kinds) if cmd.kinds is not None else None
    distinct, slots = _distinct(cmd.parties)
    pool = state.pool
    if pool is not None and pool.fresh and len(distinct) >= POOL_MIN_BATCH:
        size = _pool_chunk(len(distinct), len(pool.alive))
    else:
        pool = None
        size = BATCH_CHUNK
    chunks = [distinct[i:i + size] for i in range(0, len(distinct), size)]
    if pool is not None:
        done = await asyncio.gather(*(_chunk(state, c, kinds, cmd.threshold, cmd.limit)
                                      for c in chunks))
    else:
        done = [await _chunk(state, c, kinds, cmd.threshold, cmd.limit) for c in chunks]
    found = [hits for part in done for hits in part]
    out = [found[i] for i in slots]
    return Screened(out, _entries_of(state, (h for hits in found for h in hits)),
                    state.lists_version)


# ----------------------------------------------------------------------------- transactions


def build_transaction(t: ScreenTransaction) -> Transaction:
    """The domain Transaction from an application's or a request's messages."""
    military = t.end_use.category == application_pb2.END_USE_CATEGORY_MILITARY
    parties = tuple(tx_party(p, military_end_use=military) for p in t.parties)
    flags = set(t.flags)
    issuer, issuer_gov = "", False
    if t.certificate is not None:
        issuer = t.certificate.issuer_name.strip()
        issuer_gov = t.certificate.issuer_kind == application_pb2.CERTIFICATE_ISSUER_GOVERNMENT
        if not issuer and t.certificate.issuer_kind == application_pb2.CERTIFICATE_ISSUER_END_USER:
            issuer = next((p.name for p in t.parties
                           if p.role == common_pb2.PARTY_ROLE_END_USER), "")
    routing: tuple[str, ...] = ()
    pay_country = payer = ""
    if t.facts is not None:
        routing = tuple(c.strip().upper() for c in t.facts.routing_countries if c.strip())
        pay_country, payer = t.facts.payment_country.strip(), t.facts.payer_name.strip()
        if t.facts.cash_payment:
            flags.add("CASH_PAYMENT")
        if t.facts.installation_declined:
            flags.add("DECLINES_INSTALLATION")
        if t.facts.remove_origin_marks:
            flags.add("REMOVE_ORIGIN_MARKS")
    end_use = t.end_use.statement.strip()
    if military and end_use:
        end_use += " (military end use)"
    elif military:
        end_use = "military end use"
    return Transaction(
        date=t.on or prc_today(), destination_country=t.destination.strip(),
        parties=parties, items=items_to_domain(list(t.items)), end_use=end_use,
        certificate_issuer=issuer, certificate_issuer_is_government=issuer_gov,
        routing_countries=routing, payment_country=pay_country, payer_name=payer,
        end_use_quantity=t.end_use_quantity, flags=frozenset(flags))


@dataclass
class TransactionScreening:
    """Party hits (as messages) and transaction findings."""

    party_hits: list[ev.PartyHit]
    result: TransactionResult
    raw_hits: dict[str, list[Hit]]
    lists_version: str = ""


async def screen_transaction_input(*, state: ScreeningState, cmd: ScreenTransaction,
                                   refusable: bool = True) -> TransactionScreening:
    """Screen every party against the lists (one matcher job per party), then the whole
    transaction. ``refusable``: an RPC may be refused when the matcher is busy; a consumed
    event may not (it waits its turn)."""
    run = state.matcher.run if refusable else state.matcher.run_always
    tx = build_transaction(cmd)
    raw: dict[str, list[Hit]] = {}
    out: list[ev.PartyHit] = []
    for p in cmd.parties:
        party = party_to_domain(p)
        if not party.name and not party.identifiers:
            continue
        hits = await run(state.index.screen, party)
        if not party.name:  # identifiers only (the exporter by its USCC): exact matches
            hits = [h for h in hits if h.matched_identifier]
        raw[p.party_id] = hits
        for h in hits:
            pbh = hit_to_pb(h, entry=state.index.get(h.entry_id), party=p)
            pbh.party_name = pbh.party_name or h.matched_identifier
            out.append(pbh)
    result = await run(screen_transaction, tx, raw, state.embargoes, state.measures,
                       state.control_items or None, texts=finding_texts())
    return TransactionScreening(out, result, raw, state.lists_version)


def with_exporter(parties: list[common_pb2.Party], exporter_uscc: str
                  ) -> list[common_pb2.Party]:
    """The parties, with the exporter carrying its USCC: the party in the exporter role gets
    the USCC as an identifier when it lacks it; without such a party, an exporter party with
    only the USCC is added (party id ``exporter``), so that list entries carrying that USCC
    are found by exact identifier."""
    uscc = exporter_uscc.strip()
    if not uscc:
        return parties
    key = normalise_identifier(uscc)
    out: list[common_pb2.Party] = []
    found = False
    for p in parties:
        if p.role == common_pb2.PARTY_ROLE_EXPORTER and not found:
            found = True
            if not any(normalise_identifier(i.value) == key for i in p.identifiers):
                q = common_pb2.Party()
                q.CopyFrom(p)
                q.identifiers.add(type="USCC", value=uscc)
                p = q
        out.append(p)
    if not found:
        out.append(common_pb2.Party(
            party_id=EXPORTER_PARTY_ID, role=common_pb2.PARTY_ROLE_EXPORTER,
            identifiers=[common_pb2.PartyIdentifier(type="USCC", value=uscc)]))
    return out


def _hash_of(state: ScreeningState, entry_id: str) -> str:
    entry = state.index.get(entry_id)
    return entry.content_hash if entry else ""


async def screen_application(*, uow: ScreeningUnitOfWork, state: ScreeningState,
                             cmd: ScreenApplication) -> ev.ScreeningCompleted:
    """Screen everything an application names (Flow 2), keep its parties for re-screening,
    store the result and publish ScreeningCompleted keyed by the application id. The exporter
    is screened too, by its USCC, whether or not it is among the parties (ECL Art. 18: a
    listed exporter may not export the controlled items)."""
    content = cmd.content
    parties = with_exporter(list(content.parties), cmd.exporter_uscc)
    ts = await screen_transaction_input(state=state, cmd=ScreenTransaction(
        parties=tuple(parties), destination=content.destination,
        items=tuple(content.items), end_use=content.end_use,
        certificate=content.end_user_certificate if content.HasField("end_user_certificate")
        else None,
        facts=content.transaction if content.HasField("transaction") else None, on=cmd.on),
        refusable=False)
    await uow.subjects.upsert(kinds_of.APPLICATION, cmd.application_id, cmd.exporter_uscc,
                              [party_to_dict(p) for p in parties])
    await uow.subjects.record_hits(kinds_of.APPLICATION, cmd.application_id, [
        (pid, h.entry_id, _hash_of(state, h.entry_id))
        for pid, hits in ts.raw_hits.items() for h in hits])
    return await _complete(uow=uow, state=state, subject_kind="APPLICATION",
                           subject_id=cmd.application_id, exporter_uscc=cmd.exporter_uscc,
                           party_hits=ts.party_hits,
                           findings=[finding_to_pb(f) for f in ts.result.findings],
                           trigger_event_id=cmd.trigger_event_id)


async def _complete(*, uow: ScreeningUnitOfWork, state: ScreeningState, subject_kind: str,
                    subject_id: str, exporter_uscc: str, party_hits: list[ev.PartyHit],
                    findings: list[ev.TransactionFinding], trigger_event_id: str
                    ) -> ev.ScreeningCompleted:
    msg = outgoing.screening_completed(
        screening_id=str(uuid.uuid4()), subject_kind=subject_kind, subject_id=subject_id,
        exporter_uscc=exporter_uscc, party_hits=party_hits, findings=findings,
        lists_version=state.lists_version, at=dt.datetime.now(dt.UTC))
    await uow.results.insert(screening_id=msg.screening_id, subject_kind=subject_kind,
                             subject_id=subject_id, exporter_uscc=exporter_uscc,
                             trigger_event_id=trigger_event_id,
                             lists_version=msg.lists_version, result=msg.SerializeToString())
    await uow.publish(outgoing.RESULT_TOPIC, subject_id, msg)
    log.info("screening.completed", subject_kind=subject_kind, subject_id=subject_id,
             hits=len(party_hits), findings=len(findings))
    return msg


async def screen_new_end_user(*, uow: ScreeningUnitOfWork, state: ScreeningState,
                              cmd: ScreenNewEndUser) -> ev.ScreeningCompleted:
    """ECL Art. 16: screen the new end user of a change report; a control-list hit is a
    RescreeningMatch on the licence (licensing suspends it)."""
    party = cmd.party
    dp = party_to_domain(party)
    hits = await state.matcher.run_always(state.index.screen, dp) if dp.name else []
    pbs = [hit_to_pb(h, entry=state.index.get(h.entry_id), party=party) for h in hits]
    msg = await _complete(uow=uow, state=state, subject_kind="CHANGE_REPORT",
                          subject_id=cmd.licence_id, exporter_uscc=cmd.exporter_uscc,
                          party_hits=pbs, findings=[], trigger_event_id=cmd.trigger_event_id)
    kept = await uow.subjects.get(kinds_of.LICENCE, cmd.licence_id)
    if kept is not None and not any(d["party_id"] == party.party_id for d in kept["parties"]):
        await uow.subjects.upsert(kinds_of.LICENCE, cmd.licence_id, kept["exporter_uscc"],
                                  [*kept["parties"], party_to_dict(party)])
    for h, pb in zip(hits, pbs, strict=True):
        if h.list_kind is not ListKind.CONTROL_LIST:
            continue
        if not await uow.subjects.claim_hit(kinds_of.LICENCE, cmd.licence_id, party.party_id,
                                            h.entry_id, _hash_of(state, h.entry_id)):
            continue
        await uow.publish(outgoing.RESULT_TOPIC, cmd.licence_id, outgoing.rescreening_match(
            subject_kind="LICENCE", subject_id=cmd.licence_id, exporter_uscc=cmd.exporter_uscc,
            hit=pb, trigger_event_id=cmd.trigger_event_id, at=dt.datetime.now(dt.UTC)))
        log.info("rescreening.matched", subject_kind="LICENCE", subject_id=cmd.licence_id,
                 entry_id=h.entry_id, cause="change_report")
    return msg
