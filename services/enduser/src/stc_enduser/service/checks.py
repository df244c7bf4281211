"""End-use check use cases (ECL Art. 17; Regulations Art. 26 watch list): schedule, record
the outcome, confirm an overdue check, read, and flag overdue checks.

An outcome may open violation cases for credit (diversion; a change not reported, Art. 16)
and ask screening to watch a party that did not cooperate (Reg. 26); the events carry
what those services need (events/outgoing.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import FieldViolation, NotFound, ValidationFailed
from stc_common.logging import get_logger

from stc_enduser.convert import party_from_pb, party_pb
from stc_enduser.domain import rules
from stc_enduser.domain.errors import NotPermitted
from stc_enduser.domain.model import (
    CheckOutcome,
    Officer,
)
from stc_enduser.events import outgoing
from stc_enduser.service.common import TOPIC, other_authority
from stc_enduser.storage.checks import StoredCheck
from stc_enduser.storage.uow import EndUserUnitOfWork

log = get_logger("stc_enduser.service.checks")


@dataclass(frozen=True)
class ScheduleCheck:
    """ScheduleEndUseCheck by an officer."""

    officer: Officer
    licence_id: str
    party_id: str
    deadline: dt.datetime | None
    now: dt.datetime


async def schedule_end_use_check(*, uow: EndUserUnitOfWork, cmd: ScheduleCheck) -> StoredCheck:
    """Schedule a check of a party on a licence (EndUseCheckScheduled).

    Allowed on licences in any status: post-shipment checks happen after a licence is used,
    expired or revoked.
    """
    lic = await uow.licences.get(cmd.licence_id) if cmd.licence_id else None
    if lic is None or other_authority(cmd.officer, lic.view.authority):
        raise NotFound(f"licence {cmd.licence_id!r} not found", reason="LICENCE_NOT_FOUND")
    party_json = lic.party(cmd.party_id) if cmd.party_id else None
    violations: list[FieldViolation] = []
    if not cmd.party_id:
        violations.append(FieldViolation("party_id", "required"))
    elif party_json is None or not lic.view.has_party(cmd.party_id):
        violations.append(FieldViolation("party_id", "not a party to the licence"))
    if cmd.deadline is None:
        violations.append(FieldViolation("deadline", "required"))
    if violations:
        if cmd.officer.authority != lic.view.authority:  # as in the domain: authority first
            raise NotPermitted(f"officer of {cmd.officer.authority} may not act on licence "
                               f"{lic.view.licence_id} of {lic.view.authority}")
        raise ValidationFailed(violations)
    assert party_json is not None and cmd.deadline is not None
    check = rules.schedule_check(
        check_id=str(uuid.uuid4()), licence=lic.view, party=party_from_pb(party_pb(party_json)),
        deadline=cmd.deadline, officer=cmd.officer, now=cmd.now)
    await uow.checks.insert(check, party_json)
    await uow.publish(TOPIC, check.licence_id, outgoing.check_scheduled(check, party_json))
    log.info("end_use_check.scheduled", check_id=check.check_id, licence_id=check.licence_id,
             party_id=cmd.party_id, deadline=check.deadline.isoformat())
    return StoredCheck(check, party_json, None)


async def _visible_check(uow: EndUserUnitOfWork, check_id: str, who: Officer | Principal, *,
                         for_update: bool = False) -> StoredCheck:
    """The check, if `who` may see it (officers of another authority may not: NOT_FOUND)."""
    stored = await uow.checks.get(check_id, for_update=for_update)
    if stored is None or other_authority(who, stored.check.authority):
        raise NotFound(f"end-use check {check_id!r} not found", reason="CHECK_NOT_FOUND")
    return stored


@dataclass(frozen=True)
class RecordOutcome:
    """RecordEndUseCheckOutcome by an officer."""

    officer: Officer
    check_id: str
    outcome: CheckOutcome
    now: dt.datetime


async def record_end_use_check_outcome(*, uow: EndUserUnitOfWork, cmd: RecordOutcome) -> StoredCheck:
    """Record what a check found (EndUseCheckCompleted); a diversion with no earlier report
    on the licence is a failure to report (ECL Art. 16)."""
    stored = await _visible_check(uow, cmd.check_id, cmd.officer, for_update=True)
    reports = await uow.reports.of_licence(stored.check.licence_id)
    recorded = rules.record_outcome(stored.check, cmd.outcome, officer=cmd.officer, now=cmd.now,
                                    reports=reports)
    return await _close(uow, stored, recorded)


@dataclass(frozen=True)
class ConfirmOverdue:
    """ConfirmOverdueCheck by an officer."""

    officer: Officer
    check_id: str
    details: str
    now: dt.datetime


async def confirm_overdue_check(*, uow: EndUserUnitOfWork, cmd: ConfirmOverdue) -> StoredCheck:
    """An officer confirms an overdue check: NOT_COOPERATING, watch list (Reg. 26)."""
    stored = await _visible_check(uow, cmd.check_id, cmd.officer, for_update=True)
    recorded = rules.confirm_overdue(stored.check, officer=cmd.officer, now=cmd.now,
                                     details=cmd.details)
    return await _close(uow, stored, recorded)


async def _close(uow: EndUserUnitOfWork, stored: StoredCheck, recorded) -> StoredCheck:
    check = recorded.check
    await uow.checks.save_outcome(check)
    event = outgoing.check_completed(recorded, stored.party_pb)
    await uow.publish(TOPIC, check.licence_id, event)
    log.info("end_use_check.completed", check_id=check.check_id, outcome=check.status.value,
             failure_to_report=check.failure_to_report,
             overdue_confirmed=check.overdue_confirmed)
    return dataclasses.replace(stored, check=check)


async def get_end_use_check(*, uow: EndUserUnitOfWork, principal: Principal, check_id: str
                            ) -> StoredCheck:
    """One check: officers of the licence's authority, auditors any."""
    return await _visible_check(uow, check_id, principal)


@dataclass(frozen=True)
class ListChecks:
    """ListEndUseChecks: filters and the page."""

    principal: Principal
    licence_id: str | None
    open_only: bool
    overdue_only: bool
    after: tuple[dt.datetime, str] | None
    limit: int
    now: dt.datetime


async def list_end_use_checks(*, uow: EndUserUnitOfWork, cmd: ListChecks) -> list[StoredCheck]:
    """Officers: their authority's checks, soonest deadline first. Auditors: all."""
    p = cmd.principal
    return await uow.checks.page(
        authority=p.authority.value if p.role is Role.OFFICER and p.authority else None,
        licence_id=cmd.licence_id, open_only=cmd.open_only,
        overdue_at=cmd.now if cmd.overdue_only else None, after=cmd.after, limit=cmd.limit)


async def flag_overdue_checks(*, uow: EndUserUnitOfWork, now: dt.datetime) -> int:
    """Find checks past their deadline with no outcome and announce them (EndUseCheckOverdue).

    Changes no outcome: an overdue check counts as NOT_COOPERATING only when an officer
    confirms it (Regulations Art. 26, ConfirmOverdueCheck).
    """
    found = 0
    for stored in await uow.checks.due_unflagged(now):
        if not rules.overdue(stored.check, now):
            continue
        await uow.checks.flag_overdue(stored.check.check_id, now)
        await uow.publish(TOPIC, stored.check.licence_id,
                          outgoing.check_overdue(stored.check, stored.party_pb, now))
        log.info("end_use_check.overdue", check_id=stored.check.check_id,
                 licence_id=stored.check.licence_id, deadline=stored.check.deadline.isoformat())
        found += 1
    return found
