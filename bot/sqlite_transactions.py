"""SQLite transactions, committed in groups (``bot.sqlite_group``), taking turns with
other processes (``bot.sqlite_writers``). They begin on entering (``_TransactionContext``);
the lazy machinery (``_Transaction.start``) stays so a begin can move later once a late
message's first write and read-then-write intakes are safe with it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from bot.sqlite_group import MEMBER, Group
from bot.sqlite_inline import (
    BUSY_TIMEOUT,
    SELECT,
    DictRows,
    T,
    must_not_wait,
    running_off_loop,
)

if TYPE_CHECKING:
    from bot.sqlite_engine import Client


class _Transaction(DictRows, SqliteTransactionWrapper):
    """A transaction that begins with its first write (see :class:`_TransactionContext`)."""

    def __init__(self, connection: SqliteClient) -> None:
        super().__init__(connection)
        self.begun = False
        self.waiting = False  # for the lock, to begin
        self.context: _TransactionContext | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Take the connection and the turn to write, BEGIN (or join the open group)."""
        if self.begun:
            return
        async with self._starting:  # two writes of one transaction at once: one BEGIN
            if not self.begun:
                assert self.context is not None
                self.waiting = True
                try:
                    await self.context.begin()
                finally:
                    self.waiting = False
                self.begun = True

    def _outside(self, query: str) -> bool:
        """A read before the first write: run by the client, as any read of the process."""
        return not self.begun and SELECT.match(query) is not None

    async def execute_query(self, query: str, values: list | None = None) -> tuple[int, list]:
        if self._outside(query):
            return await self._parent.execute_query(query, values)
        await self.start()
        return await super().execute_query(query, values)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        if self._outside(query):
            return await self._parent.execute_query_dict(query, values)
        await self.start()
        return await super().execute_query_dict(query, values)

    async def execute_insert(self, query: str, values: list) -> Any:
        await self.start()
        return await super().execute_insert(query, values)

    async def execute_many(self, query: str, values: list[list]) -> None:
        await self.start()
        await super().execute_many(query, values)

    async def execute_script(self, query: str) -> None:
        await self.start()
        await super().execute_script(query)

    @translate_exceptions  # errors come out as the ORM's
    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` given SQLite's connection, inside this transaction, in one go: for
        statements in a row that need nothing from the ORM between them
        (``models.deferred``)."""
        await self.start()
        return await self._connection._execute(fn, self._connection._conn)

    def _in_transaction(self) -> TransactionContext:
        return _Savepoint(SqliteTransactionWrapper(self))

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
            client.writing_done()
            if isinstance(exc, sqlite3.OperationalError):
                raise TransactionManagementError(exc) from exc
            raise


def waiting_to_write(conn: object) -> bool:
    """Whether ``conn`` is a transaction of this engine waiting for the write lock (the
    connection's, then the turn among processes) before its first write."""
    return isinstance(conn, _Transaction) and conn.waiting


class _Savepoint(NestedTransactionContext):
    """A nested transaction: the outer one begins first, or the SAVEPOINT would begin
    a transaction of its own, outside the group and without the turn to write."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self.client._parent.start()
        return await super().__aenter__()


class _TransactionContext(SqliteTransactionContext):
    """A member of the connection's :class:`Group`.

    Entering takes the connection's lock and the turn to write (another process's
    write transactions first) and BEGINs IMMEDIATE or joins the open group, through
    :meth:`_Transaction.start`, and holds them to the end.

    Unlike Tortoise's, a BEGIN that fails (another process's write lock held past the
    wait, or the message cancelled at its deadline while waiting) lets go of the
    connection's lock: Tortoise's keeps it, and every later statement of the process
    then waits for it forever."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        self.token = get_connections().set(self.connection_name, self.connection)
        self.connection.context = self
        # Begun at once, not with the first write: a message taken on at its deadline
        # while its first write would still have to wait for another process's turn
        # could then fail after being answered late, and a read-then-write (the same
        # complaint twice: models.complaints.intake) would no longer be serialised.
        try:
            await self.connection.start()
        except BaseException:
            get_connections().reset(self.token)
            raise
        return self.connection

    async def begin(self) -> None:
        """The transaction's first write is coming: take the lock, BEGIN or join."""
        await self._trxlock.acquire()
        try:
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
                if client._group is not None:
                    client._group.commit_soon()  # the others' rows, if any
                raise
        except BaseException:
            self._trxlock.release()
            raise

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if not self.connection.begun:
            get_connections().reset(self.token)  # nothing written: nothing to end
            return
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


def transaction_context(client: Client) -> TransactionContext:
    """A transaction of ``client``'s connection, a member of its group from its first write."""
    return _TransactionContext(_Transaction(client), client._lock)
