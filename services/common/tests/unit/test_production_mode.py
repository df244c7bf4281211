"""Production mode: the committed development token key is refused unless the process is
told it runs in development (STC_ENVIRONMENT=development)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stc_common.auth.jwt import DEV_PUBLIC_KEY_PEM, is_development_key
from stc_common.config import ConfigError, ServiceSettings


def _real_public_pem() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_the_default_environment_is_production(monkeypatch):
    monkeypatch.delenv("STC_ENVIRONMENT", raising=False)
    assert ServiceSettings().environment == "production"


@pytest.mark.parametrize("pem", ["", DEV_PUBLIC_KEY_PEM, "\n" + DEV_PUBLIC_KEY_PEM + "\n\n"])
def test_production_refuses_the_development_key_naming_the_settings(pem):
    with pytest.raises(ConfigError) as err:
        ServiceSettings(environment="production", jwt_public_key_pem=pem).check_keys()
    assert "STC_JWT_PUBLIC_KEY_PEM" in str(err.value)
    assert "STC_ENVIRONMENT=development" in str(err.value)


def test_development_accepts_the_development_key():
    ServiceSettings(environment="development").check_keys()
    ServiceSettings(environment="development", jwt_public_key_pem=DEV_PUBLIC_KEY_PEM).check_keys()


def test_production_accepts_a_real_key_inline_or_from_a_file(tmp_path):
    pem = _real_public_pem()
    assert not is_development_key(pem)
    ServiceSettings(environment="production", jwt_public_key_pem=pem).check_keys()
    secret = tmp_path / "jwt_public_key"
    secret.write_text(pem)
    settings = ServiceSettings(environment="production", jwt_public_key_file=str(secret))
    settings.check_keys()
    assert settings.jwt_public_key() == pem


def test_the_development_key_in_a_file_is_refused_too(tmp_path):
    secret = tmp_path / "jwt_public_key"
    secret.write_text(DEV_PUBLIC_KEY_PEM)
    with pytest.raises(ConfigError, match="development JWT key"):
        ServiceSettings(environment="production", jwt_public_key_file=str(secret)).check_keys()


def test_an_unreadable_key_file_or_a_non_ed25519_key_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="STC_JWT_PUBLIC_KEY_FILE"):
        ServiceSettings(jwt_public_key_file=str(tmp_path / "missing")).check_keys()
    with pytest.raises(ConfigError, match="not a PEM public key"):
        ServiceSettings(environment="development", jwt_public_key_pem="garbage").check_keys()


def test_an_unknown_environment_is_rejected():
    with pytest.raises(ValueError, match="environment"):
        ServiceSettings(environment="staging")


def test_the_database_password_comes_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "db_password"
    secret.write_text("s3cr@t/:pw\n")
    settings = ServiceSettings(
        database_url="postgresql://stc@postgres:5432/stc_credit",
        database_password_file=str(secret),
    )
    assert settings.database_url == "postgresql://stc:s3cr%40t%2F%3Apw@postgres:5432/stc_credit"
    monkeypatch.setenv("STC_DATABASE_PASSWORD_FILE", str(secret))
    monkeypatch.delenv("STC_DATABASE_URL", raising=False)
    assert ServiceSettings().database_url.startswith("postgresql://stc:s3cr%40t%2F%3Apw@127.0.0.1")
    with pytest.raises(ValueError, match="STC_DATABASE_PASSWORD_FILE"):
        ServiceSettings(database_password_file=str(tmp_path / "missing"))
