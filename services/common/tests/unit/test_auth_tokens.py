"""Token verification rules, without a server (the server path is an integration test)."""

import datetime as dt
import time

import jwt
import pytest
from stc_common.auth.jwt import Authority, Role, TokenVerifier, mint_token
from stc_common.errors import Unauthenticated
from stc_common.testing.keys import foreign_signing_key_pem

USCC = "91350100M000100Y43"


def test_exporter_token_binds_uscc():
    p = TokenVerifier().verify(mint_token(role="exporter", uscc=USCC))
    assert p.role is Role.EXPORTER and p.uscc == USCC and p.authority is None


def test_officer_token_binds_authority():
    p = TokenVerifier().verify(mint_token(role="officer", authority="SASTIND"))
    assert p.authority is Authority.SASTIND


def test_expired_token():
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    token = mint_token(role="auditor", ttl=dt.timedelta(minutes=5), now=old)
    with pytest.raises(Unauthenticated) as err:
        TokenVerifier().verify(token)
    assert err.value.reason == "TOKEN_EXPIRED"


def test_token_signed_with_another_key():
    other = foreign_signing_key_pem()
    with pytest.raises(Unauthenticated, match="invalid token"):
        TokenVerifier().verify(mint_token(role="auditor", private_key_pem=other))


def test_alg_none_is_refused():
    now = int(dt.datetime.now(dt.UTC).timestamp())
    token = jwt.encode(
        {
            "sub": "x",
            "role": "officer",
            "authority": "MOFCOM",
            "iat": now,
            "exp": now + 600,
            "iss": "stc-dev",
            "aud": "stc-platform",
        },
        key=None,
        algorithm="none",
    )
    with pytest.raises(Unauthenticated):
        TokenVerifier().verify(token)


def test_exporter_token_without_uscc_is_refused():
    now = dt.datetime.now(dt.UTC)
    token = mint_token(role="auditor", now=now)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["role"] = "exporter"
    from stc_common.auth.jwt import DEV_PRIVATE_KEY_PEM

    forged = jwt.encode(claims, DEV_PRIVATE_KEY_PEM, algorithm="EdDSA")
    with pytest.raises(Unauthenticated, match="uscc"):
        TokenVerifier().verify(forged)


def test_mint_rejects_bad_uscc():
    with pytest.raises(ValueError):
        mint_token(role="exporter", uscc="123")


def test_importer_token_binds_licence_and_party():
    p = TokenVerifier().verify(mint_token(role="importer", licence="LIC-1", party="P-2"))
    assert p.role is Role.IMPORTER
    assert (p.licence_id, p.party_id) == ("LIC-1", "P-2")
    assert p.uscc is None and p.authority is None and not p.is_exporter


@pytest.mark.parametrize("claims", [{}, {"licence": "LIC-1"}, {"party": "P-2"}])
def test_importer_token_without_licence_and_party_is_refused(claims):
    with pytest.raises(Unauthenticated, match="licence and a party") as err:
        TokenVerifier().verify(mint_token(role="importer", **claims))
    assert err.value.reason == "TOKEN_INVALID"


def test_importer_claims_are_ignored_for_other_roles():
    p = TokenVerifier().verify(mint_token(role="exporter", uscc=USCC, licence="L", party="P"))
    assert p.licence_id is None and p.party_id is None


def test_mint_cli_importer(capsys):
    from stc_common.auth import mint

    assert mint.main(["--role", "importer", "--licence", "LIC-9", "--party", "P-1"]) == 0
    p = TokenVerifier().verify(capsys.readouterr().out.strip())
    assert (p.role, p.licence_id, p.party_id) == (Role.IMPORTER, "LIC-9", "P-1")
    with pytest.raises(SystemExit) as exit_:
        mint.main(["--role", "importer", "--licence", "LIC-9"])
    assert exit_.value.code == 2


def test_verified_token_is_cached_until_its_expiry(monkeypatch):
    """A token verified once is not checked again (issue 14: the Ed25519 check per call),
    but only until its `exp`: after that it is refused as expired, never served from the
    cache."""
    verifier = TokenVerifier()
    now = dt.datetime.now(dt.UTC)
    token = mint_token(role="exporter", uscc=USCC, ttl=dt.timedelta(seconds=600),
                       now=now - dt.timedelta(seconds=599))  # exp in one or two seconds
    first = verifier.verify(token)
    calls = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(1) or real_decode(*a, **k))
    assert verifier.verify(token) is first and calls == []
    time.sleep(max(0.0, first.expires_at - time.time()) + 0.05)  # the token's exp passes
    with pytest.raises(Unauthenticated) as err:
        verifier.verify(token)
    assert err.value.reason == "TOKEN_EXPIRED" and calls == [1]


def test_a_refused_token_is_not_cached():
    verifier = TokenVerifier()
    token = mint_token(role="exporter", uscc=USCC)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)
    assert verifier.verify(token).uscc == USCC
