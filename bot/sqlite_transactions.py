"""SQLite transactions, members of the connection's group commit (``bot.sqlite_group``),
taking turns with other processes (``bot.sqlite_writers``)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from bot.sqlite_group import MEMBER, Group
from bot.sqlite_inline import BUSY_TIMEOUT, DictRows, T, must_not_wait, running_off_loop

if TYPE_CHECKING:
    from bot.sqlite_engine import Client


class _Transaction(DictRows, SqliteTransactionWrapper):
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
                    await client._writers.acquire(0 if must_not_wait() else BUSY_TIMEOUT)
                finally:
                    client._awaiting_turn = False
            await self._connection.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            raw = self._connection._conn
            if raw is not None and raw.in_transaction:
                # Cancelled while the BEGIN ran on aiosqlite's thread (off_loop): it
                # went through, and a transaction nobody owns would make every later
                # BEGIN of the process fail.
                with contextlib.suppress(sqlite3.Error):
                    raw.execute("ROLLBACK")
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
                elif group is not None and running_off_loop():
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
        except asyncio.CancelledError:
            # Off the loop, the statement ran to its end all the same (to_the_end):
            # the other members' rows stand; this one's commit is not waited for.
            raise
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


def transaction_context(client: Client) -> TransactionContext:
    """A transaction of ``client``'s connection, a member of its group."""
    return _TransactionContext(_Transaction(client), client._lock)
