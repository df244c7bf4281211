"""The access matrices over the whole platform, started as `make run` starts it (real gRPC
channels, real PostgreSQL and Kafka).

1. Role x RPC: every RPC of every service, enumerated from the service descriptors (a new
   RPC cannot escape), called by every role (no token, exporter, importer, an officer of
   each of the four authorities, auditor): the outcome class is the access table's
   (UNAUTHENTICATED, PERMISSION_DENIED, or allowed: anything else but INTERNAL/UNKNOWN).
2. Isolation: resources made by exporter A and by MOFCOM officers (an operator, two
   applications and their assessments, a licence, a change report, an end-use check, a
   credit case and record, a consultation) are read through every resource-reading RPC by
   exporter B, by an importer of another licence and by officers of SASTIND, CAEA and CWC:
   each read answers NOT_FOUND / PERMISSION_DENIED or leaves the resource out of the list.
   The owners (exporter A, MOFCOM, the auditor) do see them, so no cell passes vacuously.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import time
import uuid

import grpc
import pytest
from google.protobuf import message_factory, timestamp_pb2
from stc.common.v1 import common_pb2
from stc.credit.v1 import credit_pb2, credit_service_pb2
from stc.enduser.v1 import enduser_service_pb2
from stc.enduser.v1 import events_pb2 as eu_events
from stc.licensing.v1 import events_pb2 as lic_events
from stc.licensing.v1 import licensing_service_pb2
from stc.screening.v1 import screening_service_pb2
from stc_common.auth.jwt import Authority, Role, mint_token
from stc_common.grpc.client import aio_channel
from stc_common.uscc import make_uscc
from stc_demo.scenario import Story, _date, _once_known, _until

pytestmark = pytest.mark.e2e

SERVICES = {
    "licensing": ("stc.licensing.v1.licensing_service_pb2", "LicensingService"),
    "screening": ("stc.screening.v1.screening_service_pb2", "ScreeningService"),
    "enduser": ("stc.enduser.v1.enduser_service_pb2", "EndUserService"),
    "credit": ("stc.credit.v1.credit_service_pb2", "CreditService"),
}
DENIED = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED}


def _md(role: str, **claims: str) -> tuple[tuple[str, str], ...]:
    token = mint_token(role=role, subject=f"matrix-{role}-{uuid.uuid4().hex[:4]}", **claims)
    return (("authorization", f"Bearer {token}"),)


def _roles(uscc: str) -> dict[str, tuple[str | None, str | None, tuple]]:
    """name -> (role, authority, metadata)."""
    roles: dict[str, tuple[str | None, str | None, tuple]] = {
        "public": (None, None, ()),
        "exporter": ("exporter", None, _md("exporter", uscc=uscc)),
        "importer": ("importer", None, _md("importer", licence="LIC-MATRIX", party="importer")),
    }
    for a in ("MOFCOM", "SASTIND", "CAEA", "CWC"):
        roles[f"officer:{a}"] = ("officer", a, _md("officer", authority=a))
    roles["auditor"] = ("auditor", None, _md("auditor"))
    return roles


async def _call(channel, service, method, request, metadata):
    """Call one RPC generically; return the status code (a stream: its first message)."""
    path = f"/{service.full_name}/{method.name}"
    out = message_factory.GetMessageClass(method.output_type)
    kwargs = {"request_serializer": type(request).SerializeToString,
              "response_deserializer": out.FromString}
    try:
        if method.server_streaming:
            call = channel.unary_stream(path, **kwargs)(request, metadata=metadata, timeout=10)
            try:
                async for _ in call:
                    break
            finally:
                call.cancel()
        else:
            await channel.unary_unary(path, **kwargs)(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_role_by_rpc_matrix(platform):
    roles = _roles(make_uscc(f"91110108MA{uuid.uuid4().int % 10_000_000:07d}"))
    cells, wrong, seen = 0, [], {}
    for svc, (module, name) in SERVICES.items():
        descriptor = importlib.import_module(module).DESCRIPTOR.services_by_name[name]
        table = importlib.import_module(f"stc_{svc}.api.access").ACCESS
        async with aio_channel(platform["addresses"][svc]) as channel:
            for method in descriptor.methods:
                rule = table[method.name]  # KeyError: an RPC without a rule
                request = message_factory.GetMessageClass(method.input_type)()
                for who, (role, authority, md) in roles.items():
                    expected = rule.admits(Role(role) if role else None,
                                           Authority(authority) if authority else None)
                    code = await _call(channel, descriptor, method, request, md)
                    cells += 1
                    seen[code.name] = seen.get(code.name, 0) + 1
                    ok = (code.name == expected if expected != "allowed" else code not in (
                        grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN))
                    if not ok:
                        wrong.append(f"{svc}.{method.name} as {who}: {code.name}, "
                                     f"expected {expected}")
    print(f"\nrole x RPC matrix: {cells} cells checked; statuses {dict(sorted(seen.items()))}")
    assert cells == sum(
        len(importlib.import_module(m).DESCRIPTOR.services_by_name[n].methods)
        for m, n in SERVICES.values()) * 8
    assert not wrong, "\n".join(wrong)


# --- isolation ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(platform):
    """What exporter A and the MOFCOM officer make, through the public APIs."""
    async with Story(None) as s:
        a, b = s.xinghe, s.haitong
        await s.register(a, "北京星河精密合金有限公司", "Beijing Xinghe Precision Alloys")
        await s.register(b, "深圳海通电子科技有限公司", "Shenzhen Haitong Electronics")
        app = await s.submit(a, s.content(a, "DE", f"Matrix Turbinenteile GmbH {s.run}"))
        await s.assessed(app.application_id, a)
        licence = await s.approve(app.application_id)
        queued = await s.submit(a, s.content(a, "FR", f"Matrix Usinage SA {s.run}"))
        await s.assessed(queued.application_id, a)  # stays in MOFCOM's review queue
        report = await _once_known(lambda: s.eu.ReportChange(
            enduser_service_pb2.ReportChangeRequest(
                request_id=str(uuid.uuid4()), licence_id=licence.licence_id,
                kind=eu_events.CHANGE_KIND_END_USE_CHANGED,
                details="The end use moves to a second civil production line.",
                new_end_use="a second civil production line",
                documents=[common_pb2.DocumentReference(
                    title="letter.pdf", sha256=hashlib.sha256(b"letter").hexdigest())]),
            metadata=s.exporter(a)))
        check = await s.eu.ScheduleEndUseCheck(
            enduser_service_pb2.ScheduleEndUseCheckRequest(
                licence_id=licence.licence_id, party_id="end-user",
                deadline=timestamp_pb2.Timestamp(seconds=int(time.time()) + 30 * 86400)),
            metadata=s.mofcom)
        await s.eu.RecordEndUseCheckOutcome(enduser_service_pb2.RecordEndUseCheckOutcomeRequest(
            name=check.name, outcome=eu_events.CHECK_OUTCOME_DIVERTED,
            details="Goods found at an undeclared trading company."), metadata=s.mofcom)

        async def case_opened():
            cases = await s.cr.ListCases(credit_service_pb2.ListCasesRequest(page_size=500),
                                         metadata=s.mofcom)
            return next((c for c in cases.cases if c.uscc == a), None)

        case = await _until(case_opened, timeout=60)
        decision_no = f"商务部行罚〔2026〕M{s.run}号"
        today = dt.date.today()
        decided = await s.cr.DecideCase(credit_service_pb2.DecideCaseRequest(
            case_id=case.case_id, decision=credit_pb2.CASE_STATUS_MEASURE_RECORDED,
            reason="a warning is enough", measure=credit_service_pb2.RecordMeasureRequest(
                request_id=str(uuid.uuid4()), uscc=a, kind=credit_pb2.MEASURE_KIND_WARNING_LETTER,
                reference=f"WL-{s.run}", issued_on=_date(today))), metadata=s.mofcom)
        del decided
        record = await s.cr.RecordViolation(credit_service_pb2.RecordViolationRequest(
            request_id=str(uuid.uuid4()), uscc=a, enterprise_name="北京星河精密合金有限公司",
            article="34", decision_no=decision_no,
            decision_sha256=hashlib.sha256(decision_no.encode()).hexdigest(),
            penalty=credit_pb2.Penalty(sanctions=["order_to_stop", "fine"], fine_fen=500_000_00),
            turnover_fen=185_000_00, decision_date=_date(today), effective_date=_date(today)), metadata=s.mofcom)
        consultation = await s.scr.SubmitConsultation(
            screening_service_pb2.SubmitConsultationRequest(
                authority="MOFCOM", question="Is a tungsten alloy bar of 17.8 g/cm3 controlled?",
                request_id=str(uuid.uuid4())), metadata=s.exporter(a))
        yield {
            "s": s, "a": a, "b": b, "app": app.application_id,
            "queued": queued.application_id, "licence": licence.licence_id,
            "report": report.report.name, "report_id": report.report.report_id,
            "check": check.name, "check_id": check.check_id, "case": case.case_id,
            "record": record.record.record_id,
            "consultation": consultation.consultation_id,
        }


async def _outcome(call, *args):
    try:
        return await call(*args)
    except grpc.aio.AioRpcError as exc:
        return exc.code()


async def test_isolation_matrix(world):
    w, s = world, world["s"]
    L, S, E, C = licensing_service_pb2, screening_service_pb2, enduser_service_pb2, \
        credit_service_pb2
    owner = {"exporter": s.exporter(w["a"]), "mofcom": s.mofcom, "auditor": _md("auditor")}
    readers = {
        "exporter B": s.exporter(w["b"]),
        "importer of another licence": _md("importer", licence=f"LIC-OTHER-{s.run}",
                                           party="importer"),
        **{f"officer {a}": _md("officer", authority=a) for a in ("SASTIND", "CAEA", "CWC")},
    }

    async def watch(md):
        call = s.lic.WatchApplication(L.WatchApplicationRequest(application_id=w["app"]),
                                      metadata=md, timeout=10)
        try:
            async for update in call:
                return update.application
        finally:
            call.cancel()

    def has(ids, wanted):
        return wanted in ids

    # (RPC, resource, call(md) -> answer, leaked(answer) -> bool, owners who must see it)
    probes = [
        ("GetApplication", "application", lambda md: s.lic.GetApplication(
            L.GetApplicationRequest(application_id=w["app"]), metadata=md),
         lambda r: r.application_id == w["app"], ("exporter", "mofcom", "auditor")),
        ("GetAssessment", "assessment", lambda md: s.lic.GetAssessment(
            L.GetAssessmentRequest(application_id=w["app"]), metadata=md),
         lambda r: True, ("exporter", "mofcom", "auditor")),
        ("WatchApplication", "application", watch,
         lambda r: r is not None and r.application_id == w["app"],
         ("exporter", "mofcom", "auditor")),
        ("ListApplications", "application", lambda md: s.lic.ListApplications(
            L.ListApplicationsRequest(page_size=500), metadata=md),
         lambda r: has([x.application_id for x in r.applications], w["app"]),
         ("exporter", "mofcom", "auditor")),
        ("ListReviewQueue", "queued application", lambda md: s.lic.ListReviewQueue(
            L.ListReviewQueueRequest(page_size=500), metadata=md),
         lambda r: has([x.application_id for x in r.applications], w["queued"]), ("mofcom",)),
        ("GetLicence", "licence", lambda md: s.lic.GetLicence(
            L.GetLicenceRequest(licence_id=w["licence"]), metadata=md),
         lambda r: r.licence_id == w["licence"], ("exporter", "mofcom", "auditor")),
        ("ListLicences", "licence", lambda md: s.lic.ListLicences(
            L.ListLicencesRequest(page_size=500), metadata=md),
         lambda r: has([x.licence_id for x in r.licences], w["licence"]),
         ("exporter", "mofcom", "auditor")),
        ("GetOperator", "operator", lambda md: s.lic.GetOperator(
            L.GetOperatorRequest(uscc=w["a"]), metadata=md),
         lambda r: r.uscc == w["a"], ("exporter", "mofcom", "auditor")),
        ("GetConsultation", "consultation", lambda md: s.scr.GetConsultation(
            S.GetConsultationRequest(consultation_id=w["consultation"]), metadata=md),
         lambda r: r.consultation_id == w["consultation"], ("exporter", "mofcom", "auditor")),
        ("ListConsultations", "consultation", lambda md: s.scr.ListConsultations(
            S.ListConsultationsRequest(page_size=100), metadata=md),
         lambda r: has([x.consultation_id for x in r.consultations], w["consultation"]),
         ("mofcom",)),
        ("GetChangeReport", "change report", lambda md: s.eu.GetChangeReport(
            E.GetChangeReportRequest(name=w["report"]), metadata=md),
         lambda r: r.report_id == w["report_id"], ("exporter", "mofcom", "auditor")),
        ("ListChangeReports", "change report", lambda md: s.eu.ListChangeReports(
            E.ListChangeReportsRequest(page_size=500), metadata=md),
         lambda r: has([x.report_id for x in r.reports], w["report_id"]),
         ("exporter", "mofcom", "auditor")),
        ("ListChangeReports(licence)", "change report", lambda md: s.eu.ListChangeReports(
            E.ListChangeReportsRequest(licence_id=w["licence"], page_size=500), metadata=md),
         lambda r: has([x.report_id for x in r.reports], w["report_id"]),
         ("exporter", "mofcom", "auditor")),
        ("GetEndUseCheck", "end-use check", lambda md: s.eu.GetEndUseCheck(
            E.GetEndUseCheckRequest(name=w["check"]), metadata=md),
         lambda r: r.check_id == w["check_id"], ("mofcom", "auditor")),
        ("ListEndUseChecks", "end-use check", lambda md: s.eu.ListEndUseChecks(
            E.ListEndUseChecksRequest(licence_id=w["licence"], page_size=500), metadata=md),
         lambda r: has([x.check_id for x in r.checks], w["check_id"]), ("mofcom", "auditor")),
        ("ListCases", "credit case", lambda md: s.cr.ListCases(
            C.ListCasesRequest(filter="all", page_size=500), metadata=md),
         lambda r: has([x.case_id for x in r.cases], w["case"]), ("mofcom", "auditor")),
        ("ListCreditRecords", "credit record", lambda md: s.cr.ListCreditRecords(
            C.ListCreditRecordsRequest(uscc=w["a"], page_size=500), metadata=md),
         lambda r: has([x.record_id for x in r.records], w["record"]),
         ("exporter", "mofcom", "auditor")),
        ("GetCreditStanding", "credit standing", lambda md: s.cr.GetCreditStanding(
            C.GetCreditStandingRequest(uscc=w["a"]), metadata=md),
         lambda r: True, ("exporter", "mofcom", "auditor")),
    ]
    # Readable by every officer by design (the access tables): the register of operators
    # and the credit standing, which binds every authority (Art. 39).
    every_officer = {"GetOperator", "GetCreditStanding"}
    cells, leaks, blind = 0, [], []
    for rpc, what, call, leaked, owners in probes:
        for who in owners:
            answer = await _outcome(call, owner[who])
            if isinstance(answer, grpc.StatusCode) or not leaked(answer):
                blind.append(f"{rpc}: the owner ({who}) does not see the {what}: {answer}")
        for who, md in readers.items():
            if who.startswith("officer") and rpc in every_officer:
                continue
            answer = await _outcome(call, md)
            cells += 1
            if isinstance(answer, grpc.StatusCode):
                if answer not in DENIED:
                    leaks.append(f"{rpc} as {who}: {answer.name} (expected NOT_FOUND)")
            elif leaked(answer):
                leaks.append(f"{rpc} as {who}: LEAK, sees the {what}")
    print(f"\nisolation matrix: {cells} cells checked over {len(probes)} reads, "
          f"{len(leaks)} leaks")
    assert not blind, "\n".join(blind)
    assert not leaks, "\n".join(leaks)
    assert cells >= 80


async def test_another_authority_cannot_act_on_mofcom_s_resources(world):
    """The writes on the same resources: NOT_FOUND for another authority (no existence
    leak), PERMISSION_DENIED where the authority may never act."""
    w, s = world, world["s"]
    E, C, L, S = enduser_service_pb2, credit_service_pb2, licensing_service_pb2, \
        screening_service_pb2
    other = _md("officer", authority="SASTIND")
    today = dt.date.today()
    writes = {
        "ResolveChange": lambda: s.eu.ResolveChange(E.ResolveChangeRequest(
            name=w["report"], resolution=eu_events.RESOLUTION_KIND_NO_ACTION, reasons=["x"]),
            metadata=other),
        "ScheduleEndUseCheck": lambda: s.eu.ScheduleEndUseCheck(E.ScheduleEndUseCheckRequest(
            licence_id=w["licence"], party_id="end-user",
            deadline=timestamp_pb2.Timestamp(seconds=int(time.time()) + 86400)),
            metadata=other),
        "ConfirmOverdueCheck": lambda: s.eu.ConfirmOverdueCheck(
            E.ConfirmOverdueCheckRequest(name=w["check"]), metadata=other),
        "RepairRecord": lambda: s.cr.RepairRecord(C.RepairRecordRequest(
            request_id=str(uuid.uuid4()), record_id=w["record"], repair_decision_no="R-1",
            decided_on=_date(today)), metadata=other),
        "ReleasePublicationHold": lambda: s.cr.ReleasePublicationHold(
            C.ReleasePublicationHoldRequest(record_id=w["record"]), metadata=other),
        "DecideCase": lambda: s.cr.DecideCase(C.DecideCaseRequest(
            case_id=w["case"], decision=credit_pb2.CASE_STATUS_DISMISSED, reason="x"),
            metadata=other),
        "DecideApplication": lambda: s.lic.DecideApplication(L.DecideApplicationRequest(
            application_id=w["queued"], decision=lic_events.DECISION_APPROVE), metadata=other),
        "SuspendLicence": lambda: s.lic.SuspendLicence(L.SuspendLicenceRequest(
            licence_id=w["licence"], reason="x"), metadata=other),
        "AnswerConsultation": lambda: s.scr.AnswerConsultation(S.AnswerConsultationRequest(
            consultation_id=w["consultation"], answer="no"), metadata=other),
    }
    answers = {name: await _outcome(call) for name, call in writes.items()}
    assert answers == dict.fromkeys(writes, grpc.StatusCode.NOT_FOUND)
    never = await _outcome(lambda: s.scr.RemoveListEntry(S.RemoveListEntryRequest(
        entry_id="any", reason="x"), metadata=other))
    assert never == grpc.StatusCode.PERMISSION_DENIED
