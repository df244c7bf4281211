"""Access tables: for every RPC of a service, who may call it and for which authority.

Each service declares one table (`api/access.py`): a dict from RPC name to `Rule`. The
rule is checked before the servicer runs (`guard`), so a role or an authority that may
never take the action answers PERMISSION_DENIED and a call without a token UNAUTHENTICATED,
whatever the request holds. What a rule cannot decide from the token alone, which resource
the caller may see, is decided where the resource is loaded (the service layer): another
tenant's or another authority's resource answers NOT_FOUND, as if it did not exist, and
lists are filtered to what the caller may see.

Competence follows the Export Control Law: Art. 5 gives the State export control
administrative departments (MOFCOM for dual-use items, SASTIND with the CMC for military
items) their fields, and the nuclear (CAEA) and chemical (the CWC implementation office)
regimes keep theirs; Arts. 13-19 make the authority that licensed an export the one that
checks it, and Arts. 33-39 the authority that imposed a penalty the one that records it.

`guard` refuses to wrap a servicer whose service has an RPC missing from the table, so a
new RPC cannot be served without a decided rule.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field

from stc_common.auth.jwt import Authority, Principal, Role, current_principal
from stc_common.errors import PermissionDenied, Unauthenticated

ALL_AUTHORITIES = frozenset(Authority)
EXPORTER, IMPORTER, OFFICER, AUDITOR = Role.EXPORTER, Role.IMPORTER, Role.OFFICER, Role.AUDITOR


@dataclass(frozen=True)
class Rule:
    """Who may call one RPC.

    `roles`: the roles that may call it at all (others: PERMISSION_DENIED). `public`: callable
    without a token (a token, when sent, must still be valid). `authorities`: the officers'
    authorities that may call it (officers of others: PERMISSION_DENIED). `scope`: how the
    resource narrows it further (NOT_FOUND / filtered lists), in words for the README.
    `writes`: the RPC changes state (auditors never hold such a rule).
    """

    roles: frozenset[Role]
    scope: str = ""
    public: bool = False
    authorities: frozenset[Authority] = field(default=ALL_AUTHORITIES)
    writes: bool = False

    def __post_init__(self) -> None:
        if self.writes and AUDITOR in self.roles:
            raise ValueError("auditors read everything and write nothing")

    def admits(self, role: Role | None, authority: Authority | None = None) -> str:
        """The outcome class for a caller: allowed, UNAUTHENTICATED or PERMISSION_DENIED."""
        if role is None:
            return "allowed" if self.public else "UNAUTHENTICATED"
        if self.public:
            return "allowed"
        if role not in self.roles:
            return "PERMISSION_DENIED"
        if role is OFFICER and authority not in self.authorities:
            return "PERMISSION_DENIED"
        return "allowed"


def rule(*roles: Role, scope: str = "", public: bool = False, writes: bool = False,
         authorities: frozenset[Authority] | tuple[Authority, ...] = ALL_AUTHORITIES) -> Rule:
    """A Rule from positional roles."""
    return Rule(frozenset(roles), scope=scope, public=public, writes=writes,
                authorities=frozenset(authorities))


def enforce(name: str, r: Rule) -> Principal | None:
    """Check the current caller against `r`; raise UNAUTHENTICATED / PERMISSION_DENIED."""
    p = current_principal()
    if r.public:
        return p
    if p is None:
        raise Unauthenticated("this method needs a bearer token", reason="TOKEN_MISSING")
    if p.role not in r.roles:
        raise PermissionDenied(
            f"role {p.role.value} may not call {name} "
            f"(needs {', '.join(sorted(x.value for x in r.roles))})",
            reason="ROLE_NOT_ALLOWED",
        )
    if p.role is OFFICER and p.authority not in r.authorities:
        raise PermissionDenied(
            f"an officer of {p.authority} is not competent for {name} "
            f"({', '.join(sorted(a.value for a in r.authorities))} only)",
            reason="NOT_COMPETENT_AUTHORITY",
        )
    return p


def check_table(service_descriptor, table: Mapping[str, Rule]) -> None:
    """Raise ValueError unless `table` has exactly the RPCs of the service."""
    methods = {m.name for m in service_descriptor.methods}
    missing, extra = methods - set(table), set(table) - methods
    if missing or extra:
        raise ValueError(f"access table of {service_descriptor.full_name}: "
                         f"missing {sorted(missing)}, unknown {sorted(extra)}")


def public_methods(service_descriptor, table: Mapping[str, Rule]) -> list[str]:
    """The full method paths the server lets through without a token."""
    return [f"/{service_descriptor.full_name}/{n}" for n, r in table.items() if r.public]


def guard(servicer, service_descriptor, table: Mapping[str, Rule]):
    """Wrap every RPC of `servicer` so its rule is enforced before the handler runs."""
    check_table(service_descriptor, table)
    for name, r in table.items():
        method = getattr(servicer, name)
        if inspect.isasyncgenfunction(method):
            async def stream(request, context, _m=method, _n=name, _r=r):
                enforce(_n, _r)
                async for item in _m(request, context):
                    yield item
            wrapped = functools.wraps(method)(stream)
        else:
            async def unary(request, context, _m=method, _n=name, _r=r):
                enforce(_n, _r)
                return await _m(request, context)
            wrapped = functools.wraps(method)(unary)
        setattr(servicer, name, wrapped)
    return servicer


def markdown(table: Mapping[str, Rule]) -> str:
    """The table as Markdown rows for a README."""
    def who(r: Rule) -> str:
        if r.public:
            return "anyone (no token)"
        parts = []
        for role in (EXPORTER, IMPORTER, OFFICER, AUDITOR):
            if role in r.roles:
                if role is OFFICER and r.authorities != ALL_AUTHORITIES:
                    parts.append("officer (" + ", ".join(
                        a.value for a in Authority if a in r.authorities) + ")")
                else:
                    parts.append(role.value)
        return ", ".join(parts)

    lines = ["| RPC | who may call | scope (else NOT_FOUND / filtered) |", "|---|---|---|"]
    lines += [f"| {n} | {who(r)} | {r.scope} |" for n, r in table.items()]
    return "\n".join(lines)
