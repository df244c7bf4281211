"""Consumers: licensing's licence events -> the licence projection (service/licences.py).

Each handler runs inside the consumer's inbox transaction, so a redelivered event is a no-op.
Events on one licence arrive in order (the topic is keyed by licence id). A status event for
a licence we never saw issued is logged and skipped: without the issue there is nothing to
refuse or allow reports on.
"""

from __future__ import annotations

from stc.licensing.v1 import events_pb2 as lic
from stc_common.consumer import Subscription
from stc_common.db.uow import UnitOfWork
from stc_common.envelope import Envelope

from stc_enduser.convert import to_dict
from stc_enduser.domain.model import Authority, LicenceStatus
from stc_enduser.service import licences
from stc_enduser.storage.uow import EndUserUnitOfWork


def issued_command(env: Envelope, msg: lic.LicenceIssued) -> licences.ProjectIssued:
    """The projection command of a LicenceIssued (an unknown authority raises ValueError:
    the record goes to the dead-letter topic)."""
    return licences.ProjectIssued(
        event_id=env.id, licence_id=msg.licence_id,
        exporter_uscc=msg.exporter_uscc.strip().upper(),
        authority=Authority(msg.authority.strip().upper()),
        destination=msg.destination.strip().upper(),
        parties=tuple(to_dict(p) for p in msg.parties),
        item_codes=tuple(i.control_code for i in msg.items if i.control_code))


async def on_licence_issued(uow: UnitOfWork, env: Envelope, msg: lic.LicenceIssued) -> None:
    """A new licence: project its exporter, authority, destination, parties and items."""
    await licences.project_issued(uow=EndUserUnitOfWork(uow), cmd=issued_command(env, msg))


async def _status(uow: UnitOfWork, licence_id: str, status: LicenceStatus) -> None:
    await licences.project_status(uow=EndUserUnitOfWork(uow), licence_id=licence_id,
                                  status=status)


async def on_licence_suspended(uow: UnitOfWork, env: Envelope, msg: lic.LicenceSuspended) -> None:
    """The licence is suspended (reports still accepted)."""
    await _status(uow, msg.licence_id, LicenceStatus.SUSPENDED)


async def on_licence_reinstated(uow: UnitOfWork, env: Envelope,
                                msg: lic.LicenceReinstated) -> None:
    """A suspended licence is active again."""
    await _status(uow, msg.licence_id, LicenceStatus.ACTIVE)


async def on_licence_revoked(uow: UnitOfWork, env: Envelope, msg: lic.LicenceRevoked) -> None:
    """Revoked: no more reports on it (final)."""
    await _status(uow, msg.licence_id, LicenceStatus.REVOKED)


async def on_licence_expired(uow: UnitOfWork, env: Envelope, msg: lic.LicenceExpired) -> None:
    """Expired: no more reports on it (final)."""
    await _status(uow, msg.licence_id, LicenceStatus.EXPIRED)


async def on_licence_amended(uow: UnitOfWork, env: Envelope, msg: lic.LicenceAmended) -> None:
    """Licensing amended non-key elements after a resolution: note which."""
    await licences.project_amendment(uow=EndUserUnitOfWork(uow), licence_id=msg.licence_id,
                                     elements=tuple(msg.elements))


SUBSCRIPTIONS = [
    Subscription(lic.LicenceIssued, on_licence_issued),
    Subscription(lic.LicenceSuspended, on_licence_suspended),
    Subscription(lic.LicenceReinstated, on_licence_reinstated),
    Subscription(lic.LicenceRevoked, on_licence_revoked),
    Subscription(lic.LicenceExpired, on_licence_expired),
    Subscription(lic.LicenceAmended, on_licence_amended),
]
