"""Country measures (ECL Art. 8; weighed under Art. 13(5)): officers enter the dated
measures the authority announced and suspend them; screening applies each on the dates it
is in force. The in-memory state follows after the commit (``ScreeningState.put_measure``)."""

from __future__ import annotations

import dataclasses
import uuid

from stc_common.errors import AlreadyExists, FailedPrecondition, NotFound
from stc_common.idempotency import fingerprint, replay_or_refuse
from stc_common.logging import get_logger

from stc_screening.domain.policy import MeasureRecord, suspension_starts_in_force
from stc_screening.events import outgoing
from stc_screening.service.commands import (
    AddCountryMeasure,
    ListCountryMeasures,
    SuspendCountryMeasure,
)
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.service")


async def add_country_measure(*, uow: ScreeningUnitOfWork, cmd: AddCountryMeasure
                              ) -> MeasureRecord:
    """Store a dated country measure and publish CountryMeasureAdded (the measure applies
    from its effective date). A repeated request id replays the stored measure; with a
    different request it is refused (REQUEST_ID_REUSED)."""
    fp = fingerprint(cmd)
    if cmd.request_id:
        earlier = await uow.measures.by_request(cmd.request_id)
        if earlier is not None:
            replay_or_refuse(earlier.request_fingerprint, fp, what="country measure",
                             existing_id=earlier.measure_id)
            return earlier
    measure = cmd.measure
    if not measure.measure_id:
        measure = dataclasses.replace(measure, measure_id=f"measure-{uuid.uuid4()}")
    stored = await uow.measures.insert(measure, officer=cmd.officer, request_id=cmd.request_id,
                                       fingerprint=fp if cmd.request_id else None)
    if stored is None:
        raise AlreadyExists(f"country measure {measure.measure_id} exists",
                            reason="MEASURE_EXISTS")
    await uow.publish(outgoing.LIST_TOPIC, stored.measure_id,
                      outgoing.country_measure_added(stored, reason=cmd.reason))
    log.info("country_measure.added", measure_id=stored.measure_id,
             country=measure.country, effective_from=str(measure.effective_from))
    return stored


async def suspend_country_measure(*, uow: ScreeningUnitOfWork, cmd: SuspendCountryMeasure
                                  ) -> MeasureRecord:
    """Suspend a measure for a window (or until further notice): CountryMeasureChanged."""
    current = await uow.measures.get(cmd.measure_id, for_update=True)
    if current is None:
        raise NotFound(f"country measure {cmd.measure_id} not found",
                       reason="MEASURE_NOT_FOUND")
    if not suspension_starts_in_force(current.measure, cmd.suspended_from):
        raise FailedPrecondition("a suspension starts on or after the effective date",
                                 reason="SUSPENSION_BEFORE_EFFECTIVE")
    stored = await uow.measures.suspend(cmd.measure_id, suspended_from=cmd.suspended_from,
                                        suspended_until=cmd.suspended_until,
                                        officer=cmd.officer)
    await uow.publish(outgoing.LIST_TOPIC, cmd.measure_id, outgoing.country_measure_changed(
        stored, reason=cmd.reason, change="SUSPENDED"))
    log.info("country_measure.suspended", measure_id=cmd.measure_id,
             suspended_from=str(cmd.suspended_from),
             suspended_until=str(cmd.suspended_until or ""))
    return stored


async def list_country_measures(*, uow: ScreeningUnitOfWork, cmd: ListCountryMeasures
                                ) -> list[MeasureRecord]:
    """The stored measures (of one destination; in force on a date)."""
    records = await uow.measures.list_all(cmd.country)
    if cmd.on is not None:
        on = cmd.on
        records = [r for r in records if r.measure.in_force_on(on)]
    return records
