"""WeChat retries a slow message up to 3 times: the handler runs once, every retry
gets the first reply, and a reply that misses the 5-second window goes to the outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import METRICS, PIPELINE
from bot.context import Context
from bot.filters import Command
from bot.incoming import Incoming
from bot.router import Router
from models import AuditLog, Outbox, ProcessedMessage, Staff
from models.complaints import Complaint
from models.enums import ProcessingStatus
from models.staff import create_invite
from tests.conftest import AES_KEY, APP_ID, TOKEN, AppFactory
from tests.wechat_client import OPENID, WeChatSender, next_msg_id, text_xml


class Gate:
    """A handler that counts its runs and waits until the test opens the gate."""

    def __init__(self, reply: str = "慢回复完成") -> None:
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.reply = reply

    def install(self, client: TestClient) -> None:
        self.install_app(client.app)

    def install_app(self, app: web.Application) -> None:
        router = Router("slow")

        @router.message(Command("慢"))
        async def slow(msg: Incoming, ctx: Context) -> str:
            self.runs += 1
            self.started.set()
            await self.release.wait()
            return self.reply

        app[PIPELINE].dispatcher.include_router(router, first=True)


def dedup_hits(client: TestClient) -> float:
    value = client.app[METRICS].registry.get_sample_value(
        "wecrm_dedup_hits_total", {"channel": "oa"}
    )
    return value or 0.0


async def until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Yield to the event loop until ``condition`` holds (bounded)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_sequential_retries_run_the_handler_once(wechat: WeChatSender) -> None:
    invite = await create_invite("rep", "王五", "test", timedelta(hours=1))
    xml = text_xml(f"绑定 {invite.code}")
    replies = [await wechat.send(xml) for _ in range(3)]
    contents = [r["Content"] for r in replies if r]
    assert len(contents) == 3 and len(set(contents)) == 1
    assert "绑定成功" in contents[0]
    assert await Staff.filter(oa_openid=OPENID).count() == 1
    assert await AuditLog.filter(action="staff.bind").count() == 1


async def test_concurrent_retries_wait_for_the_first_reply(client: TestClient) -> None:
    gate = Gate()
    gate.install(client)
    wechat = WeChatSender(client, TOKEN, APP_ID, AES_KEY)
    xml = text_xml("慢")
    first = asyncio.create_task(wechat.send(xml))
    await gate.started.wait()
    retries = [asyncio.create_task(wechat.send(xml)) for _ in range(2)]
    # Open the gate only once both retries are waiting on the first request.
    await until(lambda: dedup_hits(client) == 2)
    gate.release.set()
    replies = await asyncio.gather(first, *retries)
    assert [r["Content"] for r in replies if r] == ["慢回复完成"] * 3
    assert gate.runs == 1
    assert dedup_hits(client) == 2


async def test_retries_in_aes_mode_get_the_same_reply(wechat: WeChatSender) -> None:
    xml = text_xml("投诉 快递三天了还没到")
    replies = await asyncio.gather(*(wechat.send(xml, aes=True) for _ in range(3)))
    assert len({r["Content"] for r in replies if r}) == 1
    assert await ProcessedMessage.all().count() == 1
    assert await Complaint.all().count() == 1


async def test_a_read_only_reply_is_answered_again_and_leaves_no_rows(
    wechat: WeChatSender,
) -> None:
    """帮助 changes nothing: WeChat's retry is simply answered again, with the same
    text, and nothing is written for it — no dedup record, no audit entry."""
    xml = text_xml("帮助")
    replies = await asyncio.gather(*(wechat.send(xml, aes=True) for _ in range(3)))
    assert len({r["Content"] for r in replies if r}) == 1 and all(replies)
    assert await ProcessedMessage.all().count() == 0
    await wechat.audited()
    assert await AuditLog.all().count() == 0


async def test_events_are_deduplicated_by_sender_time_and_event(wechat: WeChatSender) -> None:
    from tests.wechat_client import message_xml

    xml = message_xml("event", create_time=1_700_000_000, Event="subscribe", EventKey="")
    replies = [await wechat.send(xml) for _ in range(2)]
    # CreateTime is the moment of each answer; what the user reads is the same.
    assert replies[0] is not None and replies[1] is not None
    assert replies[0]["Content"] == replies[1]["Content"]
    assert await ProcessedMessage.filter(key=f"oa:{OPENID}:1700000000:subscribe").count() == 1


async def test_different_messages_are_not_deduplicated(wechat: WeChatSender) -> None:
    first = await wechat.say("投诉 快递三天了还没到")
    second = await wechat.say("投诉 发票开错了")
    assert "已收到您的投诉" in first and "已收到您的投诉" in second
    assert await ProcessedMessage.all().count() == 2
    assert await Complaint.all().count() == 2


async def test_slow_handler_answers_success_and_queues_the_reply(
    app_client: AppFactory,
) -> None:
    client = await app_client(bot={"reply_deadline": 0.2})
    gate = Gate("报表已经生成好了")
    gate.install(client)
    wechat = WeChatSender(client, TOKEN, APP_ID, AES_KEY)
    xml = text_xml("慢", msg_id=next_msg_id())

    started = time.monotonic()
    resp = await wechat.post(xml)
    elapsed = time.monotonic() - started
    assert resp.status == 200
    assert await resp.text() == "success"
    # The handler is still blocked: the answer came from the deadline, well inside
    # WeChat's 5 seconds.
    assert gate.runs == 1 and not gate.release.is_set()
    assert elapsed < 5

    # WeChat's retry while the handler is still busy: also "success", no second run.
    retry = await wechat.post(xml)
    assert await retry.text() == "success"
    assert gate.runs == 1

    gate.release.set()
    await client.app[PIPELINE].drain(wait=5)
    rows = await Outbox.all()
    assert len(rows) == 1
    assert rows[0].recipient == OPENID
    assert rows[0].dedup_key.startswith("late:oa:")
    assert rows[0].payload["reply"]["text"] == "报表已经生成好了"
    processed = await ProcessedMessage.get(key__startswith="oa:")
    assert processed.status == ProcessingStatus.LATE

    # A retry after the late reply was queued still must not answer twice.
    again = await wechat.post(xml)
    assert await again.text() == "success"
    assert await Outbox.all().count() == 1


async def test_a_failure_after_the_claim_lets_the_retry_run(
    client: TestClient, wechat: WeChatSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.pipeline as pipeline_module

    async def database_down(*args: object) -> int:
        raise ConnectionError("database went away")

    xml = text_xml("帮助")
    with monkeypatch.context() as patch:
        patch.setattr(pipeline_module, "release_waiting", database_down)
        first = await wechat.post(xml)
    assert first.status == 200  # never a 500 to WeChat
    assert await ProcessedMessage.all().count() == 0  # the claim was given back
    retry = await wechat.send(xml)
    assert retry is not None and "绑定" in retry["Content"]
