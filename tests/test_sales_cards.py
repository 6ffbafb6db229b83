"""「查 …」 through the real /wechat endpoint: fuzzy search (name, homophone typo,
pinyin, initials, company, phone digits), the numbered choice, visibility rules,
audit, and encryption at rest."""

from __future__ import annotations

from datetime import date

from tortoise import Tortoise

from bot.parsing.birthdays import Birthday
from models import AuditLog, ConversationState, Customer, FollowUp
from models.enums import FollowUpMethod, Grade
from tests.sales_helpers import CIPHER, MANAGER, REP_A, customer, team
from tests.wechat_client import WeChatSender


async def test_card_by_name_shows_everything_to_the_owner(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    c = await customer(
        "张三",
        a,
        "13800138000",
        "华东精密机械有限公司",
        Grade.VIP,
        address="上海市人民路1号",
        birthday=Birthday(8, 15, lunar=True),
    )
    await FollowUp.create(
        customer=c, rep=a, method=FollowUpMethod.PHONE, content="聊了报价", feedback="价格偏高",
        next_revisit_on=date(2030, 1, 1),
    )  # fmt: skip
    card = await wechat.say("查 张三", sender=REP_A)
    assert "【张三】华东精密机械有限公司" in card
    assert "13800138000" in card and "上海市人民路1号" in card
    assert "VIP" in card and "李明" in card
    assert "聊了报价" in card and "价格偏高" in card
    assert "农历八月十五" in card and "2030年1月1日" in card
    await wechat.audited()
    audit = await AuditLog.filter(target=f"customer:{c.id}").get()
    assert audit.action == "customers.show_card" and audit.actor == f"staff:{a.id}"


async def test_other_reps_customer_is_masked_without_history(wechat: WeChatSender) -> None:
    _a, b, _m = await team()
    c = await customer("王强", b, "13912345678", "宁波港通物流有限公司", address="宁波市")
    await FollowUp.create(customer=c, rep=b, method=FollowUpMethod.VISIT, content="秘密报价")
    card = await wechat.say("查 王强", sender=REP_A)
    assert "139****5678" in card
    assert "13912345678" not in card and "宁波市" not in card
    assert "秘密报价" not in card and "张伟的客户" in card
    # The manager sees it all; the view is audited for both.
    full = await wechat.say("查 王强", sender=MANAGER)
    assert "13912345678" in full and "秘密报价" in full
    # The follow-up names the rep who made it, not the manager reading it.
    assert "拜访（张伟）：秘密报价" in full
    await wechat.audited()
    assert await AuditLog.filter(target=f"customer:{c.id}").count() == 2


async def test_fuzzy_search_by_pinyin_initials_typo_company_and_phone(
    wechat: WeChatSender,
) -> None:
    a, _b, _m = await team()
    await customer("郑晓燕", a, "13700001111", "厦门海韵贸易有限公司")
    for query in (
        "郑晓燕",
        "zxy",
        "zhengxiaoyan",
        "ZXY",
        "郑小燕",  # typo that sounds the same
        "郑晓艳",
        "zhengxiaoyna",  # typo in the pinyin
        "海韵贸易",
        "晓燕",
        "1111",
        "700001111",
        "137 0000 1111",
        "+86 13700001111",
    ):
        card = await wechat.say(f"查 {query}", sender=REP_A)
        assert "【郑晓燕】" in card, (query, card)


async def test_latin_company_names_are_found(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    await customer("王五", a, company="TCL")
    await customer("赵六", a, company="ABB 中国")
    for query, name in (("TCL", "王五"), ("tcl", "王五"), ("ABB", "赵六"), ("abb", "赵六")):
        card = await wechat.say(f"查 {query}", sender=REP_A)
        assert f"【{name}】" in card, (query, card)
    # Pinyin still comes first: 「ww」 is 王五's initials, not a company.
    assert "【王五】" in await wechat.say("查 ww", sender=REP_A)


async def test_no_match_says_how_to_search(wechat: WeChatSender) -> None:
    await team()
    reply = await wechat.say("查 不存在的人", sender=REP_A)
    assert "没有找到" in reply and "拼音首字母" in reply
    assert "要查哪位客户" in await wechat.say("查", sender=REP_A)


async def test_several_matches_give_a_numbered_choice(wechat: WeChatSender) -> None:
    a, b, _m = await team()
    first = await customer("张三", a, "13800000001", "华东精密机械有限公司")
    await customer("张三", b, "13800000002", "杭州云帆科技有限公司")
    listing = await wechat.say("客户 张三", sender=REP_A)
    assert "1. 张三 · 华东精密机械有限公司（李明）" in listing
    assert "2. 张三 · 杭州云帆科技有限公司（张伟）" in listing
    assert "请回复 1–2" in await wechat.say("5", sender=REP_A)
    card = await wechat.say("1", sender=REP_A)
    assert "华东精密" in card and "13800000001" in card
    assert await ConversationState.all().count() == 0
    await wechat.audited()
    audit = await AuditLog.filter(target=f"customer:{first.id}").get()
    assert audit.action == "customers.card"
    # Outside the dialog a digit is not a choice.
    assert "华东精密" not in await wechat.say("1", sender=REP_A)


async def test_choice_can_be_cancelled(wechat: WeChatSender) -> None:
    a, b, _m = await team()
    await customer("张三", a)
    await customer("张三", b)
    await wechat.say("查 张三", sender=REP_A)
    assert "已取消" in await wechat.say("取消", sender=REP_A)
    assert await ConversationState.all().count() == 0


async def test_phone_is_encrypted_at_rest(wechat: WeChatSender, db: str) -> None:
    a, _b, _m = await team()
    c = await customer("李娜", a, "13600001234", address="苏州市干将路8号")
    conn = Tortoise.get_connection("default")
    rows = await conn.execute_query_dict(
        "SELECT * FROM customer WHERE id = " + str(c.id)
    )  # raw row, no ORM conversion
    raw = " ".join(str(v) for v in rows[0].values())
    assert "13600001234" not in raw and "干将路" not in raw
    assert rows[0]["phone_last4"] == "1234"
    stored = await Customer.get(id=c.id)
    assert CIPHER.decrypt(stored.phone_enc) == "13600001234"


async def test_customers_and_strangers_cannot_search(wechat: WeChatSender) -> None:
    a, _b, _m = await team()
    await customer("张三", a, "13800138000")
    reply = await wechat.say("查 张三")
    assert "13800138000" not in reply and "张三" not in reply


async def test_voice_search_uses_recognition(wechat: WeChatSender) -> None:
    from tests.wechat_client import message_xml, next_msg_id

    a, _b, _m = await team()
    await customer("张三", a, "13800138000", "华东精密")
    xml = message_xml(
        "voice", REP_A, MediaId="m1", Format="amr", Recognition="查张三。", MsgId=next_msg_id()
    )
    reply = await wechat.send(xml)
    assert reply is not None and "【张三】" in reply["Content"]
    empty = message_xml(
        "voice", REP_A, MediaId="m2", Format="amr", Recognition="", MsgId=next_msg_id()
    )
    reply = await wechat.send(empty)
    assert reply is not None and "没能听清" in reply["Content"]
