"""How many SQL statements a message costs: the hot path's budget, counted (not timed).

Every statement is a round trip on PostgreSQL, so the count is what a rep's message
costs the database. Encrypted callbacks (safe mode) carry no separate replay record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from tortoise import connections

from bot.app import PIPELINE
from models import AuditLog, FollowUp, ProcessedMessage, UndoEntry
from models.messages import SignedUrl
from models.rawsql import dialect
from tests.sales_helpers import REP_A, customer, team
from tests.wechat_client import WeChatSender, text_xml


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(record.getMessage())


@contextmanager
def statements() -> Iterator[list[str]]:
    """The statements Tortoise sends meanwhile (it logs each one at DEBUG)."""
    log = logging.getLogger("tortoise.db_client")
    handler, level = _Statements(), log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    try:
        yield handler.sql
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


async def say_encrypted(wechat: WeChatSender, text: str) -> str:
    reply = await wechat.send(text_xml(text, REP_A), aes=True)
    assert reply is not None
    return reply["Content"]


async def test_help_is_one_read_and_writes_nothing(wechat: WeChatSender) -> None:
    await team()
    with statements() as sql:
        reply = await say_encrypted(wechat, "帮助")
    assert "你可以发送以下命令" in reply
    # Who the sender is, their dialog, waiting pushes, an earlier request: one row.
    assert len(sql) == 1, sql
    assert await ProcessedMessage.all().count() == 0 and await AuditLog.all().count() == 0


async def test_a_follow_up_costs_three_round_trips_on_postgresql(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    wang = await customer("王小明", rep)
    with statements() as sql:
        reply = await say_encrypted(wechat, "跟进 王小明电话聊了报价，下周三回访")
    assert "已记录跟进" in reply
    # The sender; the customer named (read whole while telling name from note); the
    # follow-up, the customer's last contact, the undo step naming the follow-up, the
    # audit entry and the dedup record together — one statement on PostgreSQL, five
    # plain ones on SQLite.
    expected = 3 if dialect() == "postgres" else 7
    assert len(sql) == expected, "\n".join(sql)
    assert await ProcessedMessage.all().count() == 1 and await AuditLog.all().count() == 1
    followup = await FollowUp.get(customer_id=wang.id)
    await wang.refresh_from_db()
    assert wang.last_contact_at == followup.created_at
    # The undo step names the follow-up it would take back.
    assert (await UndoEntry.get(staff_id=rep.id)).target_id == followup.id


async def test_a_plain_mode_callback_records_its_url_without_a_round_trip_of_its_own(
    wechat: WeChatSender,
) -> None:
    await team()
    with statements() as sql:
        reply = await wechat.say("帮助", sender=REP_A)
    assert "你可以发送以下命令" in reply
    # Plain mode signs the URL, not the body: the URL is recorded against replays. On
    # PostgreSQL the sender read does it (an INSERT in a CTE); SQLite has no INSERT
    # inside WITH: the sender read reads the URL's earlier body, and the URLs of many
    # messages are written together a moment later (models.signed_urls).
    assert len(sql) == 1, "\n".join(sql)
    await wechat.client.app[PIPELINE].signed_urls.flush()
    assert await SignedUrl.all().count() == 1


async def test_a_forged_body_is_refused_before_and_after_its_url_is_written(
    wechat: WeChatSender,
) -> None:
    await team()
    pending = wechat.client.app[PIPELINE].signed_urls
    for written in (False, True):
        params = wechat.signed_query()
        body = text_xml("帮助", sender=REP_A).encode()
        assert (await wechat.client.post("/wechat", params=params, data=body)).status == 200
        if written:
            await pending.flush()
            assert len(pending) == 0
        forged = text_xml("绑定 ABCD2345", sender="oAttacker").encode()
        assert (await wechat.client.post("/wechat", params=params, data=forged)).status == 403
        # WeChat's own retry, same URL and body, is still answered.
        assert (await wechat.client.post("/wechat", params=params, data=body)).status == 200


async def test_a_card_reads_each_part_once_and_the_reps_own_follow_ups_need_no_staff_read(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("王小明", rep)
    await say_encrypted(wechat, "跟进 王小明电话聊了报价，下周三回访")
    # The audit entry's batch goes when the test says: not counted by chance.
    wechat.client.app[PIPELINE].batched_rows.delay = 3600
    with statements() as sql:
        reply = await say_encrypted(wechat, "查 王小明")
    assert "【王小明】" in reply and "聊了报价" in reply and "李明" in reply
    # The sender; the name search; follow-ups, open deals, signed total, complaints,
    # owner changes, requests, survey answer and the two grading aggregates (the
    # customer's row is the one the search read) — one statement on PostgreSQL
    # (models.rawsql.together). The audit entry is written after the reply, with
    # others (models.batched_rows).
    assert len(sql) == (3 if dialect() == "postgres" else 11), "\n".join(sql)
    assert not await AuditLog.filter(action="customers.show_card").exists()
    await wechat.audited()
    assert await AuditLog.filter(action="customers.show_card").count() == 1
    # The follow-ups are the viewer's own: their rep is the sender, not read again.
    assert sum('FROM "staff"' in s for s in sql) == 0, "\n".join(sql)


async def test_what_sqlite_runs_for_a_follow_up_has_no_nested_savepoint_and_no_rowid_query(
    wechat: WeChatSender,
) -> None:
    """What SQLite itself executes, seen by its trace hook: the ORM's log misses the
    statements the drivers add (a nested transaction's SAVEPOINT and RELEASE,
    aiosqlite's SELECT last_insert_rowid() after each INSERT)."""
    if dialect() != "sqlite":
        pytest.skip("SQLite's trace hook")
    rep, _, _ = await team()
    await customer("王小明", rep)
    seen: list[str] = []
    raw = connections.get("default")._connection._conn  # type: ignore[attr-defined]
    raw.set_trace_callback(seen.append)
    try:
        reply = await say_encrypted(wechat, "跟进 王小明电话聊了报价，下周三回访")
    finally:
        raw.set_trace_callback(None)
    assert "已记录跟进" in reply
    assert not [s for s in seen if "tortoise_savepoint" in s or "last_insert_rowid" in s], seen
    # The sender; BEGIN and the message's own savepoint in the group commit
    # (bot.sqlite_group); the customer; the follow-up; its last contact, undo
    # step, audit entry, dedup record; RELEASE; COMMIT.
    assert len(seen) == 11, "\n".join(seen)
    assert seen[1:3] == ["BEGIN IMMEDIATE", "SAVEPOINT wecrm_member"], seen
    assert seen[-2:] == ["RELEASE wecrm_member", "COMMIT"], seen


@pytest.mark.parametrize(
    ("text", "saved"),
    [
        ("成交王小明5万监护仪", "已记录成交"),
        ("阶段王小明报价监护仪采购", "已为王小明新建商机"),
        ("生日王小明3月5日", "已记录王小明的生日"),
    ],
)
async def test_a_name_glued_to_the_command_is_read_once(
    wechat: WeChatSender, text: str, saved: str
) -> None:
    rep, _, _ = await team()
    await customer("王小明", rep)
    with statements() as sql:
        reply = await say_encrypted(wechat, text)
    assert saved in reply, reply
    # Telling the name from the rest read the customer's row whole; the command then
    # uses it instead of searching again.
    customer_reads = [s for s in sql if s.lstrip().startswith("SELECT") and 'FROM "customer"' in s]
    assert len(customer_reads) == 1, "\n".join(customer_reads)
