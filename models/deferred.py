"""Rows a message adds and nothing reads back while it runs — its audit entry, its undo
step, its dedup record — inserted together at the end of its transaction.

On PostgreSQL every statement is a round trip; these rows need none of their own:
they go in one statement, a chain of data-modifying CTEs
(``WITH a AS (INSERT …), b AS (INSERT …) INSERT …``). On SQLite, which has no round
trips and no INSERT inside WITH, they are plain inserts one after the other — written
here, not through ``Model.save()``, whose signals and id bookkeeping cost more than the
insert: nothing reads these rows back. Outside a message (CLI, jobs) nothing
collects, and a row is saved at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tortoise import connections
from tortoise.models import Model
from tortoise.timezone import now

_collected: ContextVar[list[Model] | None] = ContextVar("deferred_rows", default=None)


@contextmanager
def collecting() -> Iterator[None]:
    """Collect the rows :func:`save_later` is given until :func:`flush`."""
    token = _collected.set([])
    try:
        yield
    finally:
        _collected.reset(token)


async def save_later(row: Model) -> None:
    """Insert ``row`` with the message's other deferred rows, or now outside a message."""
    rows = _collected.get()
    if rows is None:
        await row.save()
        return
    # Created now, not at the flush: an undo step is compared with what its change
    # wrote after it (models.undo).
    for name, field in row._meta.fields_map.items():
        if getattr(field, "auto_now_add", False) and getattr(row, name) is None:
            setattr(row, name, now())
    rows.append(row)


async def flush(last: Model | None = None) -> None:
    """Insert the collected rows, and ``last`` (whose failure, e.g. a unique key, the
    caller may be waiting for), in as few statements as the database allows."""
    rows = _collected.get()
    pending = [*(rows or []), *([last] if last is not None else [])]
    if rows is not None:
        rows.clear()
    if not pending:
        return
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        for row in pending:
            columns, row_values = _insert_values(row, conn)
            marks = ",".join("?" * len(row_values))
            await conn.execute_insert(_insert_sql(row, columns, marks), row_values)
        return
    if len(pending) == 1:
        await pending[0].save()
        return
    parts: list[str] = []
    values: list[Any] = []
    for row in pending:
        columns, row_values = _insert_values(row, conn)
        marks = ",".join(f"${len(values) + i + 1}" for i in range(len(row_values)))
        values += row_values
        parts.append(_insert_sql(row, columns, marks))
    *first, final = parts
    sql = "WITH " + ", ".join(f"w{i} AS ({p})" for i, p in enumerate(first)) + " " + final
    await conn.execute_query(sql, values)


def _insert_sql(row: Model, columns: list[str], marks: str) -> str:
    names = ",".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{row._meta.db_table}" ({names}) VALUES ({marks})'


def _insert_values(row: Model, conn: Any) -> tuple[list[str], list[Any]]:
    """Columns and values of ``row`` as the ORM's own INSERT would send them."""
    meta = row._meta
    executor = conn.executor_class(model=type(row), db=conn)
    columns, values = [], []
    for name in executor.regular_columns:
        field = meta.fields_map[name]
        value = getattr(row, name)
        if value is None and field.has_db_default():
            continue  # let the database fill it, as the ORM does
        columns.append(meta.fields_db_projection[name])
        values.append(field.to_db_value(value, row))
    return columns, values
