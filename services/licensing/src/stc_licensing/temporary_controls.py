"""Use cases of the temporary controls register (ECL Art. 9(2); issue 11 item 5).

MOFCOM registers a measure (its announcement, items, start and end, at most two years), and
before it ends decides to cancel it, extend it within the two-year limit, or put its items on
the control list; each change is a `TemporaryControlChanged` event. A periodic job (once across
the replicas, `stc_common.periodic`) sends `TemporaryControlExpiring` once when a measure enters
its alert window and expires measures whose end has passed.

Two hooks in the licensing flow (service.py, marked "issue 11 item 5"): the assessment treats
an item under a measure in force as controlled (`with_temporary_controls`, finding
`F4-TEMPORARY-CONTROL`), and a licence whose items rest on measures is valid at most until the
earliest of their ends (`cap_licence`). The rules are in `domain/temporary_controls.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

import asyncpg
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import temporary_control_pb2 as tpb
from stc_common.auth.jwt import Principal
from stc_common.db.uow import UnitOfWork, unit_of_work
from stc_common.errors import AlreadyExists, FieldViolation, NotFound, ValidationFailed
from stc_common.kafka.topics import APPLICATION
from stc_common.logging import get_logger

from stc_licensing.api import mapping as m
from stc_licensing.domain import licence as dl
from stc_licensing.domain import temporary_controls as tc
from stc_licensing.storage import temporary_controls as store

log = get_logger("stc_licensing.temporary_controls")

_STATUS_PB = {
    tc.MeasureStatus.ACTIVE: tpb.TEMPORARY_CONTROL_STATUS_ACTIVE,
    tc.MeasureStatus.CANCELLED: tpb.TEMPORARY_CONTROL_STATUS_CANCELLED,
    tc.MeasureStatus.LISTED: tpb.TEMPORARY_CONTROL_STATUS_LISTED,
    tc.MeasureStatus.EXPIRED: tpb.TEMPORARY_CONTROL_STATUS_EXPIRED,
}


def _key(measure_id: str) -> str:
    return f"temporary-controls/{measure_id}"


async def _changed(uow: UnitOfWork, measure: tc.TemporaryControl, change: str) -> None:
    await uow.publish(APPLICATION.name, _key(measure.measure_id),
                      events_pb2.TemporaryControlChanged(
                          measure_id=measure.measure_id, announcement=measure.announcement,
                          status=measure.status.value, start=m.date_to_pb(measure.start),
                          end=m.date_to_pb(measure.end),
                          ended_on=m.date_to_pb(measure.ended_on), change=change,
                          control_codes=[i.control_code for i in measure.items
                                         if i.control_code],
                          hs_codes=[i.hs_code for i in measure.items if i.hs_code]))


@dataclass(frozen=True)
class CreateTemporaryControlCmd:
    """Register a measure announced under Art. 9(2)."""

    measure: tc.TemporaryControl
    registered_by: str
    request_id: str | None = None


async def create_temporary_control(*, uow: UnitOfWork, cmd: CreateTemporaryControlCmd
                                   ) -> tuple[tc.TemporaryControl, str, dt.datetime]:
    """Store the measure and publish TemporaryControlChanged (REGISTERED); a retry with the
    same request id answers the stored measure."""
    problems = tc.validate_measure(cmd.measure)
    if problems:
        raise ValidationFailed([FieldViolation(f"temporary_control.{p.field}", p.reason)
                                for p in problems])
    if cmd.request_id:
        earlier = await store.by_request(uow.conn, cmd.request_id)
        if earlier is not None:
            found = await store.get(uow.conn, earlier)
            assert found is not None
            if (found[0].announcement, found[0].items, found[0].start) != (
                    cmd.measure.announcement, cmd.measure.items, cmd.measure.start):
                raise AlreadyExists("request_id was already used for another measure",
                                    reason="REQUEST_ID_REUSED")
            return found
    await store.insert(uow.conn, cmd.measure, request_id=cmd.request_id,
                       registered_by=cmd.registered_by)
    await _changed(uow, cmd.measure, "REGISTERED")
    log.info("temporary_control.registered", measure_id=cmd.measure.measure_id,
             end=cmd.measure.end.isoformat())
    found = await store.get(uow.conn, cmd.measure.measure_id)
    assert found is not None
    return found


@dataclass(frozen=True)
class DecideTemporaryControlCmd:
    """The authority's evaluation of a measure (Art. 9(2)): CANCEL, EXTEND or LIST."""

    measure_id: str
    decision: str
    today: dt.date
    new_end: dt.date | None = None
    note: str = ""


async def decide_temporary_control(*, uow: UnitOfWork, cmd: DecideTemporaryControlCmd
                                   ) -> tuple[tc.TemporaryControl, str, dt.datetime]:
    """Cancel, extend (within two years of the start) or list a measure; publish the change."""
    found = await store.get(uow.conn, cmd.measure_id, for_update=True)
    if found is None:
        raise NotFound(f"temporary control {cmd.measure_id} not found")
    measure = found[0]
    try:
        if cmd.decision == "CANCEL":
            measure, change = tc.cancel(measure, cmd.today, cmd.note), "CANCELLED"
        elif cmd.decision == "EXTEND":
            if cmd.new_end is None:
                raise tc.MeasureRefused("new_end", "required to extend a measure")
            measure, change = tc.extend(measure, cmd.new_end, cmd.today, cmd.note), "EXTENDED"
        elif cmd.decision == "LIST":
            measure = tc.move_to_control_list(measure, cmd.today, cmd.note)
            change = "LISTED"
        else:
            raise tc.MeasureRefused("decision", "CANCEL, EXTEND or LIST")
    except tc.MeasureRefused as exc:
        field = "new_end" if exc.field == "end" else exc.field
        raise ValidationFailed(FieldViolation(field, exc.reason)) from exc
    await store.save(uow.conn, measure)
    await _changed(uow, measure, change)
    log.info("temporary_control.decided", measure_id=measure.measure_id, change=change)
    found = await store.get(uow.conn, measure.measure_id)
    assert found is not None
    return found


# --------------------------------------------------------------- hooks in the licensing flow


async def _measures(uow: UnitOfWork) -> list[tc.TemporaryControl]:
    # every measure, whatever its status now: `covering` keeps those in force on the day asked
    # (a measure cancelled or extended later was still in force then), so a replay of an old
    # assessment sees what the assessment saw. The unit tests' in-memory unit of work
    # (`uow.repo`) has no register: no measures.
    fake = getattr(uow, "repo", None)
    if fake is not None:
        return list(getattr(fake, "temporary_controls", ()))
    return [f[0] for f in await store.all_measures(uow.conn)]


async def apply_to_assessment(uow: UnitOfWork, application, assessment, day: dt.date):
    """The assessment with the measures in force applied (Art. 12(2): treated as controlled)."""
    return tc.with_temporary_controls(assessment, application, await _measures(uow), day)


async def cap_licence(uow: UnitOfWork, licence: dl.Licence, application, day: dt.date
                      ) -> dl.Licence:
    """The licence valid at most until the end of the measures its items rest on (recorded)."""
    measures = tc.resting_on(await _measures(uow),
                             [(i.control_code, i.hs_code) for i in application.content.items],
                             day)
    if not measures:
        return licence
    if getattr(uow, "repo", None) is None:
        await store.link_licence(uow.conn, licence.id, [x.measure_id for x in measures])
    until = tc.cap_validity(licence.valid_until, measures)
    return licence if until == licence.valid_until else replace(licence, valid_until=until)


# ------------------------------------------------------------------------- the periodic job


async def alert_round(pool: asyncpg.Pool, source: str, today: dt.date,
                      days_before: int = tc.ALERT_DAYS_BEFORE_END) -> tuple[int, int]:
    """Expiry alerts (once per measure and end) and expiries; each in its own transaction.
    Returns (alerts sent, measures expired)."""
    async with pool.acquire() as conn:
        measures = await store.active(conn)
    alerts = expired = 0
    for measure in tc.due_for_alert(measures, today, days_before):
        async with unit_of_work(pool, source) as uow:
            found = await store.get(uow.conn, measure.measure_id, for_update=True)
            if found is None or found[0] not in tc.due_for_alert([found[0]], today, days_before):
                continue
            fresh = replace(found[0], alert_sent=True)
            await store.save(uow.conn, fresh)
            await uow.publish(APPLICATION.name, _key(fresh.measure_id),
                              events_pb2.TemporaryControlExpiring(
                                  measure_id=fresh.measure_id, announcement=fresh.announcement,
                                  end=m.date_to_pb(fresh.end),
                                  days_left=(fresh.end - today).days))
            alerts += 1
    for measure in tc.due_to_expire(measures, today):
        async with unit_of_work(pool, source) as uow:
            found = await store.get(uow.conn, measure.measure_id, for_update=True)
            if found is None or found[0].status is not tc.MeasureStatus.ACTIVE:
                continue
            gone = replace(found[0], status=tc.MeasureStatus.EXPIRED)
            await store.save(uow.conn, gone)
            await _changed(uow, gone, "EXPIRED")
            expired += 1
    return alerts, expired


# ------------------------------------------------------------------------- gRPC mapping


def measure_to_pb(found: tuple[tc.TemporaryControl, str, dt.datetime]) -> tpb.TemporaryControl:
    """The TemporaryControl resource."""
    x, by, at = found
    return tpb.TemporaryControl(
        name=f"temporaryControls/{x.measure_id}", measure_id=x.measure_id,
        announcement=x.announcement,
        items=[tpb.TemporarilyControlledItem(control_code=i.control_code, hs_code=i.hs_code,
                                             description=i.description) for i in x.items],
        start=m.date_to_pb(x.start), end=m.date_to_pb(x.end), status=_STATUS_PB[x.status],
        ended_on=m.date_to_pb(x.ended_on), note=x.note, registered_by=by,
        updated_at=m.ts(at))


async def create_temporary_control_pb(*, uow: UnitOfWork, p: Principal,
                                      req: tpb.CreateTemporaryControlRequest
                                      ) -> tpb.TemporaryControl:
    """CreateTemporaryControl (MOFCOM officers)."""
    t = req.temporary_control
    start, end = m.date_from_pb(t.start), m.date_from_pb(t.end)
    missing = [FieldViolation(f"temporary_control.{n}", "required")
               for n, v in (("start", start), ("end", end)) if v is None]
    if missing:
        raise ValidationFailed(missing)
    assert start is not None and end is not None
    measure = tc.TemporaryControl(
        measure_id=t.measure_id.strip() or f"tc-{uuid.uuid4().hex[:12]}",
        announcement=t.announcement,
        items=tuple(tc.ControlledItem(i.control_code.strip(), i.hs_code.strip(),
                                      i.description) for i in t.items),
        start=start, end=end, note=t.note)
    authority = p.authority.value if p.authority else "?"
    return measure_to_pb(await create_temporary_control(uow=uow, cmd=CreateTemporaryControlCmd(
        measure, f"{authority}/{p.subject}", req.request_id or None)))


_DECISIONS = {tpb.TEMPORARY_CONTROL_DECISION_CANCEL: "CANCEL",
              tpb.TEMPORARY_CONTROL_DECISION_EXTEND: "EXTEND",
              tpb.TEMPORARY_CONTROL_DECISION_LIST: "LIST"}


async def decide_temporary_control_pb(*, uow: UnitOfWork, p: Principal,
                                      req: tpb.DecideTemporaryControlRequest
                                      ) -> tpb.TemporaryControl:
    """DecideTemporaryControl (MOFCOM officers)."""
    from stc_licensing import service as svc

    decision = _DECISIONS.get(req.decision)
    if decision is None:
        raise ValidationFailed(FieldViolation("decision", "CANCEL, EXTEND or LIST"))
    return measure_to_pb(await decide_temporary_control(uow=uow, cmd=DecideTemporaryControlCmd(
        req.measure_id, decision, svc.today(), m.date_from_pb(req.new_end)
        if req.HasField("new_end") else None, req.announcement)))


async def list_temporary_controls_pb(*, uow: UnitOfWork, p: Principal,
                                     req: tpb.ListTemporaryControlsRequest
                                     ) -> tpb.ListTemporaryControlsResponse:
    """ListTemporaryControls: the register (optionally only what is in force on a day)."""
    day = m.date_from_pb(req.in_force_on) if req.HasField("in_force_on") else None
    found = await store.all_measures(uow.conn)
    return tpb.ListTemporaryControlsResponse(temporary_controls=[
        measure_to_pb(f) for f in found if day is None or f[0].in_force_on(day)])
