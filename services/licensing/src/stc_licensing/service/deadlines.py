"""Use cases of the ticker (main.py runs one round per interval, once across replicas): the
Reg. 17 deadline warning and breach, once each per application; a reconsideration's own due
day (Art. 41; Administrative Reconsideration Law Art. 62); licence expiry."""

from __future__ import annotations

import datetime as dt

from stc_common.logging import get_logger

from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain import reconsideration
from stc_licensing.domain.clock import clock_status
from stc_licensing.domain.model import ApplicationState
from stc_licensing.domain.states import CLOCK_STATES
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import common, procedures
from stc_licensing.storage.ports import LicensingUnitOfWork

log = get_logger("stc_licensing.service.deadlines")
DEADLINE_WARNING_WORKING_DAYS = 5


async def warn_deadline(*, uow: LicensingUnitOfWork, application_id: str, as_of: dt.date,
                        within: int = DEADLINE_WARNING_WORKING_DAYS) -> bool:
    """DeadlineApproaching once when at most `within` working days of the Reg. 17 clock are
    left on a pending application whose clock is running (for the officer's queue)."""
    row = await uow.applications.get(application_id, for_update=True)
    if row is not None and await procedures.time_limit_exempt(uow, row.id):
        return False  # Reg. 26 / Reg. 17 referral: not bound by the time limit (issue 11)
    if row is None or row.warning_reported or row.breach_reported or \
            row.state not in CLOCK_STATES or any(p.end is None for p in row.pauses):
        return False
    cs = clock_status(row.accepted_on, as_of, row.pauses)
    if cs.breached or cs.remaining > within:
        return False
    row.warning_reported = True
    await common.record_step(uow, row, "DEADLINE_APPROACHING",
                             f"{cs.remaining} working day(s) left before the Reg. 17 deadline "
                             f"{cs.deadline}")
    await publish(uow, outgoing.deadline_approaching(row, cs.deadline, cs.remaining))
    log.info("application.deadline_approaching", application_id=row.id,
             remaining=cs.remaining)
    return True


async def mark_breach(*, uow: LicensingUnitOfWork, application_id: str, as_of: dt.date) -> bool:
    """DeadlineBreached once when the Reg. 17 clock ran out without a decision. A
    reconsideration (Art. 41) does not run that clock: it is checked against its own due day
    (Administrative Reconsideration Law Art. 62) and noted once in the history when overdue."""
    row = await uow.applications.get(application_id, for_update=True)
    if row is not None and row.state == ApplicationState.RECONSIDERATION:
        if row.reconsideration_overdue_reported or row.reconsideration_due is None or \
                not reconsideration.overdue(reconsideration.ReconsiderationDates(
                    row.reconsideration_requested_on or row.reconsideration_due,
                    row.reconsideration_due), as_of):
            return False
        row.reconsideration_overdue_reported = True
        await common.record_step(
            uow, row, "RECONSIDERATION_OVERDUE",
            f"reconsideration due {row.reconsideration_due.isoformat()} not decided "
            "(Art. 41; Administrative Reconsideration Law Art. 62)")
        log.warning("application.reconsideration_overdue", application_id=row.id)
        return False
    if row is None or row.breach_reported or row.state not in CLOCK_STATES or \
            await procedures.time_limit_exempt(uow, row.id):  # issue 11: Reg. 26, Reg. 17
        return False
    cs = clock_status(row.accepted_on, as_of, row.pauses)
    if not cs.breached:
        return False
    row.breach_reported = True
    await common.record_step(uow, row, "DEADLINE_BREACHED",
                             f"Reg. 17 deadline {cs.deadline} passed")
    await publish(uow, outgoing.deadline_breached(row, cs.deadline))
    log.warning("application.deadline_breached", application_id=row.id)
    return True


async def expire_licence(*, uow: LicensingUnitOfWork, licence_id: str, as_of: dt.date) -> bool:
    """LicenceExpired for a licence past valid_until."""
    found = await uow.licences.get(licence_id, for_update=True)
    if found is None or not licence_rules.is_due_to_expire(found.licence, as_of):
        return False
    lic = licence_rules.expire(found.licence, as_of)
    await uow.licences.save(lic)
    await publish(uow, outgoing.licence_expired(lic))
    log.info("licence.expired", licence_id=lic.id)
    return True
