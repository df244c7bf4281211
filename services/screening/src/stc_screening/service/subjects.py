"""The re-screening projection kept from licensing's events: the parties of pending
applications and active licences, kept while a list change could still matter to them."""

from __future__ import annotations

from stc_common.logging import get_logger

from stc_screening.convert import party_to_dict
from stc_screening.service.commands import DropSubject, KeepLicence
from stc_screening.storage import subjects as kinds_of
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.service")


async def keep_licence(*, uow: ScreeningUnitOfWork, cmd: KeepLicence) -> None:
    """An issued licence: keep its parties for re-screening; its application is settled
    (swapped in one transaction, so a list change in between matches one of them)."""
    await uow.subjects.upsert(kinds_of.LICENCE, cmd.licence_id, cmd.exporter_uscc,
                              [party_to_dict(p) for p in cmd.parties])
    if cmd.application_id:
        await uow.subjects.drop(kinds_of.APPLICATION, cmd.application_id)
    log.info("subject.kept", subject_kind="LICENCE", subject_id=cmd.licence_id)


async def drop_subject(*, uow: ScreeningUnitOfWork, cmd: DropSubject) -> bool:
    """A decided or withdrawn application, an ended licence: no more re-screening."""
    dropped = await uow.subjects.drop(cmd.kind, cmd.subject_id)
    if dropped:
        log.info("subject.dropped", subject_kind=cmd.kind, subject_id=cmd.subject_id)
    return dropped
