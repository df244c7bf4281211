"""What the end-user use cases share: the clock, the officer of a principal, and the
visibility rule between authorities (ECL Arts. 16-17: an officer of another authority sees
nothing of a licence, as another tenant does)."""

from __future__ import annotations

import datetime as dt

from stc_common.auth.jwt import Principal, Role
from stc_common.kafka.topics import ENDUSER_CHANGE

from stc_enduser.domain.model import (
    Authority,
    Officer,
)

TOPIC = ENDUSER_CHANGE.name




def utcnow() -> dt.datetime:
    """The current time, UTC."""
    return dt.datetime.now(dt.UTC)


def officer_of(p: Principal) -> Officer:
    """The domain officer of an officer principal."""
    assert p.authority is not None
    return Officer(p.subject, Authority(p.authority.value))


def other_authority(principal: Principal | Officer, authority: Authority) -> bool:
    """True when an officer of another authority than `authority` asks (it sees nothing)."""
    if isinstance(principal, Officer):
        return principal.authority != authority
    return principal.role is Role.OFFICER and (
        principal.authority is None or principal.authority.value != authority.value)
