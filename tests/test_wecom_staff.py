"""Staff on WeCom: one person on both channels is one staff row, their pushes go out as
WeCom app messages (text, image, textcard) on the fake Tencent API, WeCom's errors are
handled, and the per-member limits hold across workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient

from bot import db as dbmod
from bot.config import Config
from bot.delivery import Delivery
from bot.incoming import Article, Reply
from bot.metrics import Metrics
from models import Outbox, Staff
from models.enums import OutboxStatus, Role
from models.outbox import enqueue
from models.staff_push import push_to_staff
from scheduler.jobs import briefing
from tests.conftest import AppFactory, make_config, sender_for
from tests.fake_tencent import OA_MEDIA_UPLOAD, WECOM_SEND, FakeTencent
from tests.outbox_helpers import drain
from tests.sales_helpers import REP_A, customer
from tests.test_delivery import sections
from tests.test_migrations_and_cli import run_cli, write_config
from tests.wecom_client import USERID, WeComSender, wecom_section

# A 1×1 PNG: what the digest chart push carries, in miniature.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def wecom_config(db: str, fake: FakeTencent, **extra: dict[str, Any]) -> Config:
    sect = sections(fake, **extra)
    sect["wecom"] |= {
        k: v for k, v in wecom_section().items() if k in ("token", "encoding_aes_key")
    }
    return make_config(db, **sect)


# --- one person, two channels ---------------------------------------------------------------


async def test_link_code_joins_the_official_account_and_wecom(
    app_client: AppFactory, fake_tencent: FakeTencent, db: str
) -> None:
    client: TestClient = await app_client(wecom=wecom_section())
    oa = sender_for(client)
    rep = await Staff.create(name="李明", role=Role.REP, oa_openid=REP_A)
    await customer("周杰", rep)
    answer = await oa.say("关联", REP_A)
    assert "绑定" in answer and "企业微信" in answer
    code = answer.split("绑定 ")[1].split()[0]
    wecom = WeComSender(client)
    linked = await wecom.say(f"绑定 {code}")
    assert "关联成功" in linked and "公众号和企业微信" in linked and "企业微信" in linked
    assert await Staff.all().count() == 1  # the same row, not a second 李明
    me = await Staff.get(id=rep.id)
    assert me.oa_openid == REP_A and me.wecom_userid == USERID
    # The same customers on either side.
    assert "共有 1 位客户" in await wecom.say("我的客户")
    assert "周杰" in await wecom.say("查 周杰")
    # …and pushes now go to WeCom.
    cfg = wecom_config(db, fake_tencent)
    assert await push_to_staff(me, "提醒：今天回访周杰", "t:1", cfg)
    await drain(cfg)
    assert [m["touser"] for m in fake_tencent.sent_to(WECOM_SEND)] == [USERID]
    # A link code is single use, like an invite.
    again = await WeComSender(client).say(f"绑定 {code}", userid="someoneelse")
    assert "已经被使用" in again


# --- pushes as app messages --------------------------------------------------------------------


async def test_a_rep_bound_on_wecom_gets_the_briefing_as_an_app_message(
    db: str, fake_tencent: FakeTencent
) -> None:
    rep = await Staff.create(name="张三", role=Role.REP, wecom_userid=USERID)
    c = await customer("周杰", rep)
    from datetime import date

    from models import FollowUp

    await FollowUp.create(
        customer=c, rep=rep, method="phone", content="报价", next_revisit_on=date(2026, 12, 3)
    )
    cfg = wecom_config(db, fake_tencent)
    await briefing(cfg, datetime(2026, 12, 3, 0, 30, tzinfo=UTC))
    await drain(cfg)
    sent = fake_tencent.sent_to(WECOM_SEND)
    assert len(sent) == 1 and sent[0]["touser"] == USERID and sent[0]["msgtype"] == "text"
    assert "周杰" in sent[0]["text"]["content"] and sent[0]["agentid"] == 1000002


async def test_an_image_push_is_uploaded_to_wecom_then_sent(
    db: str, fake_tencent: FakeTencent
) -> None:
    rep = await Staff.create(name="陈静", role=Role.MANAGER, wecom_userid="chenjing")
    cfg = wecom_config(db, fake_tencent)
    assert await push_to_staff(rep, "今日日报", "digest:1", cfg, image=(PNG, "digest.png"))
    await drain(cfg)
    uploads = fake_tencent.calls_to(OA_MEDIA_UPLOAD)  # one path on both platforms
    assert len(uploads) == 1 and uploads[0].files["media"] == ("digest.png", len(PNG))
    assert uploads[0].query["access_token"].startswith("FAKE_WECOM")
    sent = fake_tencent.sent_to(WECOM_SEND)
    assert sent[0]["msgtype"] == "image" and sent[0]["image"]["media_id"].startswith("FAKE_MEDIA")


async def test_a_news_reply_with_a_link_becomes_a_textcard(
    db: str, fake_tencent: FakeTencent
) -> None:
    cfg = wecom_config(db, fake_tencent)
    delivery = Delivery(cfg, Metrics())
    delivery.build()
    try:
        assert delivery.wecom is not None
        art = Article(
            title="投诉 TS20261203001 即将超时", description="客户：周杰", url="https://e.x/t"
        )
        await delivery.wecom.send_app_message(USERID, Reply(kind="news", articles=[art]))
    finally:
        await delivery.close()
    card = fake_tencent.sent_to(WECOM_SEND)[0]
    assert card["msgtype"] == "textcard" and card["textcard"]["url"] == "https://e.x/t"


# --- WeCom's errors ------------------------------------------------------------------------


async def test_an_unknown_member_fails_once_without_retries(
    db: str, fake_tencent: FakeTencent
) -> None:
    fake_tencent.invalid_members.add("ghost")
    await enqueue("t:ghost", "wecom", "ghost", {"reply": {"text": "提醒"}})
    cfg = wecom_config(db, fake_tencent)
    await drain(cfg)
    row = await Outbox.get(dedup_key="t:ghost")
    assert row.status == OutboxStatus.FAILED and "invalid user" in row.last_error
    assert len(fake_tencent.calls_to(WECOM_SEND)) == 1


async def test_an_expired_wecom_token_is_fetched_again_once(
    db: str, fake_tencent: FakeTencent
) -> None:
    from tests.fake_tencent import WECOM_TOKEN

    cfg = wecom_config(db, fake_tencent)
    await enqueue("t:1", "wecom", USERID, {"reply": {"text": "一"}})
    await drain(cfg)
    fake_tencent.expire_tokens()  # every token now answers 42001/40001
    await enqueue("t:2", "wecom", USERID, {"reply": {"text": "二"}})
    await drain(cfg)
    assert [m["text"]["content"] for m in fake_tencent.sent_to(WECOM_SEND)] == ["一", "二"]
    assert len(fake_tencent.calls_to(WECOM_TOKEN)) == 2


@pytest.mark.parametrize("code", [45009, 45011, 45033])
async def test_rate_limit_errors_back_off(db: str, fake_tencent: FakeTencent, code: int) -> None:
    fake_tencent.fail_next(WECOM_SEND, code)
    await enqueue("t:busy", "wecom", USERID, {"reply": {"text": "提醒"}})
    cfg = wecom_config(db, fake_tencent)
    start = datetime.now(UTC)
    await drain(cfg)
    row = await Outbox.get(dedup_key="t:busy")
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at - start >= timedelta(minutes=15)
    assert fake_tencent.sent_to(WECOM_SEND) == []


async def test_member_limit_holds_across_two_workers(db: str, fake_tencent: FakeTencent) -> None:
    for i in range(8):
        await enqueue(f"t:lim:{i}", "wecom", USERID, {"reply": {"text": f"提醒{i}"}})
    cfg = wecom_config(
        db, fake_tencent, wecom={"per_member_per_minute": 3}, outbox={"batch_size": 2}
    )
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        await drain(cfg, workers=2)
    # WeCom drops what is over its limit silently: we must not send a 4th in the minute.
    assert len(fake_tencent.sent_to(WECOM_SEND)) == 3
    waiting = await Outbox.filter(status=OutboxStatus.PENDING)
    assert len(waiting) == 5 and all(r.attempts == 0 for r in waiting)
    assert all(r.next_attempt_at >= start + timedelta(seconds=59) for r in waiting)
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        await drain(cfg, workers=2)
    assert len(fake_tencent.sent_to(WECOM_SEND)) == 6


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_adds_lists_and_deactivates_wecom_staff(db_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db_url))
    assert run_cli("--config", config, "migrate").returncode == 0

    async def existing() -> int:
        ctx = await dbmod.connect(db_url)
        try:
            rep = await Staff.create(name="李明", role=Role.REP, oa_openid=REP_A)
            return rep.id
        finally:
            await dbmod.close(ctx)

    li_id = asyncio.run(existing())
    new = run_cli(
        "--config", config, "staff", "add", "--wecom-userid", "zhangsan",
        "--role", "rep", "--name", "张三",
    )  # fmt: skip
    assert new.returncode == 0 and "added staff" in new.stdout, new.stderr
    # Same name as the one on the Official Account: the same person, one row.
    linked = run_cli(
        "--config", config, "staff", "add", "--wecom-userid", "liming",
        "--role", "rep", "--name", "李明",
    )  # fmt: skip
    assert linked.returncode == 0 and f"linked to existing staff #{li_id}" in linked.stdout
    taken = run_cli(
        "--config", config, "staff", "add", "--wecom-userid", "liming",
        "--role", "rep", "--name", "张三", "--staff", str(li_id + 1),
    )  # fmt: skip
    assert taken.returncode == 1 and "already belongs" in taken.stderr
    listing = run_cli("--config", config, "staff", "list")
    assert "oa=" in listing.stdout and "wecom=liming" in listing.stdout
    assert "wecom=zhangsan" in listing.stdout
    gone = run_cli("--config", config, "staff", "deactivate", str(li_id))
    assert gone.returncode == 0 and "deactivated" in gone.stdout

    async def rows() -> list[tuple[str, bool]]:
        ctx = await dbmod.connect(db_url)
        try:
            return [(s.name, s.active) for s in await Staff.all().order_by("id")]
        finally:
            await dbmod.close(ctx)

    assert asyncio.run(rows()) == [("李明", False), ("张三", True)]
    # Not 999: ids run on across the suite's tests (SQLite does not reuse them).
    missing = run_cli("--config", config, "staff", "deactivate", "2147483000")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


# --- the simulator shows a rep on WeCom -----------------------------------------------------


async def test_simulator_speaks_as_a_wecom_member_and_shows_their_pushes(
    app_client: AppFactory, db: str
) -> None:
    await Staff.create(name="张伟", role=Role.REP, wecom_userid="zhangwei")
    sect: dict[str, dict[str, Any]] = {
        "simulator": {"enabled": True},
        "wecom": {"corp_id": "wwdemo00000000000"},
    }
    client: TestClient = await app_client(**sect)
    ids = await (await client.get("/simulator/api/identities")).json()
    assert {"id": "wecom:zhangwei", "label": "张伟（销售 · 企业微信）", "role": "rep"} in ids
    resp = await client.post(
        "/simulator/api/send", json={"identity": "wecom:zhangwei", "text": "帮助"}
    )
    assert "跟进" in (await resp.json())["reply"]["text"]
    cfg = make_config(db, **sect)
    me = await Staff.get(wecom_userid="zhangwei")
    assert await push_to_staff(me, "今日日报", "digest:sim", cfg, image=(PNG, "digest.png"))
    await drain(cfg)  # no WeCom app in a demo: delivered to the simulator page
    assert (await Outbox.get(dedup_key="digest:sim")).status == OutboxStatus.SENT
    pushes = await (
        await client.get("/simulator/api/pushes", params={"identity": "wecom:zhangwei"})
    ).json()
    shown = pushes[0]["reply"]
    assert shown["kind"] == "image" and shown["text"] == "今日日报"
    assert shown["image_url"].startswith("data:image/png;base64,iVBORw0KGgo")
