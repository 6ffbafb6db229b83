"""Phone Chinese as reps really send it (issue #13): each failure reported from the
simulator, as written, through the webhook."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.middlewares import APOLOGY
from models import Customer, FollowUp
from tests.sales_helpers import MANAGER, REP_A, customer, team
from tests.wechat_client import WeChatSender

# Wednesday 2 December 2026, 10:00 in Shanghai.
FROZEN = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
APOLOGY_HEAD = APOLOGY.split("（")[0]

VOICE = (
    "跟进周杰今天下午去他们公司拜访了一趟跟采购部的王经理聊了大概一个小时"
    "他们对我们的新品挺感兴趣的但是价格上还要再商量一下下下周一再约个时间过去演示一下"
)


async def test_voice_text_glued_to_the_command_is_logged_not_an_apology(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.say(VOICE, REP_A)
        again = await wechat.say(VOICE, REP_A)  # a retry of the same words: same answer
    assert APOLOGY_HEAD not in reply and APOLOGY_HEAD not in again
    assert "已记录跟进" in reply and "周杰" in reply
    stored = await FollowUp.all()
    assert stored and "采购部的王经理" in stored[0].content  # long speech is kept whole


async def test_a_long_name_glued_to_speech_is_split_off(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    company = await customer("华东精密机械有限公司", rep)
    numbered = await customer("压测客户0001", rep)
    with time_machine.travel(FROZEN, tick=True):
        long_name = await wechat.say("跟进华东精密机械有限公司电话聊了报价下周三回访", REP_A)
        digits = await wechat.say("跟进压测客户0001微信发了样品资料，客户有兴趣", REP_A)
    assert "客户：华东精密机械有限公司" in long_name and "内容：聊了报价" in long_name
    assert "下次回访：12月9日" in long_name
    assert "客户：压测客户0001" in digits and "方式：微信" in digits
    stored = {f.customer_id: f.content for f in await FollowUp.all()}
    assert stored[company.id] == "聊了报价"
    assert stored[numbered.id].startswith("发了样品资料")


async def test_a_follow_up_without_a_date_keeps_the_planned_revisit(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        planned = await wechat.say("跟进 周杰 电话 聊了报价 12月11日回访", REP_A)
        assert "12月11日" in planned
        later = await wechat.say("跟进 周杰 微信 发了产品资料", REP_A)
        card = await wechat.say("查 周杰", REP_A)
    assert "仍是" in later and "12月11日" in later
    assert "未安排" not in card and "12月11日" in card


async def test_the_revisit_is_found_anywhere_in_the_sentence(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("李娜", rep)
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        remind = await wechat.say("跟进 李娜 刚见了李总，他说月底前定，记得28号提醒我", REP_A)
        afternoon = await wechat.say("跟进 周杰 电话 报了价 明天下午回访", REP_A)
        monday = await wechat.say("跟进 周杰 微信 发了资料 下周一再跟", REP_A)
        dotted = await wechat.say("跟进 周杰 电话 聊了报价 12.28", REP_A)
        voice = await wechat.say(VOICE, REP_A)
    # 「见了」 is a visit; the 28th tied to 提醒我 is the revisit, not 「月底前定」.
    assert "方式：拜访" in remind and "下次回访：12月28日" in remind
    assert "12月3日" in afternoon and "14:00" in afternoon
    assert "下次回访：12月7日" in monday
    assert "下次回访：12月28日" in dotted
    assert "下次回访：12月14日" in voice  # 「下下周一再约个时间」
    revisits = {f.next_revisit_on.isoformat() for f in await FollowUp.all() if f.next_revisit_on}
    assert {"2026-12-28", "2026-12-03", "2026-12-07", "2026-12-14"} <= revisits


async def test_a_visit_verb_glued_to_the_note_stays_in_it(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    lina = await customer("李娜", rep)
    await customer("张三", rep, company="杭州禾丰")
    jingmi = await customer("张三", rep, company="华东精密")
    with time_machine.travel(FROZEN, tick=True):
        met = await wechat.say("跟进 李娜 见了张总聊了交期", REP_A)
        visited = await wechat.say("跟进李娜拜访了采购部王经理下周三回访", REP_A)
        narrowed = await wechat.say("跟进 张三 华东精密见了王总聊了交期", REP_A)
    # 「见了」 was eaten as the method word: 「内容：张总聊了交期」, 「了采购部王经理」.
    assert "方式：拜访" in met and "内容：见了张总聊了交期" in met, met
    assert "内容：拜访了采购部王经理" in visited, visited
    assert "内容：见了王总聊了交期" in narrowed, narrowed
    notes = {(f.customer_id, f.content) for f in await FollowUp.all()}  # type: ignore[attr-defined]
    assert notes == {
        (lina.id, "见了张总聊了交期"),
        (lina.id, "拜访了采购部王经理"),
        (jingmi.id, "见了王总聊了交期"),
    }


async def test_deal_amounts_and_labels_as_reps_write_them(wechat: WeChatSender) -> None:
    from decimal import Decimal

    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("李娜", rep)
    labelled = await wechat.say("成交 周杰 金额 5万 产品 监护仪", REP_A)
    assert "已记录成交：周杰 监护仪，金额 ¥50,000" in labelled  # not 「金额 产品 监护仪」
    separated = await wechat.say("成交 李娜 1,280,000元 呼吸机", REP_A)
    assert "金额 ¥1,280,000" in separated
    deals = {d.product: d.amount for d in await Deal.all()}
    assert deals == {"监护仪": Decimal(50000), "呼吸机": Decimal(1280000)}
    # A price per unit times the quantity; a longer label glued to the amount; the
    # signing day said as 「…签的」.
    await customer("王强", rep)
    await customer("赵敏", rep)
    with time_machine.travel(FROZEN, tick=True):
        per_unit = await wechat.say("成交王强 3台 每台1.5万 呼吸机", REP_A)
        glued = await wechat.say("成交赵敏 合同金额12万元 11月28日签的", REP_A)
    # Speech recognition's full stop is not part of the product.
    await customer("孙丽", rep)
    spoken = await wechat.say("成交孙丽，五万八，呼吸机。", REP_A)
    assert "已记录成交：孙丽 呼吸机，金额 ¥58,000" in spoken, spoken
    assert "金额 ¥45,000" in per_unit and "×3" in per_unit, per_unit
    assert "金额 ¥120,000，日期 11月28日" in glued, glued
    # The same typed with no space at all.
    await customer("钱多", rep)
    run_on = await wechat.say("成交钱多3台每台1.5万呼吸机", REP_A)
    assert "已记录成交：钱多 呼吸机 ×3，金额 ¥45,000" in run_on, run_on
    # 「2万3」 is 23 000 (it was saved as ¥3), also said in characters.
    await customer("韩冰", rep)
    said = await wechat.say("成交韩冰5台每台两万三无菌包装设备", REP_A)
    assert "已记录成交：韩冰 无菌包装设备 ×5，金额 ¥115,000" in said, said
    spoken = await wechat.say("成交 韩冰 3万5 包装机", REP_A)
    assert "金额 ¥35,000" in spoken, spoken
    signed = await Deal.get(customer__name="赵敏")
    assert (signed.amount, signed.closed_on.isoformat()) == (Decimal(120000), "2026-11-28")
    # 阶段 without an open deal asks for its name instead of inventing 「未命名商机」.
    asked = await wechat.say("阶段 周杰 报价", REP_A)
    assert "请写上商机名称" in asked and await Deal.filter(stage="quote").count() == 0


async def test_cha_alone_asks_who_and_takes_the_answer(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep, company="华东精密")
    asked = await wechat.say("查", REP_A)
    assert "要查哪位客户" in asked
    card = await wechat.say("周杰", REP_A)
    assert "华东精密" in card and "没有看懂" not in card
    # A new command after the question is a command, not a name.
    await wechat.say("查", REP_A)
    assert "没有到期的回访" in await wechat.say("待办", REP_A)


async def test_the_same_deal_twice_asks_before_recording(wechat: WeChatSender) -> None:
    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    first = await wechat.say("成交 周杰 5000 监护仪", REP_A)
    again = await wechat.say("成交 周杰 5000 监护仪", REP_A)
    assert "已记录成交" in first and "是重复发送吗" in again
    assert await Deal.all().count() == 1
    dropped = await wechat.say("不是", REP_A)
    assert "没有重复记录" in dropped and await Deal.all().count() == 1
    await wechat.say("成交 周杰 5000 监护仪", REP_A)
    second = await wechat.say("再记一笔", REP_A)
    assert "已记录成交" in second and await Deal.all().count() == 2
    card = await wechat.say("查 周杰", REP_A)
    assert "已成交 2 笔" in card


# --- a report without the command word ------------------------------------------------------


async def test_a_report_naming_a_customer_is_a_follow_up_without_the_command_word(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep, company="华东精密有限公司")
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.say("刚去华东精密见了周杰，他说月底前定，记得28号提醒我", REP_A)
    assert "已记录跟进" in reply and "没写「跟进」也记下了" in reply
    f = await FollowUp.get()
    assert f.method == "visit" and str(f.next_revisit_on) == "2026-12-28"
    assert "他说月底前定" in f.content


async def test_a_plan_sets_the_revisit_and_logs_no_contact(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("李娜", rep)
    zhou = await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        # It was logged as a visit made today (方式：拜访, last contact today).
        planned = await wechat.say("明天要去拜访李娜", REP_A)
        await wechat.say("跟进 周杰 电话 聊了报价 下周三回访", REP_A)
        moved = await wechat.say("我准备明天过去拜访周杰", REP_A)
    assert "李娜的下次回访定在 12月3日" in planned and "没有记成一次跟进" in planned, planned
    assert "已记录跟进" not in planned and "方式：拜访" not in planned
    assert "周杰的下次回访定在 12月3日" in moved, moved
    lina = await Customer.get(name="李娜")
    assert lina.last_contact_at is None
    assert [f.method for f in await FollowUp.filter(customer=lina)] == ["plan"]
    # 周杰's plan moved to tomorrow on his one follow-up: no second contact.
    calls = await FollowUp.filter(customer=zhou)
    assert [(f.method, str(f.next_revisit_on)) for f in calls] == [("phone", "2026-12-03")]
    with time_machine.travel(FROZEN, tick=True):
        # The manager's figures count the one call made, not the plan.
        today = await wechat.say("日报", MANAGER)
    assert "跟进 1 次" in today, today
    with time_machine.travel(datetime(2026, 12, 3, 9, 0, tzinfo=FROZEN.tzinfo), tick=True):
        due = await wechat.say("待办", REP_A)
    assert "李娜" in due and "周杰" in due, due


async def test_a_title_after_a_surname_asks_which_customer(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("李娜", rep, company="苏州禾丰食品")
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        ask = await wechat.say("刚见了李总，他说月底前定，记得28号提醒我", REP_A)
        done = await wechat.say("1", REP_A)
    assert "1. 李娜" in ask and "回复序号" in ask
    assert "已记录跟进" in done and "李娜" in done
    assert str((await FollowUp.get()).next_revisit_on) == "2026-12-28"


async def test_a_sentence_without_a_customer_or_a_report_is_not_a_follow_up(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        greeting = await wechat.say("周杰的生日是哪天来着", REP_A)
        unknown = await wechat.say("刚见了王总，聊得不错", REP_A)  # no 王 among 李明's customers
    assert "已记录跟进" not in greeting and "已记录跟进" not in unknown
    assert await FollowUp.all().count() == 0


async def test_a_contact_on_the_card_identifies_the_customer(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep, company="华东精密")
    await customer("王芳", rep)  # another 王 in the book: 「王经理」 alone would be a guess
    with time_machine.travel(FROZEN, tick=True):
        saved = await wechat.say("联系人 周杰 王经理、李总", REP_A)
        logged = await wechat.say("刚跟王经理打了电话，下周一再约他来看样机", REP_A)
        card = await wechat.say("查 周杰", REP_A)
    assert "已记下周杰的联系人：王经理、李总" in saved
    assert "已记录跟进" in logged and "周杰" in logged
    assert "联系人：王经理、李总" in card
    f = await FollowUp.get()
    assert f.method == "phone" and str(f.next_revisit_on) == "2026-12-07"
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("撤销", REP_A)  # the follow-up
        undone = await wechat.say("撤销", REP_A)  # the contacts
    assert undone.startswith("已撤销：联系人 周杰")
    assert (await Customer.get(name="周杰")).contacts == ""


async def test_a_report_while_a_question_is_pending_is_still_logged(wechat: WeChatSender) -> None:
    rep, other, _ = await team()
    await customer("周杰", rep, company="华东精密")
    await customer("周杰", other, company="杭州云帆")
    with time_machine.travel(FROZEN, tick=True):
        ask = await wechat.say("查 周杰", REP_A)
        logged = await wechat.say("刚去华东精密见了周杰，说月底前定，记得28号提醒我", REP_A)
        stale = await wechat.say("2", REP_A)
    assert "回复序号" in ask
    assert "已记录跟进" in logged and "华东精密" in logged
    assert "杭州云帆" not in stale  # the list was dropped when the rep moved on


async def test_asking_for_a_phone_shows_the_card_and_logs_nothing(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep, phone="13912345678", company="华东精密")
    for asked in ("周杰的电话多少", "周杰电话", "华东精密的手机号是多少？"):
        card = await wechat.say(asked, REP_A)
        assert "【周杰】华东精密" in card and "13912345678" in card, (asked, card)
    # A call reported in the same words is still a follow-up.
    logged = await wechat.say("周杰电话聊了报价", REP_A)
    assert "已记录跟进" in logged
    # A report may end with the customer's own question.
    asked = await wechat.say("周杰电话里问能不能便宜点？", REP_A)
    assert "已记录跟进" in asked
    assert await FollowUp.all().count() == 2


async def test_cha_with_the_detail_asked_shows_the_card(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("李娜", rep, phone="13912345678", company="华东精密")
    # It was 「没有找到「一下李娜的电话」」.
    for said in ("查一下李娜的电话", "查 华东精密的地址", "帮我查下李娜的手机号是多少"):
        card = await wechat.say(said, REP_A)
        assert "【李娜】华东精密" in card and "13912345678" in card, (said, card)


async def test_a_call_to_make_is_no_number_asked_for(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("王强", rep, phone="13912345678")
    with time_machine.travel(FROZEN, tick=True):
        # It was 「没有找到「下周一上午十点给王强打」」: the sentence taken for 「王强的电话？」.
        call = await wechat.say("下周一上午十点给王强打电话", REP_A)
        asked = await wechat.say("王强的电话", REP_A)
    assert "王强的下次回访定在 12月7日（周一） 10:00" in call, call
    assert "【王强】" in asked and "13912345678" in asked
    planned = await FollowUp.get()
    assert (str(planned.next_revisit_on), planned.next_revisit_time) == ("2026-12-07", "10:00")


async def test_words_a_rep_sends_without_a_command(wechat: WeChatSender) -> None:
    from models import Customer

    rep, _, _ = await team()
    await customer("周杰", rep, company="华东精密")
    await customer("李娜", rep)
    with time_machine.travel(FROZEN, tick=True):
        # A name alone is the card; 「帮我查」 is 查; a birthday said as a sentence is set.
        assert "【周杰】华东精密" in await wechat.say("周杰", REP_A)
        assert "【周杰】华东精密" in await wechat.say("帮我查一下周杰", REP_A)
        assert "没有看懂「王五」" in await wechat.say("王五", REP_A)  # nobody of that name
        said = await wechat.say("周杰生日是3月5号", REP_A)
        lunar = await wechat.say("李娜的农历生日八月十五", REP_A)
        # The plan is the whole note: it is the content, and the revisit.
        planned = await wechat.say("跟进 李娜 明天上午去拜访", REP_A)
        hello = await wechat.say("你好", REP_A)
        thanks = await wechat.say("谢谢", REP_A)
    assert "已记录周杰的生日：3月5日" in said
    assert "已记录李娜的生日：农历八月十五" in lunar
    assert (await Customer.get(name="周杰")).birthday_month == 3
    assert "内容：明天上午去拜访" in planned and "12月3日" in planned and "09:00" in planned
    assert hello.startswith("你好，李明！") and thanks == "不客气！"
    assert await FollowUp.all().count() == 1


async def test_a_stage_said_as_a_sentence_moves_the_deal(wechat: WeChatSender) -> None:
    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("阶段 周杰 报价 监护仪采购", REP_A)
        moved = await wechat.say("周杰那个单子到谈判了", REP_A)
        # Someone who is not a customer: a report, not a stage.
        report = await wechat.say("王总说月底到签约", REP_A)
    assert "报价 → 谈判" in moved
    assert (await Deal.get()).stage == "negotiation"
    assert "→" not in report and "商机" not in report


async def test_speech_punctuation_is_no_part_of_what_is_stored(wechat: WeChatSender) -> None:
    from models import Customer, Deal

    rep, _, _ = await team()
    zhou = await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        created = await wechat.say("新客户王五，13800138000，宁波某某。", REP_A)
        await wechat.say("跟进周杰，电话，聊了报价。", REP_A)
        amended = await wechat.say("改内容：聊了报价和交期。", REP_A)
        staged = await wechat.say("阶段周杰，报价，监护仪。", REP_A)
        contacts = await wechat.say("联系人周杰，李总，采购王经理。", REP_A)
    assert "王五（宁波某某）" in created
    assert (await Customer.get(name="王五")).company == "宁波某某"
    assert amended.endswith("内容改为 聊了报价和交期。")  # one full stop, the bot's own
    assert (await FollowUp.get(customer=zhou)).content == "聊了报价和交期"
    assert "新建商机「监护仪」，当前阶段：报价" in staged
    assert (await Deal.get(customer=zhou)).product == "监护仪"
    assert "李总、采购王经理。以后" in contacts


async def test_a_stage_glued_to_the_deal_name(wechat: WeChatSender) -> None:
    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    opened = await wechat.say("阶段周杰报价监护仪采购", REP_A)
    assert "已为周杰新建商机「监护仪采购」" in opened, opened
    moved = await wechat.say("阶段周杰谈判中", REP_A)
    assert "报价 → 谈判" in moved, moved
    assert [d.product for d in await Deal.all()] == ["监护仪采购"]
    # A word that only starts like a stage is still refused, not guessed.
    assert "没有「签字」这个阶段" in await wechat.say("阶段 周杰 签字", REP_A)


async def test_a_misheard_name_glued_to_speech_is_found_by_its_sound(wechat: WeChatSender) -> None:
    from models import FollowUp

    rep, _, _ = await team()
    await customer("李娜", rep)
    # 「李那」 for 李娜, no space: it was 「请写上这次跟进聊了什么」 with the whole
    # sentence taken for a name.
    logged = await wechat.say("跟进李那电话聊了报价下周三回访", REP_A)
    assert "已记录跟进" in logged and "客户：李娜" in logged, logged
    followup = await FollowUp.get(customer__name="李娜")
    assert followup.content == "聊了报价"


async def test_a_rep_naming_two_alike_means_their_own_when_recording(
    wechat: WeChatSender,
) -> None:
    from models import FollowUp

    rep_a, rep_b, _ = await team()
    mine = await customer("张三", rep_a, company="华东精密")
    await customer("张三", rep_b, company="杭州禾丰")
    logged = await wechat.say("跟进张三电话聊了报价", REP_A)
    assert "已记录跟进" in logged and "华东精密" in logged, logged
    assert (await FollowUp.get()).customer_id == mine.id  # type: ignore[attr-defined]
    # Looking up still shows both: 查 is no change.
    assert "回复序号" in await wechat.say("查 张三", REP_A)


async def test_new_customer_in_the_order_it_is_said(wechat: WeChatSender) -> None:
    from models import Customer

    await team()
    said = await wechat.say("新客户杭州绿源环保的刘芳电话139 1234 5678", REP_A)
    assert "刘芳（杭州绿源环保）" in said, said
    number_first = await wechat.say("新客户 13712345678 陈大文 宁波甬江贸易有限公司", REP_A)
    assert "陈大文（宁波甬江贸易有限公司）" in number_first, number_first
    fang = await Customer.get(name="刘芳")
    assert (fang.company, fang.phone_last4) == ("杭州绿源环保", "5678")
    assert (await Customer.get(name="陈大文")).phone_last4 == "5678"


async def test_new_customer_with_an_english_name(wechat: WeChatSender) -> None:
    from models import Customer

    await team()
    # 「Tom Lee」 was saved as the name 「Tom」 with 「Lee」 for the industry.
    said = await wechat.say("新客户 Tom Lee 上海某某贸易 13812345678", REP_A)
    assert "已新建客户：Tom Lee（上海某某贸易）" in said, said
    tom = await Customer.get(name="Tom Lee")
    assert (tom.company, tom.industry) == ("上海某某贸易", "")
    three = await wechat.say("新客户 Mary Jane Watson 13812345676 ABC Trading VIP", REP_A)
    assert "Mary Jane Watson（ABC Trading）" in three and "等级：VIP" in three, three
    # The whole name is then the customer in 跟进, not 「Tom」 with 「Lee」 in the note.
    with time_machine.travel(FROZEN, tick=True):
        logged = await wechat.say("跟进 Tom Lee 电话聊了报价", REP_A)
    assert "客户：Tom Lee" in logged and "内容：聊了报价" in logged, logged
    assert (await FollowUp.get()).content == "聊了报价"


async def test_a_new_customer_said_as_a_sentence(wechat: WeChatSender) -> None:
    from models import Customer

    rep, _, _ = await team()
    await customer("周杰", rep)
    # It was 「没有看懂」, and with a 王强 in the book, a follow-up on him.
    said = await wechat.say("加个客户叫王强，杭州某某公司的，电话13812345679", REP_A)
    assert "已新建客户：王强（杭州某某公司）" in said, said
    qiang = await Customer.get(name="王强")
    assert (qiang.company, qiang.phone_last4) == ("杭州某某公司", "5679")
    spoken = await wechat.say(
        "帮我新建一个客户，名字叫刘芳，是宁波某某贸易的，手机13912345678", REP_A
    )
    assert "已新建客户：刘芳（宁波某某贸易）" in spoken, spoken
    # Said again, the same phone is refused as for 「新客户」; nothing is a follow-up.
    again = await wechat.say("加个客户叫王强，杭州某某公司的，电话13812345679", REP_A)
    assert "已经属于客户「王强」" in again, again
    assert await FollowUp.all().count() == 0


async def test_a_phone_number_read_out_digit_by_digit(db: str, wechat: WeChatSender) -> None:
    from models import Customer
    from tests.test_phones_at_rest import database_text

    rep, _, _ = await team()
    # Voice input writes the digits as said: it was 「请发送赵敏的手机号」.
    said = await wechat.say("新客户 赵敏 一五八一二三四五六七八 某某科技", REP_A)
    assert "已新建客户：赵敏（某某科技）" in said and "手机：15812345678" in said, said
    await wechat.say("新客户 孙丽 某某公司", REP_A)
    answered = await wechat.say("幺三八 一二三四 五六七八", REP_A)
    assert "已新建客户：孙丽（某某公司）" in answered, answered
    assert (await Customer.get(name="孙丽")).phone_last4 == "5678"
    card = await wechat.say("查 一五八一二三四五六七八", REP_A)
    assert "【赵敏】某某科技" in card, card
    # Said in a note, the number is sealed at rest like a typed one.
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("跟进 周杰 电话 客户新号码一三七一二三四五六七八", REP_A)
    assert "一三七一二三四五六七八" in (await FollowUp.get()).content
    assert "一三七一二三四五六七八" not in await database_text(db)


async def test_the_company_said_after_a_shared_name_tells_which(wechat: WeChatSender) -> None:
    from models import FollowUp

    rep_a, _, _ = await team()
    await customer("张三", rep_a, company="杭州禾丰")
    jingmi = await customer("张三", rep_a, company="华东精密有限公司")
    logged = await wechat.say("跟进 张三 华东精密 电话 聊了报价 下周三回访", REP_A)
    assert "已记录跟进" in logged and "华东精密" in logged, logged
    followup = await FollowUp.get()
    assert followup.customer_id == jingmi.id  # type: ignore[attr-defined]
    assert (followup.content, followup.method) == ("聊了报价", "phone")
    # Without the company it still asks.
    assert "回复序号" in await wechat.say("跟进 张三 电话 又聊了一次", REP_A)


async def test_an_answer_to_a_list_that_ended_says_so(wechat: WeChatSender) -> None:
    rep_a, _, _ = await team()
    await customer("张三", rep_a, company="杭州禾丰")
    await customer("张三", rep_a, company="华东精密")
    assert "回复序号" in await wechat.say("查 张三", REP_A)
    await wechat.say("待办", REP_A)  # something else in between ends the list
    late = await wechat.say("第一个", REP_A)
    assert "之前的列表就取消了" in late and "没有看懂" not in late, late


@pytest.mark.parametrize(
    "said",
    [
        "跟进 王总 电话聊了报价",  # it was 「没有找到「王总」」
        "跟进王总电话聊了报价",  # it was 「请写上这次跟进聊了什么」: all of it the name
    ],
    ids=["spaced", "glued"],
)
async def test_a_surname_and_title_after_the_command_offers_the_reps_customer(
    wechat: WeChatSender, said: str
) -> None:
    rep, _, _ = await team()
    await customer("王强", rep, company="杭州云帆")
    await customer("李娜", rep)
    with time_machine.travel(FROZEN, tick=True):
        asked = await wechat.say(said, REP_A)
        done = await wechat.say("1", REP_A)
    assert "「王总」" in asked and "1. 王强" in asked and "回复序号" in asked, asked
    assert "李娜" not in asked, asked
    assert "已记录跟进" in done and "王强" in done and "方式：电话" in done, done
    assert (await FollowUp.get()).content == "聊了报价"
