"""The temporary controls register (ECL Art. 9(2); issue 11 item 5) as use cases.

MOFCOM registers a measure (its announcement, items, start and end, at most two years), and
before it ends decides to cancel it, extend it within the two-year limit, or put its items on
the control list; each change is a `TemporaryControlChanged` event. A periodic job (main.py,
once across the replicas, `stc_common.periodic`) calls `alert_expiring` and `expire` per
measure: `TemporaryControlExpiring` once when a measure enters its alert window, and expiry
once its end has passed.

Two hooks in the licensing flow: the assessment treats an item under a measure in force as
controlled (`apply_to_assessment`, finding `F4-TEMPORARY-CONTROL`; service/assessment.py, also
on replay), and a licence whose items rest on measures is valid at most until the earliest of
their ends (`cap_licence`; service/review.py). The rules are in `domain/temporary_controls.py`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from stc_common.auth.jwt import Principal
from stc_common.errors import AlreadyExists, FieldViolation, NotFound, ValidationFailed
from stc_common.idempotency import RequestIdReused
from stc_common.logging import get_logger

from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import model
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.storage.ports import LicensingUnitOfWork, StoredMeasure

log = get_logger("stc_licensing.service.temporary_controls")


async def create_temporary_control(*, uow: LicensingUnitOfWork,
                                   caller: Principal | None = None,
                                   cmd: commands.CreateTemporaryControl) -> StoredMeasure:
    """Store the measure and publish TemporaryControlChanged (REGISTERED); a retry with the
    same request id answers the stored measure, another measure under it is ALREADY_EXISTS."""
    problems = tc.validate_measure(cmd.measure)
    if problems:
        raise ValidationFailed([FieldViolation(f"temporary_control.{p.field}", p.reason)
                                for p in problems])
    if cmd.request_id:
        earlier_id = await uow.temporary_controls.by_request(cmd.request_id)
        if earlier_id is not None:
            earlier = await uow.temporary_controls.get(earlier_id)
            assert earlier is not None
            e = earlier.measure
            if (e.announcement, e.items, e.start) != (
                    cmd.measure.announcement, cmd.measure.items, cmd.measure.start):
                raise RequestIdReused("temporary control", f"temporaryControls/{earlier_id}")
            return earlier
    if await uow.temporary_controls.get(cmd.measure.measure_id) is not None:
        raise AlreadyExists(f"temporary control {cmd.measure.measure_id} exists already",
                            reason="TEMPORARY_CONTROL_EXISTS")
    await uow.temporary_controls.add(cmd.measure, request_id=cmd.request_id,
                                     registered_by=cmd.registered_by)
    await publish(uow, outgoing.temporary_control_changed(cmd.measure, "REGISTERED"))
    log.info("temporary_control.registered", measure_id=cmd.measure.measure_id,
             end=cmd.measure.end.isoformat())
    stored = await uow.temporary_controls.get(cmd.measure.measure_id)
    assert stored is not None
    return stored


async def decide_temporary_control(*, uow: LicensingUnitOfWork,
                                   caller: Principal | None = None,
                                   cmd: commands.DecideTemporaryControl) -> StoredMeasure:
    """Cancel, extend (within two years of the start) or list a measure; publish the change.
    NOT_FOUND for an unknown measure; INVALID_ARGUMENT naming the field the law refuses."""
    found = await uow.temporary_controls.get(cmd.measure_id, for_update=True)
    if found is None:
        raise NotFound(f"temporary control {cmd.measure_id} not found",
                       reason="TEMPORARY_CONTROL_NOT_FOUND")
    measure, today = found.measure, common.today()
    try:
        if cmd.decision == "CANCEL":
            measure, change = tc.cancel(measure, today, cmd.note), "CANCELLED"
        elif cmd.decision == "EXTEND":
            if cmd.new_end is None:
                raise tc.MeasureRefused("new_end", "required to extend a measure")
            measure, change = tc.extend(measure, cmd.new_end, today, cmd.note), "EXTENDED"
        elif cmd.decision == "LIST":
            measure, change = tc.move_to_control_list(measure, today, cmd.note), "LISTED"
        else:
            raise tc.MeasureRefused("decision", "CANCEL, EXTEND or LIST")
    except tc.MeasureRefused as exc:
        field = "new_end" if exc.field == "end" else exc.field
        raise ValidationFailed(FieldViolation(field, exc.reason)) from exc
    await uow.temporary_controls.save(measure)
    await publish(uow, outgoing.temporary_control_changed(measure, change))
    log.info("temporary_control.decided", measure_id=measure.measure_id, change=change)
    stored = await uow.temporary_controls.get(measure.measure_id)
    assert stored is not None
    return stored


async def list_temporary_controls(*, uow: LicensingUnitOfWork,
                                  caller: Principal | None = None,
                                  cmd: commands.ListTemporaryControls) -> list[StoredMeasure]:
    """The register (only what is in force on a day, when asked)."""
    return [s for s in await uow.temporary_controls.all()
            if cmd.in_force_on is None or s.measure.in_force_on(cmd.in_force_on)]


# --------------------------------------------------------------- hooks in the licensing flow


async def _measures(uow: LicensingUnitOfWork) -> list[tc.TemporaryControl]:
    # every measure, whatever its status now: the domain keeps those in force on the day asked
    # (a measure cancelled or extended later was still in force then), so a replay of an old
    # assessment sees what the assessment saw
    return [s.measure for s in await uow.temporary_controls.all()]


async def apply_to_assessment(uow: LicensingUnitOfWork, application: model.Application,
                              assessment, day: dt.date):
    """The assessment with the measures in force on `day` applied (Art. 12(2): treated as
    controlled)."""
    return tc.with_temporary_controls(assessment, application, await _measures(uow), day)


async def cap_licence(uow: LicensingUnitOfWork, licence: licence_rules.Licence,
                      application: model.Application, day: dt.date) -> licence_rules.Licence:
    """The licence valid at most until the end of the measures its items rest on (the link
    recorded)."""
    measures = tc.resting_on(await _measures(uow),
                             [(i.control_code, i.hs_code) for i in application.content.items],
                             day)
    if not measures:
        return licence
    await uow.temporary_controls.link_licence(licence.id, [x.measure_id for x in measures])
    until = tc.cap_validity(licence.valid_until, measures)
    return licence if until == licence.valid_until else replace(licence, valid_until=until)


# ------------------------------------------------------------------------- the periodic job


async def alert_expiring(*, uow: LicensingUnitOfWork, measure_id: str, today: dt.date,
                         days_before: int = tc.ALERT_DAYS_BEFORE_END) -> bool:
    """TemporaryControlExpiring once for a measure in its alert window; False when not due
    (any more)."""
    found = await uow.temporary_controls.get(measure_id, for_update=True)
    if found is None or not tc.due_for_alert([found.measure], today, days_before):
        return False
    fresh = replace(found.measure, alert_sent=True)
    await uow.temporary_controls.save(fresh)
    await publish(uow, outgoing.temporary_control_expiring(fresh, today))
    return True


async def expire(*, uow: LicensingUnitOfWork, measure_id: str, today: dt.date) -> bool:
    """An ACTIVE measure whose end has passed expires (TemporaryControlChanged EXPIRED);
    False when not due."""
    found = await uow.temporary_controls.get(measure_id, for_update=True)
    if found is None or not tc.due_to_expire([found.measure], today):
        return False
    gone = replace(found.measure, status=tc.MeasureStatus.EXPIRED)
    await uow.temporary_controls.save(gone)
    await publish(uow, outgoing.temporary_control_changed(gone, "EXPIRED"))
    return True
