"""Every licensing use case called with its command over the in-memory fakes (no gRPC, no
PostgreSQL, no Kafka): what it returns (domain objects), what it stores, what it publishes,
and that a refusal stores and publishes nothing. The event -> command translations of
events/handlers.py too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from google.type import date_pb2
from stc.credit.v1 import events_pb2 as credit
from stc.enduser.v1 import events_pb2 as enduser
from stc.screening.v1 import events_pb2 as screening
from stc_common.auth.jwt import Authority
from stc_common.consumer import RejectEvent
from stc_common.errors import (
    AlreadyExists,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ValidationFailed,
)
from stc_common.kafka.topics import APPLICATION, LICENCE, OPERATOR
from stc_licensing import service
from stc_licensing.domain import licence as licence_rules
from stc_licensing.domain.errors import LicenceRefused
from stc_licensing.domain.inputs import CreditLevel, CreditStanding
from stc_licensing.domain.model import (
    ApplicationState,
    IcpAuditOutcome,
    IcpElement,
    IcpElementAssessment,
    IcpStatus,
)
from stc_licensing.domain.states import Action
from stc_licensing.events import handlers
from stc_licensing.service import commands
from stc_licensing.service.commands import Resolution

OTHER_USCC_SEED = "91110000MA01WXY01"


def _icp(status: IcpStatus = IcpStatus.IMPLEMENTED) -> tuple[IcpElementAssessment, ...]:
    return tuple(IcpElementAssessment(e, status, ()) for e in IcpElement)


async def _registered(b, uow) -> None:
    await service.register_operator(uow=uow, caller=b.exporter(), cmd=commands.RegisterOperator(
        b.USCC, "北京某某科技有限公司", "Beijing Example Co."))
    uow.events.clear()


async def _under_review(b, uow) -> str:
    await _registered(b, uow)
    view = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit())
    msg = screening.ScreeningCompleted(screening_id="scr-1", subject_id=view.application.id,
                                       subject_kind=screening.SUBJECT_KIND_APPLICATION)
    cmd = handlers.assess_command(msg)
    assert cmd is not None and await service.assess_application(uow=uow, cmd=cmd)
    uow.events.clear()
    return view.application.id


async def _licence(b, uow) -> str:
    app_id = await _under_review(b, uow)
    decision = await service.decide_application(
        uow=uow, caller=b.officer(), cmd=commands.DecideApplication(app_id, Action.APPROVE))
    assert decision.licence is not None
    uow.events.clear()
    return decision.licence.licence.id


def _export(export_id: str = "ex-1", quantity: str = "500") -> licence_rules.ExportRecord:
    return licence_rules.ExportRecord(
        export_id, service.common.today(),
        (licence_rules.ExportLine(0, Decimal(quantity), 12_500_000),), "CD-1")


# --------------------------------------------------------------------------- operators


async def test_register_operator_stores_it_and_publishes_with_its_icp(b):
    uow = b.FakeUnitOfWork()
    view = await service.register_operator(
        uow=uow, caller=b.exporter(),
        cmd=commands.RegisterOperator(b.USCC.lower(), " 北京某某科技有限公司 ", icp=_icp()))
    assert view.operator.uscc == b.USCC and view.operator.name_zh == "北京某某科技有限公司"
    assert b.USCC in uow.store.operators
    assert uow.types() == ["OperatorRegistered", "IcpAssessed"]
    assert {t for t, _, _ in uow.events} == {OPERATOR.name}
    assert uow.of("IcpAssessed")[0].elements_implemented == 9


@pytest.mark.parametrize("caller,cmd,error", [
    ("exporter", commands.RegisterOperator("not-a-uscc", "名"), ValidationFailed),
    ("exporter", commands.RegisterOperator("", " "), ValidationFailed),
    ("other", commands.RegisterOperator("", "名"), PermissionDenied),
])
async def test_register_operator_refusals_write_nothing(b, caller, cmd, error):
    uow = b.FakeUnitOfWork()
    if not cmd.uscc and caller == "other":
        cmd = commands.RegisterOperator(b.USCC, cmd.name_zh)
    who = b.exporter() if caller == "exporter" else b.exporter(b.make_uscc(OTHER_USCC_SEED))
    with pytest.raises(error):
        await service.register_operator(uow=uow, caller=who, cmd=cmd)
    assert uow.store.snapshot() == b.FakeUnitOfWork().store.snapshot() and uow.events == []


async def test_register_twice_is_already_exists(b):
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(AlreadyExists):
        await service.register_operator(uow=uow, caller=b.officer(),
                                        cmd=commands.RegisterOperator(b.USCC, "另一个"))
    assert uow.store.snapshot() == before and uow.events == []


async def test_get_operator_only_its_own_for_an_exporter(b):
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    view = await service.get_operator(uow=uow, caller=b.officer(),
                                      cmd=commands.GetOperator(b.USCC))
    assert view.operator.name_en == "Beijing Example Co."
    with pytest.raises(NotFound):
        await service.get_operator(uow=uow, caller=b.exporter(b.make_uscc(OTHER_USCC_SEED)),
                                   cmd=commands.GetOperator(b.USCC))
    with pytest.raises(ValidationFailed):
        await service.get_operator(uow=uow, caller=b.officer(), cmd=commands.GetOperator("x"))


async def test_icp_self_assessment_is_stored_and_published(b):
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    view = await service.update_icp_self_assessment(
        uow=uow, caller=b.exporter(),
        cmd=commands.UpdateIcpSelfAssessment(b.USCC, _icp(IcpStatus.PARTIAL)))
    assert view.operator.icp == _icp(IcpStatus.PARTIAL)
    assert uow.store.operators[b.USCC][0].icp == _icp(IcpStatus.PARTIAL)
    (ev,) = uow.of("IcpAssessed")
    assert ev.kind == "self" and ev.elements_implemented == 0
    before = uow.store.snapshot()
    with pytest.raises(NotFound):
        await service.update_icp_self_assessment(
            uow=uow, caller=b.exporter(b.make_uscc(OTHER_USCC_SEED)),
            cmd=commands.UpdateIcpSelfAssessment(b.USCC, _icp()))
    assert uow.store.snapshot() == before and len(uow.events) == 1


async def test_icp_audit_by_mofcom_and_refused_to_an_authority_without_a_case(b):
    """Art. 14: MOFCOM audits every exporter; CAEA only one that applied under its regime."""
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(PermissionDenied):
        await service.record_icp_audit(uow=uow, caller=b.officer(Authority.CAEA),
                                       cmd=commands.RecordIcpAudit(
                                           b.USCC, IcpAuditOutcome.EFFECTIVE))
    with pytest.raises(ValidationFailed):
        await service.record_icp_audit(uow=uow, caller=b.officer(),
                                       cmd=commands.RecordIcpAudit(b.USCC, None))
    assert uow.store.snapshot() == before and uow.events == []
    view = await service.record_icp_audit(
        uow=uow, caller=b.officer(), cmd=commands.RecordIcpAudit(
            b.USCC, IcpAuditOutcome.NEEDS_IMPROVEMENT, dt.date(2026, 2, 1), "AUD-7"))
    (audit,) = view.operator.icp_audits
    assert (audit.audited_on, audit.outcome, audit.report_ref) == (
        dt.date(2026, 2, 1), IcpAuditOutcome.NEEDS_IMPROVEMENT, "AUD-7")
    assert uow.store.operators[b.USCC][0].icp_audits == (audit,)
    (ev,) = uow.of("IcpAssessed")
    assert (ev.kind, ev.outcome, ev.officer) == ("audit", "NEEDS_IMPROVEMENT", "officer-1")


async def test_military_qualification_only_by_sastind_and_checked(b):
    """Art. 23: SASTIND sets the qualification; a bad one is refused field by field."""
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    good = commands.QualificationInput("JP-1", ("radar",), dt.date(2026, 1, 1),
                                       dt.date(2028, 1, 1))
    bad = commands.QualificationInput(" ", (), dt.date(2028, 1, 1), dt.date(2026, 1, 1))
    before = uow.store.snapshot()
    with pytest.raises(PermissionDenied):
        await service.set_military_qualification(
            uow=uow, caller=b.officer(), cmd=commands.SetMilitaryQualification(b.USCC, good))
    with pytest.raises(ValidationFailed) as exc:
        await service.set_military_qualification(
            uow=uow, caller=b.officer(Authority.SASTIND),
            cmd=commands.SetMilitaryQualification(b.USCC, bad))
    assert {v.field for v in exc.value.violations} == {"qualification.certificate_no",
                                                       "qualification.valid_to"}
    assert uow.store.snapshot() == before and uow.events == []
    view = await service.set_military_qualification(
        uow=uow, caller=b.officer(Authority.SASTIND),
        cmd=commands.SetMilitaryQualification(b.USCC, good))
    assert view.operator.military_qualification is not None
    assert uow.store.operators[b.USCC][0].military_qualification.certificate_no == "JP-1"
    assert uow.of("QualificationChanged")[0].certificate_no == "JP-1"
    await service.set_military_qualification(
        uow=uow, caller=b.officer(Authority.SASTIND),
        cmd=commands.SetMilitaryQualification(b.USCC, None))
    assert uow.store.operators[b.USCC][0].military_qualification is None
    assert uow.of("QualificationChanged")[1].certificate_no == ""


# --------------------------------------------------------------------------- applications


async def test_submit_returns_the_application_with_its_clock(b):
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    view = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit())
    assert view.application.state == ApplicationState.SCREENING
    assert view.clock.remaining == 45 and not view.clock_paused
    stored = uow.store.applications[view.application.id]
    assert stored.request_fingerprint and stored.content == b.submit().content_json
    assert [(t, k) for t, k, _ in uow.events] == [(APPLICATION.name, view.application.id)]


async def test_list_applications_by_who_asks(b):
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    for n in range(3):
        await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit(f"r-{n}"))
    first = await service.list_applications(uow=uow, caller=b.exporter(),
                                            cmd=commands.ListApplications(page_size=2))
    assert len(first.items) == 2 and first.next_page_token == "2"
    rest = await service.list_applications(
        uow=uow, caller=b.exporter(), cmd=commands.ListApplications(page_token="2"))
    assert len(rest.items) == 1 and rest.next_page_token == ""
    other = await service.list_applications(uow=uow, caller=b.officer(Authority.CAEA),
                                            cmd=commands.ListApplications())
    assert other.items == []
    asked = await service.list_applications(
        uow=uow, caller=b.officer(),
        cmd=commands.ListApplications(state=ApplicationState.UNDER_REVIEW))
    assert asked.items == []
    with pytest.raises(ValidationFailed):
        await service.list_applications(uow=uow, caller=b.officer(),
                                        cmd=commands.ListApplications(page_size=-1))


async def test_get_assessment_is_the_stored_document(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    body = await service.get_assessment(uow=uow, caller=b.officer(),
                                        cmd=commands.GetAssessment(app_id))
    (stored,) = uow.store.assessments.values()
    assert body == stored["body"]
    with pytest.raises(NotFound):
        await service.get_assessment(uow=uow, caller=b.officer(Authority.SASTIND),
                                     cmd=commands.GetAssessment(app_id))


# --------------------------------------------------------------------------- licences


async def test_approval_returns_the_licence_view(b):
    uow = b.FakeUnitOfWork()
    app_id = await _under_review(b, uow)
    decision = await service.decide_application(
        uow=uow, caller=b.officer(), cmd=commands.DecideApplication(
            app_id, Action.APPROVE_WITH_CONDITIONS, conditions=(" no re-export ",)))
    assert decision.application.application.state == ApplicationState.APPROVED_WITH_CONDITIONS
    assert decision.licence is not None
    lic = decision.licence.licence
    assert lic.conditions == ("no re-export",) and decision.licence.authority == "MOFCOM"
    assert decision.licence.reference == decision.application.application.reference
    assert uow.store.licences[lic.id][0] == lic
    assert uow.types() == ["ApplicationDecided", "LicenceIssued"]


async def test_get_and_list_licences_as_who_may_see_them(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    view = await service.get_licence(uow=uow, caller=b.exporter(),
                                     cmd=commands.GetLicence(lic_id))
    assert view.licence.status == licence_rules.LicenceStatus.ACTIVE
    for who in (b.exporter(b.make_uscc(OTHER_USCC_SEED)), b.officer(Authority.CAEA)):
        with pytest.raises(NotFound):
            await service.get_licence(uow=uow, caller=who, cmd=commands.GetLicence(lic_id))
    listed = await service.list_licences(uow=uow, caller=b.officer(),
                                         cmd=commands.ListLicences())
    assert [v.licence.id for v in listed.items] == [lic_id]
    on_hold = await service.list_licences(
        uow=uow, caller=b.officer(),
        cmd=commands.ListLicences(status=licence_rules.LicenceStatus.ON_HOLD))
    assert on_hold.items == []


async def test_record_export_publishes_licence_used_once(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    view = await service.record_export(uow=uow, caller=b.exporter(),
                                       cmd=commands.RecordExport(lic_id, _export()))
    stored = uow.store.licences[lic_id][0]
    assert stored.exports == (_export(),) and view.licence == stored
    (ev,) = uow.of("LicenceUsed")
    assert ev.export_id == "ex-1" and ev.exhausted == (stored.state
                                                       == licence_rules.LicenceState.USED)
    await service.record_export(uow=uow, caller=b.exporter(),
                                cmd=commands.RecordExport(lic_id, _export()))
    assert len(uow.events) == 1  # the same export again is no second use


async def test_record_export_refused_writes_nothing(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(LicenceRefused):
        await service.record_export(uow=uow, caller=b.exporter(),
                                    cmd=commands.RecordExport(lic_id, _export(quantity="501")))
    with pytest.raises(NotFound):
        await service.record_export(uow=uow, caller=b.exporter(b.make_uscc(OTHER_USCC_SEED)),
                                    cmd=commands.RecordExport(lic_id, _export()))
    assert uow.store.snapshot() == before and uow.events == []


async def test_suspend_reinstate_revoke_by_the_issuing_authority(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    before = uow.store.snapshot()
    with pytest.raises(PermissionDenied):
        await service.suspend_licence(uow=uow, caller=b.exporter(),
                                      cmd=commands.SuspendLicence(lic_id, "why"))
    with pytest.raises(ValidationFailed):
        await service.suspend_licence(uow=uow, caller=b.officer(),
                                      cmd=commands.SuspendLicence(lic_id, " "))
    assert uow.store.snapshot() == before and uow.events == []
    view = await service.suspend_licence(uow=uow, caller=b.officer(),
                                         cmd=commands.SuspendLicence(lic_id, " audit "))
    assert view.licence.state == licence_rules.LicenceState.SUSPENDED
    assert uow.of("LicenceSuspended")[0].source == "officer"
    view = await service.reinstate_licence(uow=uow, caller=b.officer(),
                                           cmd=commands.ReinstateLicence(lic_id, "cleared"))
    assert view.licence.state == licence_rules.LicenceState.ACTIVE
    view = await service.revoke_licence(uow=uow, caller=b.officer(),
                                        cmd=commands.RevokeLicence(lic_id, "diversion"))
    assert uow.store.licences[lic_id][0].state == licence_rules.LicenceState.REVOKED
    assert uow.types() == ["LicenceSuspended", "LicenceReinstated", "LicenceRevoked"]
    assert {t for t, _, _ in uow.events} == {LICENCE.name}


# --------------------------------------------------------------------------- other services' events


async def test_reactions_with_their_commands(b):
    uow = b.FakeUnitOfWork()
    lic_id = await _licence(b, uow)
    await service.hold_licence(uow=uow, cmd=commands.HoldLicence(lic_id, "rep-1"))
    assert uow.store.licences[lic_id][0].holds == frozenset({"rep-1"})
    await service.apply_change_resolution(uow=uow, cmd=commands.ApplyChangeResolution(
        lic_id, "rep-1", Resolution.ACCEPT_AMENDMENT, elements=("consignee address",)))
    assert uow.types() == ["LicenceHeld", "LicenceHoldReleased", "LicenceAmended"]
    assert list(uow.of("LicenceAmended")[0].elements) == ["consignee address"]
    await service.suspend_after_end_use_check(uow=uow, cmd=commands.SuspendAfterEndUseCheck(
        lic_id, "chk-1", "diverted"))
    assert uow.store.licences[lic_id][0].state == licence_rules.LicenceState.SUSPENDED
    await service.handle_rescreening_match(uow=uow, cmd=commands.HandleRescreeningMatch(
        "LICENCE", lic_id, "WL-1", "match"))
    assert uow.types()[-1] == "LicenceSuspended" and len(uow.of("LicenceSuspended")) == 1
    await service.record_credit_standing(uow=uow, cmd=commands.RecordCreditStanding(
        CreditStanding(b.USCC, CreditLevel.WARNED, 1), dt.date(2026, 3, 1)))
    assert uow.store.standings[b.USCC][0].level == CreditLevel.WARNED


def test_events_become_commands():
    day = date_pb2.Date(year=2026, month=3, day=2)
    with pytest.raises(RejectEvent):  # fail closed (Art. 39): no as_of
        handlers.credit_standing_command(credit.CreditStandingChanged(uscc="x", level=1))
    with pytest.raises(RejectEvent):  # a level this service does not know never counts
        handlers.credit_standing_command(credit.CreditStandingChanged(uscc="x", level=9,
                                                                      as_of=day))
    assert handlers.credit_standing_command(
        credit.CreditStandingChanged(uscc="not a uscc", level=1, as_of=day)) is None
    assert handlers.hold_command(enduser.ChangeReported(licence_id="l", report_id="r")) is None
    assert handlers.hold_command(enduser.ChangeReported(
        licence_id="l", report_id="r", hold_licence=True)) == commands.HoldLicence("l", "r")
    assert handlers.resolution_command(enduser.ChangeResolved(
        licence_id="l", report_id="r", resolution=enduser.RESOLUTION_KIND_REVOKE_LICENCE,
        reasons=["a", "b"])).resolution == Resolution.REVOKE_LICENCE
    assert handlers.end_use_check_command(enduser.EndUseCheckCompleted(check_id="c")) is None
    match = handlers.rescreening_command(screening.RescreeningMatch(
        subject_id="lic-1", subject_kind=screening.SUBJECT_KIND_LICENCE,
        hit=screening.PartyHit(party_name="Werk", entry_id="E-1", entry_name="Werk Ulm",
                               list_kind=screening.LIST_KIND_CONTROL_LIST)))
    assert (match.subject_kind, match.subject_id, match.entry_id) == ("LICENCE", "lic-1", "E-1")
    assert "Werk ~ Werk Ulm" in match.what and "LIST_KIND_CONTROL_LIST E-1" in match.what
    assert handlers.assess_command(screening.ScreeningCompleted(
        subject_kind=screening.SUBJECT_KIND_LICENCE)) is None


async def test_a_request_id_stored_before_fingerprints_replays(b):
    """stc_common.idempotency: a row from before migration 0005 (no fingerprint) answers a
    retry with the stored application, whatever the retry carries; nothing is written."""
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    first = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit())
    uow.store.applications[first.application.id].request_fingerprint = None
    uow.events.clear()
    before = uow.store.snapshot()
    other = b.content_pb(contract_reference="C-2026-002")
    again = await service.submit_application(uow=uow, caller=b.exporter(),
                                             cmd=b.submit("r-1", other))
    assert again.application.id == first.application.id
    assert uow.store.snapshot() == before and uow.events == []


# --------------------------------------------------------------------------- admission


async def test_submissions_beyond_the_work_in_flight_limit_are_refused_and_write_nothing(
        b, monkeypatch):
    from stc_licensing.service import applications

    admission = applications.Admission(limit=2, ttl_s=0.0, retry_after_s=0.5, rng=lambda: 0.0)
    monkeypatch.setattr(applications, "ADMISSION", admission)
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    first = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit("r-1"))
    await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit("r-2"))
    uow.events.clear()
    before = uow.store.snapshot()
    with pytest.raises(ResourceExhausted) as err:  # two await assessment: the pipeline is full
        await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit("r-3"))
    assert err.value.reason == "PIPELINE_FULL" and err.value.retry_after_s == 0.5
    assert err.value.metadata == {"awaiting_assessment": "2", "limit": "2"}
    assert uow.store.snapshot() == before and uow.events == []
    # a retry of a stored submission is answered even now (it adds no work)
    again = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit("r-1"))
    assert again.application.id == first.application.id
    # one assessed frees a place
    msg = screening.ScreeningCompleted(screening_id="scr-1", subject_id=first.application.id,
                                       subject_kind=screening.SUBJECT_KIND_APPLICATION)
    cmd = handlers.assess_command(msg)
    assert cmd is not None and await service.assess_application(uow=uow, cmd=cmd)
    third = await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit("r-3"))
    assert third.application.state == ApplicationState.SCREENING


async def test_no_admission_limit_when_it_is_zero(b, monkeypatch):
    from stc_licensing.service import applications

    monkeypatch.setattr(applications, "ADMISSION", applications.Admission(limit=0))
    uow = b.FakeUnitOfWork()
    await _registered(b, uow)
    for n in range(5):
        await service.submit_application(uow=uow, caller=b.exporter(), cmd=b.submit(f"r-{n}"))
    assert await uow.applications.count_awaiting_assessment() == 5
