"""Proto <-> domain mapping: screening results onto the domain's ScreeningOutcome, content
onto ApplicationContent (with field violations), domain errors onto gRPC-facing errors."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.screening.v1 import events_pb2 as scr
from stc_common.errors import FailedPrecondition, ValidationFailed
from stc_licensing import wire
from stc_licensing.domain import errors as de
from stc_licensing.domain import inputs as di
from stc_licensing.domain.assessment import assess
from stc_licensing.domain.model import ItemRegime, PartyRole

SHA = "ab" * 32


def _content(**kw) -> apb.ApplicationContent:
    c = apb.ApplicationContent(
        exporter_uscc="91110000MA01ABCD1X", licence_type=apb.LICENCE_TYPE_SINGLE,
        regime=apb.ITEM_REGIME_DUAL_USE, export_type=apb.EXPORT_TYPE_PERMANENT,
        items=[apb.Item(control_code="1C117.d", description="APT", quantity="500", unit="kg",
                        value=common_pb2.Money(currency_code="cny", amount_minor=100))],
        destination="de",
        parties=[common_pb2.Party(role=common_pb2.PARTY_ROLE_IMPORTER, name="Imp", country="DE"),
                 common_pb2.Party(role=common_pb2.PARTY_ROLE_END_USER, name="EU", country="DE",
                                  aliases=["Endnutzer"])],
        end_use=apb.EndUse(category=apb.END_USE_CATEGORY_CIVIL, statement="tools"),
        end_user_certificate=apb.EndUserCertificate(
            issuer_kind=apb.CERTIFICATE_ISSUER_END_USER, document_sha256=SHA,
            issued_on=wire.date_to_pb(dt.date(2026, 1, 2))))
    for k, v in kw.items():
        setattr(c, k, v)
    wire.assign_party_ids(c)
    return c


def test_content_maps_and_normalises():
    c = wire.content_to_domain(_content())
    assert c.regime == ItemRegime.DUAL_USE and c.destination == "DE"
    assert c.items[0].value.currency == "CNY" and str(c.items[0].quantity) == "500"
    assert [p.role for p in c.parties] == [PartyRole.IMPORTER, PartyRole.END_USER]
    assert c.parties[1].name_latin == "Endnutzer"
    assert c.end_user_certificate.issued_on == dt.date(2026, 1, 2)


def test_content_without_certificate_maps_to_none():
    c = _content()
    c.ClearField("end_user_certificate")
    assert wire.content_to_domain(c).end_user_certificate is None


def test_unmappable_content_collects_every_violation():
    c = _content(regime=apb.ITEM_REGIME_UNSPECIFIED)
    c.items[0].quantity = "lots"
    c.parties.add(role=common_pb2.PARTY_ROLE_EXPORTER, name="me", country="CN")
    with pytest.raises(ValidationFailed) as exc:
        wire.content_to_domain(c)
    assert {v.field for v in exc.value.violations} == {"regime", "items[0].quantity",
                                                       "parties[2].role"}


def test_party_ids_are_assigned_without_clashing():
    c = apb.ApplicationContent(parties=[common_pb2.Party(party_id="p1"), common_pb2.Party(),
                                        common_pb2.Party()])
    wire.assign_party_ids(c)
    ids = [p.party_id for p in c.parties]
    assert ids[0] == "p1" and len(set(ids)) == 3 and all(ids)


def _screening(**kw) -> scr.ScreeningCompleted:
    return scr.ScreeningCompleted(screening_id="s-1", subject_id="a-1",
                                  subject_kind=scr.SUBJECT_KIND_APPLICATION, **kw)


def test_hits_refer_to_domain_party_indexes_and_clear_hits_are_dropped():
    c = _content()
    msg = _screening(party_hits=[
        scr.PartyHit(party_id=c.parties[1].party_id, party_role=common_pb2.PARTY_ROLE_END_USER,
                     list_kind=scr.LIST_KIND_WATCH_LIST, entry_id="w-1", score=0.9,
                     decision=scr.HIT_DECISION_POTENTIAL_MATCH),
        scr.PartyHit(party_id="exporter", party_role=common_pb2.PARTY_ROLE_EXPORTER,
                     list_kind=scr.LIST_KIND_UNRELIABLE_ENTITY_LIST, entry_id="u-1",
                     decision=scr.HIT_DECISION_MATCH),
        scr.PartyHit(party_id=c.parties[0].party_id, list_kind=scr.LIST_KIND_OFAC_SDN,
                     entry_id="o-1", decision=scr.HIT_DECISION_CLEAR),
    ])
    out = wire.screening_to_domain(msg, c)
    assert out.screening_id == "s-1"
    assert [(h.party_index, h.list_kind, h.decision) for h in out.party_hits] == [
        (1, di.ListKind.PRC_WATCH_LIST, di.HitDecision.POTENTIAL_MATCH),
        (None, di.ListKind.UNRELIABLE_ENTITY_LIST, di.HitDecision.MATCH),
    ]


def test_findings_split_into_destination_findings_and_red_flags():
    msg = _screening(findings=[
        scr.TransactionFinding(category="destination", code="MEASURE", text_en="ban",
                               severity=scr.SEVERITY_PROHIBITIVE, evidence=["M-1"]),
        scr.TransactionFinding(category="red_flag", code="RF10", severity=scr.SEVERITY_INFO),
        scr.TransactionFinding(category="end_use", code="EU1", severity=scr.SEVERITY_MEDIUM),
    ])
    out = wire.screening_to_domain(msg, _content())
    assert out.destination_findings == (
        di.DestinationFinding("MEASURE", "ban", di.Severity.HIGH, "M-1"),)
    assert [(f.code, f.severity) for f in out.red_flags] == [
        ("RF10", di.Severity.LOW), ("EU1", di.Severity.MEDIUM)]


def test_a_control_list_match_on_the_end_user_drives_a_deny():
    """The mapped hit reaches factor 6 of the assessment (Art. 18)."""
    from stc_licensing.domain.model import Application, ApplicationState, ExportOperator
    from stc_licensing.domain.policy import policy_in_force
    from stc_licensing.policy_files import load_bundled_policies

    pb = _content(exporter_uscc="91110000MA01ABCD1X")
    c = wire.content_to_domain(pb)
    msg = _screening(party_hits=[scr.PartyHit(
        party_id=pb.parties[1].party_id, party_role=common_pb2.PARTY_ROLE_END_USER,
        list_kind=scr.LIST_KIND_CONTROL_LIST, entry_id="prc:1", score=0.99,
        decision=scr.HIT_DECISION_MATCH)])
    day = dt.date(2026, 3, 2)
    app = Application("a-1", c, ApplicationState.SCREENING, day, day)
    op = ExportOperator(c.exporter_uscc, "某公司", "Co", "addr")
    result = assess(app, op, wire.screening_to_domain(msg, pb),
                    di.CreditStanding(c.exporter_uscc), policy_in_force(
                        load_bundled_policies(), day), day)
    pbres = wire.assessment_to_pb(result, "as-1", dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    assert pbres.recommendation == events_pb2.RECOMMENDATION_DENY
    assert pbres.factors[5].level == events_pb2.FACTOR_LEVEL_PROHIBITIVE
    assert any("prc:1" in e for f in pbres.factors[5].findings for e in f.evidence)


def test_domain_errors_are_stc_common_errors_with_their_status():
    refused = de.AmendmentRefused("re-apply: changed destination", ["destination"])
    assert isinstance(refused, ValidationFailed) and refused.reason == "RE_APPLY"
    assert refused.code == "INVALID_ARGUMENT"
    assert [v.field for v in refused.violations] == ["destination"]
    illegal = de.IllegalTransition("DENIED", "APPROVE", "cannot approve")
    assert isinstance(illegal, FailedPrecondition) and illegal.reason == "ILLEGAL_TRANSITION"
    assert illegal.message == "cannot approve"
    assert de.LicenceRefused("used").reason == "LICENCE_REFUSED"
    assert de.NoPolicyInForce("none").reason == "NO_POLICY_IN_FORCE"
