"""Handlers of the events screening consumes (each inside the consumer's inbox transaction,
so a redelivered event is a no-op):

- stc.licensing.v1.ApplicationSubmitted / ApplicationAmended -> screen everything, publish
  ScreeningCompleted, keep the parties for re-screening (Flow 2);
- ApplicationDecided / ApplicationWithdrawn -> stop re-screening the application;
- LicenceIssued -> keep the licence's parties; LicenceRevoked / Expired / Used (exhausted)
  -> drop them;
- stc.enduser.v1.ChangeReported (screen_new_end_user) -> screen the new end user (Art. 16);
- stc.enduser.v1.EndUseCheckCompleted (NOT_COOPERATING) -> watch list (Reg. 26).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp
from stc.enduser.v1 import events_pb2 as eu
from stc.licensing.v1 import events_pb2 as lic
from stc_common.consumer import Subscription
from stc_common.db.uow import UnitOfWork
from stc_common.envelope import Envelope
from stc_common.logging import get_logger
from stc_common.prc_time import prc_date

from stc_screening.events.consumer import pending_change
from stc_screening.service import commands, lists, screening, subjects
from stc_screening.service.state import ScreeningState
from stc_screening.storage.subjects import APPLICATION, LICENCE
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.events")


def _day(ts: Timestamp, env: Envelope) -> dt.date:
    at = ts.ToDatetime(tzinfo=dt.UTC) if ts.seconds else env.time
    return prc_date(at or dt.datetime.now(dt.UTC))


def _typed(uow: UnitOfWork) -> ScreeningUnitOfWork:
    """The screening unit of work over the consumer's; index changes a handler makes are
    applied once the inbox transaction committed. (A unit of work that has the screening
    repositories already, such as the in-memory fake, is used as it is.)"""
    if hasattr(uow, "lists"):
        return cast(ScreeningUnitOfWork, uow)
    return ScreeningUnitOfWork.around(uow, pending_change())


def subscriptions(state: ScreeningState) -> list[Subscription]:
    """The subscriptions of the licensing and end-user consumers, bound to the index."""

    async def screen(uow: UnitOfWork, env: Envelope,
                     msg: lic.ApplicationSubmitted | lic.ApplicationAmended,
                     at: Timestamp) -> None:
        await screening.screen_application(uow=_typed(uow), state=state,
                                           cmd=commands.ScreenApplication(
            application_id=msg.application_id,
            exporter_uscc=msg.exporter_uscc or msg.content.exporter_uscc, content=msg.content,
            trigger_event_id=env.id, on=_day(at, env)))

    async def on_application_submitted(uow: UnitOfWork, env: Envelope,
                                       msg: lic.ApplicationSubmitted) -> None:
        await screen(uow, env, msg, msg.submitted_at)

    async def on_application_amended(uow: UnitOfWork, env: Envelope,
                                     msg: lic.ApplicationAmended) -> None:
        await screen(uow, env, msg, msg.amended_at)

    async def on_application_decided(uow: UnitOfWork, env: Envelope,
                                      msg: lic.ApplicationDecided) -> None:
        # denied: nothing left to watch; approved: the application stays a subject until
        # LicenceIssued swaps it for the licence in one transaction (keep_licence), so a list
        # change between the two events (consumed from different topics, maybe by different
        # replicas) still matches one of them and the licence is suspended (Art. 18)
        if msg.licence_id:
            return
        await subjects.drop_subject(uow=_typed(uow), cmd=commands.DropSubject(
            APPLICATION, msg.application_id))

    async def on_application_withdrawn(uow: UnitOfWork, env: Envelope,
                                       msg: lic.ApplicationWithdrawn) -> None:
        await subjects.drop_subject(uow=_typed(uow), cmd=commands.DropSubject(
            APPLICATION, msg.application_id))

    async def on_licence_issued(uow: UnitOfWork, env: Envelope, msg: lic.LicenceIssued) -> None:
        await subjects.keep_licence(uow=_typed(uow), cmd=commands.KeepLicence(
            licence_id=msg.licence_id, application_id=msg.application_id,
            exporter_uscc=msg.exporter_uscc, parties=tuple(msg.parties)))

    async def on_licence_ended(uow: UnitOfWork, env: Envelope,
                               msg: lic.LicenceRevoked | lic.LicenceExpired) -> None:
        await subjects.drop_subject(uow=_typed(uow), cmd=commands.DropSubject(
            LICENCE, msg.licence_id))

    async def on_licence_used(uow: UnitOfWork, env: Envelope, msg: lic.LicenceUsed) -> None:
        if msg.exhausted:
            await subjects.drop_subject(uow=_typed(uow), cmd=commands.DropSubject(
                LICENCE, msg.licence_id))

    async def on_change_reported(uow: UnitOfWork, env: Envelope, msg: eu.ChangeReported) -> None:
        if not msg.screen_new_end_user or not msg.new_end_user.name.strip():
            return
        party = eu_party = msg.new_end_user
        if not party.party_id:
            eu_party = type(party)()
            eu_party.CopyFrom(party)
            eu_party.party_id = f"change:{msg.report_id}"
        await screening.screen_new_end_user(uow=_typed(uow), state=state,
                                            cmd=commands.ScreenNewEndUser(
            licence_id=msg.licence_id, exporter_uscc=msg.exporter_uscc, party=eu_party,
            trigger_event_id=env.id))

    async def on_end_use_check_completed(uow: UnitOfWork, env: Envelope,
                                         msg: eu.EndUseCheckCompleted) -> None:
        if not (msg.add_to_watch_list or msg.outcome == eu.CHECK_OUTCOME_NOT_COOPERATING):
            return
        if not msg.party.name.strip():
            log.warning("watch_list.no_party", check_id=msg.check_id)
            return
        # the index follows only after the inbox transaction committed (ScreeningConsumer)
        await lists.watch_list_non_cooperating(
            uow=_typed(uow), state=state, cmd=commands.WatchListNonCooperating(
                check_id=msg.check_id, party=msg.party, officer=msg.officer))

    return [
        Subscription(lic.ApplicationSubmitted, on_application_submitted),
        Subscription(lic.ApplicationAmended, on_application_amended),
        Subscription(lic.ApplicationDecided, on_application_decided),
        Subscription(lic.ApplicationWithdrawn, on_application_withdrawn),
        Subscription(lic.LicenceIssued, on_licence_issued),
        Subscription(lic.LicenceRevoked, on_licence_ended),
        Subscription(lic.LicenceExpired, on_licence_ended),
        Subscription(lic.LicenceUsed, on_licence_used),
        Subscription(eu.ChangeReported, on_change_reported),
        Subscription(eu.EndUseCheckCompleted, on_end_use_check_completed),
    ]
