"""Group commit for the SQLite engine (``bot.sqlite_engine``): the transactions of
one turn of the event loop committed together."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import TYPE_CHECKING

from tortoise.exceptions import TransactionManagementError

from bot.sqlite_inline import running_off_loop, to_the_end

if TYPE_CHECKING:
    from bot.sqlite_engine import Client


class Group:
    """Transactions of this process committed together (group commit).

    A COMMIT writes every page its transaction changed to the WAL, one write() each:
    a follow-up changes a dozen pages (its row, the customer's, the undo step, the
    audit entry, the dedup record and their indexes), and its COMMIT measured 110–190 µs,
    an eighth of the message. Messages handled in the same turn of the event loop
    change the same pages (the tables' last leaves), so one COMMIT for all of them
    writes about what one of them did.

    The first transaction of a group BEGINs; each one, the first too, runs inside a
    SAVEPOINT of its own, so that a failing one rolls back alone. A transaction that
    ends well RELEASEs its savepoint, lets go of the connection and waits for the
    COMMIT, which a task of the group makes as soon as the loop comes round to it:
    nobody is answered before their rows are committed. Anything that takes the
    connection meanwhile joins the group — reads see its rows, which are committed
    or failed together — and a write outside a transaction waits for the COMMIT too
    (:meth:`Client._settle`)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    def commit_soon(self) -> asyncio.Future[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._commit())
            _committing.add(self._task)
            self._task.add_done_callback(_committing.discard)
        return self.committed

    async def _commit(self) -> None:
        async with self.client._lock:
            with contextlib.suppress(Exception):  # the members are told
                await self.commit_now()

    async def commit_now(self) -> None:
        """COMMIT, by a caller holding the connection's lock: the group's task, or a
        long transaction that must not make the members wait for it (``off_loop``).
        A caller cancelled meanwhile is so once the COMMIT is over and the members
        told its outcome, which is theirs."""
        client = self.client
        if client._group is not self:
            return  # ended already (it failed, or the connection closed)
        client._group = None
        if running_off_loop():
            await to_the_end(self._end())
        else:
            # On the loop's thread the COMMIT runs whole before anyone else can: no task
            # of its own, which would hold the connection's lock over a turn of the
            # loop while every sender read queued behind it (p99 of 帮助 at c=256 on
            # SQLite 100 → 240–310 ms).
            await self._end()

    async def _end(self) -> None:
        client = self.client
        try:
            await client._connection.execute("COMMIT")  # type: ignore[union-attr]
        except BaseException as exc:
            self.fail(exc)
            raise
        client.writing_done()
        if not self.committed.done():
            self.committed.set_result(None)

    def lost(self) -> bool:
        """SQLite rolled the group's transaction back itself (a full disk, an I/O
        error): no member's rows are left to commit."""
        conn = self.client._connection
        return conn is None or not conn._conn.in_transaction

    def fail(self, exc: BaseException) -> None:
        """Every member's rows are lost: each is told so."""
        if self.client._group is self:
            self.client._group = None
        with contextlib.suppress(sqlite3.Error):
            conn = self.client._connection
            if conn is not None and conn._conn.in_transaction:
                conn._conn.execute("ROLLBACK")
        self.client.writing_done()
        if not self.committed.done():
            error = exc if isinstance(exc, Exception) else TransactionManagementError(str(exc))
            self.committed.set_exception(error)
            self.committed.exception()  # retrieved: a group nobody waited for is no error


# Strong references to the commit tasks: the loop keeps only weak ones.
_committing: set[asyncio.Task[None]] = set()
MEMBER = "wecrm_member"
