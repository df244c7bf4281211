"""The story, step by step, through the public gRPC APIs only.

1. Two exporters register; a clean dual-use export to Germany is screened, assessed on the
   eight factors of Art. 13, and approved: a licence is issued.
2. An export of sensitive items to an embargoed destination (UN arms embargo), with parties on
   no list, is assessed DENY on the embargo alone and denied.
3. An officer adds the German end user to the control list (Art. 18): the live licence is
   suspended within seconds, with no one asking (re-screening).
4. The exporter reports that the end user of its second licence has changed (Art. 16): the
   licence goes on hold.
5. An end-use check (Art. 17) finds the goods of a third licence diverted: a case opens for
   the credit service; the officer records the penalty (Art. 34) and decides a five-year
   application ban (Art. 39: a decision, not automatic); it is published in the
   tamper-evident log; the exporter's standing becomes BANNED and its next application is
   refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from google.type import date_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console
from stc.common.v1 import common_pb2
from stc.credit.v1 import credit_pb2, credit_service_pb2, credit_service_pb2_grpc
from stc.credit.v1 import events_pb2 as credit_events
from stc.enduser.v1 import enduser_service_pb2, enduser_service_pb2_grpc
from stc.enduser.v1 import events_pb2 as eu_events
from stc.licensing.v1 import (
    application_pb2,
    licence_pb2,
    licensing_service_pb2,
    licensing_service_pb2_grpc,
)
from stc.licensing.v1 import (
    events_pb2 as lic_events,
)
from stc.screening.v1 import events_pb2 as scr_events
from stc.screening.v1 import screening_service_pb2, screening_service_pb2_grpc
from stc_cli.context import channel_to, grpc_target
from stc_common.auth.jwt import mint_token
from stc_common.grpc.client import aio_channel
from stc_common.uscc import make_uscc

SERVICES = ("licensing", "screening", "enduser", "credit")
DEFAULT_PORTS = {"licensing": 50051, "screening": 50052, "enduser": 50053, "credit": 50054}


def address(service: str) -> str:
    """Where a service listens (STC_<SERVICE>_ADDR, else the default local port); a
    comma-separated list names several replicas."""
    return os.environ.get(f"STC_{service.upper()}_ADDR", f"127.0.0.1:{DEFAULT_PORTS[service]}")


async def wait_for_platform(timeout: float = 300) -> None:
    """Wait until the four services answer their health checks SERVING."""
    deadline = time.monotonic() + timeout
    for svc in SERVICES:
        async with aio_channel(grpc_target(address(svc))) as ch:  # any replica will do
            stub = health_pb2_grpc.HealthStub(ch)
            while True:
                try:
                    r = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                    if r.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{svc} at {address(svc)} not healthy after {timeout}s")
                await asyncio.sleep(0.5)


@dataclass
class Step:
    """One step of the story and what the platform did."""

    title: str
    ok: bool
    detail: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoryResult:
    """Every step, in order."""

    steps: list[Step]
    seconds: float

    def step(self, prefix: str) -> Step:
        """The step whose title starts with `prefix`."""
        return next(s for s in self.steps if s.title.startswith(prefix))


def _auth(role: str, **claims: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(role=role, subject=f'demo-{role}', **claims)}"),)


def _date(d: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def _party(
    pid: str, role: int, name: str, country: str, *, aliases=(), business="", address=""
) -> common_pb2.Party:
    return common_pb2.Party(
        party_id=pid,
        role=role,
        name=name,
        aliases=list(aliases),
        country=country,
        business=business,
        address=address,
    )


async def _until(
    check: Callable[[], Awaitable[Any]], timeout: float = 30, every: float = 0.1
) -> Any:
    """Poll `check` until it returns something truthy; raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("the platform did not get there in time")
        await asyncio.sleep(every)


async def _once_known(call: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:
    """Call until the service stops answering NOT_FOUND: the enduser service learns of a new
    licence from licensing's events a moment after it is issued (eventual consistency)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


class Story:
    """The actors and their channels."""

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self.run = uuid.uuid4().hex[:6]
        seed = int(uuid.uuid4().int % 10_000_000)
        # three exporters (USCC check characters computed per GB 32100-2015)
        self.xinghe = make_uscc(f"91110108MA{seed:07d}")
        self.haitong = make_uscc(f"91440300MA{(seed + 1) % 10_000_000:07d}")
        self.huaxin = make_uscc(f"91320500MA{(seed + 2) % 10_000_000:07d}")
        self.mofcom = _auth("officer", authority="MOFCOM")
        self.steps: list[Step] = []
        self.channels: dict[str, grpc.aio.Channel] = {}

    async def __aenter__(self) -> Story:
        for svc in SERVICES:
            # overload answers (RESOURCE_EXHAUSTED, UNAVAILABLE) retried with backoff where
            # safe; every replica the address lists in the rotation
            self.channels[svc] = channel_to(address(svc))
        self.lic = licensing_service_pb2_grpc.LicensingServiceStub(self.channels["licensing"])
        self.scr = screening_service_pb2_grpc.ScreeningServiceStub(self.channels["screening"])
        self.eu = enduser_service_pb2_grpc.EndUserServiceStub(self.channels["enduser"])
        self.cr = credit_service_pb2_grpc.CreditServiceStub(self.channels["credit"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ch in self.channels.values():
            await ch.close()

    def exporter(self, uscc: str) -> tuple[tuple[str, str], ...]:
        """Metadata of the exporter bound to `uscc`."""
        return _auth("exporter", uscc=uscc)

    async def step(self, title: str, fn: Callable[[], Awaitable[tuple[str, dict]]]) -> Step:
        """Run one step; a failure is recorded with its reason, never raised."""
        start = time.perf_counter()
        try:
            detail, facts = await fn()
            step = Step(title, True, detail, time.perf_counter() - start, facts)
        except grpc.aio.AioRpcError as exc:
            step = Step(
                title, False, f"{exc.code().name}: {exc.details()}", time.perf_counter() - start
            )
        except (TimeoutError, AssertionError, LookupError) as exc:
            step = Step(title, False, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
        self.steps.append(step)
        if self.console:
            mark = "[green]✔[/green]" if step.ok else "[red]✘[/red]"
            self.console.print(f"{mark} [bold]{title}[/bold] [dim]({step.seconds:.2f}s)[/dim]")
            self.console.print(f"   {step.detail}")
        return step

    # -- building blocks -------------------------------------------------------------------

    async def register(self, uscc: str, zh: str, en: str) -> None:
        """Register an export operator (idempotent for the demo: ALREADY_EXISTS is fine)."""
        try:
            await self.lic.RegisterOperator(
                licensing_service_pb2.RegisterOperatorRequest(
                    uscc=uscc, name_zh=zh, name_en=en, address="中国"
                ),
                metadata=self.exporter(uscc),
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise

    def content(
        self,
        uscc: str,
        destination: str,
        end_user: str,
        end_user_zh: str = "",
        code: str = "1C117.c",
        description: str = "Tungsten-nickel-iron alloy bar, density 17.8 g/cm3",
        hs_code: str = "8101991001",
    ) -> application_pb2.ApplicationContent:
        """A single-licence dual-use application with a certificate from the end user."""
        today = dt.date.today()
        roles = common_pb2.PartyRole
        return application_pb2.ApplicationContent(
            exporter_uscc=uscc,
            licence_type=application_pb2.LICENCE_TYPE_SINGLE,
            regime=application_pb2.ITEM_REGIME_DUAL_USE,
            export_type=application_pb2.EXPORT_TYPE_PERMANENT,
            items=[
                application_pb2.Item(
                    control_code=code,
                    description=description,
                    hs_code=hs_code,
                    quantity="500",
                    unit="kg",
                    value=common_pb2.Money(currency_code="CNY", amount_minor=185_000_00),
                )
            ],
            destination=destination,
            parties=[
                _party(
                    "importer",
                    roles.PARTY_ROLE_IMPORTER,
                    f"{end_user} Procurement",
                    destination,
                    business="industrial distribution",
                ),
                _party(
                    "end-user",
                    roles.PARTY_ROLE_END_USER,
                    end_user,
                    destination,
                    aliases=[end_user_zh] if end_user_zh else [],
                    business="precision machining of turbine components",
                ),
            ],
            end_use=application_pb2.EndUse(
                category=application_pb2.END_USE_CATEGORY_CIVIL,
                statement="Counterweights for civil aircraft control surfaces",
            ),
            end_user_certificate=application_pb2.EndUserCertificate(
                issuer_kind=application_pb2.CERTIFICATE_ISSUER_END_USER,
                issuer_name=end_user,
                document_sha256=hashlib.sha256(f"euc-{end_user}-{self.run}".encode()).hexdigest(),
                issued_on=_date(today - dt.timedelta(days=10)),
                expires_on=_date(today + dt.timedelta(days=355)),
            ),
            contract_reference=f"CT-{self.run}-{destination}",
        )

    async def submit(self, uscc: str, content) -> application_pb2.Application:
        """Submit an application as its exporter."""
        return await self.lic.SubmitApplication(
            licensing_service_pb2.SubmitApplicationRequest(
                request_id=str(uuid.uuid4()), content=content
            ),
            metadata=self.exporter(uscc),
        )

    async def assessed(self, app_id: str, uscc: str, timeout: float = 60):
        """Wait (watching the application's stream) until it is assessed; return the assessment."""
        call = self.lic.WatchApplication(
            licensing_service_pb2.WatchApplicationRequest(application_id=app_id),
            metadata=self.exporter(uscc),
        )
        try:
            async with asyncio.timeout(timeout):
                async for update in call:
                    if update.kind == licensing_service_pb2.UPDATE_KIND_ASSESSED:
                        return update.assessment
        finally:
            call.cancel()
        raise LookupError("the watch stream ended before the assessment")

    async def approve(self, app_id: str) -> licence_pb2.Licence:
        """The MOFCOM officer approves; return the licence issued."""
        resp = await self.lic.DecideApplication(
            licensing_service_pb2.DecideApplicationRequest(
                application_id=app_id, decision=lic_events.DECISION_APPROVE
            ),
            metadata=self.mofcom,
        )
        return resp.licence

    async def licence(self, licence_id: str) -> licence_pb2.Licence:
        """Read a licence as the officer."""
        return await self.lic.GetLicence(
            licensing_service_pb2.GetLicenceRequest(licence_id=licence_id), metadata=self.mofcom
        )

    async def licensed(
        self, uscc: str, end_user: str, end_user_zh: str = ""
    ) -> licence_pb2.Licence:
        """Submit, wait for the assessment, approve: a live licence."""
        app = await self.submit(uscc, self.content(uscc, "DE", end_user, end_user_zh))
        await self.assessed(app.application_id, uscc)
        return await self.approve(app.application_id)


async def run_story(console: Console | None = None) -> StoryResult:
    """Tell the whole story against the running platform; never raises for a failed step."""
    start = time.perf_counter()
    async with Story(console) as s:
        state: dict[str, Any] = {}
        await _tell(s, state)
    return StoryResult(s.steps, time.perf_counter() - start)


def _factor_line(assessment) -> str:
    levels = {1: "clear", 2: "caution", 3: "concern", 4: "prohibitive"}
    return " ".join(f"{f.factor}:{levels.get(f.level, '?')}" for f in assessment.factors)


async def _tell(s: Story, state: dict[str, Any]) -> None:  # noqa: C901 - a story is long
    recommendations = {1: "GRANT", 2: "GRANT_WITH_CONDITIONS", 3: "REFER", 4: "DENY"}

    async def register_all():
        await s.register(
            s.xinghe, "北京星河精密合金有限公司", "Beijing Xinghe Precision Alloys Co., Ltd."
        )
        await s.register(
            s.haitong, "深圳海通电子科技有限公司", "Shenzhen Haitong Electronics Co., Ltd."
        )
        await s.register(s.huaxin, "苏州华信材料有限公司", "Suzhou Huaxin Materials Co., Ltd.")
        return (
            f"exporters {s.xinghe}, {s.haitong}, {s.huaxin} registered "
            "(USCC check characters verified, GB 32100-2015)",
            {},
        )

    await s.step("Export operators register", register_all)

    async def clean_application():
        end_user = f"Rheinmetall-frei Turbinenteile GmbH {s.run}"
        app = await s.submit(s.xinghe, s.content(s.xinghe, "DE", end_user))
        t0 = time.perf_counter()
        assessment = await s.assessed(app.application_id, s.xinghe)
        took = time.perf_counter() - t0
        rec = recommendations.get(assessment.recommendation, "?")
        assert rec in ("GRANT", "GRANT_WITH_CONDITIONS"), (
            f"recommended {rec} [{_factor_line(assessment)}] findings "
            f"{[f.code for fa in assessment.factors for f in fa.findings if fa.level >= 3]}")
        assert len(assessment.factors) == 8, "the assessment must cover the eight factors"
        licence = await s.approve(app.application_id)
        assert licence.status == licence_pb2.LICENCE_STATUS_ACTIVE, licence.status
        state.update(licence=licence, end_user=end_user)
        return (
            f"{app.reference} → {app.authority}, deadline {app.deadline.year}-"
            f"{app.deadline.month:02d}-{app.deadline.day:02d}; screened and assessed in "
            f"{took:.2f}s: {rec} [{_factor_line(assessment)}]; approved → licence "
            f"{licence.reference}",
            {"recommendation": rec, "assess_seconds": took, "licence_id": licence.licence_id},
        )

    await s.step(
        "A clean application is assessed on the eight factors and approved", clean_application
    )

    async def embargoed():
        # parties on no list: the embargo table alone (Art. 13(2), (5)) must stop it
        app = await s.submit(s.xinghe, s.content(
            s.xinghe, "KP", "Sunrise Ceramic Tableware Cooperative", code="1C902.a",
            description="Samarium-cobalt permanent magnet material", hs_code="2805301910"))
        assessment = await s.assessed(app.application_id, s.xinghe)
        rec = recommendations.get(assessment.recommendation, "?")
        assert rec == "DENY", f"recommended {rec}"
        findings = [f.code for fa in assessment.factors for f in fa.findings if fa.level == 4]
        assert "F2-UN-ARMS-EMBARGO" in findings, f"prohibitive findings {findings}"
        decided = await s.lic.DecideApplication(
            licensing_service_pb2.DecideApplicationRequest(
                application_id=app.application_id,
                decision=lic_events.DECISION_DENY,
                reasons=["UN Security Council arms embargo (UNSCR 1718); Art. 13(2) and (5)"],
            ),
            metadata=s.mofcom,
        )
        assert decided.application.state == application_pb2.APPLICATION_STATE_DENIED
        return (
            f"{app.reference} to KP: {rec} [{_factor_line(assessment)}], "
            f"prohibitive findings {', '.join(findings[:4])}; denied with reasons",
            {"recommendation": rec},
        )

    await s.step("An application to an embargoed destination is denied", embargoed)

    async def control_list_suspends():
        licence = state["licence"]
        t0 = time.perf_counter()
        entry = await s.scr.AddListEntry(
            screening_service_pb2.AddListEntryRequest(
                entry=scr_events.ListEntry(
                    list_kind=scr_events.LIST_KIND_CONTROL_LIST,
                    primary_name=state["end_user"],
                    countries=["DE"],
                    party_type="entity",
                    announcement=f"MOFCOM Announcement 2026 No. D{s.run}",
                ),
                reason="diversion risk to military end use (Art. 18)",
            ),
            metadata=s.mofcom,
        )

        async def suspended():
            lic = await s.licence(licence.licence_id)
            return lic if lic.status == licence_pb2.LICENCE_STATUS_SUSPENDED else None

        lic = await _until(suspended, timeout=30)
        took = time.perf_counter() - t0
        # delisted again once the point is made: the next run of the story (its end user's
        # name differs only by the run id) must not be a potential match of this listing
        await s.scr.RemoveListEntry(
            screening_service_pb2.RemoveListEntryRequest(
                entry_id=entry.entry_id, reason="demonstration listing withdrawn"),
            metadata=s.mofcom,
        )
        return (
            f"{state['end_user']} added to the control list; licence {lic.reference} "
            f"suspended {took:.2f}s later without anyone asking ({lic.status_reason})",
            {"seconds": took},
        )

    await s.step(
        "A party added to the control list suspends a live licence within seconds",
        control_list_suspends,
    )

    async def change_holds():
        licence = await s.licensed(s.haitong, f"Nordlicht Optik AG {s.run}")
        request_id = str(uuid.uuid4())
        resp = await _once_known(
            lambda: s.eu.ReportChange(
                enduser_service_pb2.ReportChangeRequest(
                    request_id=request_id,
                    licence_id=licence.licence_id,
                    kind=eu_events.CHANGE_KIND_END_USER_CHANGED,
                    details="The end user sold its machining division; "
                    "the buyer will take delivery.",
                    new_end_user=_party(
                        "new-end-user",
                        common_pb2.PARTY_ROLE_END_USER,
                        f"Baltic Precision UAB {s.run}",
                        "LT",
                    ),
                    subject_party_id="end-user",
                ),
                metadata=s.exporter(s.haitong),
            )
        )
        assert resp.hold_licence, "an end-user change must put the licence on hold"

        async def on_hold():
            lic = await s.licence(licence.licence_id)
            return lic if lic.status == licence_pb2.LICENCE_STATUS_ON_HOLD else None

        lic = await _until(on_hold, timeout=30)
        return (
            f"change report {resp.report.reference} on {lic.reference}: licence ON HOLD; "
            "the new end user is screened",
            {},
        )

    await s.step("An end-user change report puts the licence on hold", change_holds)

    async def diversion():
        licence = await s.licensed(s.huaxin, f"Alpenwerk Feinguss GmbH {s.run}")
        check = await _once_known(
            lambda: s.eu.ScheduleEndUseCheck(
                enduser_service_pb2.ScheduleEndUseCheckRequest(
                    licence_id=licence.licence_id,
                    party_id="end-user",
                    deadline=timestamp_pb2.Timestamp(seconds=int(time.time()) + 30 * 86400),
                ),
                metadata=s.mofcom,
            )
        )
        await s.eu.RecordEndUseCheckOutcome(
            enduser_service_pb2.RecordEndUseCheckOutcomeRequest(
                name=check.name,
                outcome=eu_events.CHECK_OUTCOME_DIVERTED,
                details="Goods found at a third-country trading company; "
                "the end user never received them.",
            ),
            metadata=s.mofcom,
        )

        async def licence_suspended():
            lic = await s.licence(licence.licence_id)
            return lic if lic.status == licence_pb2.LICENCE_STATUS_SUSPENDED else None

        await _until(licence_suspended, timeout=30)

        async def case_opened():
            cases = await s.cr.ListCases(
                credit_service_pb2.ListCasesRequest(page_size=200), metadata=s.mofcom
            )
            return next((c for c in cases.cases if c.uscc == s.huaxin), None)

        case = await _until(case_opened, timeout=30)
        today = dt.date.today()
        decision_no = f"商务部行罚〔2026〕{s.run}号"
        decided = await s.cr.DecideCase(
            credit_service_pb2.DecideCaseRequest(
                case_id=case.case_id,
                decision=credit_pb2.CASE_STATUS_PENALTY_RECORDED,
                reason="diversion established by the end-use check",
                violation=credit_service_pb2.RecordViolationRequest(
                    request_id=str(uuid.uuid4()),
                    uscc=s.huaxin,
                    enterprise_name="苏州华信材料有限公司",
                    article="34",
                    decision_no=decision_no,
                    decision_sha256=hashlib.sha256(decision_no.encode()).hexdigest(),
                    penalty=credit_pb2.Penalty(
                        sanctions=["order_to_stop", "confiscation", "fine"],
                        fine_fen=800_000_00,
                        confiscated_fen=185_000_00,
                    ),
                    turnover_fen=185_000_00,
                    decision_date=_date(today),
                    effective_date=_date(today),
                    # Art. 39: the authority MAY refuse applications for up to five years;
                    # the officer decides it here, for the whole five years
                    application_ban_months=60,
                ),
            ),
            metadata=s.mofcom,
        )
        del decided

        async def published():
            pubs = await s.cr.ListPublications(
                credit_service_pb2.ListPublicationsRequest(page_size=500)
            )
            return next((p for p in pubs.publications if p.uscc == s.huaxin), None)

        pub = await _until(published, timeout=30)

        async def banned():
            st = await s.cr.GetCreditStanding(
                credit_service_pb2.GetCreditStandingRequest(uscc=s.huaxin), metadata=s.mofcom
            )
            return st.standing if st.standing.level == credit_events.STANDING_LEVEL_BANNED else None

        standing = await _until(banned, timeout=30)

        async def refused():
            try:
                await s.submit(s.huaxin, s.content(s.huaxin, "DE", f"Another GmbH {s.run}"))
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "39" in exc.details():
                    return exc.details()
            return None

        refusal = await _until(refused, timeout=30, every=0.5)
        ban = standing.ban_until
        return (
            f"licence {licence.reference} suspended; case {case.case_id[:8]} → penalty "
            f"{decision_no} (Art. 34) → published in the "
            f"log → standing BANNED until {ban.year}-{ban.month:02d}-{ban.day:02d} → next "
            f"application refused: {refusal[:90]}",
            {"publication": pub.record_id},
        )

    await s.step(
        "A diversion leads to a violation, its publication and a refused application", diversion
    )

    async def verify_log():
        cp = await s.cr.GetCheckpoint(credit_service_pb2.GetCheckpointRequest())
        assert cp.note, "no checkpoint published"
        first_line = cp.note.splitlines()
        return (
            f"signed checkpoint of the publication log: size {first_line[1]}, root "
            f"{first_line[2][:16]}…",
            {},
        )

    await s.step("The credit publication log has a signed checkpoint", verify_log)
