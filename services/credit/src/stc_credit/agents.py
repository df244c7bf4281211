"""The standing agent: CreditRecordCreated / CreditRecordRepaired -> standing recomputed.

For each record event, in one PostgreSQL transaction, the agent recomputes the
enterprise's standing from the stored records (authoritative) with `refresh_standing`:
that writes CreditStandingChanged to the outbox only when the standing differs from the
last one published (the `standings` row, locked in the same transaction). The use case that
created the record has normally published the change already, so the agent finds nothing
new; it catches what changed since (a record becoming effective) without ever publishing
twice. The derived standing goes into the Faust table `standings`.

Concurrency 1 (faust issue #606: with more, an in-flight event can be committed past).
Events are at-least-once: redelivery repeats an idempotent recomputation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import faust
from stc.credit.v1 import events_pb2
from stc_common.db.uow import unit_of_work
from stc_common.logging import get_logger

from stc_credit import service
from stc_credit.domain.standing import CreditStanding
from stc_credit.tables import StandingRow

log = get_logger("stc_credit.agents")

RECOMPUTE_ON = {
    events_pb2.CreditRecordCreated.DESCRIPTOR.full_name: events_pb2.CreditRecordCreated,
    events_pb2.CreditRecordRepaired.DESCRIPTOR.full_name: events_pb2.CreditRecordRepaired,
}


@dataclass
class StandingAgent:
    """Handles to the running agent (tests read `table` and `handled`)."""

    table: faust.Table
    handled: list[str] = field(default_factory=list)


def row_of(s: CreditStanding) -> StandingRow:
    """The Faust table row of a standing."""
    return StandingRow(
        uscc=s.uscc, level=str(s.level), active_records=s.active_records,
        ban_until=s.ban_until.isoformat() if s.ban_until else None,
        record_ids=list(s.record_ids), as_of=s.as_of.isoformat(),
    )  # fmt: skip


async def recompute(pool: asyncpg.Pool, uscc: str, today: dt.date) -> CreditStanding:
    """Recompute one standing from PostgreSQL; CreditStandingChanged via the outbox if new."""
    async with unit_of_work(pool, "credit") as uow:
        return await service.refresh_standing(uow=uow, uscc=uscc, today=today)


def _header(headers: object, name: str) -> str | None:
    items = headers.items() if isinstance(headers, dict) else (headers or ())
    for key, value in items:  # type: ignore[union-attr]
        if key == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def register(
    app: faust.App,
    topic: faust.TopicT,
    table: faust.Table,
    pool: asyncpg.Pool,
    today: Callable[[], dt.date],
) -> StandingAgent:
    """Attach the standing agent to `app`."""
    handle = StandingAgent(table)

    @app.agent(topic, concurrency=1, name="credit-standing")
    async def standing(stream: faust.StreamT) -> None:
        async for event in stream.events():
            ce_type = _header(event.headers, "ce_type")
            message_cls = RECOMPUTE_ON.get(ce_type or "")
            if message_cls is None:
                continue
            try:
                msg = message_cls.FromString(event.value)
                s = await recompute(pool, msg.uscc, today())
            except Exception:  # the daily recomputation of every standing catches up
                log.exception("credit_standing.recompute_failed", ce_type=ce_type)
                continue
            table[msg.uscc] = row_of(s)
            handle.handled.append(msg.record_id)
            log.info(
                "credit_standing.recomputed",
                uscc=msg.uscc,
                level=str(s.level),
                record_id=msg.record_id,
            )

    return handle
