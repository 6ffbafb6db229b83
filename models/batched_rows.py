"""Rows a read-only reply adds — the audit entry of a customer's card seen with 查 —
written with others in batches a moment after the reply, not each in a transaction of
its own.

A reply that changes nothing needs no transaction, and its audit entry alone made one:
a 查 on PostgreSQL was four statements and a commit (the WAL flushed) for a row nobody
reads while the bot answers, on SQLite a write transaction of one statement. Here the
entries of many replies go in one transaction, one prepared statement for them all
(``models.deferred.insert_rows``): 查 went from 758–871 to 834–1 033 req/s on
PostgreSQL and from 1 291–1 562 to 1 554–1 697 on SQLite (one worker, c=32, A/B in
turns; ``docs/benchmarks.md``).

What a crash loses is the last batch: the entries of the replies of the last
:attr:`Batches.delay` seconds (more while the database refuses writes). What this
process holds is capped (:attr:`BatchedRows.limit`); past it the oldest are dropped,
said in the log when it starts and, with their number, once writing works again.

A batch the database refuses for what a row holds (a constraint, a value a column
cannot take) would be refused again on every try, and the entries after it with it:
then the rows are written one a transaction, and the one refused is logged and
dropped. A refusal of the write itself (another process's lock, a lost connection)
keeps them all waiting.
"""

from __future__ import annotations

import logging
import sqlite3

from tortoise.exceptions import IntegrityError, OperationalError, ValidationError

from bot.background import Batches
from models.deferred import PlainRow, insert_rows

log = logging.getLogger("wecrm.audit")


class BatchedRows(Batches):
    task_name = "batched-rows"
    what = "audit entries"
    log = log
    # Entries held while writing fails: a day of a busy team's card views, kept
    # through a long lock or outage, not memory without end.
    limit = 50_000

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[PlainRow] = []
        # Dropped since writing last worked: said once when it starts, counted after.
        self._dropped = 0

    def add(self, rows: list[PlainRow]) -> None:
        if not rows:
            return
        self._rows.extend(rows)
        if len(self._rows) > self.limit:
            if not self._dropped:
                log.error(
                    "audit entries dropped, oldest first: the database refused them too long"
                    " (%d kept)",
                    self.limit,
                )
            self._dropped += len(self._rows) - self.limit
            del self._rows[: len(self._rows) - self.limit]
        self._more()

    async def _write(self, *, wait: bool) -> None:
        """Write what waits in one transaction (:meth:`Batches.flush`)."""
        if not self._rows:
            return
        batch, self._rows = self._rows, []
        try:
            try:
                async with self._transaction(wait=wait):
                    await insert_rows(batch)
            except Exception as exc:
                if not refused_rows(exc):
                    raise
                await self._write_each(batch, wait=wait)
        except BaseException:
            self._rows[:0] = batch  # before what came meanwhile: kept in order
            raise
        if self._dropped:
            log.error(
                "%d audit entries were dropped while the database refused them", self._dropped
            )
            self._dropped = 0

    async def _write_each(self, batch: list[PlainRow], *, wait: bool) -> None:
        """One row a transaction, taken off ``batch`` once written or refused: what is
        left when the write itself fails waits for the next try."""
        while batch:
            row = batch[0]
            try:
                async with self._transaction(wait=wait):
                    await insert_rows([row])
            except Exception as exc:
                if not refused_rows(exc):
                    raise
                log.error(
                    "an audit entry (%s by %s) was dropped: the database refused it: %s",
                    row.values.get("action"),
                    row.values.get("actor"),
                    exc,
                )
            del batch[0]

    def __len__(self) -> int:
        return len(self._rows)


def refused_rows(exc: BaseException) -> bool:
    """Whether ``exc`` refuses what the rows hold — a constraint, a value its column
    cannot take or that does not convert — so that the same rows would fail again,
    rather than the write itself (a lock, a lost connection)."""
    if isinstance(
        exc, IntegrityError | ValidationError | sqlite3.DataError | ValueError | TypeError
    ):
        return True
    # PostgreSQL's classes 22 (data exception) and 23 (integrity constraint), from
    # asyncpg under Tortoise's OperationalError.
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return isinstance(exc, OperationalError) and sqlstate[:2] in {"22", "23"}
