"""Builders for the licensing domain's unit tests: a clean baseline application that the
assessment grants, and small overrides per test. Tests get this module through the `b`
fixture (test modules cannot import conftest under --import-mode=importlib)."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from decimal import Decimal

import pytest
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc.screening.v1 import events_pb2 as scr
from stc_common.auth.jwt import Authority, Principal, Role
from stc_common.testing.builders import CERTIFICATE_SHA256, dual_use_application
from stc_common.uscc import make_uscc
from stc_licensing import service
from stc_licensing.api import mapping
from stc_licensing.domain.inputs import CreditLevel, CreditStanding, ScreeningOutcome
from stc_licensing.domain.model import (
    Application,
    ApplicationContent,
    ApplicationState,
    CertificateIssuer,
    EndUse,
    EndUseCategory,
    EndUserCertificate,
    ExportOperator,
    ExportType,
    IcpAudit,
    IcpAuditOutcome,
    IcpElement,
    IcpElementAssessment,
    IcpStatus,
    Item,
    ItemRegime,
    LicenceType,
    MilitaryQualification,
    Money,
    Party,
    PartyIdentifier,
    PartyRole,
    party_key,
)
from stc_licensing.domain.policy import (
    ArmsEmbargo,
    CountryMeasure,
    GeneralLicenceRules,
    MeasureKind,
    Policy,
    Sensitivity,
    SensitivityRule,
)
from stc_licensing.events import handlers
from stc_licensing.service import commands
from stc_licensing.testing.fakes import FakeUnitOfWork  # noqa: F401  (b.FakeUnitOfWork)
from stc_licensing.wire import assign_party_ids, content_to_domain, content_to_json

TODAY = dt.date(2026, 3, 2)
USCC = make_uscc("91110000MA01ABCD1")
SHA = CERTIFICATE_SHA256


def operator(**kw) -> ExportOperator:
    base = ExportOperator(
        uscc=USCC,
        name_zh="北京某某科技有限公司",
        name_en="Beijing Example Technology Co., Ltd.",
        address="北京市海淀区",
        icp=tuple(IcpElementAssessment(e, IcpStatus.IMPLEMENTED, (f"doc-{e.value.lower()}",))
                  for e in IcpElement),
        icp_audits=(IcpAudit(dt.date(2025, 6, 1), IcpAuditOutcome.EFFECTIVE, "officer-1"),),
        licensed_exports=12,
        established_end_users=frozenset({party_key(end_user())}),
    )
    return replace(base, **kw)


def qualification(valid_to: dt.date = dt.date(2028, 12, 31)) -> MilitaryQualification:
    return MilitaryQualification("JP-2024-0007", ("radar components",), dt.date(2024, 1, 1),
                                 valid_to)


def importer() -> Party:
    return Party(PartyRole.IMPORTER, "Müller Präzision GmbH", "DE",
                 (PartyIdentifier("VAT", "DE123456789"),))


def end_user(**kw) -> Party:
    return replace(Party(PartyRole.END_USER, "Müller Präzision GmbH Werk Ulm", "DE",
                         (PartyIdentifier("REG", "HRB 1234 Ulm"),)), **kw)


def item(**kw) -> Item:
    return replace(Item("1C117.d", "Ammonium paratungstate", "2841801000", Decimal("500"), "kg",
                        Money(12_500_000, "CNY")), **kw)


def certificate(**kw) -> EndUserCertificate:
    return replace(EndUserCertificate(CertificateIssuer.END_USER, "Müller Präzision GmbH", SHA,
                                      dt.date(2026, 1, 15), dt.date(2027, 1, 14)), **kw)


def content(**kw) -> ApplicationContent:
    base = ApplicationContent(
        exporter_uscc=USCC,
        licence_type=LicenceType.SINGLE,
        regime=ItemRegime.DUAL_USE,
        export_type=ExportType.PERMANENT,
        items=(item(),),
        destination="DE",
        parties=(importer(), end_user()),
        end_use=EndUse(EndUseCategory.CIVIL, "Sintering of cutting tools"),
        end_user_certificate=certificate(),
        contract_reference="C-2026-001",
    )
    return replace(base, **kw)


def application(c: ApplicationContent | None = None, **kw) -> Application:
    return replace(Application("app-1", c or content(), ApplicationState.SCREENING,
                               submitted_on=TODAY, accepted_on=TODAY), **kw)


def screening(**kw) -> ScreeningOutcome:
    return replace(ScreeningOutcome("scr-1"), **kw)


def standing(**kw) -> CreditStanding:
    return replace(CreditStanding(USCC, CreditLevel.GOOD, 0), **kw)


def policy(**kw) -> Policy:
    base = Policy(
        version="test-1",
        effective_from=dt.date(2026, 1, 1),
        destination_tiers={"KP": 3, "YE": 3, "MM": 3, "DE": 1},
        default_tier=2,
        arms_embargoes=(
            ArmsEmbargo("KP", "Democratic People's Republic of Korea", "full", "UNSCR 1718",
                        dt.date(2006, 10, 14)),
            ArmsEmbargo("YE", "Yemen", "listed individuals and entities (Houthis)",
                        "UNSCR 2216", dt.date(2015, 4, 14)),
        ),
        measures=(
            CountryMeasure("M-US-MIL", "US", MeasureKind.BAN_MILITARY_END_USE,
                           (ItemRegime.DUAL_USE,), dt.date(2024, 12, 3),
                           "MOFCOM Announcement 2024 No. 46", "No dual-use to US military users",
                           "禁止两用物项对美国军事用户出口"),
            CountryMeasure("M-XX-BAN", "AQ", MeasureKind.BAN, (ItemRegime.DUAL_USE,),
                           dt.date(2025, 1, 1), "Test ban", "All dual-use exports banned",
                           "禁止出口", suspended_from=dt.date(2026, 6, 1),
                           suspended_until=dt.date(2026, 9, 1)),
        ),
        sensitivity_rules=(
            SensitivityRule("", Sensitivity.CRITICAL, ItemRegime.NUCLEAR),
            SensitivityRule("", Sensitivity.HIGH, ItemRegime.MILITARY),
            SensitivityRule("1C902", Sensitivity.HIGH),
            SensitivityRule("1C351", Sensitivity.CRITICAL),
            SensitivityRule("1", Sensitivity.MEDIUM),
        ),
        general_licence=GeneralLicenceRules((ItemRegime.DUAL_USE,), 3, 1095),
    )
    return replace(base, **kw)


# --------------------------------------------------------------------------- use cases


def submit(request_id: str = "r-1", c: apb.ApplicationContent | None = None
           ) -> commands.SubmitApplication:
    """The SubmitApplication command of a proto content (party ids assigned, as the API
    does)."""
    c = c if c is not None else content_pb()
    assign_party_ids(c)
    return commands.SubmitApplication(request_id, content_to_domain(c), content_to_json(c))


class Rpc:
    """The use cases as the servicer runs them, without gRPC: request -> command
    (api/mapping.py) -> use case over the fakes -> response; events -> command
    (events/handlers.py) -> use case. For tests written against the API's shapes."""

    async def _run(self, use_case, uow, p, cmd, to_response):
        return to_response(await use_case(uow=uow, caller=p, cmd=cmd))

    async def register_operator(self, *, uow, p, req):
        return await self._run(service.register_operator, uow, p,
                               mapping.register_operator(req), mapping.operator)

    async def submit_application(self, *, uow, p, req):
        return await self._run(service.submit_application, uow, p,
                               mapping.submit_application(p, req), mapping.application)

    async def get_application(self, *, uow, p, application_id):
        return await self._run(service.get_application, uow, p,
                               commands.GetApplication(application_id), mapping.application)

    async def list_applications(self, *, uow, p, req):
        return await self._run(service.list_applications, uow, p,
                               mapping.list_applications(req), mapping.applications)

    async def withdraw_application(self, *, uow, p, req):
        return await self._run(service.withdraw_application, uow, p,
                               commands.WithdrawApplication(req.application_id, req.reason),
                               mapping.application)

    async def amend_application(self, *, uow, p, req):
        return await self._run(service.amend_application, uow, p,
                               mapping.amend_application(p, req), mapping.application)

    async def request_reconsideration(self, *, uow, p, req):
        return await self._run(service.request_reconsideration, uow, p,
                               commands.RequestReconsideration(req.application_id, req.grounds),
                               mapping.application)

    async def get_assessment(self, *, uow, p, application_id):
        return await self._run(service.get_assessment, uow, p,
                               commands.GetAssessment(application_id), mapping.assessment)

    async def list_review_queue(self, *, uow, p, req):
        return await self._run(service.list_review_queue, uow, p,
                               mapping.list_review_queue(req), mapping.applications)

    async def request_information(self, *, uow, p, req):
        return await self._run(service.request_information, uow, p,
                               commands.RequestInformation(req.application_id,
                                                           tuple(req.questions)),
                               mapping.application)

    async def start_expert_review(self, *, uow, p, req):
        return await self._run(service.start_expert_review, uow, p,
                               commands.StartExpertReview(req.application_id, req.reason),
                               mapping.application)

    async def end_expert_review(self, *, uow, p, req):
        return await self._run(service.end_expert_review, uow, p,
                               commands.EndExpertReview(req.application_id, req.outcome),
                               mapping.application)

    async def decide_application(self, *, uow, p, req):
        return await self._run(service.decide_application, uow, p,
                               mapping.decide_application(req), mapping.decision)

    async def assess_application(self, *, uow, msg):
        cmd = handlers.assess_command(msg)
        return cmd is not None and await service.assess_application(uow=uow, cmd=cmd)

    async def on_rescreening_match(self, *, uow, msg):
        await service.handle_rescreening_match(uow=uow, cmd=handlers.rescreening_command(msg))

    async def on_credit_standing(self, *, uow, msg):
        cmd = handlers.credit_standing_command(msg)
        if cmd is not None:
            await service.record_credit_standing(uow=uow, cmd=cmd)

    async def on_change_reported(self, *, uow, msg):
        cmd = handlers.hold_command(msg)
        if cmd is not None:
            await service.hold_licence(uow=uow, cmd=cmd)

    async def on_change_resolved(self, *, uow, msg):
        await service.apply_change_resolution(uow=uow, cmd=handlers.resolution_command(msg))

    async def on_end_use_check_completed(self, *, uow, msg):
        cmd = handlers.end_use_check_command(msg)
        if cmd is not None:
            await service.suspend_after_end_use_check(uow=uow, cmd=cmd)


rpc = Rpc()


def exporter(uscc: str = USCC) -> Principal:
    return Principal("exporter-1", Role.EXPORTER, uscc=uscc)


def officer(authority: Authority = Authority.MOFCOM) -> Principal:
    return Principal("officer-1", Role.OFFICER, authority=authority)


def content_pb(uscc: str = USCC, **kw) -> apb.ApplicationContent:
    """A clean dual-use application to Germany (proto) that the assessment grants (its
    certificate is valid whatever day a test makes today)."""
    return dual_use_application(uscc, issued_on=dt.date(2025, 6, 1),
                                expires_on=dt.date(2030, 12, 31), **kw)


async def assessed_application(uow, *, request_id: str = "r-1",
                               content: apb.ApplicationContent | None = None, hits=()):
    """The exporter USCC's operator registered (unless it is), `content` (the clean application)
    submitted and assessed (Art. 13) on a screening result with the party `hits`: the
    application as the exporter sees it."""
    if USCC not in uow.store.operators:
        await rpc.register_operator(uow=uow, p=exporter(), req=spb.RegisterOperatorRequest(
            uscc=USCC, name_zh="北京某某科技有限公司"))
    app = await rpc.submit_application(uow=uow, p=exporter(), req=spb.SubmitApplicationRequest(
        request_id=request_id, content=content or content_pb()))
    await rpc.assess_application(uow=uow, msg=scr.ScreeningCompleted(
        screening_id="s", subject_id=app.application_id, party_hits=list(hits),
        subject_kind=scr.SUBJECT_KIND_APPLICATION))
    return app


MON = dt.date(2026, 3, 2)  # a Monday with no holiday in the weeks that follow


@pytest.fixture
def clock(monkeypatch):
    """Set the service's idea of today: `clock(day)` (a Monday, MON, until a test sets it)."""
    state = {"day": MON}
    monkeypatch.setattr(service.common, "today", lambda: state["day"])

    def set_day(day: dt.date) -> None:
        state["day"] = day
    return set_day


@pytest.fixture
def b():
    """This module: the builders above."""
    return sys.modules[__name__]
