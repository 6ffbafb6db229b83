"""APScheduler 3.x wiring: an ``AsyncIOScheduler`` in bot.timezone running the jobs
of ``scheduler.jobs`` while this process holds the scheduler lock.

Coalesce is on and the misfire grace time is generous: APScheduler's default of one
second silently skips a daily job after a restart; here a job missed during downtime
runs once when the process is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.sqlite_engine import off_loop
from scheduler.jobs import JOBS, Job
from scheduler.lock import SchedulerLock

log = logging.getLogger("wecrm.scheduler")

MISFIRE_GRACE_SECONDS = 6 * 3600
# How often a standby tries the lock and the holder checks it still has it: the
# longest a job can go unscheduled after the holder's connection is lost.
POLL_SECONDS = 3.0

MayRun = Callable[[], Awaitable[bool]]


async def _always() -> bool:
    return True


def build_scheduler(config: Config, may_run: MayRun = _always) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=config.tz,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    for name, job in JOBS.items():
        scheduler.add_job(
            _runner(config, name, job, may_run),
            job.trigger,
            id=name,
            name=name,
            **job.args_for(config),
        )
    return scheduler


def _runner(config: Config, name: str, job: Job, may_run: MayRun):  # type: ignore[no-untyped-def]
    async def run() -> None:
        try:
            if not await may_run():
                log.warning("scheduler lock lost; job not run here", extra={"job": name})
                return
            with off_loop():  # a job's statements may each take long on a big book
                summary = await job.func(config, datetime.now(UTC))
            log.info("job done", extra={"job": name, "summary": summary})
        except Exception:  # one failing run must not stop the schedule
            log.exception("job failed", extra={"job": name})

    run.__name__ = f"job_{name}"
    return run


class SchedulerService:
    """Runs the schedule while holding the lock, checks the lock on every poll and
    before every run, steps down when it is gone, and otherwise stands by."""

    def __init__(self, config: Config, poll: float = POLL_SECONDS) -> None:
        self.config = config
        self.poll = poll
        self.lock = SchedulerLock(config.database.url)
        self.scheduler: AsyncIOScheduler | None = None
        self._watch: asyncio.Task[None] | None = None
        self._retry = asyncio.Event()

    @property
    def active(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    async def start(self) -> None:
        if not await self._try_start():
            log.info("another scheduler holds the lock; standing by")
        self._watch = asyncio.create_task(self._watch_loop())

    async def _try_start(self) -> bool:
        try:
            acquired = await self.lock.try_acquire()
        except Exception:
            log.warning("scheduler lock unavailable; will retry", exc_info=True)
            return False
        if acquired and self.scheduler is None:
            self.scheduler = build_scheduler(self.config, self.still_holder)
            self.scheduler.start()
            log.info("scheduler started", extra={"jobs": sorted(JOBS)})
        return acquired

    async def still_holder(self) -> bool:
        """Checked before every run: a holder that lost its lock steps down."""
        if await self.lock.verify():
            return True
        self._step_down()
        return False

    def _step_down(self) -> None:
        if self.scheduler is not None:
            log.error("scheduler lock lost; stepping down to standby")
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    def retry_now(self) -> None:
        """Try (or check) the lock again without waiting for the next poll."""
        self._retry.set()

    async def _watch_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry.wait(), self.poll)
            self._retry.clear()
            if self.scheduler is not None:
                await self.still_holder()
            else:
                await self._try_start()

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await self.lock.release()
