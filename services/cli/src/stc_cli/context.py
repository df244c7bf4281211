"""Where the services are and who the CLI acts as."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc
from stc_common.auth.jwt import mint_token

ADDRESSES = {
    "licensing": os.environ.get("STC_LICENSING_ADDR", "127.0.0.1:50051"),
    "screening": os.environ.get("STC_SCREENING_ADDR", "127.0.0.1:50052"),
    "enduser": os.environ.get("STC_ENDUSER_ADDR", "127.0.0.1:50053"),
    "credit": os.environ.get("STC_CREDIT_ADDR", "127.0.0.1:50054"),
}
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


class IdentityError(ValueError):
    """An --as value the CLI cannot turn into a token."""


@dataclass(frozen=True)
class Identity:
    """Who the CLI acts as: 'exporter:<USCC>', 'officer:<AUTHORITY>', 'auditor' or 'public'."""

    spec: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata with a bearer token (STC_TOKEN wins; else a development token)."""
        if token := os.environ.get("STC_TOKEN"):
            return (("authorization", f"Bearer {token}"),)
        role, _, arg = self.spec.partition(":")
        if role == "public":
            return ()
        try:
            if role == "exporter":
                token = mint_token(role="exporter", uscc=arg, subject=f"cli-{arg}")
            elif role == "officer":
                token = mint_token(
                    role="officer", authority=arg.upper(), subject=f"cli-officer-{arg.lower()}"
                )
            elif role == "auditor":
                token = mint_token(role="auditor", subject="cli-auditor")
            else:
                raise IdentityError(f"unknown role {role!r}")
        except ValueError as exc:
            raise IdentityError(
                f"--as {self.spec!r}: {exc}. Use exporter:<USCC>, "
                "officer:<MOFCOM|SASTIND|CAEA|CWC>, "
                "auditor or public"
            ) from exc
        return (("authorization", f"Bearer {token}"),)


class TlsSettingsError(ValueError):
    """STC_TLS_* variables the CLI cannot build a secure channel from."""


def _read(var: str) -> bytes | None:
    path = os.environ.get(var, "")
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TlsSettingsError(f"{var}={path!r} cannot be read: {exc.strerror or exc}") from exc


def channel_credentials() -> grpc.ChannelCredentials | None:
    """TLS credentials from the environment, or None for plaintext (the local stack).

    STC_TLS_CA_FILE (the CA that signed the servers' certificates) switches TLS on;
    STC_TLS_CLIENT_CERT_FILE and STC_TLS_CLIENT_KEY_FILE add a client certificate for
    servers that require mutual TLS.
    """
    ca = _read("STC_TLS_CA_FILE")
    cert = _read("STC_TLS_CLIENT_CERT_FILE")
    key = _read("STC_TLS_CLIENT_KEY_FILE")
    if (cert is None) != (key is None):
        missing = "STC_TLS_CLIENT_KEY_FILE" if key is None else "STC_TLS_CLIENT_CERT_FILE"
        raise TlsSettingsError(f"{missing} is not set: a client certificate needs its key")
    if ca is None:
        if cert is not None:
            raise TlsSettingsError("STC_TLS_CA_FILE is not set: mutual TLS needs TLS")
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def channel(service: str) -> grpc.aio.Channel:
    """A channel to one service: TLS when STC_TLS_CA_FILE is set, else plaintext."""
    creds = channel_credentials()
    if creds is None:
        return grpc.aio.insecure_channel(ADDRESSES[service])
    return grpc.aio.secure_channel(ADDRESSES[service], creds)
