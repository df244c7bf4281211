"""Event handlers: one `on_<event>(uow, env, msg)` per consumed type, run inside the inbox
transaction, and the subscription list.

- stc.screening.v1.ScreeningCompleted (APPLICATION subjects) -> assessment (Art. 13)
- stc.screening.v1.RescreeningMatch -> suspend a licence / flag a pending application
- stc.credit.v1.CreditStandingChanged -> credit_standing projection (factor 7, Art. 39 ban)
- stc.enduser.v1.ChangeReported -> licence on hold (Art. 16, Reg. 25)
- stc.enduser.v1.ChangeResolved -> release the hold and apply the resolution
- stc.enduser.v1.EndUseCheckCompleted -> suspend the licence when the goods were diverted
"""

from __future__ import annotations

from stc.credit.v1 import events_pb2 as credit
from stc.enduser.v1 import events_pb2 as enduser
from stc.screening.v1 import events_pb2 as screening
from stc_common.consumer import RejectEvent, Subscription
from stc_common.db.uow import UnitOfWork
from stc_common.envelope import Envelope
from stc_common.kafka.topics import CREDIT_STANDING

from stc_licensing import service as svc
from stc_licensing.storage.sql import SqlUnitOfWork

# the ce_source the credit service publishes with ("credit"; "stc-credit" should it be renamed)
CREDIT_SOURCES = ("credit", "stc-credit")


async def on_screening_completed(uow: UnitOfWork, env: Envelope,
                                 msg: screening.ScreeningCompleted) -> None:
    """Assess a screened application."""
    if msg.subject_kind != screening.SUBJECT_KIND_APPLICATION:
        return
    await svc.assess_application(uow=SqlUnitOfWork.over(uow), msg=msg)


async def on_rescreening_match(uow: UnitOfWork, env: Envelope,
                               msg: screening.RescreeningMatch) -> None:
    """Suspend a licence or flag an application after a list change."""
    await svc.on_rescreening_match(uow=SqlUnitOfWork.over(uow), msg=msg)


async def on_credit_standing_changed(uow: UnitOfWork, env: Envelope,
                                     msg: credit.CreditStandingChanged) -> None:
    """Update the local credit-standing projection.

    Fail closed (Art. 39): a standing without `as_of` could overwrite a newer one, and a level
    this service does not know must never count as GOOD, so both go to the DLQ unhandled."""
    if not msg.HasField("as_of"):
        raise RejectEvent("CreditStandingChanged without as_of")
    if msg.level not in svc.KNOWN_CREDIT_LEVELS:
        raise RejectEvent(f"CreditStandingChanged with unknown level {msg.level}")
    await svc.on_credit_standing(uow=SqlUnitOfWork.over(uow), msg=msg)


async def on_change_reported(uow: UnitOfWork, env: Envelope, msg: enduser.ChangeReported) -> None:
    """Hold the licence while the report is open."""
    await svc.on_change_reported(uow=SqlUnitOfWork.over(uow), msg=msg)


async def on_change_resolved(uow: UnitOfWork, env: Envelope, msg: enduser.ChangeResolved) -> None:
    """Release the hold and apply the officer's resolution."""
    await svc.on_change_resolved(uow=SqlUnitOfWork.over(uow), msg=msg)


async def on_end_use_check_completed(uow: UnitOfWork, env: Envelope,
                                     msg: enduser.EndUseCheckCompleted) -> None:
    """Suspend a licence whose goods an end-use check found diverted (Art. 17)."""
    await svc.on_end_use_check_completed(uow=SqlUnitOfWork.over(uow), msg=msg)


SUBSCRIPTIONS = [
    Subscription(screening.ScreeningCompleted, on_screening_completed),
    Subscription(screening.RescreeningMatch, on_rescreening_match),
    # only from the credit service, on its standing topic (issue 10 item 5)
    Subscription(credit.CreditStandingChanged, on_credit_standing_changed,
                 topics=(CREDIT_STANDING.name,), sources=CREDIT_SOURCES),
    Subscription(enduser.ChangeReported, on_change_reported),
    Subscription(enduser.ChangeResolved, on_change_resolved),
    Subscription(enduser.EndUseCheckCompleted, on_end_use_check_completed),
]
