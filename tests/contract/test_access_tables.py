"""Every RPC of every service has exactly one access rule, and the rules keep the roles'
promises: auditors write nothing, importers only report changes and read their reports,
the public RPCs are the ones the servers let through without a token."""

import importlib

import pytest
from stc_common.auth.access import AUDITOR, IMPORTER, OFFICER, check_table, public_methods
from stc_common.auth.jwt import Authority

SERVICES = {
    "licensing": ("stc.licensing.v1.licensing_service_pb2", "LicensingService"),
    "screening": ("stc.screening.v1.screening_service_pb2", "ScreeningService"),
    "enduser": ("stc.enduser.v1.enduser_service_pb2", "EndUserService"),
    "credit": ("stc.credit.v1.credit_service_pb2", "CreditService"),
}


def _table(svc):
    module, name = SERVICES[svc]
    descriptor = importlib.import_module(module).DESCRIPTOR.services_by_name[name]
    return descriptor, importlib.import_module(f"stc_{svc}.api.access").ACCESS


@pytest.mark.parametrize("svc", SERVICES)
def test_the_table_names_every_rpc_of_the_descriptor(svc):
    descriptor, table = _table(svc)
    check_table(descriptor, table)  # raises on a missing or an unknown RPC
    assert [m.name for m in descriptor.methods] == list(table)  # in the proto's order


@pytest.mark.parametrize("svc", SERVICES)
def test_auditors_write_nothing_and_reads_are_open_to_them(svc):
    _, table = _table(svc)
    for name, rule in table.items():
        assert not (rule.writes and AUDITOR in rule.roles), name
        reads = name.startswith(("Get", "List", "Search", "Watch"))
        if reads and OFFICER in rule.roles:
            assert AUDITOR in rule.roles, f"{svc}.{name}: auditors read everything"


def test_importers_only_report_and_read_their_reports():
    allowed = {(svc, name) for svc in SERVICES for name, r in _table(svc)[1].items()
               if IMPORTER in r.roles}
    assert allowed == {("enduser", "ReportChange"), ("enduser", "GetChangeReport"),
                       ("enduser", "ListChangeReports")}


def test_the_prc_lists_and_country_measures_are_mofcom_s():
    _, table = _table("screening")
    for name in ("AddListEntry", "UpdateListEntry", "RemoveListEntry", "AddCountryMeasure",
                 "SuspendCountryMeasure"):
        assert table[name].authorities == {Authority.MOFCOM}, name
        assert table[name].admits(OFFICER, Authority.SASTIND) == "PERMISSION_DENIED"
        assert table[name].admits(OFFICER, Authority.MOFCOM) == "allowed"
    assert _table("licensing")[1]["SetMilitaryQualification"].authorities == {Authority.SASTIND}


def test_the_servers_public_methods_are_the_tables():
    from stc_credit.api.servicer import PUBLIC_METHODS as credit_public
    from stc_screening.main import PUBLIC_METHODS as screening_public
    assert credit_public == public_methods(*_table("credit"))
    assert screening_public == public_methods(*_table("screening"))
    assert {m.rsplit("/", 1)[1] for m in screening_public} == {
        "SearchListEntries", "GetListEntry", "ListCountryMeasures"}
    assert public_methods(*_table("licensing")) == public_methods(*_table("enduser")) == []
