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
  transaction (a background UPDATE) takes its turn the same way, as
  a transaction of one statement: alone, it found the lock busy, slept holding the
  connection, and every read of the process waited behind it.
* **Long statements** — the scheduler's jobs over the whole book (grading, the
  digest): code inside :func:`off_loop` keeps aiosqlite's thread.

The WAL is checkpointed on a thread of its own (:class:`Checkpointer`), not by the
commit that crosses SQLite's 1 000-page mark: that commit would copy the pages into
the database file and sync it on the loop (跟进 +10–15 % without it, A/B).

Transactions (``bot.sqlite_transactions``) begin on entering, with ``BEGIN
IMMEDIATE`` alone. Tortoise's SQLite client begins with ``commit()`` then
``BEGIN``: a hop for nothing in autocommit mode. IMMEDIATE takes the write lock before
the transaction's first read of its own, which a single writer costs nothing: a
transaction that must wait (another process writing, the checkpointer rewinding the
WAL) waits before it holds a read snapshot — one held while waiting would keep the
checkpointer from rewinding, and a snapshot gone stale meanwhile could only fail
(SQLITE_BUSY_SNAPSHOT). The statements themselves run inline (``bot.sqlite_inline``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable
from typing import Any, TypeVar

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import SqliteClient

from bot.background import BackgroundTask
from bot.sqlite_group import Group
from bot.sqlite_inline import SELECT, WRITE, DictRows, connect, off_loop, without_waiting
from bot.sqlite_transactions import transaction_context
from bot.sqlite_writers import WriterLock

T = TypeVar("T")

log = logging.getLogger("wecrm.db")

__all__ = ["Checkpointer", "Client", "off_loop", "without_waiting"]


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


class Client(DictRows, SqliteClient):
    """Tortoise's SQLite client: statements inline, transactions committed in groups."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self._group: Group | None = None
        self._checkpointer: Checkpointer | None = None
        self._writers: WriterLock | None = None
        # The transaction holding the connection waits for its turn to write and has
        # not begun: reads need not wait for it (DictRows).
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
        if self._group is not None and not SELECT.match(query):
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
        return self._writers is not None and WRITE.match(query) is not None

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
        return transaction_context(self)


# What Tortoise looks up in an engine module.
client_class = Client


def get_client_class(db_info: dict) -> type[SqliteClient]:
    return Client
