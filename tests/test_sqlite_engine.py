"""SQLite statements run on the event loop's thread (``bot/sqlite_engine.py``): a message
meeting another process's write lock waits for it (without holding the loop: see
``test_database_hang``), and the scheduler's jobs keep aiosqlite's thread."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading

import pytest
from tortoise import Tortoise
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from bot import db as dbmod
from bot.app import PIPELINE
from bot.sqlite_engine import Checkpointer, off_loop, without_waiting
from models import FollowUp
from models.messages import SignedUrl
from tests.sales_helpers import REP_A, customer, team
from tests.wechat_client import WeChatSender


async def test_a_follow_up_waits_for_the_write_lock_instead_of_failing(
    sqlite_only: str, wechat: WeChatSender
) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    raw = Tortoise.get_connection("default")._connection._conn  # type: ignore[attr-defined]
    tried = asyncio.Event()
    # SQLite traces a statement as it starts, before it meets the lock.
    # (The message's transaction begins with BEGIN IMMEDIATE, which takes the lock.)
    raw.set_trace_callback(lambda sql: sql.startswith(("BEGIN", "INSERT")) and tried.set())
    # Another process (a CLI import, say) holds the write lock.
    holder = sqlite3.connect(dbmod.sqlite_path(sqlite_only), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        follow_up = asyncio.create_task(wechat.say("跟进 周杰 电话聊了报价", sender=REP_A))
        await asyncio.wait_for(tried.wait(), 3)  # its first write met the lock
        assert not follow_up.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        raw.set_trace_callback(None)
    assert "已记录跟进" in await asyncio.wait_for(follow_up, 3)
    assert await FollowUp.filter(content__contains="聊了报价").count() == 1


async def test_help_is_answered_while_another_process_writes(
    sqlite_only: str, wechat: WeChatSender
) -> None:
    await team()
    pending = wechat.client.app[PIPELINE].signed_urls
    holder = sqlite3.connect(dbmod.sqlite_path(sqlite_only), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # A read-only reply writes nothing but its replay record, which waits in
        # memory (and is checked there) until the database takes writes again.
        reply = await asyncio.wait_for(wechat.say("帮助", sender=REP_A), 3)
        assert "你可以发送以下命令" in reply
        with pytest.raises(TransactionManagementError):
            await pending.flush()
        assert len(pending) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await pending.flush()
    assert len(pending) == 0 and await SignedUrl.all().count() == 1


async def test_a_transaction_that_cannot_begin_leaves_the_database_usable(
    sqlite_only: str, wechat: WeChatSender
) -> None:
    await team()
    holder = sqlite3.connect(dbmod.sqlite_path(sqlite_only), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # A background write that will not wait, and a message's transaction
        # cancelled at its deadline while waiting: neither begins.
        with without_waiting(), pytest.raises(TransactionManagementError):
            async with in_transaction():
                pass
        waiting = asyncio.create_task(_open_transaction())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Tortoise's own context kept the connection's lock after a failed BEGIN: every
    # later statement of the process, reads included, then waited forever.
    assert await asyncio.wait_for(_open_transaction(), 3) == 1
    assert "你可以发送以下命令" in await asyncio.wait_for(wechat.say("帮助", sender=REP_A), 3)


async def _open_transaction() -> int:
    async with in_transaction() as conn:
        return len(await conn.execute_query_dict("SELECT 1 AS one"))


async def test_statements_of_a_job_run_off_the_loop(sqlite_only: str) -> None:
    conn = Tortoise.get_connection("default")
    raw = conn._connection._conn  # type: ignore[attr-defined]
    raw.create_function("thread_id", 0, threading.get_ident)
    loop_thread = threading.get_ident()

    async def thread_of_statement() -> int:
        rows = await conn.execute_query_dict("SELECT thread_id() AS t")
        return int(rows[0]["t"])

    assert await thread_of_statement() == loop_thread
    with off_loop():
        assert await thread_of_statement() != loop_thread
        # Tasks started inside carry it too (APScheduler runs a job as one).
        assert await asyncio.create_task(thread_of_statement()) != loop_thread
    assert await thread_of_statement() == loop_thread


async def test_the_wal_is_copied_back_off_the_loop_and_rewound(sqlite_only: str) -> None:
    conn = Tortoise.get_connection("default")
    raw = conn._connection._conn  # type: ignore[attr-defined]
    # No commit copies the WAL back on the loop's thread...
    assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    checkpointer = Checkpointer(dbmod.sqlite_path(sqlite_only))
    await asyncio.to_thread(checkpointer.checkpoint)
    for n in range(200):
        await SignedUrl.create(key=f"k{n}", digest="d")
    # ...the checkpointer does, from its thread, all of it.
    frames, copied = await asyncio.to_thread(checkpointer.checkpoint)
    assert frames > 200 and copied == frames
    # Fully copied, so the next write starts the WAL again from the top: the file
    # does not keep growing.
    await SignedUrl.create(key="again", digest="d")
    frames, _ = await asyncio.to_thread(checkpointer.checkpoint)
    assert frames < 20


async def test_a_long_wal_is_rewound_even_while_writes_keep_coming(sqlite_only: str) -> None:
    checkpointer = Checkpointer(dbmod.sqlite_path(sqlite_only))
    checkpointer.restart_frames = 50
    stop = asyncio.Event()

    async def writer() -> int:
        n = 0
        while not stop.is_set():
            async with in_transaction():
                await SignedUrl.create(key=f"w{n}", digest="d")
            n += 1
            await asyncio.sleep(0)
        return n

    task = asyncio.create_task(writer())
    sizes: list[int] = []
    # Checkpoints run while the writer's transactions keep arriving; bounded in count.
    while len(sizes) < 30 and not _rewound(sizes):
        sizes.append((await asyncio.to_thread(checkpointer.checkpoint))[0])
    stop.set()
    written = await task
    assert written > 0
    # Without the RESTART the WAL only grows while writes never pause; with it, it is
    # started again from the top.
    assert _rewound(sizes), sizes


def _rewound(sizes: list[int]) -> bool:
    return any(later < earlier for earlier, later in itertools.pairwise(sizes))


async def test_a_savepoints_journal_stays_in_memory(sqlite_only: str) -> None:
    """Each message of a group commit runs in a SAVEPOINT, and SQLite copies every page
    the savepoint first changes to a sub-journal: a temporary file by default, which
    made a follow-up's five bookkeeping writes 150 µs instead of 60 (bench: 跟进 in one
    process, 1.20 → 0.99 ms of CPU a message)."""
    conn = Tortoise.get_connection("default")
    raw = conn._connection._conn  # type: ignore[attr-defined]
    assert raw.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    assert raw.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
