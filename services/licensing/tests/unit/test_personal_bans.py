"""Export Control Law Art. 39: personal bans of directly responsible persons enforced at
submission, over the in-memory fakes (no PostgreSQL, no Kafka): an application naming a
barred legal representative or handling person is refused (PERSON_BANNED, the field named,
never the ID number) and writes nothing; an expired ban or no named person lets it through."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.credit.v1 import events_pb2 as credit
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.errors import FailedPrecondition, ValidationFailed
from stc_common.person_id import id_number_hash
from stc_licensing.domain.inputs import CreditLevel, CreditStanding
from stc_licensing.domain.personal_bans import PersonBan
from stc_licensing.events import handlers
from stc_licensing.service import common

REP_ID = "11010119800101123x"
HANDLER_ID = "110101199202022222"


async def _operator(b, uow):
    await b.rpc.register_operator(uow=uow, p=b.exporter(b.USCC), req=spb.RegisterOperatorRequest(
        uscc=b.USCC, name_zh="北京某某科技有限公司", name_en="Beijing Example Co."))
    uow.events.clear()


def _content(b, rep=REP_ID, handler=HANDLER_ID):
    c = b.content_pb()
    if rep is not None:
        c.legal_representative.CopyFrom(apb.NaturalPerson(name="王五", id_number=rep))
    if handler is not None:
        c.handling_person.CopyFrom(apb.NaturalPerson(name="赵六", id_number=handler))
    return c


async def _ban(b, uow, id_number, until):
    await uow.standings.upsert(CreditStanding(
        uscc=b.USCC, level=CreditLevel.PENALISED, active_record_count=1,
        person_bans=(PersonBan(id_number_hash(id_number), until),)), None)


async def _submit(b, uow, content):
    return await b.rpc.submit_application(uow=uow, p=b.exporter(), req=spb.SubmitApplicationRequest(
        request_id="r-1", content=content))


@pytest.mark.parametrize("banned,field", [(REP_ID, "legal_representative"),
                                          (HANDLER_ID, "handling_person")])
@pytest.mark.parametrize("until", [None, dt.date(2031, 1, 1)])
async def test_art39_banned_person_refuses_submission_and_writes_nothing(b, banned, field,
                                                                         until):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    await _ban(b, uow, f" {banned.upper()} ", until)  # normalised: trimmed, upper case
    before = uow.store.snapshot()
    with pytest.raises(FailedPrecondition) as exc:
        await _submit(b, uow, _content(b))
    assert exc.value.code == "FAILED_PRECONDITION" and exc.value.reason == "PERSON_BANNED"
    assert exc.value.metadata["field"] == field and "39" in exc.value.message
    assert banned.upper() not in exc.value.message and banned not in str(exc.value.metadata)
    assert uow.store.snapshot() == before and uow.events == []


async def test_art39_expired_person_ban_is_accepted(b, monkeypatch):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    await _ban(b, uow, REP_ID, dt.date(2025, 6, 30))
    monkeypatch.setattr(common, "today", lambda: dt.date(2025, 6, 30))
    with pytest.raises(FailedPrecondition):  # the last day of the ban still bars
        await _submit(b, uow, _content(b))
    monkeypatch.setattr(common, "today", lambda: dt.date(2025, 7, 1))
    app = await _submit(b, uow, _content(b))
    assert app.application_id in uow.store.applications


async def test_art39_absent_persons_are_accepted_despite_bans(b):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    await _ban(b, uow, REP_ID, None)
    app = await _submit(b, uow, _content(b, rep=None, handler=None))
    assert app.application_id in uow.store.applications and uow.events


@pytest.mark.parametrize("id_number,reason", [("", "required"), ("x" * 41, "1-40"),
                                              ("1101\x0001", "control")])
async def test_art39_person_id_number_is_validated(b, id_number, reason):
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    with pytest.raises(ValidationFailed) as exc:
        await _submit(b, uow, _content(b, rep=id_number))
    assert [(v.field, reason in v.reason) for v in exc.value.violations] == [
        ("legal_representative.id_number", True)]


def test_art39_standing_event_maps_person_bans(b):
    msg = credit.CreditStandingChanged(
        uscc=b.USCC, level=credit.STANDING_LEVEL_PENALISED,
        as_of={"year": 2026, "month": 1, "day": 2}, person_bans=[
            credit.PersonBanInForce(id_number_sha256="AB" * 32),
            credit.PersonBanInForce(id_number_sha256="cd" * 32,
                                    ban_until={"year": 2030, "month": 5, "day": 1})])
    cmd = handlers.credit_standing_command(msg)
    assert cmd is not None
    assert cmd.standing.person_bans == (PersonBan("ab" * 32, None),
                                        PersonBan("cd" * 32, dt.date(2030, 5, 1)))


async def test_art39_id_numbers_stay_off_the_application_events(b):
    """The ID numbers are kept with the application but never published on Kafka."""
    uow = b.FakeUnitOfWork()
    await _operator(b, uow)
    app = await _submit(b, uow, _content(b))
    submitted = [m for _t, _k, m in uow.events if type(m).__name__ == "ApplicationSubmitted"]
    assert len(submitted) == 1
    assert submitted[0].content.legal_representative.name == "王五"
    assert submitted[0].content.handling_person.name == "赵六"
    for _topic, _key, message in uow.events:
        data = message.SerializeToString()
        assert REP_ID.encode() not in data and HANDLER_ID.encode() not in data
    stored = uow.store.applications[app.application_id].content
    assert stored["legal_representative"]["id_number"] == REP_ID
