"""Routing: filters, middlewares and dialog state, through the real webhook."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiohttp.test_utils import TestClient

from bot.app import METRICS, PIPELINE
from bot.context import Context
from bot.conversation import Conversation
from bot.filters import Command, KindIs, Regex, RoleIs, StateIs, split_command
from bot.incoming import Incoming, Kind
from bot.router import Router
from models import AuditLog, Customer, Staff
from models.inbound import load_inbound
from tests.wechat_client import OPENID, WeChatSender, text_xml


def install(client: TestClient, router: Router) -> None:
    client.app[PIPELINE].dispatcher.include_router(router, first=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("绑定 AB12", ("绑定", "AB12")),
        ("绑定　AB12 CD", ("绑定", "AB12 CD")),
        ("  /HELP  ", ("help", "")),
        ("查，张三", ("查", "张三")),
        ("", ("", "")),
        ("帮助。", ("帮助", "")),
    ],
)
def test_split_command(text: str, expected: tuple[str, str]) -> None:
    assert split_command(text) == expected


async def test_role_filter_tells_staff_customer_and_stranger(
    client: TestClient, wechat: WeChatSender
) -> None:
    router = Router("who")

    @router.message(Command("我是谁"), RoleIs("staff"))
    async def staff(msg: Incoming, ctx: Context) -> str:
        return f"员工 {ctx.sender.staff.name}"  # type: ignore[union-attr]

    @router.message(Command("我是谁"), RoleIs("customer"))
    async def customer(msg: Incoming, ctx: Context) -> str:
        return f"客户 {ctx.sender.customer.name}"  # type: ignore[union-attr]

    @router.message(Command("我是谁"))
    async def stranger(msg: Incoming, ctx: Context) -> str:
        return "陌生人"

    install(client, router)
    assert await wechat.say("我是谁") == "陌生人"
    await Customer.create(name="张三", openid="oCustomer")
    assert await wechat.say("我是谁", sender="oCustomer") == "客户 张三"
    await Staff.create(name="王五", role="rep", oa_openid=OPENID)
    assert await wechat.say("我是谁") == "员工 王五"
    # A deactivated staff member is no longer treated as staff.
    await Staff.filter(oa_openid=OPENID).update(active=False)
    assert await wechat.say("我是谁") == "陌生人"


async def test_composed_filters_and_regex_data(client: TestClient, wechat: WeChatSender) -> None:
    router = Router("amount")

    @router.message(KindIs(Kind.TEXT) & Regex(r"(\d+)\s*元") & ~Command("忽略"))
    async def amount(msg: Incoming, ctx: Context) -> str:
        return f"金额 {ctx.data['match'].group(1)}"

    install(client, router)
    assert await wechat.say("一共 300 元") == "金额 300"
    assert await wechat.say("忽略 300 元") != "金额 300"


async def test_dialog_state_routes_the_next_message_and_expires(
    client: TestClient, wechat: WeChatSender
) -> None:
    router = Router("pick")

    @router.message(Command("查"))
    async def ask(msg: Incoming, ctx: Context) -> str:
        await ctx.conversation.set("pick", {"options": ["张三（甲公司）", "张三（乙公司）"]})  # type: ignore[union-attr]
        return "找到 2 位张三，请回复序号 1–2"

    @router.message(StateIs("pick"), Regex(r"^\d$"))
    async def pick(msg: Incoming, ctx: Context) -> str:
        options = ctx.conversation.data["options"]  # type: ignore[union-attr]
        await ctx.conversation.clear()  # type: ignore[union-attr]
        return f"已选择 {options[int(msg.text) - 1]}"

    install(client, router)
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=True):
        assert "序号" in await wechat.say("查 张三")
        assert await wechat.say("2") == "已选择 张三（乙公司）"
        # The dialog is over: "2" no longer means anything special.
        assert not (await wechat.say("2")).startswith("已选择")
        assert "序号" in await wechat.say("查 张三")
    with time_machine.travel(start + timedelta(minutes=11), tick=True):
        assert not (await wechat.say("1")).startswith("已选择")


async def test_conversation_storage_round_trip(db: str) -> None:
    conv = Conversation("oa:someone", ttl=timedelta(minutes=5))
    await conv.set("step", {"n": 1, "名字": "张三"})

    async def resumed() -> Conversation:
        inbound = await load_inbound(
            channel="oa",
            sender="someone",
            user_key="oa:someone",
            message_key="oa:someone:1",
            customer_side=True,
        )
        again = Conversation("oa:someone", ttl=timedelta(minutes=5))
        again.resume(inbound.dialog)
        return again

    again = await resumed()
    assert again.state == "step" and again.data == {"n": 1, "名字": "张三"}
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6)):
        expired = await resumed()
    assert expired.state is None


async def test_handler_error_becomes_an_apology_with_request_id(
    client: TestClient, wechat: WeChatSender, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router("broken")

    @router.message(Command("坏了"))
    async def broken(msg: Incoming, ctx: Context) -> str:
        raise RuntimeError("database exploded")

    install(client, router)
    with caplog.at_level(logging.ERROR, logger="wecrm.handlers"):
        resp = await wechat.post(text_xml("坏了"))
    assert resp.status == 200
    body = await resp.text()
    rid = resp.headers["X-Request-Id"]
    assert "出了点问题" in body and rid in body
    assert "Traceback" not in body and "exploded" not in body
    records = [r for r in caplog.records if r.getMessage() == "handler failed"]
    assert records and records[0].exc_info is not None
    errors = client.app[METRICS].registry.get_sample_value(
        "wecrm_handler_errors_total", {"handler": "broken.broken"}
    )
    assert errors == 1.0


async def test_audit_records_who_did_what(wechat: WeChatSender) -> None:
    await wechat.say("帮助")
    # 帮助 changes nothing and shows nobody's data: not worth an audit row.
    await wechat.audited()
    assert await AuditLog.all().count() == 0
    await wechat.say("投诉 快递三天了还没到")
    entry = await AuditLog.get()
    assert entry.action.startswith("complaints.") and entry.actor.startswith("customer:")
    assert entry.actor_role == "customer" and entry.request_id


async def test_a_glued_command_prefers_the_longest_command_word(
    client: TestClient, wechat: WeChatSender
) -> None:
    router = Router("prefix")

    @router.message(Command("改"))
    async def short(msg: Incoming, ctx: Context) -> str:
        return f"改：{ctx.data['args']}"

    @router.message(Command("改级"))
    async def long(msg: Incoming, ctx: Context) -> str:
        return f"改级：{ctx.data['args']}"

    install(client, router)
    assert await wechat.say("改级TS1") == "改级：TS1"
    assert await wechat.say("改回访周五") == "改：回访周五"


async def test_a_handler_added_after_routing_began_is_found(
    client: TestClient, wechat: WeChatSender
) -> None:
    router = Router("late")
    install(client, router)
    assert await wechat.say("晚到 一句") != "晚到：一句"  # nobody handles it yet

    @router.message(Command("晚到"))
    async def late(msg: Incoming, ctx: Context) -> str:
        return f"晚到：{ctx.data['args']}"

    assert await wechat.say("晚到 一句") == "晚到：一句"
    assert await wechat.say("晚到一句") == "晚到：一句"  # glued, as a phone sends it


async def test_cancel_without_a_dialog_is_answered_plainly(wechat: WeChatSender) -> None:
    assert "没有进行中的操作" in await wechat.say("取消")
