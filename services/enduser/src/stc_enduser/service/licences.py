"""The local licence projection, built from licensing's licence events (the consumers in
events/handlers.py turn each event into one of these calls).

The projection is what change reports are checked against: the exporter, the authority,
the parties (ECL Art. 16: the exporter and the importer of the licence report), and the
status (no report on a revoked or expired licence). Revoked and expired are final: a later
status event does not reopen the licence.
"""

from __future__ import annotations

from dataclasses import dataclass

from stc_common.logging import get_logger

from stc_enduser.domain.model import Authority, LicenceStatus
from stc_enduser.storage.uow import EndUserUnitOfWork

log = get_logger("stc_enduser.service.licences")


@dataclass(frozen=True)
class ProjectIssued:
    """A LicenceIssued: its exporter, authority, destination, parties and items."""

    event_id: str
    licence_id: str
    exporter_uscc: str
    authority: Authority
    destination: str
    parties: tuple[dict, ...]
    item_codes: tuple[str, ...]


async def project_issued(*, uow: EndUserUnitOfWork, cmd: ProjectIssued) -> bool:
    """Store (or refresh) an issued licence; True when it was new. A re-issue never resets
    the status: a LicenceIssued published again must not undo a later revocation."""
    new = await uow.licences.upsert_issued(
        licence_id=cmd.licence_id, exporter_uscc=cmd.exporter_uscc,
        authority=cmd.authority.value, destination=cmd.destination,
        parties=list(cmd.parties), item_codes=list(cmd.item_codes), event_id=cmd.event_id)
    log.info("licence.projected", licence_id=cmd.licence_id, new=new)
    return new


async def project_status(*, uow: EndUserUnitOfWork, licence_id: str, status: LicenceStatus
                         ) -> bool:
    """Set a projected licence's status; False (logged) for an unknown licence or one
    already revoked or expired."""
    if await uow.licences.set_status(licence_id, status):
        log.info("licence.status_projected", licence_id=licence_id, status=status)
        return True
    log.warning("licence.status_not_applied", licence_id=licence_id, status=status)
    return False


async def project_amendment(*, uow: EndUserUnitOfWork, licence_id: str,
                            elements: tuple[str, ...]) -> bool:
    """Note the elements licensing amended after a resolution; False for an unknown
    licence."""
    if await uow.licences.add_amended(licence_id, list(elements)):
        return True
    log.warning("licence.amendment_not_applied", licence_id=licence_id)
    return False
