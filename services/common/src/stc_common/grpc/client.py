"""Client-side channels to the platform's services: TLS when the environment asks for it.

STC_TLS_CA_FILE (the CA that signed the servers' certificates) switches TLS on;
STC_TLS_CLIENT_CERT_FILE and STC_TLS_CLIENT_KEY_FILE add a client certificate for servers that
require mutual TLS. Without them, channels are plaintext (the local stack on loopback). The CLI,
the demo, the credit verifier and the container health check all open channels through here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import grpc


class TlsSettingsError(ValueError):
    """STC_TLS_* variables that no secure channel can be built from (the message names one)."""


def _read(env: Mapping[str, str], var: str) -> bytes | None:
    path = env.get(var, "")
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TlsSettingsError(f"{var}={path!r} cannot be read: {exc.strerror or exc}") from exc


def channel_credentials(env: Mapping[str, str] | None = None) -> grpc.ChannelCredentials | None:
    """TLS credentials from the environment, or None for plaintext."""
    env = os.environ if env is None else env
    ca = _read(env, "STC_TLS_CA_FILE")
    cert = _read(env, "STC_TLS_CLIENT_CERT_FILE")
    key = _read(env, "STC_TLS_CLIENT_KEY_FILE")
    if (cert is None) != (key is None):
        missing = "STC_TLS_CLIENT_KEY_FILE" if key is None else "STC_TLS_CLIENT_CERT_FILE"
        raise TlsSettingsError(f"{missing} is not set: a client certificate needs its key")
    if ca is None:
        if cert is not None:
            raise TlsSettingsError("STC_TLS_CA_FILE is not set: mutual TLS needs TLS")
        return None
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                        certificate_chain=cert)


def aio_channel(address: str) -> grpc.aio.Channel:
    """An asyncio channel to `address`: TLS when STC_TLS_CA_FILE is set, else plaintext."""
    creds = channel_credentials()
    if creds is None:
        return grpc.aio.insecure_channel(address)
    return grpc.aio.secure_channel(address, creds)


def sync_channel(address: str) -> grpc.Channel:
    """A blocking channel to `address`, with the same TLS rule."""
    creds = channel_credentials()
    if creds is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, creds)
