"""One active scheduler per database.

On PostgreSQL a session-level advisory lock, held on a connection of its own for
as long as the scheduler runs: a second ``wecrm scheduler`` (or a second
``wecrm serve`` with the scheduler on) finds the lock taken and stands by, and
takes over when the first one's connection closes. SQLite serves one process, so
there is nothing to coordinate.

Holding the lock once is not enough: the holder's connection can be cut (a
network blip, ``pg_terminate_backend``), the standby then takes the lock, and a
holder that never looked again would run every job a second time. The holder
calls :meth:`SchedulerLock.verify` before each run and on every poll.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from bot import db

# Any constant both schedulers agree on: "wecrm" in ASCII.
LOCK_KEY = 0x7765_6372_6D


class SchedulerLock:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: asyncpg.Connection | None = None
        self.held = False

    async def try_acquire(self) -> bool:
        if self.held:
            return True
        if not db.is_postgres(self.url):
            self.held = True
            return True
        if self._conn is None or self._conn.is_closed():
            dsn = db.normalize_url(self.url).replace("postgres://", "postgresql://", 1)
            self._conn = await asyncpg.connect(dsn)
        self.held = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY))
        return self.held

    async def verify(self, wait: float = 2.0) -> bool:
        """True while this process still holds the lock: its session is alive."""
        if not self.held:
            return False
        if not db.is_postgres(self.url):
            return True
        conn = self._conn
        try:
            if conn is None or conn.is_closed():
                raise ConnectionError("lock connection closed")
            async with asyncio.timeout(wait):
                # A session-level advisory lock lives exactly as long as its session.
                await conn.fetchval("SELECT 1")
        except Exception:
            self.held = False
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.terminate()
            self._conn = None
            return False
        return True

    async def release(self) -> None:
        self.held = False
        if self._conn is not None and not self._conn.is_closed():
            # Closing the session releases the lock for the standby.
            await self._conn.close()
        self._conn = None
