"""Database lifecycle: the Tortoise config, connecting, closing and migrating.

Migrations are Tortoise's own (``models/migrations``): dialect-neutral operations
that run on SQLite and PostgreSQL and are recorded, so ``migrate`` is idempotent.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext

from models import TABLES

APP = "models"


def normalize_url(url: str) -> str:
    # Tortoise names the asyncpg backend "postgres://" / "asyncpg://"; accept the
    # common "postgresql://" spelling too.
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://") :]
    return url


# Tortoise already opens SQLite in WAL mode; with WAL, synchronous=NORMAL is still
# safe against corruption and skips the fsync on every commit (a power cut may lose
# the last commits, never the file). temp_store=MEMORY: every message of a group
# commit runs in a SAVEPOINT (bot/sqlite_group.py), whose sub-journal — a copy of each
# page it first changes — was a temporary file: a follow-up's five bookkeeping writes
# took 150 µs instead of 60.
SQLITE_PRAGMAS = "synchronous=NORMAL&temp_store=MEMORY"


def connection_url(url: str) -> str:
    url = normalize_url(url)
    if url.startswith("sqlite://") and "?" not in url:
        return f"{url}?{SQLITE_PRAGMAS}"
    return url


async def _keep_session(_conn: Any) -> None:
    """asyncpg's reset for a connection going back to the pool: nothing to do.

    By default asyncpg runs ``RESET ALL; UNLISTEN *; pg_advisory_unlock_all() …`` on
    every release — a round trip per message, for session state this application
    never leaves behind (its transactions are managed; the scheduler's advisory lock
    lives on a connection of its own, scheduler.lock). An open transaction is still
    rolled back by asyncpg itself before this is called."""


# No parallel workers: a message's statements are point lookups, and a planner without
# fresh statistics (autovacuum off, a bulk import) costed the 跟进's customer read —
# seven name equalities — above parallel_setup_cost and started two workers for it:
# 22–40 ms instead of 0.1, and 跟进 fell from ~700 to ~120 req/s with 4 s p99 on
# 300 000 customers (bench/compare.py).
SESSION_SETUP = "SET max_parallel_workers_per_gather = 0"


async def _session_setup(conn: Any) -> None:
    """asyncpg's ``init`` for every new pool connection.

    A SET, not a startup parameter: PgBouncer refuses startup parameters it does not
    know. The session keeps it, since the pool's reset (:func:`_keep_session`) sends no
    ``RESET ALL``. Behind PgBouncer in transaction mode a session setting does not
    follow the client; docs/architecture.md says to set it on the database there."""
    await conn.execute(SESSION_SETUP)


def _connection(url: str) -> dict[str, Any]:
    conn = expand_db_url(connection_url(url))
    if is_postgres(url):
        conn["credentials"]["reset"] = _keep_session
        conn["credentials"]["init"] = _session_setup
        conn["engine"] = "bot.pg_engine"  # BEGIN with the first write (bot/pg_engine.py)
    else:
        conn["engine"] = "bot.sqlite_engine"  # one thread hop fewer per transaction
    return conn


def tortoise_config(url: str, tables: Sequence[str] = TABLES) -> dict[str, Any]:
    """``tables``: the modules whose models Tortoise loads — all of them, unless a
    command needs fewer (their foreign keys must point inside the list)."""
    return {
        "connections": {"default": _connection(url)},
        "apps": {
            APP: {
                "models": list(tables),
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_postgres(url: str) -> bool:
    return normalize_url(url).startswith(("postgres://", "asyncpg://"))


async def connect(
    url: str, data_key: bytes | None = None, tables: Sequence[str] = TABLES
) -> TortoiseContext:
    """Connect and return the context; close through :func:`close`.

    ``data_key`` seals phone numbers in free-text columns (``models.sealed``);
    ``tables`` as in :func:`tortoise_config`."""
    from models.sealed import use_data_key

    use_data_key(data_key)
    # Tortoise caches compiled INSERT/DELETE statements per connection *name*,
    # process-wide; after switching backends (tests run SQLite then PostgreSQL)
    # the cache would hand PostgreSQL SQLite's "?" placeholders.
    EXECUTOR_CACHE.clear()
    return await Tortoise.init(config=tortoise_config(url, tables))


async def close(ctx: TortoiseContext | None = None) -> None:
    # Closing through the context Tortoise.init returned is what actually
    # releases the pool (Tortoise 1.x); otherwise asyncpg keeps pytest alive.
    if ctx is not None:
        await ctx.close_connections()
    elif Tortoise.is_inited():
        await Tortoise.close_connections()


def sqlite_path(url: str) -> str:
    return normalize_url(url).removeprefix("sqlite://").split("?", 1)[0]


def _sqlite_writable(path: str, wait: float) -> None:
    # A connection of its own: a BEGIN IMMEDIATE cut short by a timeout must not
    # leave the shared connection inside a half-open transaction.
    conn = sqlite3.connect(path, timeout=wait, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def ping(url: str, wait: float) -> None:
    """Raise unless the database takes a write within ``wait`` seconds.

    PostgreSQL: a round trip on the pool. SQLite: the write lock, because a
    SQLite "hang" is another writer holding it, and ``SELECT 1`` would not notice.
    """
    async with asyncio.timeout(wait):
        if is_postgres(url):
            await Tortoise.get_connection("default").execute_query("SELECT 1")
        else:
            await asyncio.to_thread(_sqlite_writable, sqlite_path(url), wait)


async def migrate(url: str, progress: Any = None) -> None:
    """Bring the schema up to date; running it again changes nothing."""
    # Imported here: the migration machinery is not needed to serve or to query.
    from tortoise.migrations.api.migrate import migrate as tortoise_migrate

    try:
        await tortoise_migrate(config=tortoise_config(url), progress=progress)
    finally:
        # Close even when a migration fails, or aiosqlite's thread keeps the process alive.
        await close()
