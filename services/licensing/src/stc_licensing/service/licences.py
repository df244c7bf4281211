"""Use cases of licences: read and list, record an export against one (a single licence is
used up by it), and the officer's suspension, reinstatement and revocation; plus the
suspension and revocation the other services' events cause (service/reactions.py)."""

from __future__ import annotations

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import FieldViolation, ValidationFailed
from stc_common.logging import get_logger

from stc_licensing.domain import licence as licence_rules
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.service.views import LicenceView, Page
from stc_licensing.storage.ports import LicenceRow, LicensingUnitOfWork

log = get_logger("stc_licensing.service.licences")


async def licence_view(uow: LicensingUnitOfWork, lic: licence_rules.Licence,
                       authority: str) -> LicenceView:
    """The licence with its application's reference and content, shown now."""
    row = await uow.applications.get(lic.application_id)
    if row is None:
        raise AssertionError(f"licence {lic.id} without its application")
    return LicenceView(lic, authority, row.reference, row.content, common.now())


async def get_licence(*, uow: LicensingUnitOfWork, caller: Principal,
                      cmd: commands.GetLicence) -> LicenceView:
    """One licence the caller may see."""
    found = await common.visible_licence(uow, caller, cmd.licence_id)
    return await licence_view(uow, found.licence, found.authority)


async def list_licences(*, uow: LicensingUnitOfWork, caller: Principal,
                        cmd: commands.ListLicences) -> Page[LicenceView]:
    """Licences the caller may see, filtered by status, paged."""
    offset, size = common.page(cmd.page_token, cmd.page_size)
    uscc = caller.uscc if caller.role is Role.EXPORTER \
        else (cmd.holder_uscc.strip().upper() or None)
    authority = common.authority_of(caller) if caller.role is Role.OFFICER else None
    status = cmd.status
    states = None
    if status is not None:  # ON_HOLD is an ACTIVE licence with holds
        states = ["ACTIVE"] if status == licence_rules.LicenceStatus.ON_HOLD \
            else [status.value]
    rows = await uow.licences.find(uscc=uscc, authority=authority, states=states,
                                   offset=offset, limit=size + 1)
    out = [await licence_view(uow, r.licence, r.authority) for r in rows[:size]]
    if status is not None:
        out = [v for v in out if v.licence.status == status]
    return Page(out, str(offset + size) if len(rows) > size else "")


async def record_export(*, uow: LicensingUnitOfWork, caller: Principal,
                        cmd: commands.RecordExport) -> LicenceView:
    """An export against a licence (a single licence is used up by it: Dual-use Regulations,
    licence provisions: a single licence is void once used)."""
    found = await common.visible_licence(uow, caller, cmd.licence_id, for_update=True)
    before = len(found.licence.exports)
    lic = licence_rules.record_export(found.licence, cmd.export)
    await uow.licences.save(lic)
    if len(lic.exports) != before:
        await publish(uow, outgoing.licence_used(lic, cmd.export))
        log.info("licence.used", licence_id=lic.id, export_id=cmd.export.export_id)
    return await licence_view(uow, lic, found.authority)


async def suspend_as(uow: LicensingUnitOfWork, found: LicenceRow, reason: str, source: str,
                     source_id: str = "") -> licence_rules.Licence:
    """Suspend and publish LicenceSuspended (officers, rescreening and enduser events)."""
    lic = licence_rules.suspend(found.licence, reason)
    await uow.licences.save(lic)
    await publish(uow, outgoing.licence_suspended(lic, reason, source, source_id, common.now()))
    log.info("licence.suspended", licence_id=lic.id, source=source)
    return lic


async def revoke_as(uow: LicensingUnitOfWork, found: LicenceRow, reason: str, source: str,
                    source_id: str = "") -> licence_rules.Licence:
    """Revoke and publish LicenceRevoked."""
    lic = licence_rules.revoke(found.licence, reason)
    await uow.licences.save(lic)
    await publish(uow, outgoing.licence_revoked(lic, reason, source, source_id, common.now()))
    log.info("licence.revoked", licence_id=lic.id, source=source)
    return lic


async def _officers_licence(uow: LicensingUnitOfWork, caller: Principal, licence_id: str,
                            reason: str) -> tuple[str, LicenceRow]:
    """The stated reason and the licence, locked, when the caller is an officer of the
    issuing authority (Art. 5)."""
    if not reason.strip():
        raise ValidationFailed(FieldViolation("reason", "a reason is required"))
    found = await common.visible_licence(uow, caller, licence_id, for_update=True)
    common.require_competent(caller, found.authority)
    return reason.strip(), found


async def suspend_licence(*, uow: LicensingUnitOfWork, caller: Principal,
                          cmd: commands.SuspendLicence) -> LicenceView:
    """An officer of the issuing authority suspends a licence."""
    reason, found = await _officers_licence(uow, caller, cmd.licence_id, cmd.reason)
    lic = await suspend_as(uow, found, reason, "officer", caller.subject)
    return await licence_view(uow, lic, found.authority)


async def reinstate_licence(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.ReinstateLicence) -> LicenceView:
    """An officer reinstates a suspended licence within its validity."""
    reason, found = await _officers_licence(uow, caller, cmd.licence_id, cmd.reason)
    lic = licence_rules.reinstate(found.licence, reason, common.today())
    await uow.licences.save(lic)
    await publish(uow, outgoing.licence_reinstated(lic, reason, common.now()))
    return await licence_view(uow, lic, found.authority)


async def revoke_licence(*, uow: LicensingUnitOfWork, caller: Principal,
                         cmd: commands.RevokeLicence) -> LicenceView:
    """An officer revokes a licence (final)."""
    reason, found = await _officers_licence(uow, caller, cmd.licence_id, cmd.reason)
    lic = await revoke_as(uow, found, reason, "officer", caller.subject)
    return await licence_view(uow, lic, found.authority)
