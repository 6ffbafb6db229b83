"""Transactions of one turn of the event loop committed together on SQLite
(``bot.sqlite_engine._Group``): one COMMIT for many messages, yet nobody returns
before their rows are committed, and one that fails loses only its own rows."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bot import db as dbmod
from bot.sqlite_engine import off_loop
from models import AuditLog, FollowUp
from models.rawsql import execute
from tests.sales_helpers import REP_A, REP_B, customer, team
from tests.wechat_client import WeChatSender

URL = ("k", "d", "2026-12-04 10:00:00+00:00")


def committed(url: str, actor: str) -> int:
    """Rows of ``actor`` that another process sees: committed ones only."""
    other = sqlite3.connect(dbmod.sqlite_path(url))
    try:
        return int(
            other.execute("SELECT COUNT(*) FROM audit_log WHERE actor = ?", (actor,)).fetchone()[0]
        )
    finally:
        other.close()


def traced() -> list[str]:
    seen: list[str] = []
    raw = Tortoise.get_connection("default")._connection._conn  # type: ignore[attr-defined]
    raw.set_trace_callback(seen.append)
    return seen


def untrace() -> None:
    Tortoise.get_connection("default")._connection._conn.set_trace_callback(None)  # type: ignore[attr-defined]


async def write(url: str, actor: str) -> int:
    async with in_transaction():
        await AuditLog.create(actor=actor, actor_role="rep", action="test")
    return committed(url, actor)


async def held(url: str, actor: str, hold: asyncio.Event, go: asyncio.Event) -> int:
    """A transaction that writes ``actor``'s row, says so (``hold``) and ends only on
    ``go``; then what another process sees of it."""
    async with in_transaction():
        await AuditLog.create(actor=actor, actor_role="rep", action="test")
        hold.set()
        await go.wait()
    return committed(url, actor)


async def test_transactions_of_one_turn_share_one_commit_and_return_committed(
    sqlite_only: str,
) -> None:
    seen = traced()
    try:
        seen_by_others = await asyncio.gather(*(write(sqlite_only, f"t{i}") for i in range(5)))
    finally:
        untrace()
    # Each returned only once another process could read its row.
    assert seen_by_others == [1] * 5
    assert seen.count("COMMIT") == 1, seen
    assert sum(s.startswith("BEGIN") for s in seen) == 1, seen


async def test_a_failing_transaction_loses_only_its_own_rows(sqlite_only: str) -> None:
    async def fails() -> None:
        async with in_transaction():
            await AuditLog.create(actor="bad", actor_role="rep", action="test")
            raise RuntimeError("the handler broke")

    first, failed, second = await asyncio.gather(
        write(sqlite_only, "a"), fails(), write(sqlite_only, "b"), return_exceptions=True
    )
    assert (first, second) == (1, 1)
    assert isinstance(failed, RuntimeError)
    assert committed(sqlite_only, "bad") == 0


async def test_nobody_is_told_saved_when_the_commit_fails(sqlite_only: str) -> None:
    async def dangling() -> None:
        async with in_transaction() as conn:
            # Checked at COMMIT: the group's COMMIT fails for every member.
            await conn.execute_query("PRAGMA defer_foreign_keys = ON")
            await conn.execute_query(
                "INSERT INTO followup (customer_id, method, content, feedback, created_at) "
                "VALUES (999999, 'phone', 'x', '', '2026-12-04 10:00:00+00:00')"
            )

    results = await asyncio.gather(
        write(sqlite_only, "innocent"), dangling(), return_exceptions=True
    )
    assert isinstance(results[1], Exception), results
    # Told it was saved exactly when it was: the other member shared the failed COMMIT.
    assert (results[0] == 1) == (committed(sqlite_only, "innocent") == 1), results
    assert await FollowUp.all().count() == 0
    # The connection is usable again.
    assert await write(sqlite_only, "later") == 1


async def test_a_write_outside_a_transaction_returns_once_committed(sqlite_only: str) -> None:
    async def plain() -> int:
        # The connection is inside the group's transaction now: this row joins it.
        await AuditLog.create(actor="plain", actor_role="rep", action="test")
        return committed(sqlite_only, "plain")

    assert await asyncio.gather(write(sqlite_only, "tx"), plain()) == [1, 1]


async def test_follow_ups_of_two_reps_at_once_are_both_saved_with_one_commit(
    sqlite_only: str, wechat: WeChatSender
) -> None:
    rep_a, rep_b, _ = await team()
    await customer("周杰", rep_a)
    await customer("吴敏", rep_b)
    seen = traced()
    try:
        replies = await asyncio.gather(
            wechat.say("跟进 周杰 电话聊了报价", sender=REP_A),
            wechat.say("跟进 吴敏 上门演示了设备", sender=REP_B),
        )
    finally:
        untrace()
    assert all("已记录跟进" in r for r in replies), replies
    assert await FollowUp.all().count() == 2
    assert seen.count("COMMIT") in (1, 2) and "ROLLBACK" not in seen, seen


async def test_closing_the_connection_commits_an_open_group(sqlite_only: str) -> None:
    task = asyncio.create_task(write(sqlite_only, "closing"))
    await asyncio.sleep(0)  # its row is in the group, whose COMMIT has not run yet
    assert committed(sqlite_only, "closing") == 0
    await Tortoise.get_connection("default").close()
    assert committed(sqlite_only, "closing") == 1
    await task


async def test_a_bulk_insert_outside_a_transaction_joins_an_open_group(sqlite_only: str) -> None:
    async def bulk() -> int:
        # A scheduler job's Survey.bulk_create: Tortoise's own BEGIN was refused inside
        # the group's transaction.
        await AuditLog.bulk_create([AuditLog(actor="bulk", actor_role="rep", action="test")])
        return committed(sqlite_only, "bulk")

    assert await asyncio.gather(write(sqlite_only, "tx"), bulk()) == [1, 1]


async def test_after_sqlite_rolled_the_group_back_the_next_ones_are_told_the_truth(
    sqlite_only: str,
) -> None:
    await execute('INSERT INTO "signed_url" ("key","digest","created_at") VALUES (?,?,?)', *URL)

    async def rolls_everything_back() -> None:
        # What a full disk does to the transaction, as SQLite's ON CONFLICT ROLLBACK.
        await execute(
            'INSERT OR ROLLBACK INTO "signed_url" ("key","digest","created_at") VALUES (?,?,?)',
            *URL,
        )

    first, broken, later = await asyncio.gather(
        write(sqlite_only, "first"),
        rolls_everything_back(),
        write(sqlite_only, "later"),
        return_exceptions=True,
    )
    assert isinstance(broken, Exception)
    # The first member's rows went with the rollback, and it is told so; the later one
    # begins a group of its own and is saved.
    assert isinstance(first, Exception) and committed(sqlite_only, "first") == 0, first
    assert later == 1, later


async def test_a_long_job_off_the_loop_does_not_hold_back_the_groups_commit(
    sqlite_only: str,
) -> None:
    release = asyncio.Event()

    async def job() -> None:
        with off_loop():
            async with in_transaction():
                await AuditLog.create(actor="job", actor_role="system", action="test")
                await release.wait()  # a job over the whole book

    # The job takes the connection in the turn the message let go of it, before the
    # group's COMMIT: it commits the group first instead of joining it.
    message, long_job = asyncio.create_task(write(sqlite_only, "msg")), asyncio.create_task(job())
    done, _ = await asyncio.wait({message}, timeout=3)
    release.set()
    await long_job
    assert message in done and message.result() == 1
    assert committed(sqlite_only, "job") == 1


async def test_a_cancelled_close_leaves_the_members_their_commit(sqlite_only: str) -> None:
    hold, go = asyncio.Event(), asyncio.Event()

    first = asyncio.create_task(write(sqlite_only, "first"))
    await asyncio.sleep(0)  # first's row waits in the group for its COMMIT
    second = asyncio.create_task(held(sqlite_only, "holder", hold, go))
    await hold.wait()
    closing = asyncio.create_task(Tortoise.get_connection("default").close())
    await asyncio.sleep(0)
    closing.cancel()  # shutdown under a timeout
    await asyncio.gather(closing, return_exceptions=True)
    go.set()
    assert await asyncio.gather(first, second) == [1, 1]


async def _held_thread() -> tuple[threading.Event, asyncio.Future[object]]:
    """aiosqlite's thread kept busy until the event is set: what a long statement of
    another job does, so the next statement sent there waits in its queue."""
    conn = Tortoise.get_connection("default")._connection  # type: ignore[attr-defined]
    gate = threading.Event()
    with off_loop():
        busy = asyncio.ensure_future(conn._execute(gate.wait, 10))
    for _ in range(100):
        await asyncio.sleep(0)
        if conn._tx.empty():
            break
    return gate, busy


async def _cancelled_once_queued(work: asyncio.Task[object], gate: threading.Event) -> None:
    """Cancel ``work`` while its statement waits on aiosqlite's thread, then let the
    thread go on: the statement runs all the same."""
    conn = Tortoise.get_connection("default")._connection  # type: ignore[attr-defined]
    for _ in range(100):
        await asyncio.sleep(0)
        if not conn._tx.empty():
            break
    assert not conn._tx.empty(), "the statement never reached aiosqlite's thread"
    work.cancel()
    gate.set()
    await asyncio.gather(work, return_exceptions=True)


async def test_a_job_cancelled_during_its_begin_leaves_the_connection_usable(
    sqlite_only: str,
) -> None:
    """A job off the loop cancelled (at shutdown) while its BEGIN waits on aiosqlite's
    thread: the BEGIN still runs there, and must not leave the connection inside a
    transaction nobody owns — every later message would fail to begin its own."""
    gate, busy = await _held_thread()

    async def job() -> None:
        with off_loop():
            async with in_transaction():
                await AuditLog.create(actor="job", actor_role="system", action="test")

    await _cancelled_once_queued(asyncio.create_task(job()), gate)
    await busy
    assert await write(sqlite_only, "later") == 1
    assert committed(sqlite_only, "job") == 0


async def test_a_job_cancelled_during_the_groups_commit_leaves_the_members_committed(
    sqlite_only: str,
) -> None:
    """A job off the loop commits the group before its own transaction; cancelled
    while that COMMIT waits on aiosqlite's thread, the COMMIT still runs, and the
    members are told what became of their rows: committed, not lost."""
    gate, busy = await _held_thread()
    hold, go = asyncio.Event(), asyncio.Event()

    async def job() -> None:
        with off_loop():
            async with in_transaction():
                await AuditLog.create(actor="job", actor_role="system", action="test")

    first = asyncio.create_task(held(sqlite_only, "member", hold, go))
    await hold.wait()
    # The member lets go of the connection and waits for the group's COMMIT; the job
    # takes the connection in the same turn and makes that COMMIT itself, off the loop.
    go.set()
    long_job = asyncio.create_task(job())
    await _cancelled_once_queued(long_job, gate)
    await busy
    assert await first == 1
    assert await write(sqlite_only, "later") == 1
