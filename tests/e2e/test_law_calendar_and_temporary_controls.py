"""Issue 11 items 3 and 5 end to end: the whole platform started as `make run` starts it,
driven only through gRPC, the real screening service screening the parties.

- Reg. 17 working days: an officer enters a (made-up) State Council holiday schedule for the
  year of an open application's deadline; the deadline moves, is exact, and the application's
  watch stream says why (DEADLINE_RECOMPUTED).
- ECL Art. 9(2): MOFCOM registers a temporary control on the item's HS code; the application
  is assessed with the item controlled (F4-TEMPORARY-CONTROL) and the licence ends with the
  measure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import grpc
import pytest
from google.type import date_pb2
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import holiday_schedule_pb2 as hpb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.licensing.v1 import licensing_service_pb2_grpc as spb_grpc
from stc.licensing.v1 import temporary_control_pb2 as tpb
from stc_common.prc_time import prc_today
from stc_common.testing.service import bearer
from stc_common.uscc import make_uscc
from stc_common.workdays import package_covers

pytestmark = pytest.mark.e2e
MOFCOM = bearer("officer", authority="MOFCOM")


def _d(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _date(d) -> dt.date:
    return dt.date(d.year, d.month, d.day)


def _content(uscc: str, hs_code: str) -> apb.ApplicationContent:
    today = dt.date.today()
    return apb.ApplicationContent(
        exporter_uscc=uscc, licence_type=apb.LICENCE_TYPE_SINGLE,
        regime=apb.ITEM_REGIME_DUAL_USE, export_type=apb.EXPORT_TYPE_PERMANENT,
        items=[apb.Item(control_code="1C117.d", description="Ammonium paratungstate",
                        hs_code=hs_code, quantity="500", unit="kg",
                        value=common_pb2.Money(currency_code="CNY", amount_minor=12_500_000))],
        destination="DE",
        parties=[
            common_pb2.Party(role=common_pb2.PARTY_ROLE_IMPORTER, name="Hartmann Werkzeug GmbH",
                             country="DE"),
            common_pb2.Party(role=common_pb2.PARTY_ROLE_END_USER,
                             name="Hartmann Werkzeug GmbH Werk Ulm", country="DE"),
        ],
        end_use=apb.EndUse(category=apb.END_USE_CATEGORY_CIVIL,
                           statement="Sintering of cutting tools"),
        end_user_certificate=apb.EndUserCertificate(
            issuer_kind=apb.CERTIFICATE_ISSUER_END_USER,
            issuer_name="Hartmann Werkzeug GmbH Werk Ulm",
            document_sha256="ab" * 32, issued_on=_d(today - dt.timedelta(days=30)),
            expires_on=_d(today + dt.timedelta(days=300))),
        contract_reference=f"C-{uuid.uuid4().hex[:6]}")


async def _submitted(stub, hs_code: str):
    uscc = make_uscc(f"91110108MA{uuid.uuid4().int % 10_000_000:07d}")
    exporter = bearer("exporter", uscc=uscc)
    await stub.RegisterOperator(spb.RegisterOperatorRequest(
        uscc=uscc, name_zh="北京某某科技有限公司", name_en="Beijing Example Co."),
        metadata=exporter)
    app = await stub.SubmitApplication(spb.SubmitApplicationRequest(
        request_id=uuid.uuid4().hex, content=_content(uscc, hs_code)), metadata=exporter)
    return app, exporter


async def _wait_state(stub, app_id: str, md, state: int, timeout: float = 90):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        a = await stub.GetApplication(spb.GetApplicationRequest(application_id=app_id),
                                      metadata=md)
        if a.state == state:
            return a
        assert loop.time() < end, f"application {app_id} stayed in {a.state}"
        await asyncio.sleep(0.2)


async def test_reg17_entered_schedule_moves_an_open_deadline_end_to_end(platform):
    async with grpc.aio.insecure_channel(platform["addresses"]["licensing"]) as ch:
        stub = spb_grpc.LicensingServiceStub(ch)
        app, exporter = await _submitted(stub, "2841801000")
        old, accepted = _date(app.deadline), _date(app.accepted_on)
        off = [d for d in (old - dt.timedelta(days=1), old)
               if d.year == old.year and d > dt.date(old.year, 1, 1)]
        years = {y for y in range(accepted.year, old.year + 1) if not package_covers(y)}
        for y in sorted(years | {old.year}):
            periods = [hpb.HolidayPeriod(name="New Year's Day", first_day=_d(dt.date(y, 1, 1)),
                                         last_day=_d(dt.date(y, 1, 1)))]
            if y == old.year:
                periods.append(hpb.HolidayPeriod(name="Test Holiday", first_day=_d(min(off)),
                                                 last_day=_d(max(off))))
            await stub.EnterHolidaySchedule(hpb.EnterHolidayScheduleRequest(
                request_id=uuid.uuid4().hex, schedule=hpb.HolidaySchedule(
                    year=y, announcement=f"TEST-{y} (made up, not the law)",
                    holidays=periods)), metadata=MOFCOM)
        now = await stub.GetApplication(spb.GetApplicationRequest(
            application_id=app.application_id), metadata=exporter)
        assert now.deadline_exact and _date(now.deadline) > old

        async def recomputed():
            async for update in stub.WatchApplication(spb.WatchApplicationRequest(
                    application_id=app.application_id), metadata=exporter):
                if update.kind == spb.UPDATE_KIND_DEADLINE_RECOMPUTED:
                    return update

        update = await asyncio.wait_for(recomputed(), timeout=30)
        assert _date(update.application.deadline) == _date(now.deadline)
        assert "TEST-" in update.note


async def test_art9_temporary_control_is_applied_by_the_running_platform(platform):
    day = prc_today()
    end = day + dt.timedelta(days=150)
    async with grpc.aio.insecure_channel(platform["addresses"]["licensing"]) as ch:
        stub = spb_grpc.LicensingServiceStub(ch)
        await stub.CreateTemporaryControl(tpb.CreateTemporaryControlRequest(
            temporary_control=tpb.TemporaryControl(
                announcement="MOFCOM/GAC announcement (made up for the test)",
                items=[tpb.TemporarilyControlledItem(hs_code="28418010",
                                                     description="tungstates")],
                start=_d(day - dt.timedelta(days=1)), end=_d(end))), metadata=MOFCOM)
        app, exporter = await _submitted(stub, "2841801000")
        await _wait_state(stub, app.application_id, exporter,
                          apb.APPLICATION_STATE_UNDER_REVIEW)  # screened by the platform
        a = await stub.GetAssessment(spb.GetAssessmentRequest(
            application_id=app.application_id), metadata=MOFCOM)
        assert "F4-TEMPORARY-CONTROL" in {f.code for fa in a.factors for f in fa.findings}
        # the parties are on no list: the measure's caution alone sets the recommendation
        assert a.recommendation == events_pb2.RECOMMENDATION_GRANT_WITH_CONDITIONS, [
            (fa.factor, fa.level, [f.code for f in fa.findings]) for fa in a.factors]
        decided = await stub.DecideApplication(spb.DecideApplicationRequest(
            application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
            metadata=MOFCOM)
        assert _date(decided.licence.valid_until) == end  # not the single licence's year
