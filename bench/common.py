"""What the database benchmarks share: a scratch PostgreSQL database created when
missing, and a count of the SQL statements Tortoise issues."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg


async def ensure_database(url: str) -> None:
    """Create the database ``url`` names if the server does not have it yet."""
    base, _, name = url.replace("postgresql://", "postgres://", 1).rpartition("/")
    admin = await asyncpg.connect(base.replace("postgres://", "postgresql://", 1) + "/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


class Counter(logging.Handler):
    """Counts the statements Tortoise logs at DEBUG (one line per statement)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def counting_statements() -> Iterator[Counter]:
    counter = Counter()
    log = logging.getLogger("tortoise.db_client")
    log.setLevel(logging.DEBUG)
    log.addHandler(counter)
    try:
        yield counter
    finally:
        log.removeHandler(counter)
