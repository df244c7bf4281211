"""The shared half of every service's in-memory unit of work, for unit tests of use cases.

A service's fake (`stc_<service>.testing.fakes`) subclasses `FakeStore` with its tables as
attributes and `FakeUnitOfWork` with its repositories over them. The store keeps the outbox;
`store.transaction()` opens a unit of work whose writes (rows and events) are undone when
the block raises, as a rolled-back PostgreSQL transaction's are, so a test can assert that
a refusal wrote and published nothing.
"""

from __future__ import annotations

import abc
import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message


@dataclass(frozen=True)
class Event:
    """One outbox row of a fake: topic, key and the message."""

    topic: str
    key: str
    message: Message

    @property
    def type(self) -> str:
        """The event's ce_type (the message's full name)."""
        return self.message.DESCRIPTOR.full_name


U = TypeVar("U", bound="FakeUnitOfWork")


class FakeStore(abc.ABC, Generic[U]):
    """In-memory tables (the subclass's attributes) and the outbox."""

    def __init__(self) -> None:
        self.outbox: list[Event] = []

    @abc.abstractmethod
    def unit_of_work(self) -> U:
        """A unit of work over this store (each service's store builds its own)."""

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of every table and the outbox."""
        return copy.deepcopy(self.__dict__)

    def restore(self, saved: dict[str, Any]) -> None:
        """Put back every table as `saved` holds it."""
        self.__dict__.clear()
        self.__dict__.update(saved)

    def events(self, type_suffix: str = "") -> list[Event]:
        """Outbox events whose ce_type ends with `type_suffix` (all by default)."""
        return [e for e in self.outbox if e.type.endswith(type_suffix)]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[U]:
        """One unit of work; everything it wrote is undone if the block raises."""
        saved = self.snapshot()
        try:
            yield self.unit_of_work()
        except BaseException:
            self.restore(saved)
            raise


class FakeUnitOfWork:
    """`publish`, `publish_many`, `published` and `savepoint` over a FakeStore's outbox."""

    def __init__(self, store: FakeStore[Any]) -> None:
        self.store = store
        self.published: list[str] = []

    async def publish(self, topic: str, key: str, message: Message) -> str:
        """Append one event to the outbox."""
        self.store.outbox.append(Event(topic, key, message))
        self.published.append(f"ev-{len(self.store.outbox)}")
        return self.published[-1]

    async def publish_many(self, topic: str, events: list[tuple[str, Message]]) -> list[str]:
        """Append several (key, message) events of one topic to the outbox."""
        return [await self.publish(topic, key, message) for key, message in events]

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: undone (rows and events) if the block raises."""
        saved, before = self.store.snapshot(), len(self.published)
        try:
            yield
        except BaseException:
            self.store.restore(saved)
            del self.published[before:]
            raise
