"""Submission validation: every rejection reason, with its field path."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from stc_common.errors import ValidationFailed
from stc_licensing.domain.inputs import CreditLevel
from stc_licensing.domain.model import (
    CatchAllConcern,
    CatchAllDeclaration,
    CertificateIssuer,
    EndUse,
    EndUseCategory,
    ExportType,
    ItemRegime,
    LicenceType,
    Money,
    PartyRole,
)
from stc_licensing.domain.validation import (
    FieldViolation,
    certificate_required,
    validate_submission,
)

CONTROL_LIST = {"1C117.d", "1C902.a", "1C117.c"}


def check(b, content=None, *, op="default", st=None, today=None, control_list=None):
    operator = b.operator() if op == "default" else op
    return validate_submission(content or b.content(), operator, st or b.standing(),
                               today or b.TODAY, control_list)


def fields(vs: list[FieldViolation]) -> set[str]:
    return {v.field for v in vs}


def test_clean_submission_has_no_violations(b):
    assert check(b, control_list=CONTROL_LIST) == []


def test_malformed_uscc(b):
    bad = b.USCC[:-1] + ("0" if b.USCC[-1] != "0" else "1")
    vs = check(b, b.content(exporter_uscc=bad), op=b.operator(uscc=bad))
    assert fields(vs) == {"exporter_uscc"}
    assert "malformed USCC" in vs[0].reason and "check character" in vs[0].reason


def test_unregistered_exporter(b):
    vs = check(b, op=None)
    assert [v.field for v in vs] == ["exporter_uscc"]
    assert "no export operator" in vs[0].reason


@pytest.mark.parametrize("code", ["1C117", "1C117.d", "0A001.a.1", "9E003.b"])
def test_control_code_format_accepts(b, code):
    assert check(b, b.content(items=(b.item(control_code=code),))) == []


@pytest.mark.parametrize("code", ["1c117.d", "1F117", "1C11", "1C117.D", "1C117.d.x", "C117"])
def test_control_code_format_rejects(b, code):
    vs = check(b, b.content(items=(b.item(), b.item(control_code=code))))
    assert fields(vs) == {"items[1].control_code"}
    assert "format" in vs[0].reason


def test_control_code_must_be_on_the_control_list_when_given(b):
    vs = check(b, b.content(items=(b.item(control_code="3A001.a"),)), control_list=CONTROL_LIST)
    assert [(v.field, v.reason) for v in vs] == [
        ("items[0].control_code", "'3A001.a' is not on the control list")]


def test_catch_all_item_needs_no_code_but_a_listed_code_is_refused(b):
    decl = (CatchAllDeclaration(CatchAllConcern.WMD, False, "no knowledge"),)
    ok = b.content(regime=ItemRegime.CATCH_ALL, items=(b.item(control_code=""),),
                   catch_all_declarations=decl)
    assert check(b, ok, control_list=CONTROL_LIST) == []
    listed = replace(ok, items=(b.item(control_code="1C117.d"),))
    assert fields(check(b, listed, control_list=CONTROL_LIST)) == {"items[0].control_code"}
    no_decl = replace(ok, catch_all_declarations=())
    assert fields(check(b, no_decl)) == {"catch_all_declarations"}


def test_listed_regime_requires_a_control_code(b):
    assert fields(check(b, b.content(items=(b.item(control_code=""),)))) == {
        "items[0].control_code"}


def test_quantities_and_values_must_be_positive(b):
    c = b.content(items=(b.item(), b.item(quantity=Decimal("0"), value=Money(-5, "CNY"))))
    assert fields(check(b, c)) == {"items[1].quantity", "items[1].value.amount_minor"}


def test_currency_and_hs_code_format(b):
    c = b.content(items=(b.item(value=Money(100, "yuan"), hs_code="28.41"),))
    assert fields(check(b, c)) == {"items[0].value.currency", "items[0].hs_code"}


def test_item_values_in_one_currency(b):
    c = b.content(items=(b.item(), b.item(value=Money(100, "USD"))))
    vs = check(b, c)
    assert [(v.field, v.reason) for v in vs] == [
        ("items", "all item values must be in one currency")]


@pytest.mark.parametrize("dest", ["de", "DEU", "XX", "ZZ", ""])
def test_destination_must_be_iso_alpha2(b, dest):
    assert "destination" in fields(check(b, b.content(destination=dest)))


def test_destination_cannot_be_china_except_for_foreign_persons_in_china(b):
    assert "destination" in fields(check(b, b.content(destination="CN")))
    c = b.content(destination="CN", export_type=ExportType.PROVISION_TO_FOREIGN_PERSONS_IN_CHINA,
                  parties=(b.end_user(country="CN"),))
    assert check(b, c) == []


def test_party_country_path_names_the_party(b):
    c = b.content(parties=(b.importer(), b.end_user(), replace(b.importer(), role=PartyRole.BANK,
                                                                country="Germany")))
    vs = check(b, c)
    assert [v.field for v in vs] == ["parties[2].country"]


def test_party_names_in_any_script_are_accepted(b):
    c = b.content(parties=(b.importer(), b.end_user(name="Общество «Пример»", country="KZ"),
                           replace(b.importer(), role=PartyRole.INTERMEDIARY,
                                   name="شركة المثال", country="AE")))
    assert check(b, c) == []


@pytest.mark.parametrize(
    ("export_type", "missing"),
    [
        (ExportType.PERMANENT, PartyRole.IMPORTER),
        (ExportType.PERMANENT, PartyRole.END_USER),
        (ExportType.TRANSIT, PartyRole.CONSIGNEE),
        (ExportType.TEMPORARY_REPAIR, PartyRole.CONSIGNEE),
        (ExportType.TECHNOLOGY_TRANSFER, PartyRole.END_USER),
    ],
)
def test_parties_required_per_export_type(b, export_type, missing):
    all_roles = (b.importer(), replace(b.importer(), role=PartyRole.CONSIGNEE), b.end_user())
    c = b.content(export_type=export_type,
                  parties=tuple(p for p in all_roles if p.role != missing))
    vs = check(b, c)
    assert any(v.field == "parties" and missing.value in v.reason for v in vs)


def test_single_licence_has_one_end_user(b):
    c = b.content(parties=(b.importer(), b.end_user(), b.end_user(name="Second end user")))
    vs = check(b, c)
    assert any(v.field == "parties" and "one export to one end user" in v.reason
               and "Reg. 17" not in v.reason for v in vs)
    assert check(b, replace(c, licence_type=LicenceType.GENERAL)) == []


def test_end_user_certificate_required_for_permanent_export(b):
    vs = check(b, b.content(end_user_certificate=None))
    assert [v.field for v in vs] == ["end_user_certificate"]
    assert "Art. 15" in vs[0].reason


def test_end_user_certificate_not_required_for_temporary_exhibition(b):
    c = b.content(export_type=ExportType.TEMPORARY_EXHIBITION, end_user_certificate=None,
                  parties=(b.importer(), replace(b.importer(), role=PartyRole.CONSIGNEE)))
    assert not certificate_required(c)
    assert check(b, c) == []


def test_certificate_from_other_issuer_expired_or_bad_hash(b):
    cert = b.certificate(issuer_kind=CertificateIssuer.OTHER, document_sha256="XYZ",
                         expires_on=dt.date(2026, 2, 1))
    assert fields(check(b, b.content(end_user_certificate=cert))) == {
        "end_user_certificate.issuer_kind",
        "end_user_certificate.document_sha256",
        "end_user_certificate.expires_on",
    }


def test_government_issued_certificate_is_accepted(b):
    c = b.content(end_user_certificate=b.certificate(issuer_kind=CertificateIssuer.GOVERNMENT))
    assert check(b, c) == []


def test_military_item_needs_a_valid_qualification(b):
    c = b.content(regime=ItemRegime.MILITARY)
    assert fields(check(b, c)) == {"regime"}
    expired = b.operator(military_qualification=b.qualification(valid_to=dt.date(2026, 1, 1)))
    assert fields(check(b, c, op=expired)) == {"regime"}
    valid = b.operator(military_qualification=b.qualification())
    assert check(b, c, op=valid) == []


def test_art39_ban_rejects_until_it_ends(b):
    st = b.standing(level=CreditLevel.BANNED, ban_until=dt.date(2026, 3, 3))
    vs = check(b, st=st)
    assert [v.field for v in vs] == ["exporter_uscc"]
    assert "Art. 39" in vs[0].reason and "2026-03-03" in vs[0].reason
    assert check(b, st=st, today=dt.date(2026, 3, 3)) == []


def test_end_use_statement_required(b):
    assert fields(check(b, b.content(end_use=EndUse(EndUseCategory.CIVIL, "  ")))) == {
        "end_use.statement"}


def test_all_violations_reported_at_once_and_wrapped_in_validation_failed(b):
    c = b.content(destination="XX", items=(b.item(control_code="bad", quantity=Decimal(-1)),),
                  end_user_certificate=None)
    vs = check(b, c)
    assert fields(vs) >= {"destination", "items[0].control_code", "items[0].quantity",
                          "end_user_certificate"}
    err = ValidationFailed(vs)
    assert err.violations == vs and "destination" in err.message
