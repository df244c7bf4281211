"""The edge's settings (pydantic-settings, variables prefixed `STC_EDGE_`).

The upstream addresses default to the services' default ports and follow the same
STC_<SERVICE>_ADDR variables as the CLI. Each may list several replicas, comma-separated
(`127.0.0.1:50051,127.0.0.1:50061`, issue 14 item 4): the edge balances over all of them; a
host name (a compose service, a Kubernetes headless Service) is resolved to every address it
has, again every `dns_refresh_seconds`, each address a replica (deploy/helm: the chart points
the edge at the headless Services, so Envoy balances every call across the pods). TLS follows
the services' own TLS variables (STC_TLS_CA_FILE towards the services,
STC_EDGE_TLS_CERT_FILE/KEY_FILE towards browsers).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[4]
SERVICES = ("licensing", "screening", "enduser", "credit")
SERVICE_NAMES = {
    "licensing": "stc.licensing.v1.LicensingService",
    "screening": "stc.screening.v1.ScreeningService",
    "enduser": "stc.enduser.v1.EndUserService",
    "credit": "stc.credit.v1.CreditService",
}


class EdgeSettings(BaseSettings):
    """Where the edge listens, where the services are, and what it lets through."""

    model_config = SettingsConfigDict(env_prefix="STC_EDGE_", frozen=True, extra="ignore",
                                      populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8080
    admin_port: int = 9901
    licensing_addr: str = Field("127.0.0.1:50051", validation_alias="STC_LICENSING_ADDR")
    screening_addr: str = Field("127.0.0.1:50052", validation_alias="STC_SCREENING_ADDR")
    enduser_addr: str = Field("127.0.0.1:50053", validation_alias="STC_ENDUSER_ADDR")
    credit_addr: str = Field("127.0.0.1:50054", validation_alias="STC_CREDIT_ADDR")
    # Origins whose browser pages may call the APIs (CORS); the portal served by the edge
    # itself is same-origin and needs none. Comma-separated.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # A request body above this is refused with 413 before it reaches a service.
    max_request_bytes: int = 1_048_576
    # Token bucket for the whole edge: requests per second, and the burst above it (429).
    rate_limit_rps: int = 200
    rate_limit_burst: int = 400
    # Downstream TLS (browsers) when both are set.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # Upstream TLS (the services) when set: the CA that signed the services' certificates.
    upstream_ca_file: str = Field("", validation_alias="STC_TLS_CA_FILE")
    upstream_client_cert_file: str = Field("", validation_alias="STC_TLS_CLIENT_CERT_FILE")
    upstream_client_key_file: str = Field("", validation_alias="STC_TLS_CLIENT_KEY_FILE")
    # How often a host name is resolved again (Envoy STRICT_DNS): a pod that joins a headless
    # Service gets calls at most this long (plus the DNS TTL) after it is ready; one that leaves
    # the name is dropped at that refresh even while it still passes health checks.
    dns_refresh_seconds: float = Field(5.0, ge=0.1, le=300)  # 0.1 s at least
    # Envoy's worker threads; 0: one per hardware thread it sees (in a container, the node's)
    concurrency: int = Field(0, ge=0, le=64)
    # DNS servers (ip:port, comma-separated) to resolve those names with instead of the
    # system's (/etc/resolv.conf); empty: the system's.
    dns_resolvers: str = ""
    descriptor_file: Path = ROOT / "services/common/src/stc/stc.binpb"
    portal_dir: Path = ROOT / "portal/dist"
    config_dir: Path = ROOT / ".state/edge"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            return tuple(o.strip() for o in v.split(",") if o.strip())
        return v

    @field_validator("licensing_addr", "screening_addr", "enduser_addr", "credit_addr")
    @classmethod
    def _addresses(cls, v: str, info) -> str:
        # refused at start-up, naming the variable, rather than by Envoy later
        split_addresses(v, info.field_name)
        return v

    @field_validator("dns_resolvers")
    @classmethod
    def _resolvers(cls, v: str) -> str:
        if v.strip():
            for host, _ in split_addresses(v, "dns_resolvers"):
                if not is_ip(host):
                    raise ValueError(f"dns_resolvers: {host!r} is not an IP address")
        return v

    def resolvers(self) -> list[tuple[str, int]]:
        """The DNS servers to resolve service names with (none: the system's)."""
        return split_addresses(self.dns_resolvers, "dns_resolvers") if self.dns_resolvers.strip() else []

    def address(self, service: str) -> str:
        """The configured address list of one service, as given."""
        return getattr(self, f"{service}_addr")

    def endpoints(self, service: str) -> list[tuple[str, int]]:
        """(host, port) of every replica of one service, in the order given."""
        return split_addresses(self.address(service), f"{service}_addr")

    def resolved_by_dns(self, service: str) -> bool:
        """Whether the service's address list names a host (so the replicas are whatever the
        name resolves to, not a count known here)."""
        return names_a_host(self.endpoints(service))


def names_a_host(endpoints: list[tuple[str, int]]) -> bool:
    """Whether any of the (host, port) endpoints is a host name rather than an address."""
    return not all(is_ip(h) for h, _ in endpoints)


def is_ip(host: str) -> bool:
    """Whether `host` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split_addresses(value: str, field: str) -> list[tuple[str, int]]:
    """`host:port[,host:port…]` as (host, port) pairs; ValueError naming `field` and the reason
    when an entry has no host, no port or a port outside 1–65535, or the list is empty or
    repeats an address."""
    out: list[tuple[str, int]] = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{field}: {entry!r} is not host:port with a port in 1-65535")
        if (host, int(port)) in out:
            raise ValueError(f"{field}: {entry!r} is listed twice")
        out.append((host, int(port)))
    if not out:
        raise ValueError(f"{field}: no address given")
    return out
