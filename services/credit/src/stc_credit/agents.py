"""The standing agent: CreditRecordCreated / CreditRecordRepaired -> standing recomputed.

For each record event, in one PostgreSQL transaction, the agent recomputes the
enterprise's standing from the stored records (authoritative) with
`service.standing.refresh_standing`: that writes CreditStandingChanged to the outbox only
when the standing differs from the last one published (the `standings` row, locked in the
same transaction). The use case that created the record has normally published the change
already, so the agent finds nothing new; it catches what changed since (a record becoming
effective) without ever publishing twice.

The agent keeps no table: PostgreSQL holds the standing (a Faust table beside it was a
second copy nobody read). Its only state is `StandingAgent`: a count and the last few
record ids it handled (bounded), which health checks and tests read.

Concurrency 1 (faust issue #606: with more, an in-flight event can be committed past).
Events are at-least-once: redelivery repeats an idempotent recomputation.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import faust
from stc.credit.v1 import events_pb2
from stc_common.logging import get_logger

from stc_credit.service.standing import refresh_standing
from stc_credit.storage.uow import CreditUnitOfWork

log = get_logger("stc_credit.agents")

RECOMPUTE_ON: dict[str, type[events_pb2.CreditRecordCreated | events_pb2.CreditRecordRepaired]] = {
    events_pb2.CreditRecordCreated.DESCRIPTOR.full_name: events_pb2.CreditRecordCreated,
    events_pb2.CreditRecordRepaired.DESCRIPTOR.full_name: events_pb2.CreditRecordRepaired,
}

#: How many recently handled record ids the agent remembers.
RECENT = 256


@dataclass
class StandingAgent:
    """What the running agent has done: a count and the last RECENT record ids."""

    handled: int = 0
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))

    def note(self, record_id: str) -> None:
        """Count one handled record event."""
        self.handled += 1
        self.recent.append(record_id)


def _header(headers: object, name: str) -> str | None:
    items: Iterable[tuple[str, object]] = (
        headers.items() if isinstance(headers, dict) else (headers or ())  # type: ignore[assignment]
    )
    for key, value in items:
        if key == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


async def handle(
    ce_type: str | None, value: bytes, new_uow: Callable[[], AbstractAsyncContextManager[
        CreditUnitOfWork]], today: dt.date, state: StandingAgent,
) -> None:
    """Recompute the standing of the enterprise a record event names (others are skipped)."""
    message_cls = RECOMPUTE_ON.get(ce_type or "")
    if message_cls is None:
        return
    msg = message_cls.FromString(value)
    async with new_uow() as uow:
        s = await refresh_standing(uow=uow, uscc=msg.uscc, today=today)
    state.note(msg.record_id)
    log.info("credit_standing.recomputed", uscc=msg.uscc, level=str(s.level),
             record_id=msg.record_id)


def register(
    app: faust.App,
    topic: faust.TopicT,
    new_uow: Callable[[], AbstractAsyncContextManager[CreditUnitOfWork]],
    today: Callable[[], dt.date],
) -> StandingAgent:
    """Attach the standing agent to `app`."""
    state = StandingAgent()

    @app.agent(topic, concurrency=1, name="credit-standing")
    async def standing(stream: faust.StreamT) -> None:
        async for event in stream.events():
            ce_type = _header(event.headers, "ce_type")
            try:
                await handle(ce_type, event.value, new_uow, today(), state)
            except Exception:  # the daily recomputation of every standing catches up
                log.exception("credit_standing.recompute_failed", ce_type=ce_type)

    return state
