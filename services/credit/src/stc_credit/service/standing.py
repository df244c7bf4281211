"""Standing use cases: the enterprise's credit standing, recomputed and announced.

`refresh_standing` recomputes the standing from the records and measures in this database
(authoritative) and, only when it differs from the last one published, stores it and writes
`CreditStandingChanged` to the outbox in the same transaction. So a standing change is never
lost (it commits with the record) and never duplicated (compared with the stored one). The
standing feeds Art. 13(7) (the exporter's credit record) in licensing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from stc_common.kafka.topics import CREDIT_STANDING
from stc_common.logging import get_logger

from stc_credit.domain.standing import CreditStanding, StandingLevel, compute_standing
from stc_credit.events import outgoing
from stc_credit.storage.uow import CreditUnitOfWork

log = get_logger("stc_credit.service.standing")


async def current_standing(uow: CreditUnitOfWork, uscc: str, today: dt.date
                           ) -> CreditStanding:
    """The standing of `uscc` computed from the stored records and measures."""
    records = [s.record for s in await uow.records.of_enterprise(uscc)]
    measures = await uow.measures.of_enterprise(uscc)
    return compute_standing(uscc, records, measures, today)


def changed(old: CreditStanding | None, new: CreditStanding) -> bool:
    """True when `new` differs from the standing last published (none: from GOOD)."""
    if old is None:
        return new.level is not StandingLevel.GOOD
    return (old.level, old.ban_until, old.record_ids, old.measure_ids) != (
        new.level,
        new.ban_until,
        new.record_ids,
        new.measure_ids,
    )


async def refresh_standing(*, uow: CreditUnitOfWork, uscc: str, today: dt.date
                           ) -> CreditStanding:
    """Recompute the standing; publish CreditStandingChanged when it changed.

    A transaction-scoped lock per USCC serialises recomputations of one enterprise: a
    second transaction waits until the first commits, and its next statements then see the
    first one's records (READ COMMITTED), so the stored standing never goes backwards.
    """
    await uow.standings.lock(uscc)
    previous = await uow.standings.last(uscc)
    standing = await current_standing(uow, uscc, today)
    if changed(previous, standing):
        await uow.standings.save(standing)
        await uow.publish(CREDIT_STANDING.name, uscc, outgoing.standing_changed(standing))
        log.info(
            "credit_standing.changed", uscc=uscc, level=str(standing.level),
            ban_until=standing.ban_until.isoformat() if standing.ban_until else None,
        )  # fmt: skip
    return standing


UowFactory = Callable[[], AbstractAsyncContextManager[CreditUnitOfWork]]


async def refresh_all_standings(*, new_uow: UowFactory, today: dt.date) -> int:
    """Recompute every enterprise's standing (bans and measures run out with time).

    One transaction per enterprise, so the sweep never holds many locks at once. Returns
    how many standings changed.
    """
    async with new_uow() as uow:
        usccs = await uow.records.known_usccs()
    count = 0
    for uscc in usccs:
        async with new_uow() as uow:
            await refresh_standing(uow=uow, uscc=uscc, today=today)
            count += bool(uow.published)
    return count
