"""Deals you can trust, and taking things back (issue #13): 「撤销」 undoes the rep's last
change step by step within half an hour, 「改 成交」 corrects the last deal, and a bare
「成交」 no longer closes an unrelated open opportunity without asking."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from models import Customer, Deal, DealEvent, FollowUp
from models.enums import DealStage
from tests.sales_helpers import REP_A, REP_B, customer, team
from tests.wechat_client import WeChatSender

FROZEN = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=True)


async def test_undo_takes_back_follow_up_deal_stage_and_birthday_step_by_step(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    zhou = await customer("周杰", rep)
    with at(FROZEN):
        await wechat.say("阶段 周杰 报价 监护仪", REP_A)
        await wechat.say("成交 周杰 5000 监护仪", REP_A)
        await wechat.say("跟进 周杰 电话 谈妥了", REP_A)
        await wechat.say("生日 周杰 3月5日", REP_A)
        birthday = await wechat.say("撤销", REP_A)
        followup = await wechat.say("撤销", REP_A)
    assert birthday.startswith("已撤销：生日 周杰")
    assert (await Customer.get(id=zhou.id)).birthday_month is None
    assert followup.startswith("已撤销：跟进 周杰（电话）")
    assert await FollowUp.all().count() == 0
    assert (await Customer.get(id=zhou.id)).last_contact_at is None
    with at(FROZEN + timedelta(minutes=1)):
        deal = await wechat.say("撤销", REP_A)
    assert deal.startswith("已撤销：成交 周杰")
    back = await Deal.get(customer_id=zhou.id)
    assert back.stage == DealStage.QUOTE and back.amount == 0 and back.closed_on is None
    assert await DealEvent.filter(to_stage=DealStage.SIGNED).count() == 0
    with at(FROZEN + timedelta(minutes=2)):
        stage = await wechat.say("撤销", REP_A)
        nothing = await wechat.say("撤销", REP_A)
    assert stage.startswith("已撤销：阶段 周杰 → 报价")
    assert await Deal.all().count() == 0
    assert nothing == "半小时内没有可以撤销的操作。"


async def test_undo_is_only_for_the_last_half_hour_and_only_your_own(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with at(FROZEN):
        await wechat.say("跟进 周杰 电话 谈妥了", REP_A)
    with at(FROZEN + timedelta(minutes=5)):
        assert "没有可以撤销" in await wechat.say("撤销", REP_B)  # 张伟 did nothing
    with at(FROZEN + timedelta(minutes=31)):
        assert "没有可以撤销" in await wechat.say("撤销", REP_A)
    assert await FollowUp.all().count() == 1


async def test_correct_the_last_deal(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with at(FROZEN):
        await wechat.say("成交 周杰 5000 监护仪", REP_A)
        fixed = await wechat.say("改 成交 6,000", REP_A)
        named = await wechat.say("改成交 周杰 6500 监护仪 2台", REP_A)
    assert fixed == "已更正周杰的成交：金额 ¥5,000 → ¥6,000。发「撤销」可以改回去。"
    assert "¥6,000 → ¥6,500，产品 监护仪" in named
    deal = await Deal.get()
    assert (deal.amount, deal.quantity) == (Decimal(6500), 2)
    assert await Deal.all().count() == 1  # corrected, not a second deal
    with at(FROZEN):
        await wechat.say("撤销", REP_A)
    assert (await Deal.get()).amount == Decimal(6000)
    with at(FROZEN + timedelta(hours=1)):
        assert "没有记录过成交" in await wechat.say("改 成交 7000", REP_A)


async def test_a_bare_deal_asks_before_closing_the_open_opportunity(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with at(FROZEN):
        await wechat.say("阶段 周杰 报价 血压计", REP_A)
        ask = await wechat.say("成交 周杰 5000", REP_A)
        separate = await wechat.say("不是", REP_A)
    assert "进行中的商机「血压计」（报价）" in ask and "¥5,000" in ask
    assert "已记录成交" in separate
    open_one = await Deal.get(product="血压计")
    assert open_one.stage == DealStage.QUOTE  # the opportunity stays open
    with at(FROZEN + timedelta(minutes=5)):
        await wechat.say("成交 周杰 80000", REP_A)
        same = await wechat.say("是", REP_A)
    assert "由进行中的商机转为签约" in same
    closed = await Deal.get(id=open_one.id)
    assert closed.stage == DealStage.SIGNED and closed.amount == Decimal(80000)
    assert await Deal.all().count() == 2


async def test_a_deal_with_a_labelled_date_product_and_amount(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with at(FROZEN):
        saved = await wechat.say("成交 周杰 金额 5万 产品 监护仪 日期 11月28日", REP_A)
        future = await wechat.say("成交 周杰 3000 明天", REP_A)
        next_month = await wechat.say("成交 周杰 3000 日期 下个月", REP_A)
        glued = await wechat.say("成交 周杰 1,280,000元 产品：呼吸机 成交日期2026-12-01", REP_A)
    assert "已记录成交：周杰 监护仪，金额 ¥50,000，日期 11月28日" in saved
    assert "还没到" in future and "还没到" in next_month
    assert "呼吸机" in glued and "¥1,280,000" in glued and "日期 12月1日" in glued
    days = sorted(str(d.closed_on) for d in await Deal.all())
    assert days == ["2026-11-28", "2026-12-01"]


async def test_undo_to_a_pending_question_drops_the_question_not_an_earlier_record(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("冯磊", rep)
    await customer("李娜", rep)
    with at(FROZEN):
        await wechat.say("阶段 李娜 报价 监护仪", REP_A)
        await wechat.say("跟进冯磊电话聊了下需求下周一回访", REP_A)
        asked = await wechat.say("成交李娜3.5w", REP_A)
        assert "是它吗" in asked, asked
        dropped = await wechat.say("撤销", REP_A)
        assert "没有保存" in dropped, dropped
        # The question is gone: 「是」 answers nothing now.
        assert "已记录成交" not in await wechat.say("是", REP_A)
        assert await FollowUp.filter(customer__name="冯磊").count() == 1
        assert await Deal.filter(stage=DealStage.SIGNED).count() == 0
        # A second 撤销 takes back the follow-up, as the reply said.
        assert (await wechat.say("撤销", REP_A)).startswith("已撤销：跟进 冯磊")


async def test_undo_after_amending_a_follow_up_takes_back_the_amendment_only(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("张三", rep)
    with at(FROZEN):  # Wednesday 2 December, 10:00
        await wechat.say("跟进张三 电话 聊了价格 138 0013 8000 下周四下午两点回访", REP_A)
        moved = await wechat.say("改 回访 下周五上午十点", REP_A)
        assert "12月11日" in moved and "10:00" in moved, moved
        followup = await FollowUp.get(customer__name="张三")
        assert (str(followup.next_revisit_on), followup.next_revisit_time) == (
            "2026-12-11",
            "10:00",
        )
        await wechat.say("改 内容 聊了价格和交期", REP_A)
        assert (await wechat.say("撤销", REP_A)).startswith("已撤销：修改跟进 张三")
        assert (await wechat.say("撤销", REP_A)).startswith("已撤销：修改跟进 张三")
        followup = await FollowUp.get(customer__name="张三")
        assert followup.content == "聊了价格 138 0013 8000"
        assert (str(followup.next_revisit_on), followup.next_revisit_time) == (
            "2026-12-10",
            "14:00",
        )
        # A time already gone today is refused, for the follow-up and for 改.
        past = await wechat.say("改 回访 今天上午九点", REP_A)
        assert "已经过去了" in past, past
        logged = await wechat.say("跟进张三电话聊了交期今天上午八点回访", REP_A)
        assert "已经过去了" in logged and "08:00" in logged, logged
    assert await FollowUp.filter(customer__name="张三").count() == 1
