"""Event handlers: per consumed type, the event becomes a command (`<x>_command(msg)`, pure)
and runs the same use cases the API runs (service/), inside the inbox transaction over the
licensing unit of work of that transaction. And the subscription list.

- stc.screening.v1.ScreeningCompleted (APPLICATION subjects) -> assessment (Art. 13)
- stc.screening.v1.RescreeningMatch -> suspend a licence / flag a pending application
- stc.credit.v1.CreditStandingChanged -> credit_standing projection (factor 7, Art. 39 bans
  of the enterprise and of its responsible persons)
- stc.enduser.v1.ChangeReported -> licence on hold (Art. 16, Reg. 25)
- stc.enduser.v1.ChangeResolved -> release the hold and apply the resolution
- stc.enduser.v1.EndUseCheckCompleted -> suspend the licence when the goods were diverted
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from google.protobuf.message import Message
from stc.credit.v1 import events_pb2 as credit
from stc.enduser.v1 import events_pb2 as enduser
from stc.screening.v1 import events_pb2 as screening
from stc_common.consumer import RejectEvent, Subscription
from stc_common.db.uow import UnitOfWork
from stc_common.envelope import Envelope
from stc_common.kafka.topics import CREDIT_STANDING
from stc_common.logging import get_logger
from stc_common.naming import legacy_sources
from stc_common.uscc import UsccError, validate_uscc

from stc_licensing import service, wire
from stc_licensing.domain.inputs import CreditLevel, CreditStanding
from stc_licensing.domain.personal_bans import PersonBan
from stc_licensing.service import commands
from stc_licensing.service.commands import Resolution
from stc_licensing.storage.sql import SqlUnitOfWork

log = get_logger("stc_licensing.events")
# the ce_source the credit service publishes with ("credit"; "stc-credit" should it be renamed)
CREDIT_SOURCES = legacy_sources("credit")
CREDIT_LEVELS = {credit.STANDING_LEVEL_GOOD: CreditLevel.GOOD,
                 credit.STANDING_LEVEL_WARNED: CreditLevel.WARNED,
                 credit.STANDING_LEVEL_PENALISED: CreditLevel.PENALISED,
                 credit.STANDING_LEVEL_BANNED: CreditLevel.BANNED}
RESOLUTIONS = {enduser.RESOLUTION_KIND_NO_ACTION: Resolution.NO_ACTION,
               enduser.RESOLUTION_KIND_ACCEPT_AMENDMENT: Resolution.ACCEPT_AMENDMENT,
               enduser.RESOLUTION_KIND_SUSPEND_LICENCE: Resolution.SUSPEND_LICENCE,
               enduser.RESOLUTION_KIND_REVOKE_LICENCE: Resolution.REVOKE_LICENCE,
               enduser.RESOLUTION_KIND_REQUIRE_REAPPLICATION: Resolution.REQUIRE_REAPPLICATION}
SUBJECT_KINDS = {screening.SUBJECT_KIND_LICENCE: "LICENCE",
                 screening.SUBJECT_KIND_APPLICATION: "APPLICATION"}


# --------------------------------------------------------------------------- event -> command


def assess_command(msg: screening.ScreeningCompleted) -> commands.AssessApplication | None:
    """ScreeningCompleted for an application -> AssessApplication (None: not an application)."""
    if msg.subject_kind != screening.SUBJECT_KIND_APPLICATION:
        return None
    return commands.AssessApplication(msg.subject_id, msg.screening_id,
                                      partial(wire.screening_outcome, msg))


def rescreening_command(msg: screening.RescreeningMatch) -> commands.HandleRescreeningMatch:
    """RescreeningMatch -> HandleRescreeningMatch, the match described for people."""
    hit = msg.hit
    what = (f"re-screening match: {hit.party_name or hit.party_id} ~ {hit.entry_name} "
            f"({screening.ListKind.Name(hit.list_kind)} {hit.entry_id})")
    return commands.HandleRescreeningMatch(SUBJECT_KINDS.get(msg.subject_kind, ""),
                                           msg.subject_id, hit.entry_id, what)


def credit_standing_command(msg: credit.CreditStandingChanged
                            ) -> commands.RecordCreditStanding | None:
    """CreditStandingChanged -> RecordCreditStanding (None for a malformed USCC, logged).

    Fail closed (Art. 39): a standing without `as_of` could overwrite a newer one, and a level
    this service does not know must never count as GOOD, so both are rejected (RejectEvent:
    to the DLQ unhandled)."""
    if not msg.HasField("as_of"):
        raise RejectEvent("CreditStandingChanged without as_of")
    if msg.level not in CREDIT_LEVELS:
        raise RejectEvent(f"CreditStandingChanged with unknown level {msg.level}")
    try:
        uscc = validate_uscc(msg.uscc)
    except UsccError:
        log.warning("credit.standing_bad_uscc", uscc=msg.uscc)
        return None
    standing = CreditStanding(uscc=uscc, level=CREDIT_LEVELS[msg.level],
                              active_record_count=msg.active_records,
                              ban_until=wire.date_from_pb(msg.ban_until)
                              if msg.HasField("ban_until") else None,
                              record_refs=tuple(msg.record_ids),
                              person_bans=tuple(
                                  PersonBan(b.id_number_sha256.strip().lower(),
                                            wire.date_from_pb(b.ban_until)
                                            if b.HasField("ban_until") else None)
                                  for b in msg.person_bans))
    return commands.RecordCreditStanding(standing, wire.date_from_pb(msg.as_of))


def hold_command(msg: enduser.ChangeReported) -> commands.HoldLicence | None:
    """ChangeReported asking for a hold -> HoldLicence."""
    if not msg.hold_licence:
        return None
    return commands.HoldLicence(msg.licence_id, msg.report_id)


def resolution_command(msg: enduser.ChangeResolved) -> commands.ApplyChangeResolution:
    """ChangeResolved -> ApplyChangeResolution."""
    return commands.ApplyChangeResolution(msg.licence_id, msg.report_id,
                                          RESOLUTIONS.get(msg.resolution, ""),
                                          tuple(msg.reasons), tuple(msg.elements))


def end_use_check_command(msg: enduser.EndUseCheckCompleted
                          ) -> commands.SuspendAfterEndUseCheck | None:
    """EndUseCheckCompleted asking for a suspension -> SuspendAfterEndUseCheck."""
    if not msg.suspend_licence:
        return None
    return commands.SuspendAfterEndUseCheck(msg.licence_id, msg.check_id, msg.details)


# --------------------------------------------------------------------------- handlers

Handler = Callable[[UnitOfWork, Envelope, Message], Awaitable[None]]


def handler(to_command: Callable[[Any], Any], use_case: Callable[..., Awaitable[Any]]
            ) -> Handler:
    """The consumer's handler of one event type: the event's command (None: nothing to do)
    run by `use_case` over the licensing unit of work of the inbox transaction."""

    async def handle(uow: UnitOfWork, env: Envelope, msg: Message) -> None:
        cmd = to_command(msg)
        if cmd is not None:
            await use_case(uow=SqlUnitOfWork.over(uow), cmd=cmd)

    handle.__name__ = handle.__qualname__ = f"on_{use_case.__name__}"
    return handle


SUBSCRIPTIONS = [
    Subscription(screening.ScreeningCompleted,
                 handler(assess_command, service.assess_application)),
    Subscription(screening.RescreeningMatch,
                 handler(rescreening_command, service.handle_rescreening_match)),
    # only from the credit service, on its standing topic (issue 10 item 5)
    Subscription(credit.CreditStandingChanged,
                 handler(credit_standing_command, service.record_credit_standing),
                 topics=(CREDIT_STANDING.name,), sources=CREDIT_SOURCES),
    Subscription(enduser.ChangeReported, handler(hold_command, service.hold_licence)),
    Subscription(enduser.ChangeResolved,
                 handler(resolution_command, service.apply_change_resolution)),
    Subscription(enduser.EndUseCheckCompleted,
                 handler(end_use_check_command, service.suspend_after_end_use_check)),
]
