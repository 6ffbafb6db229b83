"""A task a service object runs in the background of the process until stopped (the
WAL checkpointer, the batch of signed URLs)."""

from __future__ import annotations

import asyncio
import contextlib


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
