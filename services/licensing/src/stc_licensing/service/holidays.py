"""The holiday calendar as data (issue 11, item 3; Reg. 17 working days) as use cases.

A year's schedule as the State Council announced it is entered by an officer
(`EnterHolidaySchedule`) or from the operator's data file (`STC_HOLIDAY_SCHEDULES_PATH`, read
at start-up by main.py). In one unit of work: the schedule is stored (migration 0020), it is
installed in `stc_common.workdays` (precedence over the package), every open application whose
Reg. 17 deadline moves or becomes exact gets a `DEADLINE_RECOMPUTED` history step and a
`DeadlineRecomputed` event, and `HolidayScheduleAnnounced` tells back offices the calendar
changed. Other replicas pick the schedule up from the database (main.py's refresher calls
`install_stored`).

The rules (what a schedule may say) are in `domain/holiday_calendar.py`.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from stc_common import workdays
from stc_common.auth.jwt import Principal
from stc_common.errors import FieldViolation, ValidationFailed
from stc_common.idempotency import RequestIdReused
from stc_common.logging import get_logger

from stc_licensing.domain import holiday_calendar as hc
from stc_licensing.domain.states import CLOCK_STATES
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.service.views import EnteredSchedule, HolidaySchedules
from stc_licensing.storage.ports import LicensingUnitOfWork, StoredSchedule

log = get_logger("stc_licensing.service.holidays")


async def install_stored(uow: LicensingUnitOfWork) -> int:
    """Install every stored schedule into `stc_common.workdays` (the database is the record:
    schedules no longer stored are forgotten); the number installed."""
    stored = await uow.holiday_schedules.all()
    workdays.use_schedules((s.entry.schedule() for s in stored), replace_all=True)
    return len(stored)


def entries_from_file(path: str | Path) -> list[hc.ScheduleEntry]:
    """The schedules of the operator's data file; ValueError on a malformed file, so the
    service does not start counting wrong days."""
    doc = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    return list(hc.entries_from_document(doc))


async def enter_holiday_schedule(*, uow: LicensingUnitOfWork, caller: Principal | None = None,
                                 cmd: commands.EnterHolidaySchedule) -> EnteredSchedule:
    """Store a year's schedule, recompute the open applications' Reg. 17 deadlines, publish
    what moved. The same schedule entered again changes nothing (no events); a request id
    used for another schedule is ALREADY_EXISTS, REQUEST_ID_REUSED (stc_common.idempotency)."""
    problems = hc.validate(cmd.entry)
    if problems:
        raise ValidationFailed([FieldViolation(f"schedule.{p.field}", p.reason)
                                for p in problems])
    if cmd.request_id:
        earlier = await uow.holiday_schedules.by_request(cmd.request_id)
        if earlier is not None:
            if not hc.same_schedule(earlier.entry, cmd.entry):
                raise RequestIdReused("holiday schedule", f"holidaySchedules/{earlier.entry.year}")
            return EnteredSchedule(earlier, 0)
    current = await uow.holiday_schedules.get(cmd.entry.year, for_update=True)
    if current is not None and hc.same_schedule(current.entry, cmd.entry):
        return EnteredSchedule(current, 0)

    # the clocks of the open applications under the calendar before and after the entry,
    # as of the same day, so only what the schedule changed counts as moved
    as_of = common.today()
    rows = []
    for app_id in await uow.applications.pending_ids():
        row = await uow.applications.get(app_id, for_update=True)
        if row is not None and row.state in CLOCK_STATES:
            clock = common.application_view(row, as_of).clock
            rows.append((row, (clock.deadline, clock.exact)))
    previous = workdays.entered_schedules()
    workdays.use_schedules([cmd.entry.schedule()])
    try:
        entered_at = common.now()
        await uow.holiday_schedules.upsert(cmd.entry, entered_by=cmd.entered_by,
                                           entered_at=entered_at, request_id=cmd.request_id)
        moved = 0
        for row, before in rows:
            clock = common.application_view(row, as_of).clock
            after = (clock.deadline, clock.exact)
            if after == before:
                continue
            moved += 1
            note = (f"Reg. 17 deadline {before[0]} → {after[0]}"
                    f"{'' if after[1] else ' (not exact yet)'}: holiday schedule "
                    f"{cmd.entry.year} ({cmd.entry.announcement}) entered")
            await common.record_step(uow, row, "DEADLINE_RECOMPUTED", note)
            await publish(uow, outgoing.deadline_recomputed(row, before, after, cmd.entry))
        await publish(uow, outgoing.holiday_schedule_announced(cmd.entry, cmd.entered_by,
                                                               entered_at, moved))
    except BaseException:
        # the transaction will not commit: the process calendar goes back to what is stored
        workdays.use_schedules(previous.values(), replace_all=True)
        raise
    log.info("holiday_schedule.entered", year=cmd.entry.year,
             announcement=cmd.entry.announcement, deadlines_recomputed=moved)
    return EnteredSchedule(StoredSchedule(cmd.entry, cmd.entered_by, entered_at,
                                          cmd.request_id), moved)


async def list_holiday_schedules(*, uow: LicensingUnitOfWork, caller: Principal | None = None,
                                 cmd: commands.ListHolidaySchedules) -> HolidaySchedules:
    """Every entered year and the years the package knows."""
    return HolidaySchedules(await uow.holiday_schedules.all(), workdays._FIRST_YEAR,
                            workdays._LAST_YEAR)
