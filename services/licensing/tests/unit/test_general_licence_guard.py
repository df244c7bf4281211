"""Art. 14 at decision time: an officer cannot issue a general licence where the newest
assessment found the application not eligible (weak ICP, no history, a watch-listed party
under Reg. 26, items outside the general-licence regimes ...): FAILED_PRECONDITION naming the
reasons, nothing written. Over the in-memory fakes."""

from __future__ import annotations

import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import assessment_pb2, events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.screening.v1 import events_pb2 as scr
from stc_common.errors import FailedPrecondition


async def _general(b, uow, hits=()):
    app = await b.assessed_application(
        uow, request_id="r-gl", content=b.content_pb(licence_type=apb.LICENCE_TYPE_GENERAL),
        hits=hits)
    uow.events.clear()
    return app.application_id


def _approve(app_id):
    return spb.DecideApplicationRequest(application_id=app_id,
                                        decision=events_pb2.DECISION_APPROVE)


async def test_art14_no_general_licence_for_an_ineligible_exporter(b):
    uow = b.FakeUnitOfWork()
    app_id = await _general(b, uow)  # no ICP, no audit, no licensed exports on record
    before = uow.store.snapshot()
    with pytest.raises(FailedPrecondition) as exc:
        await b.rpc.decide_application(uow=uow, p=b.officer(), req=_approve(app_id))
    assert exc.value.reason == "GENERAL_LICENCE_NOT_ELIGIBLE"
    msg = str(exc.value)
    assert "Art. 14" in msg and "GL-ICP-INCOMPLETE" in msg and "GL-EXPORT-HISTORY" in msg
    assert uow.store.snapshot() == before and uow.events == [] and not uow.store.licences
    # the officer may still deny it (or the exporter applies for single licences)
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
        application_id=app_id, decision=events_pb2.DECISION_DENY,
        reasons=["not eligible for a general licence (Art. 14)"]))
    assert r.application.state == apb.APPLICATION_STATE_DENIED


async def test_art14_reg26_no_general_licence_with_a_watch_listed_party(b):
    uow = b.FakeUnitOfWork()
    hit = scr.PartyHit(party_name="Müller Präzision GmbH Werk Ulm",
                       party_role=common_pb2.PARTY_ROLE_END_USER, list_kind=scr.LIST_KIND_WATCH_LIST, entry_id="WL-9",
                       entry_name="Müller Präzision GmbH Werk Ulm", score=0.97,
                       decision=scr.HIT_DECISION_MATCH)
    app_id = await _general(b, uow, hits=[hit])
    with pytest.raises(FailedPrecondition) as exc:
        await b.rpc.decide_application(uow=uow, p=b.officer(), req=spb.DecideApplicationRequest(
            application_id=app_id, decision=events_pb2.DECISION_APPROVE_WITH_CONDITIONS,
            conditions=["end-use check within 6 months"]))
    assert exc.value.reason == "GENERAL_LICENCE_NOT_ELIGIBLE"
    assert "GL-WATCH-LIST" in str(exc.value)


async def test_art14_eligible_assessment_lets_the_general_licence_through(b):
    """The guard reads the newest assessment: where it says eligible, the licence issues."""
    uow = b.FakeUnitOfWork()
    app_id = await _general(b, uow)
    (stored,) = [a for a in uow.store.assessments.values() if a["application_id"] == app_id]
    a = assessment_pb2.Assessment.FromString(stored["body"])
    a.general_licence_eligible = True
    del a.general_licence_reasons[:]
    stored["body"] = a.SerializeToString()
    r = await b.rpc.decide_application(uow=uow, p=b.officer(), req=_approve(app_id))
    assert r.application.state == apb.APPLICATION_STATE_APPROVED and r.licence.licence_id
