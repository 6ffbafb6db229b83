"""The scheduler: its jobs, catch-up after downtime, and one active scheduler per database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

from models import ConversationState, ProcessedMessage
from scheduler.jobs import JOBS, prune
from scheduler.runner import MISFIRE_GRACE_SECONDS, SchedulerService, build_scheduler
from tests.conftest import make_config
from tests.test_dedup_and_deadline import until
from tests.test_migrations_and_cli import run_cli, write_config


async def test_schedule_is_in_local_time_and_forgiving(db: str) -> None:
    scheduler = build_scheduler(make_config(db))
    assert str(scheduler.timezone) == "Asia/Shanghai"
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert (
        set(jobs)
        == set(JOBS)
        == {
            "sla",
            "prune",
            "briefing",
            "revisits",
            "digest",
            "grade",
            "survey",
        }
    )
    for job in jobs.values():
        assert job.coalesce is True
        # Not APScheduler's 1 s default, which skips a daily job after a restart.
        assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 3600
    prune_next = jobs["prune"].next_run_time
    assert (prune_next.hour, prune_next.minute) == (3, 30)  # local time
    digest_next = jobs["digest"].next_run_time
    assert (digest_next.hour, digest_next.minute) == (18, 30)
    grade_next = jobs["grade"].next_run_time
    assert (grade_next.hour, grade_next.minute) == (2, 30)
    survey_next = jobs["survey"].next_run_time  # before the 08:30 briefing
    assert (survey_next.hour, survey_next.minute) == (8, 0)


async def test_a_job_missed_during_downtime_runs_once_on_start(db: str) -> None:
    scheduler = build_scheduler(make_config(db))
    ran: list[str] = []
    done = asyncio.Event()

    def listener(event: JobExecutionEvent) -> None:
        ran.append(event.job_id)
        done.set()

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
    scheduler.start(paused=True)
    try:
        # The nightly prune was due two hours ago while the process was down.
        scheduler.modify_job("prune", next_run_time=datetime.now(UTC) - timedelta(hours=2))
        scheduler.modify_job("sla", next_run_time=datetime.now(UTC) + timedelta(hours=1))
        scheduler.resume()
        await asyncio.wait_for(done.wait(), 10)
    finally:
        scheduler.shutdown(wait=False)
    assert ran == ["prune"]


async def test_prune_forgets_old_bookkeeping_only(db: str) -> None:
    now = datetime.now(UTC)
    old = await ProcessedMessage.create(key="oa:a:1", channel="oa", sender="a")
    await ProcessedMessage.filter(id=old.id).update(created_at=now - timedelta(days=8))
    await ProcessedMessage.create(key="oa:a:2", channel="oa", sender="a")
    await ConversationState.create(key="oa:a", state="x", expires_at=now - timedelta(minutes=1))
    await ConversationState.create(key="oa:b", state="x", expires_at=now + timedelta(minutes=5))
    summary = await prune(make_config(db), now)
    assert summary == "prune: 1 processed message(s), 1 expired dialog(s)"
    assert await ProcessedMessage.filter(key="oa:a:2").exists()
    assert await ConversationState.filter(key="oa:b").exists()


async def test_only_one_scheduler_runs_per_database(db: str) -> None:
    config = make_config(db)
    first, second = SchedulerService(config), SchedulerService(config)
    try:
        await first.start()
        await second.start()
        assert first.active
        if not db.startswith("postgres"):
            return  # SQLite serves a single process: nothing to coordinate
        assert not second.active  # standing by
        await first.stop()
        second.retry_now()
        await until(lambda: second.active)
    finally:
        await first.stop()
        await second.stop()


def test_jobs_run_by_hand(db_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db_url))
    result = run_cli("--config", config, "jobs", "run", "prune", "--at", "2026-11-25T03:30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("prune: ")
    bad = run_cli("--config", config, "jobs", "run", "prune", "--at", "yesterday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr


async def test_a_holder_that_lost_its_lock_steps_down_and_the_standby_takes_over(
    db: str,
) -> None:
    if not db.startswith("postgres"):
        return  # SQLite serves a single process: nothing to coordinate
    import asyncpg

    config = make_config(db)
    first, second = SchedulerService(config, poll=0.05), SchedulerService(config, poll=0.05)
    admin = await asyncpg.connect(db.replace("postgres://", "postgresql://", 1))
    try:
        await first.start()
        await second.start()
        assert first.active and not second.active
        assert first.lock._conn is not None
        # What a network cut or an operator does to the lock holder's session.
        await admin.execute("SELECT pg_terminate_backend($1)", first.lock._conn.get_server_pid())
        await until(lambda: second.active and not first.active)
        # The old holder runs nothing more, even if a run was already due.
        assert not await first.still_holder()
        assert second.active and await second.still_holder()
    finally:
        await admin.close()
        await first.stop()
        await second.stop()
