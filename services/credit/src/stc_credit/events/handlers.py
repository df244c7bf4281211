"""Consumed events: end-use checks open cases awaiting an officer (never records).

`on_end_use_check_completed` runs inside the inbox transaction of `stc_common.consumer`,
so a redelivered event is a no-op and the CaseOpened events commit with the cases.
"""

from __future__ import annotations

import datetime as dt

from stc.enduser.v1 import events_pb2 as enduser_events
from stc_common.consumer import Subscription
from stc_common.db.uow import UnitOfWork
from stc_common.envelope import Envelope

from stc_credit import service
from stc_credit.config import BEIJING


async def on_end_use_check_completed(
    uow: UnitOfWork, env: Envelope, msg: enduser_events.EndUseCheckCompleted
) -> None:
    """DIVERTED -> a diversion case (Art. 17); failure_to_report -> a case (Art. 16, Reg. 25)."""
    diverted = msg.outcome == enduser_events.CHECK_OUTCOME_DIVERTED
    if not (diverted or msg.failure_to_report) or not msg.exporter_uscc:
        return
    when = msg.recorded_at.ToDatetime(dt.UTC) if msg.HasField("recorded_at") else env.time
    await service.open_cases_from_check(
        uow=uow, event_id=env.id, uscc=msg.exporter_uscc, licence_id=msg.licence_id or None,
        diverted=diverted, failure_to_report=msg.failure_to_report,
        details=msg.details or f"end-use check {msg.check_id}",
        day=when.astimezone(BEIJING).date(), authority=msg.authority or None,
    )  # fmt: skip


SUBSCRIPTIONS = [Subscription(enduser_events.EndUseCheckCompleted, on_end_use_check_completed)]


async def on_record_changed(uow: UnitOfWork, env: Envelope, msg) -> None:  # type: ignore[no-untyped-def]
    """Fallback of the Faust standing agent: recompute the standing in the inbox transaction."""
    from stc_credit.config import today

    await service.refresh_standing(uow=uow, uscc=msg.uscc, today=today())


def standing_subscriptions() -> list[Subscription]:
    """The standing agent's logic as stc_common subscriptions (when Faust is switched off)."""
    from stc.credit.v1 import events_pb2

    return [
        Subscription(events_pb2.CreditRecordCreated, on_record_changed),
        Subscription(events_pb2.CreditRecordRepaired, on_record_changed),
    ]
