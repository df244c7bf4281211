"""The wiring's pure pieces: events built from consequences, field renames, mapping, tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from stc.common.v1 import common_pb2
from stc.enduser.v1 import enduser_service_pb2 as pb
from stc.enduser.v1 import events_pb2
from stc_common.errors import FailedPrecondition, PermissionDenied, ValidationFailed
from stc_enduser.api import mapping
from stc_enduser.api.errors import REPORT_FIELDS, RESOLUTION_FIELDS, domain_errors
from stc_enduser.convert import party_from_pb, to_dict
from stc_enduser.domain.errors import FieldViolation, IllegalTransition, InvalidReport, NotPermitted
from stc_enduser.domain.model import (
    ChangeKind,
    CheckOutcome,
    CheckStatus,
    ReportStatus,
    Resolution,
    ResolutionKind,
)
from stc_enduser.domain.rules import accept_report, record_outcome, resolve, schedule_check
from stc_enduser.events import outgoing
from stc_enduser.storage.licences import _record

DAY = dt.timedelta(days=1)
PARTY_JSON = to_dict(common_pb2.Party(
    party_id="party-eu", role=common_pb2.PARTY_ROLE_END_USER, name="Berliner Messtechnik AG",
    aliases=["BMT AG"], country="DE", address="Berlin",
    identifiers=[common_pb2.PartyIdentifier(type="REGISTRATION", value="HRB 1", country="DE")]))


def test_every_domain_enum_has_its_proto_value():
    for kind in ChangeKind:
        assert mapping.change_kind(outgoing.change_kind(kind)) is kind
    for res in ResolutionKind:
        assert outgoing.resolution_kind(res) != 0
    for status in CheckStatus:
        assert (outgoing.check_outcome(status) == 0) == (status is CheckStatus.SCHEDULED)
    assert mapping.change_kind(0) is None and mapping.change_kind(999) is None


def test_change_reported_carries_hold_screening_and_the_new_end_user(licence, draft, now):
    accepted = accept_report(draft(ChangeKind.END_USER_CHANGED), licence=licence,
                             report_id="r-1", sequence=7, now=now)
    party = to_dict(common_pb2.Party(name="Müller GmbH", country="DE", aliases=["MG"]))
    msg = outgoing.change_reported(accepted, new_end_user=party, documents=[])
    assert msg.hold_licence and msg.screen_new_end_user
    assert msg.reference == "CR-2026-000007" and msg.authority == "MOFCOM"
    assert msg.recommended == events_pb2.RESOLUTION_KIND_REQUIRE_REAPPLICATION
    assert list(msg.new_end_user.aliases) == ["MG"]
    assert "ECL Art. 16" in msg.basis


def test_change_resolved_names_the_touched_key_elements(licence, draft, now, officer,
                                                        new_end_user):
    abroad = new_end_user.__class__(name="Acme Ltd", country="GB")
    accepted = accept_report(draft(ChangeKind.END_USER_CHANGED, new_end_user=abroad),
                             licence=licence, report_id="r-2", sequence=1, now=now)
    resolved = resolve(accepted.report,
                       Resolution(ResolutionKind.REQUIRE_REAPPLICATION, ("new end user",)),
                       officer, licence=licence, now=now)
    msg = outgoing.change_resolved(resolved)
    assert list(msg.elements) == ["DESTINATION", "END_USER"]
    assert msg.release_hold and msg.officer == officer.officer_id
    assert resolved.report.status is ReportStatus.RESOLVED


def test_check_completed_for_an_unreported_diversion(licence, officer, now):
    party = party_from_pb(common_pb2.Party(party_id="party-eu", name="Berliner Messtechnik AG",
                                           country="DE"))
    check = schedule_check(check_id="c-1", licence=licence, party=party, deadline=now + DAY,
                           officer=officer, now=now)
    recorded = record_outcome(check, CheckOutcome(CheckStatus.DIVERTED, "found at a base"),
                              officer=officer, now=now + dt.timedelta(hours=1), reports=())
    msg = outgoing.check_completed(recorded, PARTY_JSON)
    assert msg.outcome == events_pb2.CHECK_OUTCOME_DIVERTED
    assert msg.failure_to_report and msg.suspend_licence and not msg.add_to_watch_list
    assert [(v.kind, v.party_id) for v in msg.violation_cases] == [
        ("DIVERSION", "party-eu"), ("FAILURE_TO_REPORT", "party-eu")]
    # the party as licensing sent it, aliases and address included, for screening and credit
    assert list(msg.party.aliases) == ["BMT AG"] and msg.party.address == "Berlin"


def test_domain_errors_rename_fields_and_map_codes():
    with pytest.raises(ValidationFailed) as err, domain_errors(REPORT_FIELDS):
        raise InvalidReport([FieldViolation("documents[2].name", "required"),
                             FieldViolation("new_end_user.identifiers[0].scheme", "required"),
                             FieldViolation("details", "required")])
    assert [v.field for v in err.value.violations] == [
        "documents[2].title", "new_end_user.identifiers[0].type", "details"]
    with pytest.raises(ValidationFailed) as err, domain_errors(RESOLUTION_FIELDS):
        raise InvalidReport([FieldViolation("resolution.amended_elements", "a"),
                             FieldViolation("resolution.amended_elements", "a")])
    assert [v.field for v in err.value.violations] == ["amended_elements"]  # deduplicated
    with pytest.raises(FailedPrecondition), domain_errors():
        raise IllegalTransition("already VERIFIED")
    with pytest.raises(PermissionDenied) as denied, domain_errors():
        raise NotPermitted("other authority")
    assert denied.value.reason == "WRONG_AUTHORITY"


def test_request_hash_ignores_only_the_request_id():
    a = pb.ReportChangeRequest(request_id="1", licence_id="L", details="x")
    b = pb.ReportChangeRequest(request_id="2", licence_id="L", details="x")
    c = pb.ReportChangeRequest(request_id="1", licence_id="L", details="y")
    assert mapping.request_hash(a) == mapping.request_hash(b) != mapping.request_hash(c)


def test_page_tokens_round_trip_and_reject_garbage():
    at = dt.datetime(2026, 11, 28, 4, 0, tzinfo=dt.UTC)
    ident = "5f0c6f3e-8d1a-4d8e-9a53-1d2f3b4c5d6e"
    assert mapping.decode_token(mapping.encode_token(at, ident)) == (at, ident)
    with pytest.raises(ValidationFailed) as err:
        mapping.decode_token("not-a-token")
    assert err.value.violations[0].field == "page_token"
    with pytest.raises(ValidationFailed):
        mapping.page_size(-1)
    assert mapping.page_size(0) == mapping.DEFAULT_PAGE_SIZE
    assert mapping.page_size(10_000) == mapping.MAX_PAGE_SIZE


def test_unknown_amended_element_is_a_field_violation():
    with pytest.raises(ValidationFailed) as err:
        mapping.resolution(pb.ResolveChangeRequest(amended_elements=["END_USE", "COLOUR"]))
    assert [v.field for v in err.value.violations] == ["amended_elements[1]"]


def test_licence_projection_row_to_view():
    row = {
        "licence_id": "L-1", "exporter_uscc": "X", "authority": "SASTIND", "destination": "DE",
        "item_codes": ["3A001.a.1"], "status": "ACTIVE",
        "parties": [
            {"party_id": "p-exp", "role": "PARTY_ROLE_EXPORTER", "name": "E"},
            {"party_id": "p-imp", "role": "PARTY_ROLE_IMPORTER", "name": "I"},
            {"party_id": "p-eu", "role": "PARTY_ROLE_END_USER", "name": "U"},
            {"party_id": "p-c", "role": "PARTY_ROLE_CONSIGNEE", "name": "C"},
        ],
    }
    rec = _record(row)
    assert rec.view.importer_id == "p-imp"
    assert rec.view.party_ids == {"p-imp", "p-eu", "p-c"}  # the exporter is not checked
    assert rec.view.end_user_ids == {"p-eu"}
    assert rec.party("p-eu")["name"] == "U" and rec.party("p-nobody") is None
