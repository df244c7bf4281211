"""The screening consumer: stc_common's inbox consumer, plus index changes applied only after
the handler's transaction committed.

A handler that changes a list (the watch-list entry of an end-use check, Reg. 26) records
what the index must do in the ``ListChange`` of the event being handled
(``pending_change()``); ``ScreeningConsumer`` applies it once the inbox transaction has
committed, and drops it when the transaction rolled back, so the index never holds an entry
the database does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from stc_common.consumer import EventConsumer

from stc_screening.domain.lists import ListChange
from stc_screening.service.state import ScreeningState

_PENDING: ContextVar[ListChange | None] = ContextVar("screening_pending_change", default=None)


def pending_change() -> ListChange:
    """The index change of the event being handled. Outside ``ScreeningConsumer`` (a handler
    called directly) a throw-away one: the list topic then brings the change to the index."""
    change = _PENDING.get()
    return change if change is not None else ListChange()


class ScreeningConsumer(EventConsumer):
    """``EventConsumer`` that applies a handler's list changes to the index after commit.

    Through the consumer's ``record_scope``/``after_commit`` hooks, so screening's records are
    handled in batches like every other consumer's (one transaction for a poll's records
    instead of one each; issue 14). A record that changed a list ends its batch
    (``ends_batch``): the records after it are screened against the index with the change."""

    def __init__(self, *, state: ScreeningState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state

    @contextlib.contextmanager
    def record_scope(self) -> Iterator[ListChange]:
        """The record's ListChange, where its handler records what the index must do."""
        change = ListChange()
        token = _PENDING.set(change)
        try:
            yield change
        finally:
            _PENDING.reset(token)

    def ends_batch(self, scope: ListChange) -> bool:
        """A record that changed a list: commit and apply it before the next record."""
        return bool(scope.put or scope.removed)

    async def after_commit(self, scopes: list[ListChange]) -> None:
        """The committed records' changes, in order, on the matcher thread."""
        for change in scopes:
            await self.state.apply_committed(change)
