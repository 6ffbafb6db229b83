"""What the database benchmarks share: a scratch PostgreSQL database created when
missing, and a count of the SQL statements Tortoise issues."""

from __future__ import annotations

import asyncio
import logging
import time
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


def _busy_and_total() -> tuple[int, int]:
    """(busy, all) jiffies of every core since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def machine_quiet(below: float = 0.1, window: float = 0.5, patience: float = 15.0) -> float:
    """Wait until the machine's cores are busy less than ``below`` of a ``window`` (at
    most ``patience`` seconds); the share of the last window.

    A server measured right after another one shares the cores with what that one left
    behind — PostgreSQL's checkpoint and autovacuum after 跟进's writes, a SQLite
    worker's last checkpoint: the limit, measured first in each group, once ran 30–50 %
    below its rate and "aiohttp + one SQLite write", measured next, above it in every
    group. Without /proc (not Linux) it returns at once."""
    deadline = time.monotonic() + patience
    share = 1.0
    while True:
        try:
            busy, total = _busy_and_total()
        except OSError:
            return 0.0
        await asyncio.sleep(window)
        busy2, total2 = _busy_and_total()
        share = (busy2 - busy) / max(1, total2 - total)
        if share < below or time.monotonic() >= deadline:
            return share
