"""Hand-written SQL for the few statements the ORM cannot say (window functions,
``ON CONFLICT DO NOTHING``), portable between SQLite and PostgreSQL: write ``?``
placeholders; on PostgreSQL they become ``$1, $2, …``, and on SQLite dates and times
are passed as the text Tortoise stores them as (times in UTC)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

_MARK = re.compile(r"\?")


def dialect() -> str:
    """``postgres`` or ``sqlite``: for the rare statement written differently on each."""
    return str(connections.get("default").capabilities.dialect)


def _prepare(sql: str, params: list[Any]) -> tuple[Any, str, list[Any]]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        counter = iter(range(1, len(params) + 1))
        return conn, _MARK.sub(lambda _m: f"${next(counter)}", sql), params
    return conn, sql, [_sqlite_value(p) for p in params]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # Tortoise's form: UTC, str() of the datetime ("2026-12-03 09:57:12.5+00:00").
        return str(value.astimezone(UTC))
    if isinstance(value, date):
        return value.isoformat()
    return value


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    conn, text, args = _prepare(sql, list(params))
    return list(await conn.execute_query_dict(text, args))


async def execute(sql: str, *params: Any) -> int:
    """Run a statement; the number of rows it changed (an UPDATE's or DELETE's: for an
    INSERT, Tortoise's asyncpg client reads the status's OID field and reports 0, so
    ask with ``RETURNING`` through :func:`fetch` instead)."""
    conn, text, args = _prepare(sql, list(params))
    changed, _ = await conn.execute_query(text, args)
    return int(changed or 0)


M = TypeVar("M", bound=Model)


@cache
def _select_sql(model: type[Model], where: str) -> str:
    columns = ",".join(f'"{c}"' for c in model._meta.fields_db_projection.values())
    return f'SELECT {columns} FROM "{model._meta.db_table}" WHERE {where}'


async def select(model: type[M], where: str, *params: Any) -> list[M]:
    """``model``'s rows matching ``where`` (``?`` placeholders; it may go on with ORDER BY
    and LIMIT), as model instances.

    What ``Model.filter(...)`` returns, for a hot path's query whose shape is fixed:
    the ORM builds the SQL anew on every call, which costs as much as running it."""
    rows = await fetch(_select_sql(model, where), *params)
    return [model._init_from_db(**row) for row in rows]


@cache
def _equal_any_sql(model: type[Model], column: str, n: int) -> str:
    one = _select_sql(model, f'"{column}" = ?')
    return " UNION ALL ".join([one] * n)


async def select_equal_any(model: type[M], column: str, values: list[Any]) -> list[M]:
    """``model``'s rows whose ``column`` equals one of ``values``: one equality per value
    (UNION ALL), not ``IN (…)`` — PostgreSQL answers ``name IN (…)`` from the trigram
    index, which holds every name sharing a few characters (measured: 36 ms on 20 000
    customers called 压测客户…, against 0.02 ms for the b-tree each equality takes)."""
    rows = await fetch(_equal_any_sql(model, column, len(values)), *values)
    return [model._init_from_db(**row) for row in rows]


_NEWEST = '"customer_id" = ? ORDER BY "created_at" DESC, "id" DESC LIMIT ?'


async def newest_of_customer(model: type[M], customer_id: int, limit: int) -> list[M]:
    """A customer's latest ``limit`` rows of ``model``, newest first (what a card shows)."""
    return await select(model, _NEWEST, customer_id, limit)


def placeholders(n: int) -> str:
    """``?,?,…`` for an ``IN (…)`` of ``n`` values."""
    return ",".join("?" * n)
