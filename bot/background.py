"""A task a service object runs in the background of the process until stopped (the
WAL checkpointer, the batches of signed URLs and of audit entries)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from tortoise.transactions import in_transaction

from bot.sqlite_inline import without_waiting


class BackgroundTask:
    """Subclasses implement :meth:`_run`; :meth:`start` runs it as a task named
    :attr:`task_name`, :meth:`stop` cancels it and waits until it is gone."""

    task_name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class Batches(BackgroundTask):
    """What waits in memory is written in one go :attr:`delay` seconds after the first
    of it came (others come meanwhile), every :attr:`retry` seconds while that fails
    (another process holds the database, or it is away), and at :meth:`stop`, waiting
    for the database then. Subclasses keep what waits, say how many (``len``), call
    :meth:`_more` when more comes and write it in :meth:`_write`."""

    delay = 0.01  # seconds the first waits for others to be written with
    retry = 0.05  # seconds between tries while writing fails
    what = "rows"  # for the log
    log = logging.getLogger("wecrm.batches")

    def __init__(self) -> None:
        super().__init__()
        self._wake = asyncio.Event()
        # One write at a time: a flush returns once what waited when it was called is
        # written, also when the batch's own write had taken it already.
        self._writing = asyncio.Lock()

    def _more(self) -> None:
        self._wake.set()

    async def flush(self, *, wait: bool = False) -> None:
        """Write what waits. Unless ``wait``, another process's write lock fails it at
        once: holding the connection while waiting would hold every message's
        statements behind it."""
        async with self._writing:
            await self._write(wait=wait)

    async def _write(self, *, wait: bool) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def _transaction(self, *, wait: bool) -> AsyncIterator[None]:
        """The batch's transaction: failing at once on another process's write lock
        unless ``wait`` (:meth:`flush`)."""
        with without_waiting() if not wait else contextlib.nullcontext():
            async with in_transaction():
                yield

    async def stop(self) -> None:
        async with self._writing:
            # After a write under way: cancelled, its rows could be written and kept.
            await super().stop()
        try:
            await self.flush(wait=True)
        except Exception:
            self.log.error("%d %s not written at shutdown", len(self), self.what, exc_info=True)

    async def _run(self) -> None:
        failing = False
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.retry if failing else self.delay)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:
                # What waits keeps waiting until a later batch gets through.
                if not failing:
                    self.log.warning("%s not written yet (%s); trying again", self.what, exc)
                failing = True
                self._wake.set()
            else:
                failing = False
