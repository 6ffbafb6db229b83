"""A read-only reply's audit entry (a card seen with 查) is written after the reply,
with other replies' entries, in one transaction (``models.batched_rows``)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import PIPELINE
from models import AuditLog, batched_rows
from models.batched_rows import BatchedRows
from models.deferred import PlainRow, insert_rows, plain_row
from tests.sales_helpers import MANAGER, REP_A, customer, team
from tests.wechat_client import WeChatSender


async def test_card_views_wait_together_and_are_written_when_the_app_stops(
    wechat: WeChatSender,
) -> None:
    rep, other, manager = await team()
    seen = await customer("王强", other, "13912345678")
    batched = wechat.client.app[PIPELINE].batched_rows
    batched.delay = 3600  # the batch goes when the test says
    assert "139****5678" in await wechat.say("查 王强", sender=REP_A)
    assert "13912345678" in await wechat.say("查 王强", sender=MANAGER)
    assert len(batched) == 2 and not await AuditLog.filter(target=f"customer:{seen.id}").exists()
    await wechat.client.close()  # a stopping server writes what still waits
    entries = await AuditLog.filter(target=f"customer:{seen.id}").order_by("id")
    assert [(e.actor, e.actor_role, e.action) for e in entries] == [
        (f"staff:{rep.id}", "rep", "customers.show_card"),
        (f"staff:{manager.id}", "manager", "customers.show_card"),
    ]
    assert entries[0].detail["kind"] == "text" and entries[0].detail["message"]
    assert entries[0].request_id and entries[0].request_id != entries[1].request_id


async def test_entries_held_past_the_limit_drop_the_oldest_and_say_so(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """While the database refuses writes, what waits is capped, not memory without end."""
    batched = BatchedRows()
    batched.limit = 2
    for actor in ("a", "b", "c", "d"):
        row = plain_row(AuditLog, actor=actor, actor_role="rep", action="customers.show_card")
        batched.add([row])
    assert len(batched) == 2
    # Said when it starts, not at every entry dropped.
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "audit entries dropped, oldest first: the database refused them too long (2 kept)"
    ]
    await batched.flush()
    assert [e.actor for e in await AuditLog.all().order_by("id")] == ["c", "d"]
    # And how many, once writing works again.
    assert "2 audit entries were dropped while the database refused them" in caplog.text


async def test_an_entry_the_database_refuses_is_dropped_alone_and_said(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A row that will never be written (one without its actor; on PostgreSQL also a
    NUL character, which its text cannot hold) must not hold back the entries written
    with it and after it: tried again, it would fail again."""
    batched = BatchedRows()
    actors = ["a", None, "c"] + (["x\x00y", "e"] if db.startswith("postgres") else [])
    batched.add(
        [
            plain_row(AuditLog, actor=actor, actor_role="rep", action="customers.show_card")
            for actor in actors
        ]
    )
    await batched.flush()
    kept = ["a", "c"] + (["e"] if db.startswith("postgres") else [])
    assert [e.actor for e in await AuditLog.all().order_by("id")] == kept
    assert len(batched) == 0
    assert "an audit entry (customers.show_card by None) was dropped" in caplog.text
    batched.add([plain_row(AuditLog, actor="d", actor_role="rep", action="customers.show_card")])
    await batched.flush()
    assert [e.actor for e in await AuditLog.all().order_by("id")] == [*kept, "d"]


async def test_a_flush_returns_once_a_write_under_way_is_done(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a test or a stopping server flushes may be in the batch's own write
    already: the flush waits for it rather than finding nothing left and returning."""
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_database(rows: list[PlainRow]) -> None:
        started.set()
        await release.wait()
        await insert_rows(rows)

    monkeypatch.setattr(batched_rows, "insert_rows", slow_database)
    batched = BatchedRows()
    batched.add([plain_row(AuditLog, actor="a", actor_role="rep", action="customers.show_card")])
    under_way = asyncio.create_task(batched.flush())
    try:
        await started.wait()
        second = asyncio.create_task(batched.flush())
        await asyncio.sleep(0)
        assert not second.done()
        release.set()
        await second
        assert await AuditLog.filter(actor="a").count() == 1
    finally:
        release.set()
        await under_way
