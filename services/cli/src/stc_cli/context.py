"""Where the services are and who the CLI acts as."""

from __future__ import annotations

import os
from dataclasses import dataclass

import grpc
from stc_common.auth.jwt import mint_token
from stc_common.grpc.client import TlsSettingsError, channel_credentials
from stc_common.grpc.retry import retrying_channel

__all__ = ["ADDRESSES", "EDGE", "KAFKA", "Identity", "IdentityError", "TlsSettingsError", "channel",
           "channel_credentials"]

ADDRESSES = {
    "licensing": os.environ.get("STC_LICENSING_ADDR", "127.0.0.1:50051"),
    "screening": os.environ.get("STC_SCREENING_ADDR", "127.0.0.1:50052"),
    "enduser": os.environ.get("STC_ENDUSER_ADDR", "127.0.0.1:50053"),
    "credit": os.environ.get("STC_CREDIT_ADDR", "127.0.0.1:50054"),
}
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# the edge (Envoy): gRPC-Web, JSON and the portal on one port (`make run` starts it)
EDGE = os.environ.get("STC_EDGE_ADDR") or f"127.0.0.1:{os.environ.get('STC_EDGE_PORT', '8080')}"


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


def channel(service: str) -> grpc.aio.Channel:
    """A channel to one service: TLS when STC_TLS_CA_FILE is set, else plaintext; calls refused
    for overload (RESOURCE_EXHAUSTED, UNAVAILABLE) are retried with backoff where safe."""
    return retrying_channel(ADDRESSES[service])
