"""Tortoise's SQLite backend with one trip fewer per transaction.

Tortoise opens SQLite in autocommit mode (``isolation_level=None``) and still begins
every transaction with ``commit()`` and then ``BEGIN``: two hops to aiosqlite's
thread, and the first one ends an implicit transaction that autocommit mode never
opens. Every message that changes data pays it, on the one connection all messages
share. This engine begins with ``BEGIN`` alone; the rest is Tortoise's.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class _Transaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.execute("BEGIN")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class Client(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_Transaction(self), self._lock)


# What Tortoise looks up in an engine module.
client_class = Client


def get_client_class(db_info: dict) -> type[SqliteClient]:
    return Client
