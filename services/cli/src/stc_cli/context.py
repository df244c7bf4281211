"""Where the services are and who the CLI acts as.

STC_<SERVICE>_ADDR is `host:port`, or several replicas comma-separated
(`127.0.0.1:50051,127.0.0.1:50061`, issue 14 item 4): the channel spreads calls over every
replica that answers (gRPC's round_robin policy over an `ipv4:` target) and, when one dies,
sends the next calls to the others. A single host name (or a `dns:` target) is resolved to every
address it has and balanced the same way.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

import grpc
from stc_common.auth.jwt import mint_token
from stc_common.grpc.client import TlsSettingsError, channel_credentials
from stc_common.grpc.retry import RetryInterceptor

__all__ = ["ADDRESSES", "EDGE", "KAFKA", "AddressError", "Identity", "IdentityError",
           "TlsSettingsError", "channel", "channel_credentials", "grpc_target", "replicas"]

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


class AddressError(ValueError):
    """An STC_<SERVICE>_ADDR value no channel can be built from (the message says why)."""


# every replica in the rotation, not the first that answers (grpc's default, pick_first)
ROUND_ROBIN = ("grpc.lb_policy_name", "round_robin")


def replicas(address: str) -> list[str]:
    """The entries of an address list, in the order given."""
    out = [e.strip() for e in address.split(",") if e.strip()]
    if not out:
        raise AddressError(f"{address!r}: no address given")
    return out


def _ip_entries(entry: str) -> list[tuple[str, str]]:
    """(family, 'ip:port') for one host:port entry; a host name gives every address it has."""
    host, sep, port = entry.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AddressError(f"{entry!r} is not host:port with a port in 1-65535")
    try:
        ip = ipaddress.ip_address(host)
        return [(f"ipv{ip.version}", f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}")]
    except ValueError:
        pass
    # IPv4 when the name has it (`localhost` has both), else IPv6
    for family, scheme in ((socket.AF_INET, "ipv4"), (socket.AF_INET6, "ipv6")):
        try:
            infos = socket.getaddrinfo(host, int(port), family, socket.SOCK_STREAM)
        except OSError:
            continue
        out: list[tuple[str, str]] = []
        for *_, addr in infos:
            item = (scheme, f"[{addr[0]}]:{port}" if scheme == "ipv6" else f"{addr[0]}:{port}")
            if item not in out:
                out.append(item)
        return out
    raise AddressError(f"{entry!r}: the host name does not resolve")


def grpc_target(address: str) -> str:
    """The gRPC target of an address list: the address itself when it is one entry (or names a
    resolver, `dns:`, `ipv4:` …), else `ipv4:a:p1,b:p2` (or `ipv6:`) over every replica."""
    entries = replicas(address)
    if len(entries) == 1:
        return entries[0]
    resolved = [item for e in entries for item in _ip_entries(e)]
    families = {family for family, _ in resolved}
    if len(families) > 1:
        raise AddressError(f"{address!r}: mixes IPv4 and IPv6 replicas; list one family")
    seen: list[str] = []
    for _, addr in resolved:
        if addr not in seen:
            seen.append(addr)
    return f"{families.pop()}:{','.join(seen)}"


def channel_to(address: str) -> grpc.aio.Channel:
    """A channel over every replica in `address`: TLS when STC_TLS_CA_FILE is set, else
    plaintext; calls refused for overload (RESOURCE_EXHAUSTED) or lost with a replica
    (UNAVAILABLE) are retried with backoff where safe, which lands them on another replica."""
    options = [ROUND_ROBIN]
    entries = replicas(address)
    creds = channel_credentials()
    if creds is not None and len(entries) > 1:
        # the certificates name the service, not the addresses the list resolved to
        options.append(("grpc.default_authority", entries[0]))
    target = grpc_target(address)
    interceptors = [RetryInterceptor()]
    if creds is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, creds, options=options, interceptors=interceptors)


def channel(service: str) -> grpc.aio.Channel:
    """A channel to one service, over every replica STC_<SERVICE>_ADDR lists."""
    return channel_to(ADDRESSES[service])
