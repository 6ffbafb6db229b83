"""More phone Chinese as reps type or dictate it: commands glued to titles, names
glued to notes and companies, a bare weekday said on that day — through the webhook."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from models import FollowUp
from tests.sales_helpers import REP_A, customer, team
from tests.wechat_client import WeChatSender

# Wednesday 2 December 2026, 10:00 in Shanghai.
FROZEN = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_a_report_opening_with_the_customers_name_and_what_their_side_said(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    lina = await customer("李娜", rep)
    zhou = await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        # It was 「没有看懂」: 「那边说」 was no word of a report.
        said = await wechat.say("李娜王总那边说月底定", REP_A)
        # The name is a label before the method, as after 「跟进」: not part of the note.
        called = await wechat.say("周杰电话里问能不能便宜点", REP_A)
    assert "已记录跟进" in said and "客户：李娜" in said and "没写「跟进」" in said, said
    assert "内容：电话里问能不能便宜点" in called and "方式：电话" in called, called
    notes = {f.customer_id: f.content for f in await FollowUp.all()}  # type: ignore[attr-defined]
    assert notes == {lina.id: "王总那边说月底定", zhou.id: "电话里问能不能便宜点"}


@pytest.mark.parametrize(
    ("said", "name", "company"),
    [
        # Each was 「王强杭州某某公司的在哪家公司？」: all of it taken for the name.
        ("加个客户叫王强杭州某某公司的，电话13812345678", "王强", "杭州某某公司"),
        ("新客户 王小明上海某某贸易 13812345671", "王小明", "上海某某贸易"),
        ("加个客户叫刘芳是宁波某某科技的，手机13812345672", "刘芳", "宁波某某科技"),
        # Each was 「Tom Lee ABC Trading在哪家公司？」: every Latin word joined the name.
        ("新客户 Tom Lee ABC Trading 13812345677", "Tom Lee", "ABC Trading"),
        ("新客户 John Smith Apple Inc. 13812345672", "John Smith", "Apple Inc."),
        ("新客户 Acme Trading Co Mary Jane 13812345673", "Mary Jane", "Acme Trading Co"),
    ],
)
async def test_a_new_customers_name_and_company_said_together_are_told_apart(
    wechat: WeChatSender, said: str, name: str, company: str
) -> None:
    from models import Customer

    await team()
    reply = await wechat.say(said, REP_A)
    assert f"已新建客户：{name}（{company}）" in reply, reply
    assert [(c.name, c.company) for c in await Customer.all()] == [(name, company)]


async def test_a_bare_weekday_said_on_that_day_is_next_weeks(wechat: WeChatSender) -> None:
    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("李娜", rep)
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=FROZEN.tzinfo)
    with time_machine.travel(friday, tick=True):
        # It was today: a revisit planned for the day of the call.
        next_week = await wechat.say("跟进 周杰 电话 聊了报价 周五回访", REP_A)
        this_week = await wechat.say("跟进 李娜 电话 聊了交期 这周五下午回访", REP_A)
        # A signing day reads backwards: 「周五签的」 on a Friday is today.
        signed = await wechat.say("成交 周杰 5000 监护仪 周五签的", REP_A)
        # It was refused as a day to come (next Monday).
        monday = await wechat.say("成交 李娜 3000 耗材 周一签的", REP_A)
    assert "日期 11月30日" in monday, monday
    assert "下次回访：12月11日（周五）" in next_week, next_week
    assert "下次回访：12月4日（今天，周五） 14:00" in this_week, this_week
    assert "已记录成交" in signed, signed
    assert (await Deal.get(customer__name="周杰")).closed_on.isoformat() == "2026-12-04"


async def test_an_amount_said_with_thousands_after_wan(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("李娜", rep)
    await customer("王强", rep)
    # It was 「「一万」和「二千五」都像金额」.
    said = await wechat.say("成交周杰一万二千五 呼吸机", REP_A)
    assert "已记录成交：周杰 呼吸机，金额 ¥12,500" in said, said
    # It was ¥12,000 for a product 「千5监护仪」.
    typed = await wechat.say("成交李娜1万2千5监护仪", REP_A)
    assert "已记录成交：李娜 监护仪，金额 ¥12,500" in typed, typed
    hundreds = await wechat.say("成交 王强 两万三千五百 包装机", REP_A)
    assert "已记录成交：王强 包装机，金额 ¥23,500" in hundreds, hundreds


async def test_a_note_that_is_only_when_sets_the_revisit(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        # It was logged with 「下次回访：未设置」 and the time as the only content.
        said = await wechat.say("回访周杰明天上午十点", REP_A)
    assert "下次回访：12月3日（明天，周四） 10:00" in said, said
    f = await FollowUp.get()
    assert (str(f.next_revisit_on), f.next_revisit_time) == ("2026-12-03", "10:00")


async def test_a_meeting_arranged_or_to_come_sets_the_revisit(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("王强", rep)
    await customer("李娜", rep)
    with time_machine.travel(FROZEN, tick=True):
        # It was 「没有看懂」.
        plan = await wechat.say("下周一去见王强", REP_A)
        # Both were logged with no revisit: the appointment was lost.
        arranged = await wechat.say("后天下午三点约了周杰", REP_A)
        agreed = await wechat.say("约好了李娜周五下午见", REP_A)
    assert "王强的下次回访定在 12月7日（周一）" in plan, plan
    assert "下次回访：12月4日（后天，周五） 15:00" in arranged, arranged
    assert "下次回访：12月4日（后天，周五） 14:00" in agreed, agreed
    revisits = {
        f.customer.name: (str(f.next_revisit_on), f.method)
        for f in await FollowUp.all().prefetch_related("customer")
    }
    assert revisits == {
        "王强": ("2026-12-07", "plan"),
        "周杰": ("2026-12-04", "other"),
        "李娜": ("2026-12-04", "other"),
    }


async def test_a_deal_said_as_a_sentence_is_recorded(wechat: WeChatSender) -> None:
    from decimal import Decimal

    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("李娜", rep)
    await customer("王强", rep)
    # 「没有看懂」, and a follow-up 「李娜签了两万三的单」 with the deal lost.
    said = await wechat.say("周杰成交了三万", REP_A)
    signed = await wechat.say("李娜签了两万三的单", REP_A)
    ordered = await wechat.say("王强那边下单了10台呼吸机，每台1.5万", REP_A)
    assert "已记录成交：周杰，金额 ¥30,000" in said, said
    assert "已记录成交：李娜，金额 ¥23,000" in signed, signed
    assert "已记录成交：王强 呼吸机 ×10，金额 ¥150,000" in ordered, ordered
    deals = {d.customer.name: d.amount for d in await Deal.all().prefetch_related("customer")}
    assert deals == {"周杰": Decimal(30000), "李娜": Decimal(23000), "王强": Decimal(150000)}
    # Without an amount it is still a report.
    assert "已记录跟进" in await wechat.say("周杰签了合同", REP_A)
    assert await FollowUp.all().count() == 1


async def test_a_guessed_report_asks_in_plain_words(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("李娜", rep)
    with time_machine.travel(FROZEN, tick=True):
        ask = await wechat.say("刚见了李总，他说月底前定", REP_A)
    # It was 「找到 1 位与「要记跟进的客户」匹配的客户」.
    assert ask.startswith("这条要记在哪位客户名下？请回复序号：\n1. 李娜"), ask


async def test_taking_back_said_in_words(wechat: WeChatSender) -> None:
    from models import Deal

    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("跟进 周杰 电话 聊了报价", REP_A)
        # It was 「当前没有进行中的操作需要取消」, and the follow-up stayed.
        undone = await wechat.say("取消刚才的跟进", REP_A)
        await wechat.say("成交 周杰 5000 耗材", REP_A)
        deleted = await wechat.say("删掉上一条", REP_A)
        wrong = await wechat.say("刚才那条记错了", REP_A)  # it was 「没有看懂」
    assert undone.startswith("已撤销：跟进 周杰"), undone
    assert deleted.startswith("已撤销：成交 周杰"), deleted
    assert "请发「撤销」" in wrong and "没有看懂" not in wrong, wrong
    assert await FollowUp.all().count() == 0 and await Deal.all().count() == 0


async def test_the_days_list_asked_in_words(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("跟进 周杰 电话 聊了报价 明天回访", REP_A)
    tomorrow = datetime(2026, 12, 3, 9, 0, tzinfo=FROZEN.tzinfo)
    with time_machine.travel(tomorrow, tick=True):
        # Each was 「没有看懂」.
        for said in ("我的待办", "今天有什么要跟的", "今天有哪些要回访的"):
            reply = await wechat.say(said, REP_A)
            assert "周杰" in reply and "没有看懂" not in reply, (said, reply)


async def test_asking_where_a_customer_works_shows_the_card(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("李娜", rep, company="苏州禾丰食品")
    # Each was 「没有看懂」 (or 「没有找到「周杰的公司」」 after 查).
    for said in ("李娜的公司", "李娜公司叫什么", "李娜是哪家公司的", "查一下李娜的公司"):
        card = await wechat.say(said, REP_A)
        assert card.startswith("【李娜】苏州禾丰食品"), (said, card)
    assert await FollowUp.all().count() == 0


async def test_asking_a_customers_birthday_shows_the_card(wechat: WeChatSender) -> None:
    from bot.parsing.birthdays import Birthday

    rep, _, _ = await team()
    await customer("张三", rep, birthday=Birthday(3, 5))
    # Each was 「没有看懂」 (or 「没有找到「一下张三的生日」」 after 查).
    for said in ("张三的生日是几号", "张三生日哪天", "张三的生日是什么时候？", "查一下张三的生日"):
        card = await wechat.say(said, REP_A)
        assert card.startswith("【张三】") and "生日：3月5日" in card, (said, card)
    # Telling the birthday still records it.
    assert "3月6日" in await wechat.say("生日 张三 3月6日", REP_A)
    assert await FollowUp.all().count() == 0


async def test_the_customer_coming_over(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("王强", rep)
    with time_machine.travel(FROZEN, tick=True):
        # Both were 「没有看懂」.
        coming = await wechat.say("周杰下周三上午十点来公司看样品", REP_A)
        came = await wechat.say("王强昨天来公司看了样品", REP_A)
    assert "周杰的下次回访定在 12月9日（周三） 10:00" in coming, coming
    assert "已记录跟进" in came and "客户：王强" in came, came


async def test_an_appointment_to_visit_is_no_visit_yet(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    await customer("王强", rep)
    with time_machine.travel(FROZEN, tick=True):
        # Stored as a visit (方式：拜访) that had not taken place.
        arranged = await wechat.say("周杰约了下周二上门", REP_A)
        # A visit that did take place, with the next one planned, stays a visit.
        visited = await wechat.say("跟进 王强 见了张总 下周三再上门", REP_A)
    assert "下次回访：12月8日" in arranged and "拜访" not in arranged, arranged
    assert "方式：拜访" in visited, visited
    methods = {
        f.customer.name: (str(f.next_revisit_on), f.method)
        for f in await FollowUp.all().prefetch_related("customer")
    }
    assert methods == {"周杰": ("2026-12-08", "other"), "王强": ("2026-12-09", "visit")}


async def test_a_deal_said_of_a_surname_and_title_offers_those_customers(
    wechat: WeChatSender,
) -> None:
    from decimal import Decimal

    from models import Deal

    rep, other, _ = await team()
    await customer("王强", rep)
    await customer("王芳", rep)
    await customer("李娜", rep)
    # It was logged as a follow-up, with the deal lost.
    ask = await wechat.say("王总那边签了5万", REP_A)
    assert ask.startswith("找到 2 位与「王总」匹配的客户"), ask
    assert "王强" in ask and "王芳" in ask and "李娜" not in ask, ask
    number = next(line.split(".")[0] for line in ask.splitlines() if "王芳" in line)
    done = await wechat.say(number, REP_A)
    assert "已记录成交：王芳，金额 ¥50,000" in done, done
    deals = {d.customer.name: d.amount for d in await Deal.all().prefetch_related("customer")}
    assert deals == {"王芳": Decimal(50000)}
    assert await FollowUp.all().count() == 0
    # The command named 「王总」 too: with two 王 it was 「没有找到「王总」」.
    asked = await wechat.say("跟进 王总 电话聊了报价", REP_A)
    assert asked.startswith("找到 2 位与「王总」匹配的客户"), asked
    assert "已取消" in await wechat.say("取消", REP_A)
    # A rep with nobody so called is not sent looking for 「王总」 among all customers.
    await customer("赵敏", other)
    said = await wechat.say("赵总那边签了5万", REP_A)
    assert "没有找到" not in said and await Deal.all().count() == 1, said


async def test_a_new_customer_that_is_a_company(wechat: WeChatSender) -> None:
    from models import Customer

    await team()
    # It asked 「杭州某某公司在哪家公司？」.
    made = await wechat.say("新客户 杭州某某公司 13800138000", REP_A)
    assert made.startswith("已新建客户：杭州某某公司\n"), made
    assert (await Customer.get(name="杭州某某公司")).company == "杭州某某公司"
    # A person with a company is as before.
    person = await wechat.say("新客户 王强 13900139000 杭州绿源环保公司", REP_A)
    assert person.startswith("已新建客户：王强（杭州绿源环保公司）"), person


async def test_a_title_naming_many_customers_lists_the_latest_contact_first(
    wechat: WeChatSender,
) -> None:
    from datetime import timedelta

    from models import Customer

    rep, _, _ = await team()
    given = ["王一", "王二", "王三", "王四", "王五", "王六", "王七", "王八", "王九", "王十", "王芳"]
    for i, name in enumerate(given):
        made = await customer(name, rep)
        # 王芳 last spoken to yesterday, the others days before, 王十 never.
        if name != "王十":
            days = 1 if name == "王芳" else 10 + i
            made.last_contact_at = FROZEN - timedelta(days=days)
            await made.save(update_fields=["last_contact_at"])
    with time_machine.travel(FROZEN, tick=True):
        # The list came in no order, cut to nine without saying so.
        asked = await wechat.say("跟进 王总 电话聊了报价", REP_A)
    lines = asked.splitlines()
    assert lines[0] == "找到 11 位与「王总」匹配的客户，请回复序号：", asked
    assert lines[1].startswith("1. 王芳"), asked
    assert lines[2].startswith("2. 王一") and lines[9].startswith("9. 王八"), asked
    assert "只列出了前 9 位" in asked and "王十" not in asked, asked
    with time_machine.travel(FROZEN, tick=True):
        done = await wechat.say("1", REP_A)
    assert "客户：王芳" in done, done
    assert [f.customer_id for f in await FollowUp.all()] == [  # type: ignore[attr-defined]
        (await Customer.get(name="王芳")).id
    ]


async def test_a_company_only_customer_is_named_once_in_a_list(wechat: WeChatSender) -> None:
    rep, other, _ = await team()
    # As 「新客户 杭州某某公司 138…」 makes one: two reps each made one.
    await customer("杭州某某公司", rep, company="杭州某某公司")
    await customer("杭州某某公司", other, company="杭州某某公司")
    asked = await wechat.say("查 杭州某某公司", REP_A)
    assert asked.startswith("找到 2 位"), asked
    # It read 「杭州某某公司 · 杭州某某公司（李明）」.
    assert "1. 杭州某某公司（" in asked and "2. 杭州某某公司（" in asked, asked
    card = await wechat.say("1", REP_A)
    assert card.splitlines()[0] == "【杭州某某公司】", card


async def test_a_search_with_more_matches_than_shown_does_not_count_them(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    for i in range(12):
        await customer(f"张{'一二三四五六七八九十'[i % 10]}{i}", rep)
    asked = await wechat.say("查 张", REP_A)
    # It said 「找到 10 位」: the search stops one past the nine it shows.
    assert asked.startswith("找到超过 9 位与「张」匹配的客户"), asked
    assert "只列出了前 9 位" in asked and "9. " in asked and "10. " not in asked, asked
