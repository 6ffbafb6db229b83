"""The managers' digest: figures against hand-computed values on a small history (both
databases), the text a manager reads, the chart (a PNG of the right size whose Chinese
is drawn by a CJK font), rights, and the daily push to a manager on WeCom."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.config import Config
from models import Complaint, Customer, FollowUp, KpiSnapshot, Outbox, Staff
from models.deals import Deal, move_stage, record_deal
from models.digest import build_digest
from models.digest_chart import SIZE, render_png, resolved_font
from models.digest_text import render_digest
from models.enums import ComplaintStatus, DealStage, Grade, Lifecycle, Role
from models.periods import (
    Period,
    compared_period,
    day_period,
    last_month_period,
    last_week_period,
    month_period,
    week_period,
)
from scheduler.jobs import digest as digest_job
from tests.conftest import make_config
from tests.fake_tencent import OA_MEDIA_UPLOAD, WECOM_SEND, FakeTencent
from tests.outbox_helpers import drain
from tests.sales_helpers import MANAGER, REP_A, customer, team
from tests.test_delivery import sections
from tests.wechat_client import WeChatSender

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 19, 0, tzinfo=SH)
YESTERDAY = datetime(2026, 12, 2, 15, 0, tzinfo=SH)


def utc(*parts: int) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    return datetime(*parts, tzinfo=SH).astimezone(UTC)  # type: ignore[misc]


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


async def history() -> tuple[Staff, Staff, Staff]:
    """Two reps and a manager, four customers, a day's work and the day before."""
    a, b, m = await team()  # 李明, 张伟, 陈静
    with at(datetime(2026, 11, 1, 10, 0, tzinfo=SH)):
        zhou = await customer("周杰", a, grade=Grade.VIP)
        wang = await customer("王芳", b, grade=Grade.VIP, company="华东精密")
        await FollowUp.create(
            customer=wang, rep=b, method="phone", content="报价", next_revisit_on=date(2026, 11, 20)
        )
        await Deal.create(
            customer=zhou, owner=a, amount=10000, stage=DealStage.SIGNED,
            closed_on=date(2026, 11, 2),
        )  # fmt: skip
    with at(YESTERDAY):
        zhao = await customer("赵磊", b)
        await FollowUp.create(customer=zhou, rep=a, method="phone", content="问需求")
        await record_deal(zhao, b, Decimal(20000), "", 1, YESTERDAY.date())
        old = await Complaint.create(
            ticket_no="TS202611300001", customer=wang, content="发货慢",
            first_reply_due=YESTERDAY, resolve_due=YESTERDAY + timedelta(days=5),
        )  # fmt: skip
        # A queryset update() stores datetimes as given: hand it UTC, as the code does.
        await Complaint.filter(id=old.id).update(
            created_at=utc(2026, 11, 30, 9),
            first_replied_at=utc(2026, 12, 2, 10),
            resolved_at=utc(2026, 12, 2, 16),
            status=ComplaintStatus.CLOSED,
            rating=4,
            rated_at=utc(2026, 12, 2, 17),
        )
    with at(NOW - timedelta(hours=3)):
        li = await customer("李娜", a)
        await FollowUp.create(customer=zhou, rep=a, method="visit", content="签约")
        await FollowUp.create(customer=li, rep=a, method="wechat", content="介绍产品")
        await FollowUp.create(customer=zhao, rep=b, method="phone", content="回访")
        await record_deal(zhou, a, Decimal(50000), "监护仪", 1, NOW.date())
        await move_stage(li, a, DealStage.QUOTE, NOW.date(), name="血压计")
        await Complaint.create(
            ticket_no="TS202612030001", customer=wang, content="质量问题",
            first_reply_due=NOW + timedelta(hours=2), resolve_due=NOW + timedelta(days=7),
        )  # fmt: skip
    contact = {
        "周杰": (NOW, Lifecycle.ACTIVE),
        "李娜": (NOW, Lifecycle.POTENTIAL),
        "赵磊": (NOW, Lifecycle.ACTIVE),
        "王芳": (datetime(2026, 11, 1, 10, 0, tzinfo=SH), Lifecycle.DORMANT),
    }
    for name, (last, life) in contact.items():
        await Customer.filter(name=name).update(
            last_contact_at=last.astimezone(UTC), lifecycle=life
        )
    return a, b, m


def cfg(db: str) -> Config:
    return make_config(db)


async def test_figures_against_hand_computed_values(db: str) -> None:
    await history()
    with at(NOW):
        d = await build_digest(day_period(NOW.date()), cfg(db), keep_snapshot=False)
    f, p = d.figures, d.before
    assert (f.followups, p.followups) == (3, 1)
    assert (f.new_customers, p.new_customers) == (1, 1)
    assert (f.deals, f.amount, p.deals, p.amount) == (1, Decimal(50000), 1, Decimal(20000))
    assert (f.stage_moves, p.stage_moves) == (2, 1)  # 周杰 signed + 李娜 to 报价; 赵磊 signed
    assert (f.complaints_opened, f.complaints_answered, f.complaints_closed) == (1, 0, 0)
    assert (p.complaints_opened, p.complaints_answered, p.complaints_closed) == (0, 1, 1)
    reps = {r.name: r for r in d.reps}
    assert (reps["李明"].followups, reps["李明"].deals, reps["李明"].amount) == (2, 1, 50000)
    assert (reps["张伟"].followups, reps["张伟"].overdue, reps["张伟"].oldest_overdue_days) == (
        1,
        1,
        13,
    )
    r = d.rolling
    # 赵磊 bought for the first time within 30 days; 周杰's first purchase was 2 November,
    # outside them; 李娜 (潜在) was contacted and has not bought.
    assert (r.converted, r.prospects, r.conversion) == (1, 1, 0.5)
    assert (r.amount_mtd, r.amount_last_month) == (Decimal(70000), Decimal(10000))
    assert r.complaints is not None and r.complaints.opened == 2
    assert (r.complaints.rated, r.complaints.csat_avg) == (1, 4.0)
    assert (r.active, r.dormant) == (2, 1) and r.retention == pytest.approx(2 / 3)
    assert (r.silent_vips, r.overdue) == (1, 1)
    texts = [item.text for item in d.attention]
    assert texts[0].startswith("VIP 王芳的投诉 TS202612030001 距首次回复时限还剩 2 小时")
    assert any("VIP 王芳（华东精密）已 32 天没有联系，负责人 张伟" in t for t in texts)


async def test_a_silent_big_customer_is_named_for_the_manager(db: str) -> None:
    from models.enums import Tier

    await history()
    await Customer.filter(name="赵磊").update(tier=Tier.KEY, last_contact_at=utc(2026, 10, 4, 10))
    with at(NOW):
        d = await build_digest(day_period(NOW.date()), cfg(db), keep_snapshot=False)
    texts = [item.text for item in d.attention]
    # The key account silent for 60 days outranks the silent VIP.
    assert texts.index("重要大客户 赵磊已 60 天没有联系，负责人 张伟") < texts.index(
        "VIP 王芳（华东精密）已 32 天没有联系，负责人 张伟"
    )


async def test_the_text_compares_with_the_day_before(db: str) -> None:
    await history()
    await KpiSnapshot.create(day=date(2026, 12, 2), data={"overdue": 3, "retention": 0.5})
    with at(NOW):
        text = render_digest(await build_digest(day_period(NOW.date()), cfg(db)))
    assert text.startswith("📊 销售日报 · 12月3日（周四）\n需要你今天处理：\n1. VIP 王芳的投诉")
    assert "· 跟进 3 次 ↑2" in text
    assert "· 成交 1 笔 持平，金额 ¥50,000 ↑¥30,000" in text
    assert "· 李明：跟进 2，成交 1 笔 ¥50,000" in text
    assert "· 张伟：跟进 1，逾期回访 1" in text
    assert "转化率（潜在→成交）50.0%（1/2）" in text
    assert "本月成交 ¥70,000，上月同期 ¥10,000（+600.0%）" in text
    assert "逾期回访 共 1 条 ↓2（较昨天）" in text
    assert "留存率（活跃/已分级）66.7% ↑16.7 个百分点（较昨天）" in text
    # Today's state was kept for tomorrow's comparison.
    kept = await KpiSnapshot.get(day=date(2026, 12, 3))
    assert kept.data["overdue"] == 1


def test_periods() -> None:
    assert week_period(date(2026, 12, 3)) == Period("week", date(2026, 11, 30), date(2026, 12, 3))
    assert week_period(date(2026, 12, 3)).previous() == Period(
        "week", date(2026, 11, 23), date(2026, 11, 26)
    )
    march = month_period(date(2026, 3, 31))
    assert march.previous() == Period("month", date(2026, 2, 1), date(2026, 2, 28))
    assert day_period(date(2026, 3, 1)).previous().first == date(2026, 2, 28)
    # A whole month is compared with the whole month before: all 31 days of October.
    november = last_month_period(date(2026, 12, 3))
    assert compared_period(november) == Period("month", date(2026, 10, 1), date(2026, 10, 31))
    assert compared_period(march) == march.previous()
    assert not month_period(date(2026, 12, 3)).whole and last_week_period(date(2026, 12, 3)).whole


# --- the chart ----------------------------------------------------------------------------------


async def test_chart_is_a_png_of_the_expected_size_in_a_cjk_font(db: str) -> None:
    import io

    from matplotlib.ft2font import FT2Font
    from matplotlib.image import imread

    await history()
    with at(NOW):
        d = await build_digest(day_period(NOW.date()), cfg(db), keep_snapshot=False)
    png = render_png(d)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(png), format="png")
    assert (pixels.shape[1], pixels.shape[0]) == SIZE
    # Chinese is drawn by a font that has the glyphs, not as empty boxes: the font
    # matplotlib resolves is the CJK one, and it covers every character we write.
    path = resolved_font()
    assert path.endswith("NotoSansCJKsc-Regular.otf")
    font = FT2Font(path)
    labels = "销售日报周月按跟进与成交笔数近天金额万元暂无" + "".join(r.name for r in d.reps)
    missing = [ch for ch in labels if font.get_char_index(ord(ch)) == 0]
    assert missing == []


# --- in chat -------------------------------------------------------------------------------------


async def test_manager_asks_for_the_digest_and_gets_the_chart_too(
    db: str, wechat: WeChatSender
) -> None:
    await history()
    with at(NOW):
        text = await wechat.say("日报", MANAGER)
    assert "销售日报 · 12月3日" in text and "跟进 3 次" in text
    chart = await Outbox.get(recipient=MANAGER)
    assert chart.payload["reply"]["kind"] == "image" and "upload" in chart.payload
    with at(NOW):
        week = await wechat.say("周报", MANAGER)
        past = await wechat.say("日报 11月20日", MANAGER)
        bad = await wechat.say("日报 下下个月的某天", MANAGER)
    assert "销售周报 · 11月30日—12月3日" in week and "较上周同期" in week
    assert "销售日报 · 11月20日（周五）" in past
    assert "没看懂日期" in bad
    with at(NOW):
        # Asked in words, as a manager would.
        asked = {
            t: await wechat.say(t, MANAGER) for t in ("看看本周业绩", "这个月的数据", "昨天日报")
        }
    assert "销售周报 · 11月30日—12月3日" in asked["看看本周业绩"]
    assert "销售月报 · 12月1日—12月3日" in asked["这个月的数据"]
    assert "销售日报 · 12月2日" in asked["昨天日报"]


async def test_last_week_and_last_month_asked_in_words(db: str, wechat: WeChatSender) -> None:
    await history()
    with at(NOW):
        # 「没有看懂」 before, and 「周报 上周」 was this week's.
        asked = {
            t: await wechat.say(t, MANAGER)
            for t in ("上周周报", "看下上周的周报", "周报 上周", "上个月的业绩")
        }
    for said in ("上周周报", "看下上周的周报", "周报 上周"):
        week = asked[said]
        assert "销售周报 · 11月23日—11月29日" in week and "跟进 0 次" in week, (said, week)
        # A whole week against the one before it, not 「较上周同期」.
        assert "本期（较前一周）" in week, (said, week)
    month = asked["上个月的业绩"]
    assert "销售月报 · 11月1日—11月30日" in month and "成交 1 笔" in month, month
    assert "本期（较前一个月）" in month, month
    assert "¥10,000" in month


async def test_reps_get_no_team_figures(db: str, wechat: WeChatSender) -> None:
    await history()
    for word in ("日报", "周报", "团队", "转移 李明 张伟", "待办 团队", "今天的日报"):
        reply = await wechat.say(word, REP_A)
        assert "只对主管开放" in reply, word
    assert await Customer.filter(owner__name="李明").count() == 2  # nothing moved


# --- the daily push ------------------------------------------------------------------------------


async def test_daily_digest_reaches_a_manager_on_wecom_as_text_and_image(
    db: str, fake_tencent: FakeTencent
) -> None:
    _, _, m = await history()
    await Staff.filter(id=m.id).update(wecom_userid="chenjing")
    config = make_config(db, **sections(fake_tencent))
    with at(NOW):
        first = await digest_job(config, NOW.astimezone(UTC))
        again = await digest_job(config, NOW.astimezone(UTC))
    assert "1 queued" in first and "0 queued" in again
    assert await Outbox.filter(recipient="chenjing").count() == 2  # text + chart, once
    await drain(config)
    sent = fake_tencent.sent_to(WECOM_SEND)
    assert [s["msgtype"] for s in sent] == ["text", "image"]
    assert "销售日报 · 12月3日" in sent[0]["text"]["content"]
    assert len(fake_tencent.calls_to(OA_MEDIA_UPLOAD)) == 1
    reps = await Staff.filter(role=Role.REP).values_list("oa_openid", flat=True)
    assert not await Outbox.filter(recipient__in=list(reps)).exists()  # reps get no digest


async def test_a_day_of_last_year_says_its_year(wechat: WeChatSender) -> None:
    await team()
    with time_machine.travel(
        datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True
    ):
        # 12月5日 has not come yet this year: the digest is last year's, and says so.
        reply = await wechat.say("日报 12月5日", MANAGER)
        assert "销售日报 · 2025年12月5日" in reply, reply
        assert "销售日报 · 12月3日" in await wechat.say("日报 昨天", MANAGER)
