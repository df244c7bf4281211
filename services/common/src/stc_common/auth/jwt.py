"""JWT bearer tokens: who is calling, in which role, bound to which USCC or authority.

Tokens are EdDSA (Ed25519) JWTs with claims `sub`, `role` (exporter | officer | auditor |
importer), `uscc` (exporters: the one enterprise they act for), `authority` (officers: MOFCOM,
SASTIND, CAEA or CWC), `licence` and `party` (importers: the one licence they act on and their
party id on it — a foreign importer has no USCC; ECL Art. 16 lets it report changes), `iss`,
`aud`, `iat`, `exp`. Only EdDSA is accepted, so `alg: none` and HMAC
confusions fail. A token's lifetime (`exp - iat`) is bounded (12 h by default,
STC_JWT_MAX_LIFETIME_S) and its `iat` may not lie in the future: a token with `exp` in 2100
is refused (issue 10, item 7). The development key pair beside this file is for the local
stack only: a service outside STC_ENVIRONMENT=development refuses to start with it
(`ServiceSettings.check_keys`); production sets STC_JWT_PUBLIC_KEY_PEM or _FILE.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stc_common.errors import PermissionDenied, Unauthenticated
from stc_common.uscc import UsccError, validate_uscc

DEV_PRIVATE_KEY_PEM = (Path(__file__).parent / "dev_ed25519.pem").read_text()
DEV_PUBLIC_KEY_PEM = (Path(__file__).parent / "dev_ed25519.pub.pem").read_text()
ALGORITHM = "EdDSA"


def load_public_key(pem: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key in PEM; ValueError saying why it is not one."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 key ({type(key).__name__})")
    return key


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def is_development_key(pem: str) -> bool:
    """Whether `pem` is the development public key committed in this repository."""
    return _raw(load_public_key(pem)) == _raw(load_public_key(DEV_PUBLIC_KEY_PEM))


class Role(enum.StrEnum):
    """The roles (docs/security.md): exporter, officer, auditor, importer, public."""

    EXPORTER = "exporter"
    OFFICER = "officer"
    AUDITOR = "auditor"
    IMPORTER = "importer"  # a foreign party bound to one licence (ECL Art. 16, Reg. 25)


class Authority(enum.StrEnum):
    """Competent authorities an officer can be bound to."""

    MOFCOM = "MOFCOM"  # dual-use items
    SASTIND = "SASTIND"  # military items
    CAEA = "CAEA"  # nuclear
    CWC = "CWC"  # scheduled chemicals (CWC implementation office)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    role: Role
    uscc: str | None = None
    authority: Authority | None = None
    licence_id: str | None = None  # importers: the licence they are a party to
    party_id: str | None = None  # importers: their party id on that licence
    expires_at: float | None = None  # the token's exp (epoch seconds): streams end there

    @property
    def is_exporter(self) -> bool:
        """True for an exporter (tenant-bound)."""
        return self.role is Role.EXPORTER


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "stc_principal", default=None
)


def set_principal(p: Principal | None) -> contextvars.Token:
    """Bind the caller for the current request (the interceptor does this)."""
    return _current.set(p)


def current_principal() -> Principal | None:
    """The caller of the current request, None for an unauthenticated public call."""
    return _current.get()


def require(*roles: Role) -> Principal:
    """The caller, who must hold one of `roles`; raise PERMISSION_DENIED/UNAUTHENTICATED."""
    p = _current.get()
    if p is None:
        raise Unauthenticated("this method needs a bearer token", reason="TOKEN_MISSING")
    if roles and p.role not in roles:
        raise PermissionDenied(
            f"role {p.role.value} may not call this method "
            f"(needs {', '.join(r.value for r in roles)})",
            reason="ROLE_NOT_ALLOWED",
        )
    return p


_VERIFIED_CACHE_SIZE = 4096


class TokenVerifier:
    """Verifies bearer tokens against one Ed25519 public key."""

    def __init__(
        self,
        public_key_pem: str = "",
        *,
        issuer: str = "stc-dev",
        audience: str = "stc-platform",
        max_lifetime_s: float = 12 * 3600,
        leeway_s: float = 60,
    ) -> None:
        self.key = public_key_pem or DEV_PUBLIC_KEY_PEM
        self.issuer, self.audience = issuer, audience
        self.max_lifetime_s, self.leeway_s = max_lifetime_s, leeway_s
        # token -> Principal of tokens that verified: a client sends the same token on every
        # call, and the Ed25519 check with the PEM parse was ~6 % of a service's CPU under
        # load (issue 14). A hit is served only before its `exp`; bounded, cleared when full.
        self._verified: dict[str, Principal] = {}

    def _check_lifetime(self, claims: dict) -> None:
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise Unauthenticated("token iat and exp must be numbers", reason="TOKEN_INVALID")
        if iat > dt.datetime.now(dt.UTC).timestamp() + self.leeway_s:
            raise Unauthenticated("token issued in the future", reason="TOKEN_INVALID")
        if exp - iat > self.max_lifetime_s:
            raise Unauthenticated(
                f"token lifetime exp - iat = {int(exp - iat)} s is over the "
                f"{int(self.max_lifetime_s)} s allowed",
                reason="TOKEN_LIFETIME",
            )

    def verify(self, token: str) -> Principal:
        """Return the Principal of a valid token; raise Unauthenticated with the reason."""
        known = self._verified.get(token)
        if known is not None and (known.expires_at or 0) > dt.datetime.now(dt.UTC).timestamp():
            return known
        principal = self._verify(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", reason="TOKEN_EXPIRED") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}", reason="TOKEN_INVALID") from exc
        self._check_lifetime(claims)
        try:
            role = Role(claims["role"])
        except (ValueError, TypeError) as exc:  # TypeError: a list or object as the role
            raise Unauthenticated(
                f"unknown role {claims['role']!r}", reason="TOKEN_INVALID"
            ) from exc
        uscc = authority = None
        if role is Role.EXPORTER:
            try:
                uscc = validate_uscc(str(claims.get("uscc", "")))
            except UsccError as exc:
                raise Unauthenticated(
                    f"exporter token without a valid uscc: {exc}", reason="TOKEN_INVALID"
                ) from exc
        if role is Role.OFFICER:
            try:
                authority = Authority(claims.get("authority", ""))
            except (ValueError, TypeError) as exc:
                raise Unauthenticated(
                    "officer token without a known authority", reason="TOKEN_INVALID"
                ) from exc
        licence_id = party_id = None
        if role is Role.IMPORTER:
            licence_id = str(claims.get("licence") or "").strip()
            party_id = str(claims.get("party") or "").strip()
            if not licence_id or not party_id:
                raise Unauthenticated(
                    "importer token without both a licence and a party", reason="TOKEN_INVALID"
                )
        return Principal(
            subject=str(claims["sub"]),
            role=role,
            uscc=uscc,
            authority=authority,
            licence_id=licence_id,
            party_id=party_id,
            expires_at=float(claims["exp"]),
        )


def mint_token(
    *,
    role: Role | str,
    subject: str | None = None,
    uscc: str | None = None,
    authority: Authority | str | None = None,
    licence: str | None = None,
    party: str | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=8),
    private_key_pem: str = "",
    issuer: str = "stc-dev",
    audience: str = "stc-platform",
    now: dt.datetime | None = None,
) -> str:
    """Sign a token (the development key unless `private_key_pem` is given)."""
    role = Role(role)
    now = now or dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": subject or f"{role.value}-{uuid.uuid4().hex[:8]}",
        "role": role.value,
        "iss": issuer,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    if uscc:
        claims["uscc"] = validate_uscc(uscc)
    if authority:
        claims["authority"] = Authority(authority).value
    if licence:
        claims["licence"] = licence
    if party:
        claims["party"] = party
    return jwt.encode(claims, private_key_pem or DEV_PRIVATE_KEY_PEM, algorithm=ALGORITHM)
