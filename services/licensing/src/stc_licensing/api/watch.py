"""Live wake-ups for WatchApplication: PostgreSQL LISTEN on the channel every history append
notifies (`pg_notify('licensing_application', application_id)`, delivered at commit).

One listening connection per process, opened while at least one stream watches and closed
when the last one leaves. The stream re-reads the history table after every wake-up and at
least every `fallback_s` seconds, so a lost notification (or a listener that could not
connect) only delays an update, never loses it: the table is the source of truth.
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

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.lock = asyncio.Lock()

    async def subscribe(self, application_id: str) -> asyncio.Event:
        """An event set whenever the application's history grows."""
        ev = asyncio.Event()
        async with self.lock:
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
        """Forget a stream; close the listener when nobody watches."""
        async with self.lock:
            found = self.waiters.get(application_id)
            if found is not None:
                found.discard(ev)
                if not found:
                    del self.waiters[application_id]
            if not self.waiters and self.conn is not None:
                conn, self.conn = self.conn, None
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    def _on_notify(self, conn, pid, channel, payload: str) -> None:
        for ev in self.waiters.get(payload, ()):
            ev.set()
