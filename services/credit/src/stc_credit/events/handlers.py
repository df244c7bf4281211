"""Consumed events: end-use checks open cases awaiting an officer (never records).

`on_end_use_check_completed` runs inside the inbox transaction of `stc_common.consumer`,
so a redelivered event is a no-op and the CaseOpened events commit with the cases. The
standing agent (stc_credit.agents, a Faust app) consumes the credit service's own record
events.
"""

from __future__ import annotations

import datetime as dt

from stc.enduser.v1 import events_pb2 as enduser_events
from stc_common.consumer import Subscription
from stc_common.db.uow import UnitOfWork
from stc_common.envelope import Envelope
from stc_common.prc_time import prc_date

from stc_credit.service import cases
from stc_credit.service.commands import OpenCasesFromCheckCmd
from stc_credit.storage.uow import CreditUnitOfWork


def check_command(env: Envelope, msg: enduser_events.EndUseCheckCompleted
                  ) -> OpenCasesFromCheckCmd | None:
    """The command of an EndUseCheckCompleted that found something; None otherwise."""
    diverted = msg.outcome == enduser_events.CHECK_OUTCOME_DIVERTED
    if not (diverted or msg.failure_to_report) or not msg.exporter_uscc:
        return None
    when = msg.recorded_at.ToDatetime(dt.UTC) if msg.HasField("recorded_at") else env.time
    return OpenCasesFromCheckCmd(
        event_id=env.id, uscc=msg.exporter_uscc, licence_id=msg.licence_id or None,
        diverted=diverted, failure_to_report=msg.failure_to_report,
        details=msg.details or f"end-use check {msg.check_id}", day=prc_date(when),
        authority=msg.authority or None,
    )  # fmt: skip


async def on_end_use_check_completed(
    uow: UnitOfWork, env: Envelope, msg: enduser_events.EndUseCheckCompleted
) -> None:
    """DIVERTED -> a diversion case (Art. 17); failure_to_report -> a case (Art. 16, Reg. 25)."""
    cmd = check_command(env, msg)
    if cmd is not None:
        await cases.open_cases_from_check(uow=CreditUnitOfWork(uow), cmd=cmd)


SUBSCRIPTIONS = [Subscription(enduser_events.EndUseCheckCompleted, on_end_use_check_completed)]
