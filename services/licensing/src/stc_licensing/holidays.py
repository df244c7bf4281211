"""Use cases of the holiday calendar as data (issue 11, item 3; Reg. 17 working days).

A year's schedule as the State Council announced it is entered by an officer
(`EnterHolidaySchedule`) or from the operator's data file (`STC_HOLIDAY_SCHEDULES_PATH`, read
at start-up). In one transaction: the schedule is stored (migration 0020), it is installed in
`stc_common.workdays` (precedence over the package), every open application whose Reg. 17
deadline moves or becomes exact gets a `DEADLINE_RECOMPUTED` history step and a
`DeadlineRecomputed` event, and `HolidayScheduleAnnounced` tells back offices the calendar
changed. Other replicas pick the schedule up from the database (`refresher`).

The rules (what a schedule may say) are in `domain/holiday_calendar.py`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import yaml
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import holiday_schedule_pb2 as hpb
from stc_common import workdays
from stc_common.auth.jwt import Principal
from stc_common.db.uow import UnitOfWork, unit_of_work
from stc_common.errors import AlreadyExists, FieldViolation, ValidationFailed
from stc_common.kafka.topics import APPLICATION
from stc_common.logging import get_logger

from stc_licensing import service as svc
from stc_licensing.api import mapping as m
from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.storage import holidays as store
from stc_licensing.storage import repo
from stc_licensing.storage.repository import repository as _repo

log = get_logger("stc_licensing.holidays")


@dataclass(frozen=True)
class EnterHolidayScheduleCmd:
    """Enter (or correct) a year's published schedule."""

    entry: hc.ScheduleEntry
    entered_by: str  # AUTHORITY/subject of the officer, or data-file:PATH
    request_id: str | None = None


@dataclass(frozen=True)
class Entered:
    """The stored schedule and how many open applications' deadlines it moved."""

    stored: store.StoredSchedule
    recomputed: int


async def install_from_database(conn) -> int:
    """Install every stored schedule into `stc_common.workdays` (the database is the record:
    schedules no longer stored are forgotten); the number installed."""
    stored = await store.all_schedules(conn)
    workdays.use_schedules((s.entry.schedule() for s in stored), replace_all=True)
    return len(stored)


async def enter_holiday_schedule(*, uow: UnitOfWork, cmd: EnterHolidayScheduleCmd) -> Entered:
    """Store a year's schedule, recompute the open applications' Reg. 17 deadlines, publish
    what moved. The same schedule entered again changes nothing (no events)."""
    problems = hc.validate(cmd.entry)
    if problems:
        raise ValidationFailed([FieldViolation(f"schedule.{p.field}", p.reason)
                                for p in problems])
    if cmd.request_id:
        earlier = await store.by_request(uow.conn, cmd.request_id)
        if earlier is not None:
            if not hc.same_schedule(earlier.entry, cmd.entry):
                raise AlreadyExists("request_id was already used for another schedule",
                                    reason="REQUEST_ID_REUSED")
            return Entered(earlier, 0)
    current = await store.get(uow.conn, cmd.entry.year, for_update=True)
    if current is not None and hc.same_schedule(current.entry, cmd.entry):
        return Entered(current, 0)

    # the clocks of the open applications under the calendar before and after the entry,
    # as of the same day, so only what the schedule changed counts as moved
    as_of = svc.today()
    rows = []
    for app_id in await repo.pending_ids(uow.conn):
        row = await _repo(uow).get_application(app_id, for_update=True)
        if row is not None and row.state in svc.CLOCK_STATES:
            rows.append((row, svc._clock(row, as_of)[0]))
    previous = workdays.entered_schedules()
    workdays.use_schedules([cmd.entry.schedule()])
    try:
        entered_at = svc.now()
        await store.upsert(uow.conn, cmd.entry, entered_by=cmd.entered_by,
                           entered_at=entered_at, request_id=cmd.request_id)
        moved = 0
        for row, before in rows:
            after = svc._clock(row, as_of)[0]
            if (after.deadline, after.exact) == (before.deadline, before.exact):
                continue
            moved += 1
            note = (f"Reg. 17 deadline {before.deadline} → {after.deadline}"
                    f"{'' if after.exact else ' (not exact yet)'}: holiday schedule "
                    f"{cmd.entry.year} ({cmd.entry.announcement}) entered")
            await svc._record(uow, row, "DEADLINE_RECOMPUTED", note)
            await uow.publish(APPLICATION.name, row.id, events_pb2.DeadlineRecomputed(
                application_id=row.id, authority=row.authority,
                previous_deadline=m.date_to_pb(before.deadline),
                previous_deadline_exact=before.exact, deadline=m.date_to_pb(after.deadline),
                deadline_exact=after.exact, schedule_year=cmd.entry.year,
                announcement=cmd.entry.announcement))
        schedule = cmd.entry.schedule()
        await uow.publish(APPLICATION.name, f"holiday-schedules/{cmd.entry.year}",
                          events_pb2.HolidayScheduleAnnounced(
                              year=cmd.entry.year, announcement=cmd.entry.announcement,
                              holidays=[m.date_to_pb(d) for d in sorted(schedule.holidays)],
                              working_days=[m.date_to_pb(d)
                                            for d in sorted(schedule.working_days)],
                              entered_by=cmd.entered_by, entered_at=m.ts(entered_at),
                              deadlines_recomputed=moved))
    except BaseException:
        # the transaction will not commit: the process calendar goes back to what is stored
        workdays.use_schedules(previous.values(), replace_all=True)
        raise
    log.info("holiday_schedule.entered", year=cmd.entry.year,
             announcement=cmd.entry.announcement, deadlines_recomputed=moved)
    return Entered(store.StoredSchedule(cmd.entry, cmd.entered_by, entered_at,
                                        cmd.request_id), moved)


# ------------------------------------------------------------------------- gRPC mapping


def entry_from_pb(s: hpb.HolidaySchedule) -> hc.ScheduleEntry:
    """The domain entry of a request's schedule; INVALID_ARGUMENT names unset dates."""
    missing: list[FieldViolation] = []
    periods = []
    for i, p in enumerate(s.holidays):
        first, last = m.date_from_pb(p.first_day), m.date_from_pb(p.last_day) \
            if p.HasField("last_day") else None
        if first is None:
            missing.append(FieldViolation(f"schedule.holidays[{i}].first_day", "required"))
            continue
        periods.append(hc.HolidayPeriod(p.name, first, last or first))
    working = []
    for i, d in enumerate(s.working_days):
        day = m.date_from_pb(d)
        if day is None:
            missing.append(FieldViolation(f"schedule.working_days[{i}]", "not a date"))
        else:
            working.append(day)
    if missing:
        raise ValidationFailed(missing)
    return hc.ScheduleEntry(year=s.year, announcement=s.announcement, periods=tuple(periods),
                            working_days=tuple(working),
                            published_on=m.date_from_pb(s.published_on)
                            if s.HasField("published_on") else None)


def schedule_to_pb(stored: store.StoredSchedule, recomputed: int = 0) -> hpb.HolidaySchedule:
    """The HolidaySchedule resource."""
    e = stored.entry
    return hpb.HolidaySchedule(
        name=f"holidaySchedules/{e.year}", year=e.year, announcement=e.announcement,
        published_on=m.date_to_pb(e.published_on),
        holidays=[hpb.HolidayPeriod(name=p.name, first_day=m.date_to_pb(p.first_day),
                                    last_day=m.date_to_pb(p.last_day)) for p in e.periods],
        working_days=[m.date_to_pb(d) for d in e.working_days],
        entered_by=stored.entered_by, entered_at=m.ts(stored.entered_at),
        deadlines_recomputed=recomputed)


async def enter_holiday_schedule_pb(*, uow: UnitOfWork, p: Principal,
                                    req: hpb.EnterHolidayScheduleRequest
                                    ) -> hpb.HolidaySchedule:
    """EnterHolidaySchedule: an officer of any authority (the State Council's schedule binds
    them all); the entry records the authority and officer."""
    if not req.HasField("schedule"):
        raise ValidationFailed(FieldViolation("schedule", "required"))
    authority = p.authority.value if p.authority else "?"
    done = await enter_holiday_schedule(uow=uow, cmd=EnterHolidayScheduleCmd(
        entry=entry_from_pb(req.schedule), entered_by=f"{authority}/{p.subject}",
        request_id=req.request_id or None))
    return schedule_to_pb(done.stored, done.recomputed)


async def list_holiday_schedules_pb(*, uow: UnitOfWork, p: Principal
                                    ) -> hpb.ListHolidaySchedulesResponse:
    """ListHolidaySchedules: every entered year and the years the package knows."""
    stored = await store.all_schedules(uow.conn)
    return hpb.ListHolidaySchedulesResponse(
        schedules=[schedule_to_pb(s) for s in stored],
        package_first_year=workdays._FIRST_YEAR, package_last_year=workdays._LAST_YEAR)


# ------------------------------------------------------------ start-up and replicas


async def apply_data_file(pool: asyncpg.Pool, path: str | Path, source: str) -> int:
    """Enter every schedule of the operator's data file (each in its own transaction; a year
    already stored with the same content changes nothing); ValueError on a malformed file, so
    the service does not start counting wrong days. The number of years entered or changed."""
    text = await asyncio.to_thread(Path(path).read_text, "utf-8")
    doc = yaml.safe_load(text) or {}
    changed = 0
    for entry in hc.entries_from_document(doc):
        async with unit_of_work(pool, source) as uow:
            before = await store.get(uow.conn, entry.year)
            await enter_holiday_schedule(uow=uow, cmd=EnterHolidayScheduleCmd(
                entry=entry, entered_by=f"data-file:{Path(path).name}"))
            changed += before is None or not hc.same_schedule(before.entry, entry)
    return changed


def refresher(interval_s: float):
    """A background task for every replica (not a once-across-replicas job): reinstall the
    stored schedules when another replica has entered one."""

    async def run(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        seen = None
        while not stop.is_set():
            async with pool.acquire() as conn:
                current = await store.version(conn)
                if current != seen:
                    await install_from_database(conn)
                    seen = current
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
            except TimeoutError:
                pass

    run.__name__ = "holiday_schedule_refresher"
    return run
