"""Care campaigns (issue #16): segments on a generated book, the preview equal to what is
sent, opt-out and the frequency cap, a campaign sent twice prompting once, reps' marks
as follow-ups, and the report's numbers against hand-counted ones — in chat, through the
service and on the command line."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from bot.parsing.intent import Intent, classify
from models import Complaint, Customer, FollowUp, Outbox, Staff
from models.campaigns.report import campaign_report
from models.campaigns.segments import parse_segment, vocabulary
from models.campaigns.service import create_campaign, preview, send
from models.campaigns.tables import Campaign, CampaignContact, CampaignKind, CampaignStatus
from models.enums import Grade, Lifecycle, Tier
from scheduler.jobs import preview_digest
from tests.conftest import make_config
from tests.message_helpers import voice
from tests.sales_helpers import MANAGER, REP_A, REP_B, customer, team
from tests.test_migrations_and_cli import run_cli, write_config
from tests.wechat_client import OPENID, WeChatSender

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Thursday 3 December 2026, 10:00 in Shanghai.
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
INDUSTRIES = ["餐饮", "零售", "制造", ""]


async def prompts() -> list[Outbox]:
    return await Outbox.filter(dedup_key__startswith="campaign:").order_by("id")


def text_of(row: Outbox) -> str:
    return str(row.payload["reply"]["text"])


# --- a generated book --------------------------------------------------------------------


async def generated_book(n: int = 240) -> tuple[list[Staff], list[Customer]]:
    """Customers with every kind of attribute, drawn from a fixed seed; a departed rep
    and customers nobody owns among them."""
    a, b, m = await team()
    gone = await Staff.create(name="王离", role="rep", active=False)
    rng = random.Random(16)
    rows = []
    for i in range(n):
        rows.append(
            Customer(
                name=f"客户{i:03d}",
                grade=rng.choice(list(Grade)),
                lifecycle=rng.choice(list(Lifecycle)),
                tier=rng.choice([None, None, *Tier]),
                industry=rng.choice(INDUSTRIES),
                category=rng.choice(["设备", "耗材"]),
                size=rng.choice(["大型", "小型"]),
                owner_id=rng.choice([a.id, a.id, b.id, m.id, gone.id, None]),
                birthday_month=rng.choice([None, 11, 12]),
                birthday_day=rng.randint(1, 28),
                birthday_lunar=rng.random() < 0.2,
                opted_out_at=NOW if rng.random() < 0.1 else None,
            )
        )
    await Customer.bulk_create(rows)
    return [a, b, m, gone], await Customer.all().order_by("id")


def expected(customers: list[Customer], **want: Any) -> set[int]:
    """The segment counted by hand, opted-out customers left out."""
    found = set()
    for c in customers:
        if c.opted_out_at is not None:
            continue
        if "grades" in want and c.grade not in want["grades"]:
            continue
        if "lifecycles" in want and c.lifecycle not in want["lifecycles"]:
            continue
        if "industries" in want and c.industry not in want["industries"]:
            continue
        if "owners" in want and c.owner_id not in want["owners"]:  # type: ignore[attr-defined]
            continue
        if want.get("any_tier") and c.tier is None:
            continue
        if "tiers" in want and c.tier not in want["tiers"]:
            continue
        if "sizes" in want and c.size not in want["sizes"]:
            continue
        found.add(c.id)
    return found


async def test_segments_select_what_is_counted_by_hand_and_send_what_was_previewed(
    db: str,
) -> None:
    (a, _b, m, gone), book = await generated_book()
    cfg = make_config(db, campaigns={"max_contacts_per_month": 0})
    vocab = await vocabulary()
    today = NOW.date()
    cases = [
        ("VIP 餐饮", {"grades": [Grade.VIP], "industries": ["餐饮"]}),
        ("VIP普通 活跃", {"grades": [Grade.VIP, Grade.NORMAL], "lifecycles": [Lifecycle.ACTIVE]}),
        ("大客户 零售", {"any_tier": True, "industries": ["零售"]}),
        ("重要大客户 大型", {"tiers": [Tier.KEY], "sizes": ["大型"]}),
        ("李明的 沉默客户", {"owners": [a.id], "lifecycles": [Lifecycle.DORMANT]}),
        ("全部客户", {}),
    ]
    for words, want in cases:
        segment, rest = parse_segment(words, vocab, today)
        assert rest == "", words
        campaign = await create_campaign(CampaignKind.RECOMMEND, f"新品{words}", segment)
        seen = await preview(campaign, cfg, NOW)
        hand = expected(book, **want)
        assert seen.customers == len(hand), words
        opted = {c.id for c in book if c.opted_out_at is not None}
        assert seen.opted_out == len(expected_all(book, want) & opted), words
        sent = await send(campaign, cfg, NOW)
        got = set(
            await CampaignContact.filter(campaign_id=campaign.id).values_list(
                "customer_id", flat=True
            )
        )
        assert got == hand, words
        assert sent.preview.customers == seen.customers
        # Customers of the departed rep and unowned ones go to the manager who is
        # on the campaign (none here: the first manager).
        orphans = {
            c.id
            for c in book
            if c.id in hand and c.owner_id in (None, gone.id)  # type: ignore[attr-defined]
        }
        to_manager = set(
            await CampaignContact.filter(campaign_id=campaign.id, rep_id=m.id).values_list(
                "customer_id", flat=True
            )
        )
        assert orphans <= to_manager
        assert seen.unowned == len(orphans)


def expected_all(book: list[Customer], want: dict[str, Any]) -> set[int]:
    """The segment before opt-outs are taken out."""
    everyone = [
        Customer(**{**{f: getattr(c, f) for f in c._meta.db_fields}, "opted_out_at": None})
        for c in book
    ]
    return expected(everyone, **want)


async def test_a_birthday_month_counts_solar_and_lunar_birthdays(db: str) -> None:
    from bot.parsing.birthdays import Birthday

    rep, _, _ = await team()
    await customer("阳历十二月", rep, birthday=Birthday(12, 20))
    await customer("阳历十一月", rep, birthday=Birthday(11, 20))
    # 农历十一月初十 2026 is 18 December: a December birthday this year.
    await customer("农历十一月", rep, birthday=Birthday(11, 10, lunar=True))
    await customer("农历二月", rep, birthday=Birthday(2, 10, lunar=True))
    segment, _ = parse_segment("生日 12月", await vocabulary(), NOW.date())
    campaign = await create_campaign(CampaignKind.RECOMMEND, "寿礼", segment)
    cfg = make_config(db)
    await send(campaign, cfg, NOW)
    names = await CampaignContact.filter(campaign_id=campaign.id).values_list(
        "customer__name", flat=True
    )
    assert sorted(names) == ["农历十一月", "阳历十二月"]


# --- chat: preview, send once, opt-out, cap --------------------------------------------------


async def _small_book() -> tuple[Staff, Staff, Staff]:
    a, b, m = await team()
    for name, owner, grade, industry in [
        ("张三", a, Grade.VIP, "餐饮"),
        ("李四", a, Grade.VIP, "餐饮"),
        ("王五", a, Grade.VIP, "餐饮"),
        ("赵六", b, Grade.VIP, "餐饮"),
        ("孙七", b, Grade.NORMAL, "餐饮"),
        ("周八", b, Grade.VIP, "零售"),
    ]:
        c = await customer(name, owner, grade=grade, company=f"{name}饭店")
        await Customer.filter(id=c.id).update(industry=industry, lifecycle=Lifecycle.ACTIVE)
    return a, b, m


async def test_a_manager_previews_then_sends_once(wechat: WeChatSender, db: str) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        shown = await wechat.say("推荐 新品净水器 给 VIP 餐饮 说明：首批客户八折", MANAGER)
        assert "4 位客户，2 位销售" in shown and "发送吗" in shown
        assert "李明 3、张伟 1" in shown
        assert await prompts() == []  # nothing before the answer
        done = await wechat.say("是", MANAGER)
    assert "已发给 2 位销售，共 4 位客户" in done
    rows = await prompts()
    assert sorted(r.recipient for r in rows) == sorted([REP_A, REP_B])
    mine = text_of(next(r for r in rows if r.recipient == REP_A))
    assert "新品推荐「新品净水器」" in mine and "这 3 位客户" in mine
    assert "首批客户八折" in mine and "您好！我们新推出了新品净水器" in mine
    assert "张三（张三饭店） · VIP" in mine and "赵六" not in mine
    assert "已推荐 " in mine
    # The same campaign again (CLI, a second scheduler, a double tap): no second prompt.
    campaign = await Campaign.get(title="新品净水器")
    again = await send(campaign, make_config(db), NOW.astimezone(UTC))
    assert again.already_sent and again.prompts == 0
    assert len(await prompts()) == 2
    assert await CampaignContact.filter(campaign_id=campaign.id).count() == 4


async def test_no_means_no_and_with_the_briefing_waits_for_it(wechat: WeChatSender) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        await wechat.say("推荐 新品A 给 VIP 餐饮", MANAGER)
        dropped = await wechat.say("否", MANAGER)
        assert "不发了" in dropped
        shown = await wechat.say("活动 12月20日 答谢会 给 活跃 欢迎带家人", MANAGER)
        assert "活动邀请「答谢会」12月20日（周日）" in shown and "6 位客户" in shown
        assert "明天 08:30 的早报" in shown
        later = await wechat.say("早报", MANAGER)
    assert "将随 12月4日 08:30 的早报发给 2 位销售" in later
    assert (await Campaign.get(title="新品A")).status == CampaignStatus.CANCELLED
    rows = await prompts()
    assert len(rows) == 2
    for row in rows:
        # Bulk pushes are spread off the hour mark: from 08:33 on.
        local = row.next_attempt_at.astimezone(SHANGHAI)
        assert local.date() == NOW.date() + timedelta(days=1) and local.hour == 8
    assert "报名了" in text_of(rows[0]) and "诚邀您参加" in text_of(rows[0])


async def test_a_rep_does_not_start_campaigns(wechat: WeChatSender) -> None:
    await _small_book()
    reply = await wechat.say("推荐 新品A 给 VIP", REP_A)
    assert "主管" in reply and await Campaign.all().count() == 0
    assert "只对主管开放" in await wechat.say("活动报告", REP_A)


async def test_bad_input_gets_a_clear_answer(wechat: WeChatSender) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        assert "要发给哪些客户" in await wechat.say("推荐 新品A", MANAGER)
        assert "要发给哪些客户" in await wechat.say("推荐 新品A 给 火星人", MANAGER)
        assert "日期" in await wechat.say("活动 答谢会 给 VIP", MANAGER)
        assert "已经过去" in await wechat.say("活动 2026-11-01 答谢会 给 VIP", MANAGER)
        assert "没有叫「老朋友」的名单" in await wechat.say("推荐 新品A 给 名单 老朋友", MANAGER)
        nobody = await wechat.say("推荐 新品A 给 潜在 餐饮", MANAGER)
    assert "没有符合条件的客户" in nobody and "没有发出" in nobody
    assert await prompts() == []


async def test_opt_out_from_the_customer_and_on_the_card(wechat: WeChatSender) -> None:
    await _small_book()
    zhang = await Customer.get(name="张三")
    await Customer.filter(id=zhang.id).update(openid=OPENID)
    assert classify("不要再发了") is Intent.OPT_OUT
    assert classify("别再联系我") is Intent.OPT_OUT
    with time_machine.travel(NOW, tick=False):
        reply = await wechat.say("以后别再给我发这些了")
        assert "已为您退订" in reply
        assert "已经退订" in await wechat.say("退订")
        assert await Complaint.all().count() == 0  # not taken for a complaint
        set_by_rep = await wechat.say("免打扰 李四", REP_A)
        assert "已将李四设为免打扰" in set_by_rep
        assert "只有负责人或主管" in await wechat.say("免打扰 赵六", REP_A)
        card = await wechat.say("查 李四", REP_A)
        assert "免打扰：12月3日起不接收活动和推荐" in card
        shown = await wechat.say("推荐 新品B 给 VIP 餐饮", MANAGER)
    assert "2 位客户" in shown and "2 位已退订（免打扰）" in shown
    with time_machine.travel(NOW, tick=False):
        await wechat.say("是", MANAGER)
        assert "已取消李四的免打扰" in await wechat.say("取消免打扰 李四", REP_A)
        assert "恢复订阅" in await wechat.say("恢复订阅")
    contacts = await CampaignContact.all().values_list("customer__name", flat=True)
    assert sorted(contacts) == ["王五", "赵六"]
    assert (await Customer.get(name="张三")).opted_out_at is None


async def test_the_frequency_cap_is_applied_and_said_in_the_preview(wechat: WeChatSender) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        await wechat.say("推荐 新品A 给 VIP 餐饮", MANAGER)
        await wechat.say("是", MANAGER)
    with time_machine.travel(NOW + timedelta(days=10), tick=False):
        await wechat.say("推荐 新品B 给 VIP", MANAGER)
        await wechat.say("是", MANAGER)
    with time_machine.travel(NOW + timedelta(days=20), tick=False):
        third = await wechat.say("推荐 新品C 给 VIP 普通", MANAGER)
    # 张三 李四 王五 赵六 had two prompts within 30 days; 周八 one, 孙七 none.
    assert "2 位客户" in third and "4 位近 30 天已收到 2 次活动（频次上限）" in third
    with time_machine.travel(NOW + timedelta(days=20), tick=False):
        await wechat.say("是", MANAGER)
    c = await Campaign.get(title="新品C")
    names = await CampaignContact.filter(campaign_id=c.id).values_list("customer__name", flat=True)
    assert sorted(names) == ["周八", "孙七"]
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        later = await wechat.say("推荐 新品D 给 VIP 餐饮", MANAGER)
    # 30 days after the first one, only the second prompt counts.
    assert "4 位客户" in later and "频次上限" not in later


# --- marks and the report -----------------------------------------------------------------


async def test_marks_are_follow_ups_and_the_report_adds_up(wechat: WeChatSender, db: str) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        await wechat.say("活动 12月20日 答谢会 给 餐饮", MANAGER)
        await wechat.say("是", MANAGER)
        said = {
            "已邀请 张三": "已邀请",
            "李四有兴趣": "有兴趣",
            "王五 报名了": "已报名",
            "张三说报名了": "已报名",
            "赵六 不感兴趣。": "不感兴趣",
        }
        for text, state in said.items():
            sender = REP_B if text.startswith("赵六") else REP_A
            reply = await wechat.say(text, sender)
            assert state in reply and "也记为一次跟进" in reply, (text, reply)
        assert "没有重复记录" in await wechat.say("李四 有兴趣", REP_A)
        spoken = await wechat.send(voice("王五成交了。", REP_A))  # voice: no spaces, a full stop
        assert spoken is not None
        converted = spoken["Content"]
        assert "已成交" in converted and "成交 王五 金额" in converted
        # A later, lesser mark does not undo a sale.
        await wechat.say("王五 有兴趣", REP_A)
        assert "不在你进行中的活动客户里" in await wechat.say("已邀请 周八", REP_A)
        assert "不在你进行中的活动客户里" in await wechat.say("赵六 报名了", REP_A)
        mine = await wechat.say("活动", REP_A)
        report = await wechat.say("活动报告", MANAGER)
    assert "张三" in mine and "已报名" in mine and "王五" in mine and "已成交" in mine
    # Hand count — 李明: 张三 (signed up), 李四 (interested), 王五 (converted);
    # 张伟: 赵六 (declined), 孙七 (not marked).
    assert "· 李明：3 位，已邀请 3，有兴趣 3，报名 2，成交 1" in report
    assert "· 张伟：2 位，已邀请 1，有兴趣 0，报名 0，成交 0" in report
    assert "合计：已邀请 4，有兴趣 3，报名 2，成交 1" in report
    r = await campaign_report(await Campaign.get(title="答谢会"))
    assert (r.total.prompted, r.total.reached, r.total.converted, r.total.declined) == (5, 4, 1, 1)
    # Each news-bearing mark is a follow-up (the repeated one and the lesser one are not).
    assert await FollowUp.filter(content__contains="答谢会").count() == 6
    assert (await Customer.get(name="李四")).last_contact_at is not None
    # The digest shows running campaigns.
    digest = await preview_digest(make_config(db), NOW.astimezone(UTC))
    assert "进行中的活动：" in digest
    assert "活动邀请「答谢会」12月20日（周日）：5 位，已邀请 4，有兴趣 3，报名 2，成交 1" in digest
    # After its end (event day + 7) it is no longer running: marks are refused.
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        assert "没有进行中的活动" in await wechat.say("已邀请 孙七", REP_B)
    later = await preview_digest(make_config(db), (NOW + timedelta(days=30)).astimezone(UTC))
    assert "进行中的活动" not in later


async def test_a_saved_list_is_used_by_name(wechat: WeChatSender) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        saved = await wechat.say("名单 保存 老客户 VIP 餐饮", MANAGER)
        assert "已保存名单「老客户」：VIP · 餐饮" in saved
        assert "老客户：VIP · 餐饮" in await wechat.say("名单", MANAGER)
        shown = await wechat.say("推荐 新品A 给 名单 老客户 说明：限量", MANAGER)
        narrowed = await wechat.say("推荐 新品B 给 名单老客户 张伟的", MANAGER)
    assert "4 位客户" in shown and "名单「老客户」" in shown
    assert "1 位客户" in narrowed


async def test_the_cli_creates_previews_sends_and_reports(db: str, tmp_path: Path) -> None:
    await _small_book()
    config = str(write_config(tmp_path, db))
    created = run_cli(
        "--config", config, "campaign", "create", "--title", "新品A", "--to", "VIP 餐饮"
    )
    assert created.returncode == 0, created.stderr
    assert "created (draft)" in created.stdout and "4 位客户，2 位销售" in created.stdout
    cid = str((await Campaign.get(title="新品A")).id)
    shown = run_cli("--config", config, "campaign", "preview", cid)
    assert "4 位客户，2 位销售" in shown.stdout
    sent = run_cli("--config", config, "campaign", "send", cid)
    assert sent.returncode == 0 and "4 customers, 2 prompt(s) queued" in sent.stdout
    again = run_cli("--config", config, "campaign", "send", cid)
    assert "sent already" in again.stdout
    report = run_cli("--config", config, "campaign", "report", cid)
    assert "· 李明：3 位，已推荐 0，有兴趣 0，成交 0" in report.stdout
    bad = run_cli("--config", config, "campaign", "create", "--title", "X", "--to", "火星人")
    assert bad.returncode == 1 and "no segment" in bad.stderr
    listed = run_cli("--config", config, "campaign", "list")
    assert "新品推荐「新品A」" in listed.stdout
    assert len(await prompts()) == 2


async def test_phone_chinese_without_spaces(wechat: WeChatSender) -> None:
    await _small_book()
    with time_machine.travel(NOW, tick=False):
        glued = await wechat.say("活动12月20日答谢会给活跃客户欢迎参加。", MANAGER)
        assert "活动邀请「答谢会」12月20日（周日） · 客户范围：活跃" in glued
        assert "6 位客户，2 位销售" in glued
        await wechat.say("是的。", MANAGER)
        assert "欢迎参加" in text_of((await prompts())[0])
        # 「推荐了李四」 is a mark, not the command 「推荐」.
        assert "已记下：李四" in await wechat.say("推荐了李四", REP_A)
        assert "已记下：张三" in await wechat.say("张三，报名了", REP_A)
        assert "已记下：王五" in await wechat.say("王五说很感兴趣", REP_A)
    c = await Campaign.get(title="答谢会")
    assert c.note.rstrip("。") == "欢迎参加" and c.segment_label == "活跃"


async def test_a_long_prompt_names_the_first_customers_and_counts_the_rest(db: str) -> None:
    await _small_book()
    segment, _ = parse_segment("餐饮", await vocabulary(), NOW.date())
    campaign = await create_campaign(CampaignKind.RECOMMEND, "新品A", segment)
    await send(campaign, make_config(db, campaigns={"prompt_max_lines": 2}), NOW)
    mine = text_of(await Outbox.get(recipient=REP_A, dedup_key__startswith="campaign:"))
    listed = mine.split("客户：\n")[1].split("……")[0].splitlines()
    assert "这 3 位客户" in mine and [line[:3] for line in listed] == ["1. ", "2. "]
    assert "……还有 1 位，发送「活动」查看全部。" in mine


async def test_at_night_the_prompts_wait_and_unowned_customers_go_to_the_manager(
    wechat: WeChatSender,
) -> None:
    await _small_book()
    await customer("散客", None, grade=Grade.VIP)
    night = datetime(2026, 12, 3, 22, 30, tzinfo=SHANGHAI)
    with time_machine.travel(night, tick=False):
        shown = await wechat.say("推荐 新品A 给 VIP", MANAGER)
        assert "6 位客户，3 位销售" in shown and "其中 1 位没有负责销售，交给陈静" in shown
        done = await wechat.say("是", MANAGER)
        assert "现在是免打扰时段，明天 08:00 送达" in done
        listed = await wechat.say("活动", MANAGER)
    assert "最近的活动" in listed and "散客" in listed and "待发送" in listed
    rows = await prompts()
    assert {r.recipient for r in rows} == {REP_A, REP_B, MANAGER}
    for row in rows:
        local = row.next_attempt_at.astimezone(SHANGHAI)
        assert local.date() == night.date() + timedelta(days=1) and local.hour == 8
