"""Rows a message adds and nothing reads back while it runs — its audit entry, its undo
step, its dedup record, a customer's last contact — written together at the end of its
transaction.

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
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.models import Model
from tortoise.timezone import now


@dataclass(frozen=True)
class _Update:
    """Columns of one existing row to write (:func:`update_later`)."""

    row: Model
    fields: tuple[str, ...]


_collected: ContextVar[list[Model | _Update] | None] = ContextVar("deferred_rows", default=None)


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
    _stamp(row)
    rows.append(row)


async def insert(row: Model) -> None:
    """Insert ``row`` now, with the statement :func:`flush` would write, and give it
    its id: for a row the message needs the id of (a follow-up, named by its undo
    step). ``Model.save()`` runs the same INSERT after building it anew each time; like
    the deferred rows, the values are not run through the fields' validators, so they
    must be checked already (a follow-up's are parsed from the rep's words)."""
    _stamp(row)
    conn = connections.get("default")
    meta = row._meta
    if conn.capabilities.dialect == "postgres":
        sql, values = _statement(row, conn, 0)
        (found,) = await conn.execute_query_dict(f'{sql} RETURNING "{meta.db_pk_column}"', values)
        row.pk = found[meta.db_pk_column]
    else:
        sql, values = _statement(row, conn, None)
        row.pk = await conn.execute_insert(sql, values)
    row._saved_in_db = True


def _stamp(row: Model) -> None:
    for name, field in row._meta.fields_map.items():
        if getattr(field, "auto_now_add", False) and getattr(row, name) is None:
            setattr(row, name, now())


async def update_later(row: Model, *fields: str) -> None:
    """Write ``fields`` of ``row`` (set on it already; an ``auto_now`` one is set now)
    with the message's deferred rows, or now outside a message: for a change nothing
    in the message reads back from the database, like a customer's last contact."""
    for name in fields:
        if getattr(row._meta.fields_map[name], "auto_now", False):
            setattr(row, name, now())
    rows = _collected.get()
    if rows is None:
        await row.save(update_fields=list(fields))
        return
    rows.append(_Update(row, fields))


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
        for item in pending:
            sql, values = _statement(item, conn, None)
            await conn.execute_query(sql, values)
        return
    parts: list[str] = []
    values: list[Any] = []
    for item in pending:
        sql, item_values = _statement(item, conn, len(values))
        values += item_values
        parts.append(sql)
    *first, final = parts
    if first:
        final = "WITH " + ", ".join(f"w{i} AS ({p})" for i, p in enumerate(first)) + " " + final
    await conn.execute_query(final, values)


def _statement(
    item: Model | _Update, conn: Any, numbered_from: int | None
) -> tuple[str, list[Any]]:
    """The INSERT of a row or the UPDATE of an :class:`_Update`; its placeholders are
    ``?`` (SQLite) or ``$n`` numbered after ``numbered_from`` values (PostgreSQL)."""

    def mark(i: int) -> str:
        return "?" if numbered_from is None else f"${numbered_from + i + 1}"

    if isinstance(item, _Update):
        row, meta = item.row, item.row._meta
        columns = [meta.fields_db_projection[name] for name in item.fields]
        values = [
            meta.fields_map[name].to_db_value(getattr(row, name), row) for name in item.fields
        ]
        sets = ",".join(f'"{c}"={mark(i)}' for i, c in enumerate(columns))
        where = f'"{meta.db_pk_column}"={mark(len(values))}'
        return f'UPDATE "{meta.db_table}" SET {sets} WHERE {where}', [*values, row.pk]
    columns, values = _insert_values(item, conn)
    marks = ",".join(mark(i) for i in range(len(values)))
    return _insert_sql(item, columns, marks), values


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
