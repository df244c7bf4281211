"""What counts as "an engine is away": the one classification of PostgreSQL and Kafka errors.

The relay, the consumers, the periodic jobs, the gRPC error mapping and the engine monitor all
ask the same two questions of an exception: is PostgreSQL (or the broker) unreachable right
now, so the operation may succeed once it is back (retry with backoff, answer UNAVAILABLE)?
Or is it a fault of this call or record (answer or dead-letter, never retry forever)?
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import asyncpg
from aiokafka import errors as kafka_errors


class FailedForGood(RuntimeError):
    """A task gave up after its bounded attempts: the runtime must not restart it, but stop
    the service so the process exits non-zero (a supervisor restarts it)."""


_DB_CLASSES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # incl. ConnectionDoesNotExistError, ConnectionFailure…
    asyncpg.exceptions.OperatorInterventionError,  # admin/crash shutdown, cannot connect now
    asyncpg.exceptions.TooManyConnectionsError,
    ConnectionError,  # ConnectionRefusedError, ConnectionResetError …
)
_CLOSED = ("connection is closed", "connection was closed", "pool is closed", "is closing")

_BROKER_CLASSES: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotEnoughReplicasError,
    kafka_errors.NotEnoughReplicasAfterAppendError,
    kafka_errors.CoordinatorNotAvailableError,
    kafka_errors.NotCoordinatorError,
)


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_db_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or its cause) means PostgreSQL cannot be reached right now."""
    for e in _chain(exc):
        if isinstance(e, _DB_CLASSES):
            return True
        if isinstance(e, asyncpg.InterfaceError) and any(s in str(e) for s in _CLOSED):
            return True
        if isinstance(e, asyncpg.InternalClientError) and "cannot switch to state" in str(e):
            return True  # a pooled connection left mid-operation when the server went away
        if isinstance(e, OSError) and not isinstance(e, FileNotFoundError | PermissionError):
            return True  # refused, unreachable, reset; TimeoutError (pool acquire, connect)
    return False


def is_broker_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or its cause) means the Kafka broker cannot be reached right now."""
    return any(isinstance(e, _BROKER_CLASSES) for e in _chain(exc))


def is_unavailable(exc: BaseException) -> bool:
    """True when an engine (PostgreSQL or Kafka) is away: retryable, answer UNAVAILABLE."""
    return is_db_unavailable(exc) or is_broker_unavailable(exc)


@dataclass
class Backoff:
    """Exponential backoff with jitter and a count of consecutive failures."""

    initial: float = 0.5
    maximum: float = 10.0
    failures: int = 0
    _next: float = field(default=0.0, repr=False)

    def failed(self) -> float:
        """Record one failure; return how long to wait before the next attempt."""
        self.failures += 1
        delay = min(self.maximum, self.initial * 2 ** (self.failures - 1))
        return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security

    def succeeded(self) -> None:
        """Reset after a success."""
        self.failures = 0


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0))
    except TimeoutError:
        return False
    return True
