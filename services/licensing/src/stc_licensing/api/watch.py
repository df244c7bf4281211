"""Live wake-ups for WatchApplication: PostgreSQL LISTEN on the channel every history append
notifies (`pg_notify('licensing_application', application_id)`, delivered at commit).

One listening connection per process, opened while at least one stream watches and closed
`linger_s` seconds after the last one leaves, unless another stream came meanwhile: under
load, watches come and go all the time, and opening a connection per watch (a PostgreSQL
backend started, authenticated and LISTENing) cost more CPU than the watch itself (issue 14).
The stream re-reads the history table after every wake-up and at least every `fallback_s`
seconds, so a lost notification (or a listener that could not connect) only delays an
update, never loses it: the table is the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from stc_common.logging import get_logger

CHANNEL = "licensing_application"
log = get_logger("stc_licensing.watch")


class HistoryNotifier:
    """Fans NOTIFY payloads (application ids) out to the streams watching them."""

    def __init__(self, dsn: str, linger_s: float = 60.0) -> None:
        self.dsn = dsn
        self.linger_s = linger_s
        self.conn: asyncpg.Connection | None = None
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.lock = asyncio.Lock()
        self._closer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task] = set()

    async def subscribe(self, application_id: str) -> asyncio.Event:
        """An event set whenever the application's history grows."""
        ev = asyncio.Event()
        async with self.lock:
            if self._closer is not None:
                self._closer.cancel()
                self._closer = None
            if self.conn is None or self.conn.is_closed():
                try:
                    self.conn = await asyncpg.connect(self.dsn)
                    await self.conn.add_listener(CHANNEL, self._on_notify)
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("watch.listen_failed", error=repr(exc))  # polling still works
                    self.conn = None
            self.waiters.setdefault(application_id, set()).add(ev)
        return ev

    async def unsubscribe(self, application_id: str, ev: asyncio.Event) -> None:
        """Forget a stream; close the listener `linger_s` after nobody watches."""
        async with self.lock:
            found = self.waiters.get(application_id)
            if found is not None:
                found.discard(ev)
                if not found:
                    del self.waiters[application_id]
            if not self.waiters and self.conn is not None and self._closer is None:
                self._closer = asyncio.get_running_loop().call_later(
                    self.linger_s, self._start_close)

    def _start_close(self) -> None:
        task = asyncio.ensure_future(self._close_idle())
        self._closing.add(task)  # a reference until it is done
        task.add_done_callback(self._closing.discard)

    async def _close_idle(self) -> None:
        """Close the listener if still nobody watches (the linger ran out)."""
        async with self.lock:
            self._closer = None
            if self.waiters or self.conn is None:
                return
            conn, self.conn = self.conn, None
        with contextlib.suppress(Exception):
            await conn.close(timeout=2)

    def _on_notify(self, conn, pid, channel, payload: str) -> None:
        for ev in self.waiters.get(payload, ()):
            ev.set()
