"""Art. 12(4) consultations: an exporter asks the authority it addresses whether an item is
controlled; that authority (and only it) answers. Another exporter's or another authority's
consultation answers NOT_FOUND, as if absent (``domain.consultations.visible_to``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from stc_common.errors import FailedPrecondition, NotFound
from stc_common.idempotency import fingerprint, replay_or_refuse
from stc_common.logging import get_logger

from stc_screening.domain.consultations import Consultation, ConsultationState, visible_to
from stc_screening.events import outgoing
from stc_screening.service.commands import (
    AnswerConsultation,
    GetConsultation,
    ListConsultations,
    SubmitConsultation,
)
from stc_screening.storage.uow import ScreeningUnitOfWork

log = get_logger("stc_screening.service")


def _not_found(consultation_id: str) -> NotFound:
    return NotFound(f"consultation {consultation_id} not found",
                    reason="CONSULTATION_NOT_FOUND")


async def submit_consultation(*, uow: ScreeningUnitOfWork, cmd: SubmitConsultation
                              ) -> Consultation:
    """Store the question and route it to the authority (ConsultationSubmitted). The same
    exporter repeating a request id replays its consultation; with a different question
    the request is refused (REQUEST_ID_REUSED)."""
    fp = fingerprint(cmd)
    if cmd.request_id:
        earlier = await uow.consultations.by_request(cmd.exporter_uscc, cmd.request_id)
        if earlier is not None:
            replay_or_refuse(earlier.request_fingerprint, fp, what="consultation",
                             existing_id=earlier.consultation_id)
            return earlier
    c = Consultation(
        consultation_id=str(uuid.uuid4()), exporter_uscc=cmd.exporter_uscc,
        authority=cmd.authority, question=cmd.question, submitted_at=dt.datetime.now(dt.UTC),
        item_description=cmd.item_description, hs_code=cmd.hs_code,
        parameters=dict(cmd.parameters), request_id=cmd.request_id,
        request_fingerprint=fp if cmd.request_id else None)
    await uow.consultations.add(c)
    await uow.publish(outgoing.CONSULTATION_TOPIC, c.consultation_id,
                      outgoing.consultation_submitted(c))
    log.info("consultation.submitted", consultation_id=c.consultation_id,
             authority=cmd.authority)
    return c


async def get_consultation(*, uow: ScreeningUnitOfWork, cmd: GetConsultation) -> Consultation:
    """One consultation; another tenant's (or another authority's) answers NOT_FOUND."""
    c = await uow.consultations.get(cmd.consultation_id)
    if c is None or not visible_to(c, exporter_uscc=cmd.exporter_uscc,
                                   authority=cmd.authority):
        raise _not_found(cmd.consultation_id)
    return c


async def list_consultations(*, uow: ScreeningUnitOfWork, cmd: ListConsultations
                             ) -> list[Consultation]:
    """The consultations routed to one authority (None: every authority's, for auditors),
    oldest first."""
    return await uow.consultations.list_for_authority(cmd.authority, cmd.state, cmd.offset,
                                                      cmd.limit)


async def answer_consultation(*, uow: ScreeningUnitOfWork, cmd: AnswerConsultation
                              ) -> Consultation:
    """The authority answers (ConsultationAnswered); another authority's consultation is
    NOT_FOUND, an answered one FAILED_PRECONDITION."""
    c = await uow.consultations.get(cmd.consultation_id, for_update=True)
    if c is None or not visible_to(c, exporter_uscc=None, authority=cmd.authority):
        raise _not_found(cmd.consultation_id)
    if c.answered:
        raise FailedPrecondition("the consultation is answered already",
                                 reason="CONSULTATION_ANSWERED")
    c = dataclasses.replace(c, state=ConsultationState.ANSWERED, controlled=cmd.controlled,
                            control_code=cmd.control_code, answer=cmd.answer,
                            officer=cmd.officer, answered_at=dt.datetime.now(dt.UTC))
    await uow.consultations.save_answer(c)
    await uow.publish(outgoing.CONSULTATION_TOPIC, c.consultation_id,
                      outgoing.consultation_answered(c))
    log.info("consultation.answered", consultation_id=c.consultation_id,
             controlled=cmd.controlled)
    return c
