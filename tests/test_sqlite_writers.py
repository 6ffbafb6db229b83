"""Processes writing one SQLite file take turns (``bot/sqlite_writers.py``): a process
that writes all the time no longer starves another one's messages past their five
seconds. Each ``WriterLock`` here opens the files on its own, as another process does."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise.exceptions import TransactionManagementError

from bot import db as dbmod
from bot.app import PIPELINE
from bot.sqlite_writers import WriterLock
from models import AuditLog, FollowUp
from tests.sales_helpers import REP_A, customer, team
from tests.test_dedup_and_deadline import until
from tests.wechat_client import WeChatSender


@pytest.fixture
def locks(tmp_path: Path) -> Iterator[list[WriterLock]]:
    made = [WriterLock(str(tmp_path / "crm.sqlite3")) for _ in range(3)]
    yield made
    for lock in made:
        lock.close()


def someone_waits(database: str) -> bool:
    """A process waits for the lock: it marks the queue file while it does."""
    fd = os.open(database + "-writer-queue", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


async def test_a_writer_that_lets_go_while_another_waits_queues_behind_it(
    locks: list[WriterLock], tmp_path: Path
) -> None:
    busy, other, _ = locks
    await busy.acquire(5)
    waiting = asyncio.create_task(other.acquire(5))
    await until(lambda: someone_waits(str(tmp_path / "crm.sqlite3")))
    busy.release()
    # Straight back for its next transaction, as a loaded worker is: with SQLite's
    # lock alone it won again before the other process's next try, over and over.
    again = asyncio.create_task(busy.acquire(5))
    await asyncio.wait_for(waiting, 3)
    assert other.held and not again.done()
    other.release()
    await asyncio.wait_for(again, 3)
    assert busy.held


async def test_a_wait_that_gave_up_does_not_keep_the_lock(locks: list[WriterLock]) -> None:
    holder, late, third = locks
    await holder.acquire(5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await late.acquire(0.05)
    cancelled = asyncio.create_task(third.acquire(5))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    holder.release()
    # Both waits' threads took the lock once it was free, and handed it straight back.
    await asyncio.wait_for(holder.acquire(3), 3)
    holder.release()
    await asyncio.wait_for(late.acquire(3), 3)
    assert late.held


async def test_a_write_that_must_not_wait_fails_at_once(locks: list[WriterLock]) -> None:
    holder, background, _ = locks
    await holder.acquire(5)
    with pytest.raises(sqlite3.OperationalError):
        await background.acquire(0)
    holder.release()
    await background.acquire(0)
    assert background.held


async def waits_its_turn(wechat: WeChatSender, database: str, text: str) -> asyncio.Task[str]:
    """``text`` sent by a rep while another process holds the turn to write: once it
    waits for its turn, 帮助 (a read) is answered meanwhile. Its answer, still to come."""
    answer = asyncio.create_task(wechat.say(text, sender=REP_A))
    await until(lambda: someone_waits(database))
    assert "你可以发送以下命令" in await asyncio.wait_for(wechat.say("帮助", sender=REP_A), 3)
    assert not answer.done()
    return answer


async def test_a_follow_up_waits_its_turn_behind_another_process(
    sqlite_only: str, wechat: WeChatSender
) -> None:
    """``wecrm scheduler`` beside ``serve``, or a second worker, holding the write lock
    for a while: a follow-up waits its turn, and an answer that writes nothing (帮助)
    does not wait with it — the wait held the connection, and every sender read queued
    behind it."""
    rep, _, _ = await team()
    await customer("周杰", rep)
    database = dbmod.sqlite_path(sqlite_only)
    other_process = WriterLock(database)
    await other_process.acquire(5)
    try:
        follow_up = await waits_its_turn(wechat, database, "跟进 周杰 电话聊了报价")
    finally:
        other_process.close()
    assert "已记录跟进" in await asyncio.wait_for(follow_up, 3)
    assert await FollowUp.filter(content__contains="聊了报价").count() == 1
    # And the process let go after its commit: the other one writes again.
    again = WriterLock(database)
    try:
        await asyncio.wait_for(again.acquire(3), 3)
    finally:
        again.close()


async def test_closing_while_a_write_waits_leaves_other_files_alone(
    locks: list[WriterLock], tmp_path: Path
) -> None:
    """The bot shutting down while a write waits its turn: the wait ends in an error,
    and nothing is done after to the lock's descriptor, which the system hands to the
    next file opened — unlocking it would have dropped another file's lock."""
    holder, waiter, _ = locks
    await holder.acquire(5)
    waiting = asyncio.create_task(waiter.acquire(5))
    await until(lambda: someone_waits(str(tmp_path / "crm.sqlite3")))
    number = waiter._fd
    waiter.close()
    holder.release()
    with pytest.raises(sqlite3.OperationalError, match="closing"):
        await asyncio.wait_for(waiting, 3)
    assert waiter._thread is not None
    await until(lambda: not waiter._thread.is_alive())  # type: ignore[union-attr]
    unrelated = str(tmp_path / "other.lock")
    fd = os.open(unrelated, os.O_RDWR | os.O_CREAT)
    try:
        assert fd == number  # POSIX: the lowest free number
        fcntl.flock(fd, fcntl.LOCK_EX)
        waiter.release()
        waiter.close()
        probe = os.open(unrelated, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    finally:
        os.close(fd)


async def test_a_cards_audit_entry_waits_for_another_process_but_the_card_does_not(
    sqlite_only: str, wechat: WeChatSender
) -> None:
    """查 writes nothing but its audit entry (whose card was seen), which goes in a
    batch after the reply: with another process in the middle of a write, the card is
    answered at once, the batch fails at once rather than holding the connection (帮助
    is answered meanwhile), and the entry is written once the other process is done."""
    rep, _, _ = await team()
    seen = await customer("周杰", rep)
    database = dbmod.sqlite_path(sqlite_only)
    batched = wechat.client.app[PIPELINE].batched_rows
    other_process = WriterLock(database)
    await other_process.acquire(5)
    writing = sqlite3.connect(database, isolation_level=None, timeout=0)
    writing.execute("BEGIN IMMEDIATE")  # the other process's transaction, under way
    try:
        card = await asyncio.wait_for(wechat.say("查 周杰", sender=REP_A), 3)
        assert card.startswith("【周杰】")
        with pytest.raises(TransactionManagementError):
            await batched.flush()
        assert len(batched) == 1
        assert "你可以发送以下命令" in await asyncio.wait_for(wechat.say("帮助", sender=REP_A), 3)
    finally:
        writing.rollback()
        writing.close()
        other_process.close()
    await until(lambda: len(batched) == 0)  # the batch's own next try took it
    await batched.flush()  # and wrote it: a flush waits for a write under way
    assert await AuditLog.filter(actor=f"staff:{rep.id}", target=f"customer:{seen.id}").count() == 1
