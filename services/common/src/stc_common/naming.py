"""The names a service shows the outside world, built one way for all four (issue 13).

- CloudEvents `source` of every event a service publishes: `stc-<service>` (licensing,
  screening, enduser, credit). Consumers that trust a type only from its owner compare
  against `event_source(owner)`; during a rolling upgrade `legacy_sources(owner)` also
  accepts the names the services used before (`screening`, `enduser`, `credit`).
- Kafka consumer groups: `<prefix>.<service>.<purpose>` (`stc.licensing.events`,
  `stc.credit.standing` …), the prefix from `STC_CONSUMER_GROUP_PREFIX` so that several
  platforms (tests, developers) share a broker without sharing groups. Changing a group's
  name starts the new group at the earliest offsets; the inbox makes the re-read a no-op.
"""

from __future__ import annotations

SERVICES = ("licensing", "screening", "enduser", "credit")


def event_source(service: str) -> str:
    """The CloudEvents source of the events `service` publishes."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"stc-{service}"


def legacy_sources(service: str) -> tuple[str, ...]:
    """The current source and the one used before the names were made uniform."""
    return (event_source(service), service)


def consumer_group(prefix: str, service: str, purpose: str) -> str:
    """The consumer group id of one purpose of a service."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{prefix}.{service}.{purpose}"
