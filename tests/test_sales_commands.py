"""跟进 / 改 / 待办 / 我的客户 / 新客户 / 成交 / 阶段 / 生日 through /wechat, with the
wrong forms of each: nothing is saved half-parsed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import time_machine

from models import ConversationState, Customer, Deal, FollowUp
from models.enums import DealStage, FollowUpMethod, Grade, Lifecycle
from tests.message_helpers import voice
from tests.sales_helpers import CIPHER, MANAGER, REP_A, REP_B, customer, team
from tests.wechat_client import WeChatSender

# Wednesday 2026-01-14, 00:30 in Shanghai (still the 13th in UTC).
FROZEN = datetime(2026, 1, 13, 16, 30, tzinfo=UTC)


async def test_followup_is_logged_and_echoed(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("张三", a, "13800138000", "华东精密")
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.say("跟进 张三 电话 聊了新品报价，客户有兴趣 下周三回访", sender=REP_A)
    assert "方式：电话" in reply and "内容：聊了新品报价" in reply
    assert "反馈：客户有兴趣" in reply and "下次回访：1月21日（周三）" in reply
    f = await FollowUp.get(customer=c)
    assert (f.method, f.content, f.feedback) == (FollowUpMethod.PHONE, "聊了新品报价", "客户有兴趣")
    assert f.next_revisit_on == date(2026, 1, 21) and f.rep_id == a.id
    assert (await Customer.get(id=c.id)).last_contact_at is not None


async def test_followup_by_voice_without_spaces(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("张三", a)
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.send(
            voice("跟进张三电话聊了新品报价，客户有兴趣，下周三回访。", REP_A)
        )
    assert reply is not None and "下次回访：1月21日" in reply["Content"]
    assert (await FollowUp.get(customer=c)).content == "聊了新品报价"


async def test_followup_wrong_forms_save_nothing(wechat: WeChatSender) -> None:
    a, b, _m = await team()
    await customer("张三", a)
    await customer("王强", b)
    with time_machine.travel(FROZEN, tick=True):
        assert "用法" in await wechat.say("跟进", sender=REP_A)
        # The reply quotes the date as written, not the note's last characters.
        bad = await wechat.say("跟进 张三 电话 聊了 2月30日回访", sender=REP_A)
        assert "回访时间「2月30日」不是有效的日期" in bad
        bad = await wechat.say("跟进张三电话聊了报价下周三下午25点回访", sender=REP_A)
        assert "「下周三下午25点」不是有效的日期" in bad
        assert "已经过去" in await wechat.say("跟进 张三 电话 聊了 昨天回访", sender=REP_A)
        assert "聊了什么" in await wechat.say("跟进 张三 电话", sender=REP_A)
        assert "没有找到" in await wechat.say("跟进 无此人 电话 聊了", sender=REP_A)
        assert "只有负责人" in await wechat.say("跟进 王强 电话 聊了", sender=REP_A)
    assert await FollowUp.all().count() == 0


async def test_followup_on_unowned_customer_claims_it(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("陶然", None)
    reply = await wechat.say("跟进 陶然 微信 发了产品资料", sender=REP_A)
    assert "归入你的名下" in reply and "未设置" in reply
    assert (await Customer.get(id=c.id)).owner_id == a.id


async def test_followup_after_choosing_among_namesakes(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    await customer("张三", a, company="甲公司")
    second = await customer("张三", a, company="乙公司")
    with time_machine.travel(FROZEN, tick=True):
        assert "请回复序号" in await wechat.say("跟进 张三 拜访 看了样品 明天回访", sender=REP_A)
        assert await FollowUp.all().count() == 0
        reply = await wechat.say("2", sender=REP_A)
    assert "乙公司" in reply and "1月15日（明天，周四）" in reply
    assert (await FollowUp.get()).customer_id == second.id
    # As reps answer the list: in words, by number word, or by what only one of them has.
    for answer, company in (
        ("第一个", "甲公司"),
        ("选2", "乙公司"),
        ("1号", "甲公司"),
        ("乙公司那个", "乙公司"),
    ):
        assert "请回复序号" in await wechat.say("查 张三", sender=REP_A)
        assert f"【张三】{company}" in await wechat.say(answer, sender=REP_A), answer
    assert "请回复序号" in await wechat.say("查 张三", sender=REP_A)
    assert "没有看懂" in await wechat.say("公司", sender=REP_A)  # both have it: no guess


async def test_amend_revisit_and_method(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    await customer("张三", a)
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("跟进 张三 电话 聊了报价 下周三回访", sender=REP_A)
        assert "改为 1月16日（后天，周五）" in await wechat.say("改 回访 周五", sender=REP_A)
        assert "改为 微信" in await wechat.say("改 方式 微信", sender=REP_A)
        assert "改为 嫌贵" in await wechat.say("改 反馈 嫌贵", sender=REP_A)
        assert "「2月30日」不是有效的日期" in await wechat.say("改 回访 2月30日", sender=REP_A)
        assert "已经过去" in await wechat.say("改 回访 昨天", sender=REP_A)
        assert "看不懂" in await wechat.say("改 方式 飞鸽传书", sender=REP_A)
        assert "用法" in await wechat.say("改 颜色 红", sender=REP_A)
    f = await FollowUp.get()
    assert (f.next_revisit_on, f.method, f.feedback) == (
        date(2026, 1, 16),
        FollowUpMethod.WECHAT,
        "嫌贵",
    )
    assert "没有找到你最近" in await wechat.say("改 回访 周五", sender=REP_B)
    with time_machine.travel(FROZEN, tick=True):
        # 「不安排」 is what the bot itself shows for no revisit: a rep may answer with it.
        assert "下次回访改为 不安排" in await wechat.say("改 回访 不安排", sender=REP_A)
    assert (await FollowUp.get()).next_revisit_on is None


async def test_due_lists_today_and_overdue_in_order(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    today = date(2026, 1, 14)
    specs = [("今天的", 0), ("逾期三天", -3), ("下周的", 7), ("逾期一天", -1)]
    for name, offset in specs:
        c = await customer(name, a, company=f"{name}公司")
        await FollowUp.create(
            customer=c, rep=a, method="phone", content=f"{name}的记录",
            next_revisit_on=today + timedelta(days=offset),
        )  # fmt: skip
    # A later follow-up supersedes an older plan.
    done = await customer("已回访", a)
    await FollowUp.create(customer=done, rep=a, method="phone", content="旧", next_revisit_on=today)
    await FollowUp.create(customer=done, rep=a, method="phone", content="新")
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.say("待办", sender=REP_A)
        assert reply == await wechat.say("今天", sender=REP_A)
        # As reps ask for it in their own words (「回访」 alone would log a follow-up).
        for asked in ("今天要回访谁", "今天回访哪些客户？", "回访提醒", "要联系谁"):
            assert reply == await wechat.say(asked, sender=REP_A), asked
        assert "没有到期的回访" in await wechat.say("待办", sender=REP_B)
    assert "待办回访 3 位" in reply
    lines = reply.splitlines()
    first = next(i for i, line in enumerate(lines) if "待办回访 3 位" in line) + 1
    assert "逾期三天" in lines[first] and "逾期 3 天" in lines[first]
    assert "逾期一天" in lines[first + 1]
    assert "今天的" in lines[first + 2] and "—— 今天" in lines[first + 2]
    assert "下周的" not in reply and "已回访" not in reply


async def test_my_customers_counts(wechat: WeChatSender) -> None:
    a, b, _m = await team()
    await customer("甲", a, grade=Grade.VIP)
    await customer("乙", a, grade=Grade.VIP)
    await customer("丙", a, grade=Grade.POTENTIAL)
    await customer("丁", b)
    await Customer.filter(name="甲").update(lifecycle=Lifecycle.ACTIVE)
    reply = await wechat.say("我的客户", sender=REP_A)
    assert "共有 3 位" in reply and "VIP 2" in reply and "潜在 1" in reply and "活跃 1" in reply
    assert "全部客户共 4 位" in await wechat.say("我的客户", sender=MANAGER)
    assert "全部客户共 4 位" in await wechat.say("客户统计", sender=MANAGER)


async def test_new_customer_in_one_message(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    reply = await wechat.say(
        "新客户 张三 13800138000 上海某某贸易 餐饮 VIP 生日3月5日", sender=REP_A
    )
    assert "已新建客户：张三（上海某某贸易）" in reply and "生日：3月5日" in reply
    c = await Customer.get(name="张三")
    assert (c.company, c.industry, c.grade, c.owner_id) == ("上海某某贸易", "餐饮", Grade.VIP, a.id)
    assert (c.birthday_month, c.birthday_day, c.birthday_lunar) == (3, 5, False)
    assert (c.name_pinyin, c.name_initials, c.phone_last4) == ("zhangsan", "zs", "8000")
    assert c.phone_hash == CIPHER.phone_hash("13800138000")


async def test_new_customer_dialog_asks_for_missing_fields(wechat: WeChatSender) -> None:
    await team()
    assert "手机号" in await wechat.say("新客户 李四", sender=REP_A)
    assert "不对" in await wechat.say("12345", sender=REP_A)
    assert "哪家公司" in await wechat.say("139 0000 1111", sender=REP_A)
    reply = await wechat.say("跳过", sender=REP_A)
    assert "已新建客户：李四" in reply
    c = await Customer.get(name="李四")
    assert c.company == "" and c.phone_last4 == "1111"
    assert await ConversationState.all().count() == 0


async def test_new_customer_duplicates(wechat: WeChatSender) -> None:
    _a, b, _m = await team()
    await customer("王强", b, "13912345678", "宁波港通物流有限公司")
    same_phone = await wechat.say("新客户 王小强 13912345678 某公司", sender=REP_A)
    assert "已经属于客户「王强」" in same_phone and "139****5678" in same_phone
    similar = await wechat.say("新客户 王强 13700000000 宁波港通物流", sender=REP_A)
    assert "可能重复" in similar and "张伟" in similar
    assert "已放弃" in await wechat.say("取消", sender=REP_A)
    assert await Customer.all().count() == 1
    # A new command instead of an answer drops the question: a later 确认 creates nothing.
    await wechat.say("新客户 王强 13700000000 宁波港通物流", sender=REP_A)
    assert "王强" in await wechat.say("查 王强", sender=REP_A)
    assert "已新建客户" not in await wechat.say("确认", sender=REP_A)
    assert await Customer.all().count() == 1
    # So does a sentence that is not an answer — and it is understood as itself.
    await wechat.say("新客户 王强 13700000000 宁波港通物流", sender=REP_A)
    assert "没有看懂「今天天气不错」" in await wechat.say("今天天气不错", sender=REP_A)
    assert "已新建客户" not in await wechat.say("确认", sender=REP_A)
    await wechat.say("新客户 王强 13700000000 宁波港通物流", sender=REP_A)
    assert "已新建客户" in await wechat.say("嗯", sender=REP_A)
    assert await Customer.all().count() == 2


async def test_new_customer_wrong_forms(wechat: WeChatSender) -> None:
    await team()
    assert "用法" in await wechat.say("新客户", sender=REP_A)
    assert "手机号「12345678901」不对" in await wechat.say("新客户 张三 12345678901", sender=REP_A)
    assert "不是有效的日期" in await wechat.say(
        "新客户 张三 13800138000 某公司 生日2月30日", sender=REP_A
    )
    assert await Customer.all().count() == 0


async def test_deal_amount_forms(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("张三", a)
    with time_machine.travel(FROZEN, tick=True):
        # A product each: the same deal twice in a row would be asked about.
        for text, amount, product in (
            ("5000", "5000", "产品A"),
            ("5千", "5000", "产品B"),
            ("1.2万", "12000", "产品C"),
            ("五千", "5000", "产品D"),
        ):
            reply = await wechat.say(f"成交 张三 {text} {product} 10件", sender=REP_A)
            assert "已记录成交" in reply and "1月14日" in reply, reply
            deal = await Deal.filter(customer=c).order_by("-id").first()
            assert deal is not None
            assert (deal.amount, deal.product, deal.quantity) == (Decimal(amount), product, 10)
            assert deal.stage == DealStage.SIGNED and deal.closed_on == date(2026, 1, 14)


async def test_deal_wrong_forms_save_nothing(wechat: WeChatSender) -> None:
    a, b, _m = await team()
    await customer("张三", a)
    await customer("王强", b)
    assert "用法" in await wechat.say("成交 张三", sender=REP_A)
    assert "没有看到成交金额" in await wechat.say("成交 张三 产品A 10件", sender=REP_A)
    assert "金额「0」不对" in await wechat.say("成交 张三 0 产品A", sender=REP_A)
    assert "金额「-5」不对" in await wechat.say("成交 张三 -5 产品A", sender=REP_A)
    assert "都像金额" in await wechat.say("成交 张三 5000 300", sender=REP_A)
    assert "只有负责人" in await wechat.say("成交 王强 5000", sender=REP_A)
    assert await Deal.all().count() == 0


async def test_stage_moves_and_closes_an_opportunity(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("张三", a)
    # No open deal and no name: asked, nothing invented (「未命名商机」 was).
    assert "请写上商机名称" in await wechat.say("阶段 张三 方案", sender=REP_A)
    assert await Deal.filter(customer=c).count() == 0
    opened = await wechat.say("阶段 张三 方案 设备采购", sender=REP_A)
    assert "已为张三新建商机「设备采购」，当前阶段：方案" in opened
    assert "方案 → 报价" in await wechat.say("阶段 张三 报价", sender=REP_A)
    assert "已经在「报价」" in await wechat.say("阶段 张三 报价", sender=REP_A)
    assert "没有「发财」这个阶段" in await wechat.say("阶段 张三 发财", sender=REP_A)
    reply = await wechat.say("成交 张三 3万 设备采购", sender=REP_A)
    assert "由进行中的商机转为签约" in reply
    deal = await Deal.get(customer=c)
    assert (deal.stage, deal.amount, deal.product) == (DealStage.SIGNED, Decimal(30000), "设备采购")
    assert "签约 → 售后" in await wechat.say("阶段 张三 售后", sender=REP_A)
    card = await wechat.say("查 张三", sender=REP_A)
    assert "已成交 1 笔，合计 ¥30,000" in card


async def test_birthday_solar_and_lunar(wechat: WeChatSender) -> None:
    a, b, _m = await team()
    c = await customer("张三", a)
    await customer("王强", b)
    with time_machine.travel(FROZEN, tick=True):
        lunar = await wechat.say("生日 张三 农历八月十五", sender=REP_A)
        assert "农历八月十五" in lunar and "9月25日" in lunar
        stored = await Customer.get(id=c.id)
        assert (stored.birthday_month, stored.birthday_day, stored.birthday_lunar) == (8, 15, True)
        solar = await wechat.say("生日 张三 3-5", sender=REP_A)
        assert "3月5日" in solar
        assert "不是有效的日期" in await wechat.say("生日 张三 2月30日", sender=REP_A)
        assert "用法" in await wechat.say("生日 张三", sender=REP_A)
        assert "只有负责人" in await wechat.say("生日 王强 3-5", sender=REP_A)
    stored = await Customer.get(id=c.id)
    assert (stored.birthday_month, stored.birthday_day, stored.birthday_lunar) == (3, 5, False)


async def test_help_lists_the_sales_commands(wechat: WeChatSender) -> None:
    await team()
    text = await wechat.say("帮助", sender=REP_A)
    for usage in ("查 客户", "跟进 客户", "待办", "新客户", "成交", "阶段", "生日", "我的客户"):
        assert usage in text
    assert "跟进 客户" not in await wechat.say("帮助")


async def test_a_phone_glued_to_the_new_customers_name_is_split_off(
    wechat: WeChatSender,
) -> None:
    from models import Customer, Staff

    await Staff.create(name="李明", role="rep", oa_openid="oRepGlue00000000000000000001")
    reply = await wechat.say(
        "新客户 赵六13800138000 上海某某贸易", sender="oRepGlue00000000000000000001"
    )
    assert "赵六" in reply
    customer = await Customer.get(name="赵六")
    assert customer.phone_last4 == "8000"
    # Glued on both sides, as speech writes it; and grouped with spaces, as typed.
    for text, name, last4 in (
        ("新客户王小明13900139000某某科技", "王小明", "9000"),
        ("新客户 孙七 137 0013 7000 杭州某某电子", "孙七", "7000"),
        ("新客户 周八 +86 136-0013-6000 宁波某某五金", "周八", "6000"),
    ):
        reply = await wechat.say(text, sender="oRepGlue00000000000000000001")
        assert f"已新建客户：{name}" in reply, reply
        assert (await Customer.get(name=name)).phone_last4 == last4
    assert (await Customer.get(name="王小明")).company == "某某科技"


async def test_followup_with_a_method_before_the_revisit_word(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("张三", a)
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.say("跟进 张三 上门 安装完成 明天电话回访", sender=REP_A)
    assert "内容：安装完成\n" in reply and "下次回访：1月15日" in reply, reply
    f = await FollowUp.get(customer=c)
    assert (f.method, f.content) == (FollowUpMethod.VISIT, "安装完成")
    assert f.next_revisit_on == date(2026, 1, 15)


async def test_a_short_name_glued_to_the_next_word(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer("王五", a, company="五金店")
    with time_machine.travel(FROZEN, tick=True):
        reply = await wechat.say("跟进王五电话，聊了报价", sender=REP_A)
        assert "方式：电话" in reply and "内容：聊了报价" in reply, reply
        assert "改为 1月16日" in await wechat.say("改回访周五", sender=REP_A)
        assert "改为 微信" in await wechat.say("改方式微信", sender=REP_A)
        reply = await wechat.say("成交 王五5千", sender=REP_A)
        assert "已记录成交" in reply, reply
    f = await FollowUp.get(customer=c)
    assert (f.method, f.content) == (FollowUpMethod.WECHAT, "聊了报价")
    assert f.next_revisit_on == date(2026, 1, 16)
    assert (await Deal.get(customer=c)).amount == Decimal(5000)
    for query in ("查一下王五", "查下王五", "查 一下 王五"):
        assert "【王五】五金店" in await wechat.say(query, sender=REP_A), query


async def test_a_glued_name_is_still_found_when_it_is_the_whole_head(
    wechat: WeChatSender,
) -> None:
    a, _b, _m = await team()
    await customer("王五", a)
    longer = await customer("王五电话", a)  # someone really named so wins over 王五
    reply = await wechat.say("跟进 王五电话 聊了报价", sender=REP_A)
    assert "客户：王五电话" in reply and "内容：聊了报价" in reply, reply
    assert (await FollowUp.get()).customer_id == longer.id


async def test_signing_by_stage_then_recording_the_amount_is_one_deal(
    wechat: WeChatSender,
) -> None:
    a, _b, _m = await team()
    c = await customer("王五", a)
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("阶段 王五 报价 年度采购", sender=REP_A)
        assert "报价 → 签约" in await wechat.say("阶段 王五 签约", sender=REP_A)
        reply = await wechat.say("成交 王五 5000", sender=REP_A)
        assert reply.startswith("已记录成交：王五 年度采购，金额 ¥5,000"), reply
        card = await wechat.say("查 王五", sender=REP_A)
    assert "已成交 1 笔，合计 ¥5,000" in card, card
    deal = await Deal.get(customer=c)
    assert (deal.stage, deal.amount, deal.closed_on) == (
        DealStage.SIGNED,
        Decimal(5000),
        date(2026, 1, 14),
    )
    # A second deal the same day is a new one: the first is no longer at ¥0.
    with time_machine.travel(FROZEN, tick=True):
        await wechat.say("成交 王五 300 配件 2件", sender=REP_A)
    assert await Deal.filter(customer=c).count() == 2


async def test_deal_reply_spacing_with_product_and_quantity(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    await customer("王五", a)
    with time_machine.travel(FROZEN, tick=True):
        assert (await wechat.say("成交 王五 5000 10件", sender=REP_A)).startswith(
            "已记录成交：王五 ×10，金额"
        )
        assert (await wechat.say("成交 王五 5000 设备 10件", sender=REP_A)).startswith(
            "已记录成交：王五 设备 ×10，金额"
        )


async def test_two_reps_claiming_the_same_unowned_customer(db: str) -> None:
    from models.followups import log_followup

    a, b, _m = await team()
    c = await customer("陶然", None)
    # Both reps loaded the customer while it was still unowned.
    seen_by_a = await Customer.get(id=c.id)
    seen_by_b = await Customer.get(id=c.id)
    today = date(2026, 1, 14)
    first = await log_followup(seen_by_a, a, FollowUpMethod.PHONE, "聊了", "", None, today)
    second = await log_followup(seen_by_b, b, FollowUpMethod.PHONE, "也聊了", "", None, today)
    assert first.claimed and not second.claimed
    assert (await Customer.get(id=c.id)).owner_id == a.id  # type: ignore[attr-defined]
    assert seen_by_b.owner_id == a.id  # type: ignore[attr-defined]
    assert (await Customer.get(id=c.id)).last_contact_at is not None


async def test_a_second_list_asked_over_the_first_is_the_one_answered(
    wechat: WeChatSender,
) -> None:
    """A new command that asks 「哪一位」 again while a list waits: the 「1」 that follows
    answers the new list (it was refused as if no list waited)."""
    rep, _, _ = await team()
    await customer("王强", rep)
    await customer("李娜", rep)
    assert "王强" in await wechat.say("跟进 王总 电话聊了报价", sender=REP_A)
    assert "李娜" in await wechat.say("跟进 李总 电话聊了报价", sender=REP_A)
    answer = await wechat.say("1", sender=REP_A)
    assert answer.startswith("已记录跟进") and "客户：李娜" in answer, answer
    assert await FollowUp.filter(customer__name="李娜").count() == 1
    assert await FollowUp.filter(customer__name="王强").count() == 0


async def test_a_day_to_come_lists_the_revisits_planned_for_it(wechat: WeChatSender) -> None:
    """「明天要回访谁」 was 没有看懂: it lists that day's revisits (with their time), the
    birthdays of the rep's customers that day, and what is still due today."""
    from bot.parsing.birthdays import Birthday

    a, b, _m = await team()
    today = date(2026, 1, 14)  # a Wednesday
    plans = [("王强", 1, "10:00"), ("李娜", 1, None), ("周杰", 2, None), ("逾期的", -2, None)]
    for name, offset, at in plans:
        c = await customer(name, a, birthday=Birthday(1, 15) if name == "李娜" else None)
        await FollowUp.create(
            customer=c, rep=a, method="phone", content=f"{name}聊了报价",
            next_revisit_on=today + timedelta(days=offset), next_revisit_time=at,
        )  # fmt: skip
    other = await customer("别人的", b)
    await FollowUp.create(
        customer=other, rep=b, method="phone", content="x", next_revisit_on=today + timedelta(1)
    )
    with time_machine.travel(FROZEN, tick=True):
        for asked in ("明天要回访谁", "明天回访哪些客户？", "明天有什么要跟的", "明天的待办"):
            reply = await wechat.say(asked, sender=REP_A)
            assert reply.startswith("明天（1月15日 周四）要回访 2 位："), (asked, reply)
            assert "1. 王强 · 10:00；上次：王强聊了报价" in reply, reply
            assert "2. 李娜" in reply and "周杰" not in reply and "别人的" not in reply
            assert "明天过生日：李娜" in reply
            assert "今天还有 1 位到期或逾期的回访" in reply
        friday = await wechat.say("周五要联系谁", sender=REP_A)
        assert friday.startswith("周五（1月16日 周五）要回访 1 位：\n1. 周杰"), friday
        assert (await wechat.say("下周一要回访谁", sender=REP_A)).startswith(
            "下周一（1月19日 周一）没有安排回访。"
        )
        # Today's list is still 「待办」's; a plan is still a plan.
        assert "待办" in await wechat.say("今天要回访谁", sender=REP_A)
        plan = await wechat.say("明天要回访王强", sender=REP_A)
        assert not plan.startswith("明天（"), plan
