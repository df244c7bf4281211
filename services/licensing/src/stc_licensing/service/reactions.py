"""Use cases run on the other services' events (events/handlers.py turns each event into a
command): a list change matching a licence or a pending application (Art. 18), the credit
standing projection (factor 7, the Art. 39 ban), end-user change reports holding a licence
and their resolution (Art. 16, Reg. 25), and an end-use check finding diversion (Art. 17)."""

from __future__ import annotations

from stc_common.logging import get_logger

from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain.states import PENDING_STATES
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.service.commands import Resolution
from stc_licensing.service.licences import revoke_as, suspend_as
from stc_licensing.storage.ports import LicenceRow, LicensingUnitOfWork

log = get_logger("stc_licensing.service.reactions")
_ACTIVE = licence_rules.LicenceState.ACTIVE
_LIVE = (licence_rules.LicenceState.ACTIVE, licence_rules.LicenceState.SUSPENDED)


async def handle_rescreening_match(*, uow: LicensingUnitOfWork,
                                   cmd: commands.HandleRescreeningMatch) -> None:
    """A list change hit a licence (suspend, source "rescreening") or a pending application
    (flag it for the officer); a hit on an application that became a licence meanwhile
    suspends that licence (once: a suspended licence is not suspended again)."""
    if cmd.subject_kind == "LICENCE":
        found = await uow.licences.get(cmd.subject_id, for_update=True)
        if found is None or found.licence.state != _ACTIVE:
            return
        await suspend_as(uow, found, cmd.what, "rescreening", cmd.entry_id)
    elif cmd.subject_kind == "APPLICATION":
        row = await uow.applications.get(cmd.subject_id, for_update=True)
        if row is not None and row.licence_id:
            # approved between the list change and screening learning of the licence
            # (LicenceIssued not yet consumed there): the match is the licence's (Art. 18)
            found = await uow.licences.get(row.licence_id, for_update=True)
            if found is not None and found.licence.state == _ACTIVE:
                await suspend_as(uow, found, cmd.what, "rescreening", cmd.entry_id)
            return
        if row is None or row.state not in PENDING_STATES:
            return
        row.flags = row.flags + [cmd.what]
        await common.record_step(uow, row, "FLAGGED", cmd.what)
        await publish(uow, outgoing.application_flagged(row, cmd.what, cmd.entry_id,
                                                        common.now()))
        log.info("application.flagged", application_id=row.id, entry_id=cmd.entry_id)


async def record_credit_standing(*, uow: LicensingUnitOfWork,
                                 cmd: commands.RecordCreditStanding) -> None:
    """Project CreditStandingChanged into credit_standing (factor 7, the Art. 39 ban); an
    older standing never overwrites a newer one."""
    await uow.standings.upsert(cmd.standing, cmd.as_of)


async def hold_licence(*, uow: LicensingUnitOfWork, cmd: commands.HoldLicence) -> None:
    """Art. 16 / Reg. 25: hold the licence while the change report is open (once)."""
    found = await uow.licences.get(cmd.licence_id, for_update=True)
    if found is None or cmd.report_id in found.licence.holds or \
            found.licence.state not in _LIVE:
        return
    lic = licence_rules.place_on_hold(found.licence, cmd.report_id)
    await uow.licences.save(lic)
    await publish(uow, outgoing.licence_held(lic, cmd.report_id, common.now()))
    log.info("licence.held", licence_id=lic.id, report_id=cmd.report_id)


async def apply_change_resolution(*, uow: LicensingUnitOfWork,
                                  cmd: commands.ApplyChangeResolution) -> None:
    """Release the hold, then apply the resolution: ACCEPT_AMENDMENT -> LicenceAmended;
    SUSPEND_LICENCE -> suspend; REVOKE_LICENCE -> revoke; REQUIRE_REAPPLICATION -> revoke with
    reason "re-apply" (Dual-use Regulations, licence provisions: a changed key element needs
    a new application, and the old licence no longer describes the transaction, so it must
    not stay usable); NO_ACTION -> release only."""
    found = await uow.licences.get(cmd.licence_id, for_update=True)
    if found is None:
        return
    lic = found.licence
    at = common.now()
    if cmd.report_id in lic.holds:
        lic = licence_rules.release_hold(lic, cmd.report_id)
        await uow.licences.save(lic)
        await publish(uow, outgoing.licence_hold_released(lic, cmd.report_id, at))
    found = LicenceRow(lic, found.authority, found.updated_at)
    reasons = "; ".join(cmd.reasons)
    live = lic.state in _LIVE
    if cmd.resolution == Resolution.ACCEPT_AMENDMENT:
        await publish(uow, outgoing.licence_amended(lic, cmd.report_id, list(cmd.elements), at))
    elif cmd.resolution == Resolution.SUSPEND_LICENCE and lic.state == _ACTIVE:
        await suspend_as(uow, found, reasons or "end-user change", "enduser", cmd.report_id)
    elif cmd.resolution == Resolution.REVOKE_LICENCE and live:
        await revoke_as(uow, found, reasons or "end-user change", "enduser", cmd.report_id)
    elif cmd.resolution == Resolution.REQUIRE_REAPPLICATION and live:
        await revoke_as(
            uow, found, "re-apply: a key element changed (Dual-use Regulations, licence "
            "provisions: a changed key element means re-applying)"
            + (f"; {reasons}" if reasons else ""), "enduser", cmd.report_id)


async def suspend_after_end_use_check(*, uow: LicensingUnitOfWork,
                                      cmd: commands.SuspendAfterEndUseCheck) -> None:
    """An end-use check found the goods diverted (Art. 17): suspend the licence pending the
    violation case."""
    found = await uow.licences.get(cmd.licence_id, for_update=True)
    if found is None or found.licence.state != _ACTIVE:
        return
    await suspend_as(uow, found, f"end-use check {cmd.check_id}: {cmd.details}"[:500],
                     "enduser", cmd.check_id)
