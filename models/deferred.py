"""Rows a message adds and nothing reads back while it runs — its audit entry, its undo
step, its dedup record, a customer's last contact — written together at the end of its
transaction.

On PostgreSQL every statement is a round trip; these rows need none of their own:
they go in one statement, a chain of data-modifying CTEs
(``WITH a AS (INSERT …), b AS (INSERT …) INSERT …``). On SQLite, which has no round
trips and no INSERT inside WITH, they are plain inserts one after the other — written
here, not through ``Model.save()``, which rebuilds its statement every time. A row may
name another one waiting with it (:class:`Ref`: a follow-up's undo step), read on
PostgreSQL from that row's CTE. Outside a message (CLI, jobs) nothing collects, and a
row is saved at once.

A row nothing in the message reads back as a model — the audit entry, the undo step,
the dedup record — is a :class:`PlainRow`: its values and the model's defaults, without
a model instance (Tortoise's ``Model.__init__`` sets each field through its own
``__setattr__``: 15–20 µs a row, the largest share of a follow-up's bookkeeping).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tortoise.connection import get_connection
from tortoise.models import Model
from tortoise.timezone import now

from models.rawsql import execute_many


@dataclass(frozen=True)
class _Update:
    """Columns of one existing row to write (:func:`update_later`)."""

    row: Model
    fields: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Ref:
    """The id of a row waiting with the deferred rows, unknown until they are written:
    a value another deferred row may hold (an undo step naming its follow-up)."""

    row: Model


class PlainRow:
    """A row to insert, as values by field name: what :func:`plain_row` builds."""

    __slots__ = ("model", "pk", "values")

    def __init__(self, model: type[Model], values: dict[str, Any]) -> None:
        self.model = model
        self.values = values
        self.pk: int | None = None

    @property
    def _meta(self) -> Any:
        return self.model._meta


def plain_row(model: type[Model], **values: Any) -> PlainRow:
    """A ``model`` row of ``values`` (by field name: ``staff_id``, not ``staff``) and
    the model's defaults; stamped now, as the model itself would be on creation."""
    for name, default, stamp in _defaults(model):
        if name not in values:
            values[name] = now() if stamp else default() if callable(default) else default
    return PlainRow(model, values)


def _defaults(model: type[Model]) -> tuple[tuple[str, Any, bool], ...]:
    """(field name, default, whether it is stamped with the time) of ``model``'s
    data fields that have a default or a time stamp."""
    found = _DEFAULTS.get(model)
    if found is None:
        meta = model._meta
        listed = []
        for name in meta.fields_db_projection:
            field = meta.fields_map[name]
            stamp = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
            if name != meta.pk_attr and (stamp or field.default is not None):
                listed.append((name, field.default, stamp))
        found = _DEFAULTS[model] = tuple(listed)
    return found


_DEFAULTS: dict[type[Model], tuple[tuple[str, Any, bool], ...]] = {}


async def insert_later(model: type[Model], **values: Any) -> None:
    """Insert a :func:`plain_row` with the message's deferred rows, or now outside one."""
    await save_later(plain_row(model, **values))


def id_of(row: Model) -> int | Ref:
    """``row``'s id, or a :class:`Ref` to it while it waits to be written."""
    return int(row.pk) if row.pk is not None else Ref(row)


_collected: ContextVar[list[Model | PlainRow | _Update] | None] = ContextVar(
    "deferred_rows", default=None
)


@contextmanager
def collecting() -> Iterator[None]:
    """Collect the rows :func:`save_later` is given until :func:`flush`."""
    token = _collected.set([])
    try:
        yield
    finally:
        _collected.reset(token)


async def save_later(row: Model | PlainRow) -> None:
    """Insert ``row`` with the message's other deferred rows, or now outside a message."""
    rows = _collected.get()
    if rows is None:
        if isinstance(row, PlainRow):
            row.pk = (await row.model.create(**row.values)).pk
        else:
            await row.save()
        return
    # Created now, not at the flush: an undo step is compared with what its change
    # wrote after it (models.undo).
    _stamp(row)
    rows.append(row)


def _stamp(row: Model | PlainRow) -> None:
    if isinstance(row, PlainRow):
        return  # stamped when built
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


def take_plain_rows() -> list[PlainRow] | None:
    """The rows collected so far if each is a :class:`PlainRow` (none to read back, none
    to update), which the next :func:`flush` then leaves to the caller; else None, and
    they stay."""
    rows = _collected.get()
    if rows is None:
        return None
    taken: list[PlainRow] = []
    for row in rows:
        if not isinstance(row, PlainRow):
            return None
        taken.append(row)
    rows.clear()
    return taken


async def insert_rows(rows: list[PlainRow]) -> None:
    """Insert ``rows`` (each of its model's) with one statement per model and set of
    columns, prepared once whatever the number of rows: a batch written after the
    messages that built them, whose ids nobody reads."""
    conn = get_connection("default")
    groups: dict[tuple[type[Model], tuple[str, ...]], list[list[Any]]] = {}
    for row in rows:
        columns, values = _plain_columns_and_values(row, conn)
        groups.setdefault((row.model, tuple(columns)), []).append(values)
    for (model, columns), values in groups.items():
        names = ",".join(f'"{c}"' for c in columns)
        marks = ",".join("?" * len(columns))
        await execute_many(
            f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks})', values
        )


async def flush(last: Model | PlainRow | None = None, *, final: bool = False) -> None:
    """Insert the collected rows, and ``last`` (whose failure, e.g. a unique key, the
    caller may be waiting for), in as few statements as the database allows. A row
    another one refers to (:class:`Ref`) gets its id. ``final``: nothing more is
    written in this transaction — on PostgreSQL, if nothing was written before either,
    the statement runs alone, without BEGIN and COMMIT (``bot.pg_engine``)."""
    rows = _collected.get()
    pending = [*(rows or []), *([last] if last is not None else [])]
    if rows is not None:
        rows.clear()
    if not pending:
        return
    conn = get_connection("default")
    # Each row's values converted once (sealing encrypts): the statements are built from them.
    converted = [(item, *_columns_and_values(item, conn)) for item in pending]
    if conn.capabilities.dialect != "postgres":
        if hasattr(conn, "run_sync"):
            # Inside the message's transaction: the statements in one call to SQLite,
            # not one trip each through the ORM's client (bot.sqlite_engine).
            await conn.run_sync(lambda raw: _write_sqlite(raw, conn.log, converted))
            return
        for item, columns, values in converted:
            sql, params = _statement(item, columns, values, None, {})
            if isinstance(item, _Update):
                await conn.execute_query(sql, params)
            else:
                item.pk = await conn.execute_insert(sql, params)
                _saved(item)
        return
    # Each statement a data-modifying CTE; a referred-to row's id comes from its own.
    referred = {
        id(v.row) for _item, _columns, values in converted for v in values if isinstance(v, Ref)
    }
    names = {id(item): f"w{i}" for i, item in enumerate(pending)}
    parts: list[str] = []
    params: list[Any] = []
    for item, columns, values in converted:
        sql, item_params = _statement(item, columns, values, len(params), names)
        if id(item) in referred:
            sql += f' RETURNING "{item._meta.db_pk_column}"'
        params += item_params
        parts.append(sql)
    keep = [item for item in pending if id(item) in referred]
    if keep:
        # Every write a CTE, and the statement reads back the ids asked for.
        ids = (
            f'(SELECT "{i._meta.db_pk_column}" FROM {names[id(i)]}) AS {names[id(i)]}' for i in keep
        )
        parts.append(f"SELECT {', '.join(ids)}")
    *first, final_sql = parts
    if first:
        chain = ", ".join(f"w{i} AS ({p})" for i, p in enumerate(first))
        final_sql = f"WITH {chain} {final_sql}"
    found = await _run(conn, final_sql, params, final)
    for item in keep:
        item.pk = found[0][names[id(item)]]
        _saved(item)


def _saved(item: Model | PlainRow) -> None:
    if not isinstance(item, PlainRow):
        item._saved_in_db = True


def _write_sqlite(
    raw: Any, log: Any, converted: list[tuple[Model | PlainRow | _Update, list[str], list[Any]]]
) -> None:
    """The rows in order, on SQLite's own connection: a row's id is known before the
    next one, which may hold it (:class:`Ref`). Logged as the ORM logs a statement."""
    for item, columns, values in converted:
        sql, params = _statement(item, columns, values, None, {})
        log.debug("%s: %s", sql, params)
        cursor = raw.execute(sql, params)
        if not isinstance(item, _Update):
            item.pk = cursor.lastrowid
            _saved(item)


async def _run(conn: Any, sql: str, values: list[Any], final: bool) -> list[dict[str, Any]]:
    if final:
        from bot.pg_engine import run_last

        return await run_last(conn, sql, values)
    return list(await conn.execute_query_dict(sql, values))


def _statement(
    item: Model | PlainRow | _Update,
    columns: list[str],
    values: list[Any],
    numbered_from: int | None,
    names: dict[int, str],
) -> tuple[str, list[Any]]:
    """The INSERT of a row or the UPDATE of an :class:`_Update`, of its
    :func:`_columns_and_values`; its placeholders are ``?`` (SQLite) or ``$n`` numbered
    after ``numbered_from`` values (PostgreSQL), where a :class:`Ref` is its row's id:
    already known on SQLite (written in order), read from that row's CTE (named in
    ``names``) on PostgreSQL."""
    marks: list[str] = []
    params: list[Any] = []
    for value in values:
        if isinstance(value, Ref) and numbered_from is not None:
            pk = value.row._meta.db_pk_column
            marks.append(f'(SELECT "{pk}" FROM {names[id(value.row)]})')
            continue
        params.append(value.row.pk if isinstance(value, Ref) else value)
        marks.append("?" if numbered_from is None else f"${numbered_from + len(params)}")
    if isinstance(item, _Update):
        meta = item.row._meta
        sets = ",".join(f'"{c}"={m}' for c, m in zip(columns, marks, strict=False))
        where = f'"{meta.db_pk_column}"={marks[-1]}'
        return f'UPDATE "{meta.db_table}" SET {sets} WHERE {where}', params
    table = item._meta.db_table
    names_sql = ",".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names_sql}) VALUES ({",".join(marks)})', params


def _columns_and_values(item: Model | PlainRow | _Update, conn: Any) -> tuple[list[str], list[Any]]:
    """The columns and values of the statement, as the ORM would send them (a
    :class:`Ref` as it is); an UPDATE's last value is the row's id."""
    if isinstance(item, PlainRow):
        return _plain_columns_and_values(item, conn)
    row = item.row if isinstance(item, _Update) else item
    if isinstance(item, _Update):
        meta = row._meta
        fields = [
            (name, meta.fields_db_projection[name], meta.fields_map[name], False)
            for name in item.fields
        ]
    else:
        fields = _insert_fields(type(row), conn)
    columns, values = [], []
    for name, column, field, db_default in fields:
        value = getattr(row, name)
        if value is None and db_default:
            continue  # None with a database default is left to the database, as the ORM does
        columns.append(column)
        values.append(value if isinstance(value, Ref) else field.to_db_value(value, row))
    if isinstance(item, _Update):
        values.append(row.pk)
    return columns, values


def _plain_columns_and_values(item: PlainRow, conn: Any) -> tuple[list[str], list[Any]]:
    columns, values = [], []
    given = item.values
    for name, column, field, db_default in _insert_fields(item.model, conn):
        value = given.get(name)
        if value is None and db_default:
            continue
        columns.append(column)
        # The model class, not an instance: the field converts and stamps nothing.
        values.append(value if isinstance(value, Ref) else field.to_db_value(value, item.model))
    return columns, values


def _insert_fields(model: type[Model], conn: Any) -> tuple[tuple[str, str, Any, bool], ...]:
    """The fields the ORM's own INSERT of a ``model`` row sends: (name, column, field,
    whether the database has a default)."""
    key = (model, conn.executor_class)
    if key not in _REGULAR:
        meta = model._meta
        _REGULAR[key] = tuple(
            (
                name,
                meta.fields_db_projection[name],
                meta.fields_map[name],
                meta.fields_map[name].has_db_default(),
            )
            for name in conn.executor_class(model=model, db=conn).regular_columns
        )
    return _REGULAR[key]


_REGULAR: dict[tuple[type[Model], Any], tuple[tuple[str, str, Any, bool], ...]] = {}
