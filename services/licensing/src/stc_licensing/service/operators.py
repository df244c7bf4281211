"""Use cases of export operators: registration, the ICP self-assessment and audits (Art. 14)
and the military export qualification (Art. 23). Each runs in the caller's unit of work and
publishes its events into the outbox of that transaction."""

from __future__ import annotations

from dataclasses import replace

from stc_common.auth.jwt import Principal, Role
from stc_common.errors import (
    AlreadyExists,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    ViolationCollector,
)
from stc_common.logging import get_logger
from stc_common.uscc import UsccError, validate_uscc

from stc_licensing.domain.model import ExportOperator, IcpAudit, MilitaryQualification
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.service import commands, common
from stc_licensing.service.views import OperatorView
from stc_licensing.storage.ports import LicensingUnitOfWork

log = get_logger("stc_licensing.service.operators")


async def _visible(uow: LicensingUnitOfWork, caller: Principal, uscc: str, *,
                   for_update: bool = False) -> OperatorView:
    if caller.role is Role.EXPORTER and caller.uscc != uscc:
        raise NotFound("no such operator", reason="OPERATOR_NOT_FOUND")
    found = await uow.operators.get(uscc, for_update=for_update)
    if found is None:
        raise NotFound("no such operator", reason="OPERATOR_NOT_FOUND")
    return OperatorView(*found)


async def register_operator(*, uow: LicensingUnitOfWork, caller: Principal,
                            cmd: commands.RegisterOperator) -> OperatorView:
    """An exporter registers its own enterprise (officers may register any)."""
    vc = ViolationCollector()
    try:
        uscc = validate_uscc(cmd.uscc.strip().upper())
    except UsccError as exc:
        vc.add("uscc", f"malformed USCC: {exc}")
        uscc = ""
    vc.require(bool(cmd.name_zh.strip()), "name_zh", "the registered Chinese name is required")
    vc.raise_if_any()
    if caller.role is Role.EXPORTER and caller.uscc != uscc:
        raise PermissionDenied("an exporter registers only its own USCC", reason="OTHER_TENANT")
    op = ExportOperator(uscc=uscc, name_zh=cmd.name_zh.strip(), name_en=cmd.name_en.strip(),
                        address=cmd.address.strip(), icp=cmd.icp)
    if not await uow.operators.add(op):
        raise AlreadyExists(f"operator {uscc} is registered already", reason="OPERATOR_EXISTS")
    at = common.now()
    await publish(uow, outgoing.operator_registered(op, at))
    if op.icp:
        await publish(uow, outgoing.icp_assessed(op, "self", "", at))
    log.info("operator.registered", uscc=uscc)
    return OperatorView(op, at)


async def get_operator(*, uow: LicensingUnitOfWork, caller: Principal,
                       cmd: commands.GetOperator) -> OperatorView:
    """One operator (exporters: their own)."""
    return await _visible(uow, caller, common.checked_uscc(cmd.uscc))


async def update_icp_self_assessment(*, uow: LicensingUnitOfWork, caller: Principal,
                                     cmd: commands.UpdateIcpSelfAssessment) -> OperatorView:
    """The exporter's ICP self-assessment over the nine elements (Art. 14)."""
    uscc = common.checked_uscc(cmd.uscc)
    found = await _visible(uow, caller, uscc, for_update=True)
    op = replace(found.operator, icp=cmd.icp)
    await uow.operators.save(op)
    await publish(uow, outgoing.icp_assessed(op, "self", "", common.now()))
    return OperatorView(op, found.registered_at)


async def _audits_icp(uow: LicensingUnitOfWork, caller: Principal, op: ExportOperator) -> bool:
    """Whether the officer's authority may audit the operator's ICP (Art. 14): MOFCOM for
    every exporter; SASTIND for a military-qualified one (Art. 23); any authority to which
    the exporter has applied (its regime)."""
    authority = common.authority_of(caller) if caller.role is Role.OFFICER else ""
    if authority == "MOFCOM" or (authority == "SASTIND" and op.military_qualification):
        return True
    return bool(authority) and bool(await uow.applications.find(
        uscc=op.uscc, authority=authority, states=None, offset=0, limit=1))


async def record_icp_audit(*, uow: LicensingUnitOfWork, caller: Principal,
                           cmd: commands.RecordIcpAudit) -> OperatorView:
    """An officer of MOFCOM or of the exporter's regime records an ICP audit (Art. 14)."""
    uscc = common.checked_uscc(cmd.uscc)
    vc = ViolationCollector()
    vc.require(cmd.outcome is not None, "outcome", "must be set")
    vc.raise_if_any()
    assert cmd.outcome is not None
    found = await _visible(uow, caller, uscc, for_update=True)
    if not await _audits_icp(uow, caller, found.operator):
        raise PermissionDenied(
            f"an officer of {caller.authority} does not audit this exporter's ICP: MOFCOM, or "
            "the authority of a regime it exports under (Art. 14)",
            reason="NOT_COMPETENT_AUTHORITY")
    audit = IcpAudit(cmd.audited_on or common.today(), cmd.outcome, caller.subject,
                     cmd.report_ref)
    op = replace(found.operator, icp_audits=found.operator.icp_audits + (audit,))
    await uow.operators.save(op)
    await publish(uow, outgoing.icp_assessed(op, "audit", caller.subject, common.now(),
                                             cmd.outcome.value))
    return OperatorView(op, found.registered_at)


def _qualification(q: commands.QualificationInput) -> MilitaryQualification:
    vc = ViolationCollector()
    vc.require(bool(q.certificate_no.strip()), "qualification.certificate_no", "required")
    vc.require(q.valid_from is not None, "qualification.valid_from", "required")
    vc.require(q.valid_to is not None, "qualification.valid_to", "required")
    if q.valid_from and q.valid_to:
        vc.require(q.valid_from <= q.valid_to, "qualification.valid_to", "is before valid_from")
    vc.raise_if_any()
    if q.valid_from is None or q.valid_to is None:  # reported above
        raise ValidationFailed([])
    return MilitaryQualification(q.certificate_no.strip(), q.scope, q.valid_from, q.valid_to)


async def set_military_qualification(*, uow: LicensingUnitOfWork, caller: Principal,
                                     cmd: commands.SetMilitaryQualification) -> OperatorView:
    """A SASTIND officer sets (or clears) the Art. 23 military export qualification."""
    if common.authority_of(caller) != "SASTIND":
        raise PermissionDenied("military export qualifications are set by SASTIND (Art. 23)",
                               reason="NOT_COMPETENT_AUTHORITY")
    uscc = common.checked_uscc(cmd.uscc)
    qual = _qualification(cmd.qualification) if cmd.qualification is not None else None
    found = await _visible(uow, caller, uscc, for_update=True)
    op = replace(found.operator, military_qualification=qual)
    await uow.operators.save(op)
    await publish(uow, outgoing.qualification_changed(op, caller.subject))
    log.info("operator.qualification_changed", uscc=uscc, qualified=qual is not None)
    return OperatorView(op, found.registered_at)
