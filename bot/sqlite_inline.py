"""SQLite statements on the event loop's own thread (``bot.sqlite_engine``'s connection).

aiosqlite sends every statement to a worker thread and wakes the loop when it is done:
two thread switches and a fight for the GIL per statement, which measured as the
largest cost of a message on SQLite. A point lookup or a small write to a local file
in WAL mode takes microseconds, less than the hop itself. Waiting for another
process's write lock is done here with ``asyncio.sleep`` between tries (SQLite's own
schedule), so the loop goes on meanwhile; a statement inside :func:`off_loop` keeps
aiosqlite's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.sqlite.client import translate_exceptions
from tortoise.exceptions import IntegrityError, OperationalError

T = TypeVar("T")

# As long as Python's sqlite3 module waits for a lock by default.
BUSY_TIMEOUT = 5.0
# SQLite's own busy-handler schedule (sqliteDefaultBusyCallback), in seconds.
_DELAYS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.025, 0.025, 0.05, 0.05, 0.1)

_off_loop: ContextVar[bool] = ContextVar("wecrm_sqlite_off_loop", default=False)


@contextmanager
def off_loop() -> Iterator[None]:
    """Statements issued inside (and in tasks started inside) run on aiosqlite's
    thread: for work whose statements may each take long, so that messages are still
    read and answered meanwhile."""
    token = _off_loop.set(True)
    try:
        yield
    finally:
        _off_loop.reset(token)


def running_off_loop() -> bool:
    return _off_loop.get()


_no_wait: ContextVar[bool] = ContextVar("wecrm_sqlite_no_wait", default=False)


@contextmanager
def without_waiting() -> Iterator[None]:
    """Statements issued inside fail at once on another process's write lock instead
    of waiting for it: for background writes that may as well come back later, and
    must not hold the connection (every message's statements) while they wait."""
    token = _no_wait.set(True)
    try:
        yield
    finally:
        _no_wait.reset(token)


def must_not_wait() -> bool:
    return _no_wait.get()


def retryable(exc: sqlite3.OperationalError) -> bool:
    # SQLITE_BUSY_SNAPSHOT (a read snapshot older than a commit made since) never
    # clears within the transaction: SQLite's busy handler does not wait for it either.
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
        and code != sqlite3.SQLITE_BUSY_SNAPSHOT
    )


async def to_the_end(work: Awaitable[T]) -> T:
    """``work``, waited for to its end even when the caller is cancelled meanwhile: the
    cancellation is raised after. A statement sent to aiosqlite's thread runs there
    whatever becomes of its caller, so whoever handles the cancellation (a ROLLBACK, a
    group's failure, the next BEGIN) must find the connection as the statement left
    it, not as it was before."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            # A second cancellation while waiting (shutdown after a deadline) must not
            # let the caller go before the statement is over either.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({future})
        if not future.cancelled():
            future.exception()  # retrieved: the cancellation is what the caller gets
        raise


# A read (the sender read is 3 KB of SQL: no copy of it upper-cased per message).
SELECT = re.compile(r"\s*select\b", re.IGNORECASE)
# A statement that writes rows (an INSERT … RETURNING too).
WRITE = re.compile(r"\s*(?:insert|update|delete|replace)\b", re.IGNORECASE)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run inline unless :func:`off_loop`."""

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        loop = asyncio.get_running_loop()
        deadline, attempt = loop.time() + BUSY_TIMEOUT, 0
        while True:
            try:
                if running_off_loop():
                    return await to_the_end(super()._execute(fn, *args, **kwargs))
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not retryable(exc) or loop.time() >= deadline or must_not_wait():
                    raise
            await asyncio.sleep(_DELAYS[min(attempt, len(_DELAYS) - 1)])
            attempt += 1

    def _execute_insert(self, sql: str, parameters: Any) -> tuple[int | None]:
        # The cursor holds the new row's id: aiosqlite asks SQLite for it with a second
        # statement (SELECT last_insert_rowid()) after every INSERT.
        return (self._conn.execute(sql, parameters).lastrowid,)

    def _fetch_dicts(self, sql: str, parameters: Any) -> list[dict[str, Any]]:
        # Plain tuples zipped with the column names: dict(sqlite3.Row), what Tortoise
        # does, looks every column up by name again (40 µs for the sender read's 56).
        cursor = self._conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(sql, parameters).fetchall()
        if not rows:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def fetch_dicts(self, sql: str, parameters: Any) -> list[dict[str, Any]]:
        return await self._execute(self._fetch_dicts, sql, parameters)


async def connect(path: str) -> InlineConnection:
    def connector() -> sqlite3.Connection:
        # No busy timeout: a wait for the lock would stall the loop (see above).
        # Created on aiosqlite's thread and used on the loop's as well.
        return sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)

    return await InlineConnection(connector, iter_chunk_size=64)


class DictRows:
    """``execute_query_dict`` (every hand-written read, ``models.rawsql``) through
    :meth:`InlineConnection.fetch_dicts`; the rest as Tortoise has it."""

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        query = query.replace("\x00", "'||CHAR(0)||'")
        connection: InlineConnection | None = self._connection  # type: ignore[attr-defined]
        lock: asyncio.Lock = self._lock  # type: ignore[attr-defined]
        free = not lock.locked() or getattr(self, "_awaiting_turn", False)
        if connection is not None and free and not running_off_loop():
            # Nobody holds the connection, and an inline statement never lets anyone
            # in before it ends: taking and giving back the lock would change nothing
            # (and cost as much as a point lookup, on a 查's dozen reads). Nor does a
            # transaction that holds it while it waits for another process's writes
            # (Client._awaiting_turn): it has not begun, and a statement here runs
            # whole before it can, outside it — as it would have a moment earlier. (A
            # write outside a transaction comes here only where no other process
            # writes: elsewhere it is a transaction of its own, Client._takes_turns.)
            self.log.debug("%s: %s", query, values)  # type: ignore[attr-defined]
            try:
                return connection._fetch_dicts(query, values or [])
            except sqlite3.OperationalError as exc:
                if not retryable(exc):
                    raise OperationalError(exc) from exc
            except sqlite3.IntegrityError as exc:  # an INSERT … RETURNING
                raise IntegrityError(exc) from exc
        return await self._query_dict(query, values)

    @translate_exceptions
    async def _query_dict(self, query: str, values: list | None = None) -> list[dict]:
        async with self.acquire_connection() as connection:  # type: ignore[attr-defined]
            self.log.debug("%s: %s", query, values)  # type: ignore[attr-defined]
            return await connection.fetch_dicts(query, values or [])
