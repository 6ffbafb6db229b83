"""One transaction for a service's writes, whoever calls it.

A service called from the CLI or a job opens its own transaction. Called from a chat
message it is already inside the message's transaction, and Tortoise's nested
``in_transaction()`` would add a SAVEPOINT and a RELEASE — two more round trips — to
protect nothing: a failure in the service fails the message, which rolls back whole.
Where a caller does recover from a failed statement and carries on (a unique key
lost to a concurrent writer), the savepoint is the point: use ``in_transaction()``.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction


def atomic() -> AbstractAsyncContextManager[Any]:
    """The current transaction if there is one, else a new one."""
    conn = get_connection("default")
    if isinstance(conn, TransactionalDBClient):
        return nullcontext(conn)
    return in_transaction()
