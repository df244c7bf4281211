"""The screening consumer: stc_common's inbox consumer, plus index changes applied only after
the handler's transaction committed.

A handler that changes a list (the watch-list entry of an end-use check, Reg. 26) records
what the index must do in the ``ListChange`` of the event being handled
(``pending_change()``); ``ScreeningConsumer.handle`` applies it once the inbox transaction
has committed, and drops it when the transaction rolled back, so the index never holds an
entry the database does not.
"""

from __future__ import annotations

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
    """``EventConsumer`` that applies a handler's list changes to the index after commit."""

    def __init__(self, *, state: ScreeningState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state

    async def handle(self, env, message, sub, topic, partition, offset) -> str:
        """Run the handler in its inbox transaction; then, committed, apply its changes."""
        change = ListChange()
        token = _PENDING.set(change)
        try:
            outcome = await super().handle(env, message, sub, topic, partition, offset)
        finally:
            _PENDING.reset(token)
        # reached only when the transaction committed (an exception rolled it back)
        await self.state.apply_committed(change)  # on the matcher thread
        return outcome
