"""stc_common.auth.access: rules decide the outcome class, guard enforces them before the
handler and refuses a servicer whose table misses an RPC."""

import pytest
from stc.enduser.v1 import enduser_service_pb2 as pb
from stc_common.auth.access import (
    AUDITOR,
    EXPORTER,
    OFFICER,
    enforce,
    guard,
    markdown,
    rule,
)
from stc_common.auth.jwt import Authority, Principal, Role, set_principal
from stc_common.errors import PermissionDenied, Unauthenticated

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["EndUserService"]


def test_rule_outcomes():
    r = rule(OFFICER, authorities=(Authority.MOFCOM,), writes=True)
    assert r.admits(None) == "UNAUTHENTICATED"
    assert r.admits(EXPORTER) == "PERMISSION_DENIED"
    assert r.admits(OFFICER, Authority.CAEA) == "PERMISSION_DENIED"
    assert r.admits(OFFICER, Authority.MOFCOM) == "allowed"
    assert rule(public=True).admits(None) == "allowed"
    with pytest.raises(ValueError, match="auditors"):
        rule(AUDITOR, writes=True)


def test_enforce_raises_the_status_of_the_outcome():
    r = rule(OFFICER, authorities=(Authority.MOFCOM,))
    set_principal(None)
    with pytest.raises(Unauthenticated):
        enforce("X", r)
    set_principal(Principal("s", Role.OFFICER, authority=Authority.CWC))
    with pytest.raises(PermissionDenied) as exc:
        enforce("X", r)
    assert exc.value.reason == "NOT_COMPETENT_AUTHORITY"
    set_principal(Principal("s", Role.AUDITOR))
    with pytest.raises(PermissionDenied) as exc:
        enforce("X", r)
    assert exc.value.reason == "ROLE_NOT_ALLOWED"
    set_principal(Principal("s", Role.OFFICER, authority=Authority.MOFCOM))
    assert enforce("X", r).authority is Authority.MOFCOM
    set_principal(None)


class _Servicer:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        async def handler(request, context):
            self.calls.append(name)
            return name
        return handler


async def test_guard_checks_before_the_handler_and_covers_every_rpc():
    names = [m.name for m in DESCRIPTOR.methods]
    with pytest.raises(ValueError, match="missing"):
        guard(_Servicer(), DESCRIPTOR, {n: rule(OFFICER) for n in names[1:]})
    s = guard(_Servicer(), DESCRIPTOR, {n: rule(OFFICER) for n in names})
    set_principal(Principal("e", Role.EXPORTER, uscc="91350100M000100Y43"))
    with pytest.raises(PermissionDenied):
        await s.ResolveChange(None, None)
    assert s.calls == []
    set_principal(Principal("o", Role.OFFICER, authority=Authority.MOFCOM))
    assert await s.ResolveChange(None, None) == "ResolveChange"
    set_principal(None)


def test_markdown_names_the_authorities():
    text = markdown({"AddListEntry": rule(OFFICER, authorities=(Authority.MOFCOM,)),
                     "GetListEntry": rule(public=True)})
    assert "| AddListEntry | officer (MOFCOM) |" in text
    assert "| GetListEntry | anyone (no token) |" in text
