"""Tortoise's SQLite backend, with statements run on the event loop's own thread.

aiosqlite sends every statement to a worker thread and wakes the loop when it is done:
two thread switches and a fight for the GIL per statement, which measured as the
largest cost of a message on SQLite (帮助 804 → 1 282 req/s, 跟进 240 → 360 req/s
when the same statements ran inline). A point lookup or a small write to a local
file in WAL mode takes microseconds, less than the hop itself; and a process's
statements are serialised on a lock by Tortoise already, so the thread bought no
parallelism.

Two things would block the loop inline, and are kept off it:

* **Waiting for the write lock** (another process, e.g. a CLI command, writing):
  the connection has no busy timeout of its own; a busy statement is retried here
  with ``asyncio.sleep`` between tries — SQLite's own schedule — for up to
  :data:`BUSY_TIMEOUT` seconds, so other messages are served meanwhile. Processes
  that use this engine (the workers of ``wecrm serve --workers N``, the scheduler)
  first take turns on a file lock, waited for on a thread (``bot.sqlite_writers``):
  sleeping on a schedule, a worker lost every race to a busy one. A write outside a
  transaction (查's audit entry, a background UPDATE) takes its turn the same way, as
  a transaction of one statement: alone, it found the lock busy, slept holding the
  connection, and every read of the process waited behind it.
* **Long statements** — the scheduler's jobs over the whole book (grading, the
  digest): code inside :func:`off_loop` keeps aiosqlite's thread.

The WAL is checkpointed on a thread of its own (:class:`Checkpointer`), not by the
commit that crosses SQLite's 1 000-page mark: that commit would copy the pages into
the database file and sync it on the loop (跟进 +10–15 % without it, A/B).

Transactions begin with ``BEGIN IMMEDIATE`` alone. Tortoise's SQLite client begins
with ``commit()`` then ``BEGIN``: a hop for nothing in autocommit mode. IMMEDIATE
takes the write lock before the transaction's first read, which a single writer
costs nothing: a transaction that must wait (another process writing, the
checkpointer rewinding the WAL) waits before it holds a read snapshot — one held
while waiting would keep the checkpointer from rewinding, and a snapshot gone stale
meanwhile could only fail (SQLITE_BUSY_SNAPSHOT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

from bot.background import BackgroundTask
from bot.sqlite_group import MEMBER, Group
from bot.sqlite_writers import WriterLock

T = TypeVar("T")

log = logging.getLogger("wecrm.db")

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


def _retryable(exc: sqlite3.OperationalError) -> bool:
    # SQLITE_BUSY_SNAPSHOT (a read snapshot older than a commit made since) never
    # clears within the transaction: SQLite's busy handler does not wait for it either.
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
        and code != sqlite3.SQLITE_BUSY_SNAPSHOT
    )


# A read (the sender read is 3 KB of SQL: no copy of it upper-cased per message).
_SELECT = re.compile(r"\s*select\b", re.IGNORECASE)
# A statement that writes rows (an INSERT … RETURNING too).
_WRITE = re.compile(r"\s*(?:insert|update|delete|replace)\b", re.IGNORECASE)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run inline unless :func:`off_loop`."""

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        loop = asyncio.get_running_loop()
        deadline, attempt = loop.time() + BUSY_TIMEOUT, 0
        while True:
            try:
                if _off_loop.get():
                    return await super()._execute(fn, *args, **kwargs)
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _retryable(exc) or loop.time() >= deadline or _no_wait.get():
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


class Checkpointer(BackgroundTask):
    """Copies the WAL back into the database file from a thread, every :attr:`every`
    seconds, on a connection of its own.

    PASSIVE waits for nobody. Under a steady stream of writes the WAL is never found
    fully copied when a write begins, so SQLite never rewinds it and the file keeps
    growing; past :attr:`restart_frames` the checkpoint (having just copied all but
    the last second's frames) waits for the writer and rewinds it — a writer meeting
    that lock waits for it like for any other (:class:`InlineConnection`)."""

    every = 1.0
    restart_frames = 4_096  # 16 MiB of 4 KiB pages

    task_name = "wal-checkpoint"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; next try in a second", exc_info=True)

    def checkpoint(self) -> tuple[int, int]:
        """(frames in the WAL, frames copied) after a PASSIVE checkpoint — and a
        RESTART one when the WAL has grown long."""
        # A connection per call, closed on the thread that used it: a cancelled task
        # leaves its thread running, and nothing else may touch the connection then.
        # A short wait: a RESTART holds writers back while it waits for readers.
        conn = sqlite3.connect(self.path, timeout=0.2, isolation_level=None)
        try:
            _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
            if frames >= self.restart_frames:
                _, frames, copied = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()[0]
        finally:
            conn.close()
        return frames, copied


class _DictRows:
    """``execute_query_dict`` (every hand-written read, ``models.rawsql``) through
    :meth:`InlineConnection.fetch_dicts`; the rest as Tortoise has it."""

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        query = query.replace("\x00", "'||CHAR(0)||'")
        connection: InlineConnection | None = self._connection  # type: ignore[attr-defined]
        lock: asyncio.Lock = self._lock  # type: ignore[attr-defined]
        free = not lock.locked() or getattr(self, "_awaiting_turn", False)
        if connection is not None and free and not _off_loop.get():
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
                if not _retryable(exc):
                    raise OperationalError(exc) from exc
            except sqlite3.IntegrityError as exc:  # an INSERT … RETURNING
                raise IntegrityError(exc) from exc
        return await self._query_dict(query, values)

    @translate_exceptions
    async def _query_dict(self, query: str, values: list | None = None) -> list[dict]:
        async with self.acquire_connection() as connection:  # type: ignore[attr-defined]
            self.log.debug("%s: %s", query, values)  # type: ignore[attr-defined]
            return await connection.fetch_dicts(query, values or [])


class _Transaction(_DictRows, SqliteTransactionWrapper):
    @translate_exceptions  # errors come out as the ORM's
    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` given SQLite's connection, inside this transaction, in one go: for
        statements in a row that need nothing from the ORM between them
        (``models.deferred``)."""
        return await self._connection._execute(fn, self._connection._conn)

    async def begin(self) -> None:
        client: Client = self._parent
        try:
            if client._writers is not None:
                # Other processes' write transactions first, in turn (bot.sqlite_writers).
                client._awaiting_turn = True
                try:
                    await client._writers.acquire(0 if _no_wait.get() else BUSY_TIMEOUT)
                finally:
                    client._awaiting_turn = False
            await self._connection.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            client.writing_done()
            if isinstance(exc, sqlite3.OperationalError):
                raise TransactionManagementError(exc) from exc
            raise


class _TransactionContext(SqliteTransactionContext):
    """A member of the connection's :class:`Group`.

    Unlike Tortoise's, a BEGIN that fails (another process's write lock held past the
    wait, or the message cancelled at its deadline while waiting) lets go of the
    connection's lock: Tortoise's keeps it, and every later statement of the process
    then waits for it forever."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            client: Client = self.connection._parent
            try:
                group = client._group
                if group is not None and group.lost():
                    group.fail(TransactionManagementError("the group's transaction was lost"))
                elif group is not None and _off_loop.get():
                    # A long transaction (a job over the whole book) does not join: the
                    # members, answered already, would wait for it to COMMIT.
                    with contextlib.suppress(Exception):  # the members are told
                        await group.commit_now()
                if client._group is None:
                    await self.connection.begin()
                    client._group = Group(client)
                self.group = client._group
                await self.connection._connection.execute(f"SAVEPOINT {MEMBER}")
            except BaseException:
                get_connections().reset(self.token)
                if client._group is not None:
                    client._group.commit_soon()  # the others' rows, if any
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        group, conn = self.group, self.connection._connection
        try:
            if exc_type is None:
                await conn.execute(f"RELEASE {MEMBER}")
            elif not group.lost():
                await conn.execute(f"ROLLBACK TO {MEMBER}")
                await conn.execute(f"RELEASE {MEMBER}")
            else:
                # SQLite rolled the whole transaction back itself (a full disk).
                group.fail(exc_val)
        except BaseException as exc:
            group.fail(exc)
            raise
        finally:
            get_connections().reset(self.token)
            committed = group.commit_soon()
            self._trxlock.release()
        if exc_type is None:
            # Shielded: a message cancelled now is committed all the same.
            await asyncio.shield(committed)


class Client(_DictRows, SqliteClient):
    """Tortoise's SQLite client: statements inline, transactions committed in groups."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self._group: Group | None = None
        self._checkpointer: Checkpointer | None = None
        self._writers: WriterLock | None = None
        # The transaction holding the connection waits for its turn to write and has
        # not begun: reads need not wait for it (_DictRows).
        self._awaiting_turn = False
        if file_path != ":memory:":
            self.pragmas.setdefault("wal_autocheckpoint", 0)  # the Checkpointer's job
            self._checkpointer = Checkpointer(file_path)

    async def create_connection(self, with_db: bool) -> None:
        # Tortoise's own body, with our connection in place of aiosqlite.connect().
        if self._connection:
            return
        self._connection = await connect(self.filename)
        if self.filename != ":memory:" and WriterLock.available:
            try:
                self._writers = WriterLock(self.filename)
            except OSError:
                # A lock file another user made, a read-only folder: SQLite's own lock
                # still keeps writers apart, only without taking turns.
                log.warning("no writer lock beside %s; writers wait unordered", self.filename)
        self._connection._conn.row_factory = sqlite3.Row
        for pragma, val in self.pragmas.items():
            cursor = await self._connection.execute(f"PRAGMA {pragma}={val}")
            await cursor.close()
        await self._post_connect()
        if self._checkpointer is not None:
            self._checkpointer.start()

    async def _settle(self, query: str) -> None:
        """A write outside a transaction that joined an open group is done when the
        group is committed. A read is not held back: what it saw of the group is
        committed with it, or fails with it."""
        if self._group is not None and not _SELECT.match(query):
            await asyncio.shield(self._group.commit_soon())

    async def _through_group(self, statement: Awaitable[T], query: str) -> T:
        """``statement``'s result, once the group it may have joined is committed. A
        statement SQLite answered by rolling the whole transaction back (a full disk)
        took the members' rows with it: they are told so."""
        try:
            result = await statement
        except Exception as exc:
            if self._group is not None and self._group.lost():
                self._group.fail(exc)
            raise
        await self._settle(query)
        return result

    def _takes_turns(self, query: str) -> bool:
        """A write outside a transaction, where other processes may write: it runs as
        a transaction of its own, which takes its turn on the writer lock while the
        process's reads go on, and shares the COMMIT of an open group."""
        return self._writers is not None and _WRITE.match(query) is not None

    async def execute_insert(self, query: str, values: list) -> Any:
        if self._takes_turns(query):
            async with self._in_transaction() as conn:
                return await conn.execute_insert(query, values)
        return await self._through_group(super().execute_insert(query, values), query)

    async def execute_query(self, query: str, values: list | None = None) -> tuple[int, list]:
        if self._takes_turns(query):
            async with self._in_transaction() as conn:
                return await conn.execute_query(query, values)
        return await self._through_group(super().execute_query(query, values), query)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        if self._takes_turns(query):  # an INSERT … RETURNING (models.rawsql.fetch)
            async with self._in_transaction() as conn:
                return await conn.execute_query_dict(query, values)
        return await self._through_group(super().execute_query_dict(query, values), query)

    async def execute_many(self, query: str, values: list[list]) -> None:
        # Tortoise's own BEGINs and COMMITs around the rows, which an open group's
        # transaction refuses: the rows are a member of the group instead.
        async with self._in_transaction() as conn:
            await conn.execute_many(query, values)

    async def execute_script(self, query: str) -> None:
        # Python's executescript() COMMITs first: the group's members would lose their
        # savepoints. (Only migrations run scripts.)
        if self._group is not None:
            await asyncio.shield(self._group.commit_soon())
        await super().execute_script(query)

    async def close(self) -> None:
        if self._group is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._group.commit_soon())
        if self._checkpointer is not None:
            await self._checkpointer.stop()
        await super().close()
        if self._writers is not None:
            self._writers.close()
            self._writers = None

    def writing_done(self) -> None:
        """The write transaction ended (committed, rolled back, or never begun): other
        processes may write."""
        if self._writers is not None:
            self._writers.release()

    def _in_transaction(self) -> TransactionContext:
        return _TransactionContext(_Transaction(self), self._lock)


# What Tortoise looks up in an engine module.
client_class = Client


def get_client_class(db_info: dict) -> type[SqliteClient]:
    return Client
