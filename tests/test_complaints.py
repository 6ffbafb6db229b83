"""Complaints through signed webhook requests: intake with photos and voice,
classification, assignment, reply, close, rating, reopen; rights; retries; the
customer who probes another's ticket number; odd input."""

from __future__ import annotations

import asyncio

from bot.seed import seed_demo
from models import AuditLog, Complaint, ComplaintEvent, Customer, Outbox, Staff
from models.complaints import Category
from models.enums import ComplaintStatus, Grade, Lifecycle, Role, Severity
from tests.conftest import AppFactory, make_config
from tests.wechat_client import WeChatSender, message_xml, next_msg_id, text_xml

CUSTOMER = "oCustomerA000000000000000001"
OTHER = "oCustomerB000000000000000002"
STRANGER = "oStranger0000000000000000003"
REP = "oRepLiMing000000000000000004"
REP2 = "oRepZhangWei0000000000000005"
MANAGER = "oManagerChen00000000000000006"


async def team() -> tuple[Staff, Staff, Staff]:
    rep = await Staff.create(name="李明", role=Role.REP, oa_openid=REP)
    rep2 = await Staff.create(name="张伟", role=Role.REP, oa_openid=REP2)
    manager = await Staff.create(name="陈静", role=Role.MANAGER, oa_openid=MANAGER, on_duty=True)
    return rep, rep2, manager


async def vip_customer(owner: Staff, openid: str = CUSTOMER, name: str = "张三") -> Customer:
    return await Customer.create(name=name, grade=Grade.VIP, owner=owner, openid=openid)


async def pushes(recipient: str) -> list[str]:
    rows = await Outbox.filter(recipient=recipient).order_by("id")
    return [r.payload["reply"]["text"] for r in rows]


def ticket_in(reply: str) -> str:
    start = reply.index("TS")
    return reply[start : start + 14]


async def events(c: Complaint) -> list[str]:
    return [e.kind for e in await ComplaintEvent.filter(complaint=c).order_by("id")]


async def test_the_life_of_a_ticket(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    customer = await vip_customer(rep)

    reply = await wechat.say("投诉 快递三天了还没到，急用", sender=CUSTOMER)
    number = ticket_in(reply)
    assert "已收到您的投诉" in reply and "您的客户经理" in reply and "李明" not in reply
    c = await Complaint.get(ticket_no=number)
    assert c.customer_id == customer.id  # type: ignore[attr-defined]
    assert c.category == Category.LOGISTICS and c.severity == Severity.MEDIUM
    # 急 makes it more urgent, and so does being a VIP: 2 (medium) x 3.
    assert (c.urgency, c.priority) == (3, 6)
    assert c.assignee_id == rep.id and c.channel == "oa"  # type: ignore[attr-defined]
    assert (c.first_reply_due - c.created_at).total_seconds() == 24 * 3600
    [notice] = await pushes(REP)
    assert number in notice and "张三" in notice and "回复 " + number in notice

    # Photos and voice in the next minutes go onto the ticket.
    photo = message_xml(
        "image", CUSTOMER, PicUrl="http://img.example/1.jpg", MediaId="media-1", MsgId=next_msg_id()
    )
    assert "已将图片附在投诉单 " + number in (await wechat.send(photo))["Content"]  # type: ignore[index]
    voice = message_xml(
        "voice", CUSTOMER, MediaId="media-2", Format="amr", Recognition="", MsgId=next_msg_id()
    )
    assert "语音" in (await wechat.send(voice))["Content"]  # type: ignore[index]
    media = await ComplaintEvent.filter(complaint=c, kind__in=["image", "voice"]).order_by("id")
    assert [(e.kind, e.media_id) for e in media] == [("image", "media-1"), ("voice", "media-2")]

    # The rep sees it in the list and in detail, with the timeline.
    assert number in await wechat.say("投诉", sender=REP)
    detail = await wechat.say(f"投诉 {number}", sender=REP)
    assert "提交投诉" in detail and "补充图片" in detail and "指派给：李明" in detail

    # The reply reaches the customer through the channel they wrote from.
    assert number in await wechat.say(f"回复 {number} 已联系快递，今天下午送到", sender=REP)
    to_customer = await Outbox.filter(recipient=CUSTOMER).order_by("id")
    assert [r.channel for r in to_customer] == ["oa"]
    assert "今天下午送到" in to_customer[0].payload["reply"]["text"]
    await c.refresh_from_db()
    assert c.first_replied_at is not None and c.status == ComplaintStatus.IN_PROGRESS

    progress = await wechat.say(f"进度 {number}", sender=CUSTOMER)
    assert "处理中" in progress and "您的客户经理" in progress and "李明" not in progress

    assert "已结案" in await wechat.say(f"结案 {number} 已送达，客户签收", sender=REP)
    await c.refresh_from_db()
    assert c.status == ComplaintStatus.CLOSED and c.resolution == "已送达，客户签收"
    closing = (await pushes(CUSTOMER))[-1]
    assert "1-5" in closing and "未解决" in closing

    assert "感谢您的评价（4 分）" in await wechat.say("４分 送得有点慢", sender=CUSTOMER)
    await c.refresh_from_db()
    assert (c.rating, c.rating_comment) == (4, "送得有点慢")

    # 未解决 within the week reopens it, and the rep is told.
    reopened = await wechat.say("未解决", sender=CUSTOMER)
    assert "已重新打开投诉单 " + number in reopened
    await c.refresh_from_db()
    assert c.status == ComplaintStatus.REOPENED and c.reopened_count == 1 and c.rating is None
    assert "重新打开" in (await pushes(REP))[-1]

    assert await events(c) == [
        "created",
        "categorized",
        "assigned",
        "image",
        "voice",
        "replied",
        "closed",
        "rated",
        "reopened",
    ]
    audited = await AuditLog.filter(target=f"complaint:{c.id}").count()
    assert audited >= 8


async def test_unclear_category_is_asked_and_a_stranger_becomes_a_lead(
    wechat: WeChatSender,
) -> None:
    _, _, manager = await team()
    reply = await wechat.say("投诉 收到的货有破损", sender=STRANGER)
    number = ticket_in(reply)
    assert "1 质量" in reply and "2 物流" in reply
    customer = await Customer.get(openid=STRANGER)
    assert customer.grade == Grade.POTENTIAL and customer.lifecycle == Lifecycle.POTENTIAL
    c = await Complaint.get(ticket_no=number)
    assert c.category == "" and c.assignee_id == manager.id  # type: ignore[attr-defined]
    assert number in (await pushes(MANAGER))[0], "the manager on duty is told at once"

    assert "物流" in await wechat.say("2", sender=STRANGER)
    await c.refresh_from_db()
    assert c.category == Category.LOGISTICS and c.severity == Severity.MEDIUM
    assert c.priority == 2  # a new lead: medium x normal urgency


async def test_retries_of_the_intake_open_one_ticket(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    xml = text_xml("投诉 发票开错了", sender=CUSTOMER)
    first, second = await asyncio.gather(wechat.send(xml), wechat.send(xml))
    third = await wechat.send(xml)
    replies = {r["Content"] for r in (first, second, third) if r is not None}
    assert len(replies) == 1 and "已收到您的投诉" in replies.pop()
    assert await Complaint.all().count() == 1
    assert len(await pushes(REP)) == 1
    # The same words again (a new message, not a retry) are the same complaint.
    again = await wechat.say("投诉 发票开错了", sender=CUSTOMER)
    assert "已经登记过了" in again
    assert await Complaint.all().count() == 1


async def test_a_customer_cannot_see_another_customers_ticket(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    await vip_customer(rep, openid=OTHER, name="李四")
    number = ticket_in(await wechat.say("投诉 空调漏水，地板都泡了", sender=CUSTOMER))

    probe = await wechat.say(f"进度 {number}", sender=OTHER)
    missing = await wechat.say("进度 TS209901010001", sender=OTHER)
    assert "没有找到" in probe and "漏水" not in probe
    assert probe.replace(number, "X") == missing.replace("TS209901010001", "X")
    assert "没有找到" in await wechat.say(f"未解决 {number}", sender=OTHER)
    assert "没有找到" in await wechat.say(f"投诉 {number}", sender=OTHER)
    assert await Complaint.all().count() == 1
    assert "没有投诉记录" in await wechat.say("进度", sender=OTHER)
    mine = await wechat.say("进度", sender=CUSTOMER)
    assert number in mine
    # Typed as printed elsewhere (with a dash) or in lower case, it is still found.
    typed = f"{number[:10].lower()}-{number[10:]}"
    assert "漏水" not in probe and "待处理" in await wechat.say(f"进度 {typed}", sender=CUSTOMER)


async def test_rights_rep_cannot_close_or_reassign_another_reps_ticket(
    wechat: WeChatSender,
) -> None:
    rep, _rep2, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say("投诉 设备三天两头故障", sender=CUSTOMER))

    assert "没有权限结案" in await wechat.say(f"结案 {number} 已处理", sender=REP2)
    assert "没有权限回复" in await wechat.say(f"回复 {number} 你好", sender=REP2)
    assert "只有主管" in await wechat.say(f"指派 {number} 张伟", sender=REP2)
    assert "不是你负责的" in await wechat.say(f"投诉 {number}", sender=REP2)
    assert "只有主管" in await wechat.say(f"升级 {number}", sender=REP)
    c = await Complaint.get(ticket_no=number)
    assert c.status == ComplaintStatus.OPEN and c.assignee_id == rep.id  # type: ignore[attr-defined]
    assert await Outbox.filter(recipient=CUSTOMER).count() == 0

    # A manager reassigns; the new assignee is told and may now close it.
    assert "已将" in await wechat.say(f"指派 {number} 张伟", sender=MANAGER)
    assert number in (await pushes(REP2))[-1]
    assert "没有权限结案" in await wechat.say(f"结案 {number} 已处理", sender=REP)
    assert "已结案" in await wechat.say(f"结案 {number} 已上门维修", sender=REP2)
    assert "已结案，不能再回复" in await wechat.say(f"回复 {number} 再说一句", sender=REP2)


async def test_a_manager_hands_a_ticket_over_in_words(wechat: WeChatSender) -> None:
    rep, rep2, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say("投诉 设备三天两头故障", sender=CUSTOMER))
    # 「没有看懂」 before; 「投诉TS…」 showed the ticket instead.
    handed = await wechat.say(f"把投诉{number}交给张伟处理", sender=MANAGER)
    assert f"已将 {number} 指派给 张伟" in handed, handed
    c = await Complaint.get(ticket_no=number)
    assert c.assignee_id == rep2.id  # type: ignore[attr-defined]
    assert number in (await pushes(REP2))[-1]
    back = await wechat.say(f"投诉{number}交给李明处理", sender=MANAGER)
    short = await wechat.say(f"把{number[-4:]}这单转给张伟吧。", sender=MANAGER)
    assert f"已将 {number} 指派给 李明" in back, back
    assert f"已将 {number} 指派给 张伟" in short, short
    # A rep may not, as with 「指派」; digits alone without 投诉 or 单 hand nothing over.
    assert "只有主管" in await wechat.say(f"把投诉{number}交给李明处理", sender=REP2)
    assert "已将" not in await wechat.say("5000给李明", sender=MANAGER)
    assert (await Complaint.get(ticket_no=number)).assignee_id == rep2.id  # type: ignore[attr-defined]


async def test_manager_escalates_and_regrades_with_a_reason(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await Customer.create(name="王五", grade=Grade.NORMAL, owner=rep, openid=CUSTOMER)
    number = ticket_in(await wechat.say("投诉 价格比上次贵了", sender=CUSTOMER))
    c = await Complaint.get(ticket_no=number)
    assert (c.category, c.severity, c.priority) == (Category.PRICE, Severity.LOW, 1)

    assert "请写上改级的原因" in await wechat.say(f"改级 {number} 严重", sender=MANAGER)
    assert "用法" in await wechat.say(f"改级 {number} 超级 原因", sender=MANAGER)
    regraded = await wechat.say(f"改级 {number} 严重 客户要求退全款", sender=MANAGER)
    assert "轻微→严重" in regraded
    assert "没有权限改级" in await wechat.say(f"改级 {number} 轻微 误判", sender=REP)
    escalated = await wechat.say(f"升级 {number} 客户要投诉到消协", sender=MANAGER)
    assert "已升级" in escalated
    await c.refresh_from_db()
    assert (c.severity, c.urgency, c.priority, c.escalation_level) == (Severity.HIGH, 3, 9, 1)
    rep_pushes = await pushes(REP)
    assert any("改级" in t for t in rep_pushes) and any("升级" in t for t in rep_pushes)
    assert await events(c) == ["created", "categorized", "assigned", "regraded", "escalated"]


async def test_free_text_complaint_and_its_follow_up(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    reply = await wechat.say("你们的快递太慢了，一周还没到", sender=CUSTOMER)
    number = ticket_in(reply)
    # More words within minutes belong to the same ticket.
    assert "补充说明" in await wechat.say("外箱都压坏了", sender=CUSTOMER)
    assert await Complaint.all().count() == 1
    assert "note" in await events(await Complaint.get(ticket_no=number))
    # An ordinary message is not a complaint.
    assert "TS" not in await wechat.say("你好", sender=OTHER)
    assert await Complaint.all().count() == 1


async def test_menu_click_asks_for_the_complaint(wechat: WeChatSender) -> None:
    await team()
    click = message_xml("event", STRANGER, Event="CLICK", EventKey="COMPLAINT")
    assert "请直接描述" in (await wechat.send(click))["Content"]  # type: ignore[index]
    reply = await wechat.say("客服电话一直打不通", sender=STRANGER)
    c = await Complaint.get(ticket_no=ticket_in(reply))
    assert c.category == Category.SERVICE or c.category == ""


async def test_bad_input_gets_a_clear_answer(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say("投诉 质量太差了", sender=CUSTOMER))
    for text, expected in [
        ("回复", "用法"),
        (f"回复 {number}", "用法"),
        ("回复 TS2026 你好", "用法"),
        ("结案 TS209901010001 好了", "没有找到投诉单"),
        (f"结案 {number}", "用法"),
        ("投诉 张三", "请写上投诉单号"),
        ("投诉 TS209901010001", "没有找到"),
        (f"指派 {number}", "用法"),
        (f"指派 {number} 不存在的人", "没有找到在职员工"),
        ("升级", "用法"),
    ]:
        assert expected in await wechat.say(text, sender=MANAGER), text
    # A digit from a customer with no rating pending is not taken as a rating.
    assert "评价" not in await wechat.say("5", sender=CUSTOMER)
    assert "没有可以重新打开" in await wechat.say("未解决", sender=CUSTOMER)
    assert "投诉单 " + number + " 还在处理中" in await wechat.say(
        f"未解决 {number}", sender=CUSTOMER
    )


async def test_simulator_demo_personas_file_and_answer(app_client: AppFactory, db: str) -> None:
    client = await app_client(simulator={"enabled": True})
    await seed_demo(make_config(db))

    async def sim_say(identity: str, text: str) -> str:
        resp = await client.post("/simulator/api/send", json={"identity": identity, "text": text})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["reply"]["text"]

    guest = "sim-guest-00aa11bb22cc"
    number = ticket_in(await sim_say(guest, "投诉 快递一直没收到"))
    c = await Complaint.get(ticket_no=number).prefetch_related("assignee")
    assert c.channel == "simulator" and c.assignee.simulator_id == "sim-manager"
    notice = await Outbox.get(recipient="sim-manager")
    assert notice.channel == "simulator" and number in notice.payload["reply"]["text"]
    assert "已发给客户" in await sim_say("sim-manager", f"回复 {number} 已催快递")
    answer = await Outbox.get(recipient=guest)
    assert answer.channel == "simulator" and "已催快递" in answer.payload["reply"]["text"]
    # The seeded tickets are listed for the manager, nearest deadline first.
    listing = await sim_say("sim-manager", "投诉")
    assert listing.index(number) > 0 and "全部待处理投诉" in listing


async def closed_ticket(wechat: WeChatSender, complaint: str, resolution: str) -> str:
    """A VIP customer's ticket, opened with ``complaint`` and closed by the rep."""
    rep, _, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say(complaint, sender=CUSTOMER))
    await wechat.say(f"结案 {number} {resolution}", sender=REP)
    return number


async def test_after_closing_only_a_real_rating_counts_as_one(wechat: WeChatSender) -> None:
    number = await closed_ticket(wechat, "投诉 快递把外箱压坏了，东西也摔坏了", "已补发新品")
    # A new problem that happens to start with a digit is not a 2-star rating. (「又坏了」
    # would be the same problem again: test_still_broken_in_words_reopens_the_closed_ticket.)
    reply = await wechat.say("2个配件发错了，型号不对，质量太差", sender=CUSTOMER)
    assert "评价" not in reply
    assert (await Complaint.get(ticket_no=number)).rating is None
    assert "感谢您的评价（4 分）" in await wechat.say("4分还行", sender=CUSTOMER)
    assert (await Complaint.get(ticket_no=number)).rating == 4


async def test_a_rating_in_words_is_a_rating(wechat: WeChatSender) -> None:
    number = await closed_ticket(wechat, "投诉 快递把外箱压坏了，东西也摔坏了", "已补发新品")
    reply = await wechat.say("非常满意，补发很快", sender=CUSTOMER)
    assert "感谢您的评价（5 分）" in reply, reply
    rated = await Complaint.get(ticket_no=number)
    assert (rated.rating, rated.rating_comment) == (5, "非常满意，补发很快")


async def test_progress_in_words_lists_the_tickets(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say("投诉 快递三天了还没到", sender=CUSTOMER))
    reply = await wechat.say("进度怎么样了", sender=CUSTOMER)
    assert number in reply and "没有找到" not in reply
    assert "没有找到" in await wechat.say("进度 TS209901010001", sender=CUSTOMER)


async def test_the_card_names_the_complaint_category_in_chinese(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep, name="王五")
    await wechat.say("投诉 快递三天了还没到", sender=CUSTOMER)
    card = await wechat.say("查 王五", sender=REP)
    assert "物流" in card and "logistics" not in card


async def test_regrade_accepts_a_chinese_comma(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say("投诉 快递三天了还没到", sender=CUSTOMER))
    reply = await wechat.say(f"改级 {number} 严重，涉及批量退货", sender=MANAGER)
    assert reply.startswith(f"已改级 {number}")
    assert (await Complaint.get(ticket_no=number)).severity == Severity.HIGH


async def test_ticket_numbers_go_on_past_9999_in_a_day(wechat: WeChatSender) -> None:
    from datetime import UTC, datetime

    rep, _, _ = await team()
    vip = await vip_customer(rep)
    today = datetime.now(UTC).astimezone(make_config("sqlite://:memory:").tz)
    prefix = f"TS{today:%Y%m%d}"
    base = await Complaint.create(
        ticket_no=f"{prefix}9999",
        customer=vip,
        content="当天第 9999 张工单",
        first_reply_due=datetime.now(UTC),
        resolve_due=datetime.now(UTC),
    )
    assert base.id
    first = await wechat.say("投诉 发票开错了", sender=CUSTOMER)
    second = await wechat.say("投诉 送货太慢了", sender=CUSTOMER)
    assert f"{prefix}10000" in first and f"{prefix}10001" in second
    # The five-digit number is understood when the customer quotes it back.
    progress = await wechat.say(f"进度 {prefix}10000", sender=CUSTOMER)
    assert f"投诉单 {prefix}10000" in progress and "状态" in progress


async def test_staff_name_a_ticket_by_its_last_digits(wechat: WeChatSender) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    await vip_customer(rep, OTHER, "李四")
    first = ticket_in(await wechat.say("投诉 快递三天了还没到", sender=CUSTOMER))
    second = ticket_in(await wechat.say("投诉 收到的货有破损", sender=OTHER))
    digits = first[-4:]
    # As typed on a phone: the last digits, glued or not; 「投诉 全部」 is the list.
    assert "提交投诉" in await wechat.say(f"投诉 {digits}", sender=REP)
    assert first in await wechat.say(f"回复{digits} 已联系快递，今天下午送到", sender=REP)
    replied = await Complaint.get(ticket_no=first)
    assert replied.status == ComplaintStatus.IN_PROGRESS
    assert (await Complaint.get(ticket_no=second)).first_replied_at is None
    listed = await wechat.say("投诉 全部", sender=REP)
    assert first in listed and second in listed
    assigned = await wechat.say(f"指派{digits}给张伟", sender=MANAGER)  # glued, with 给
    assert f"已将 {first} 指派给 张伟" in assigned
    # A suffix no open ticket has, or one that several share, asks for the whole number.
    assert "没有尾号为 9999 的未结投诉" in await wechat.say("结案 9999 已处理", sender=REP)
    # Another day's ticket with the same sequence number.
    await Complaint.filter(ticket_no=second).update(ticket_no="TS20261101" + digits)
    both = await wechat.say(f"结案 {digits} 已处理", sender=MANAGER)
    assert "不止一单" in both and first in both and "TS20261101" + digits in both
    assert await Complaint.filter(status=ComplaintStatus.CLOSED).count() == 0
    # Of the two, only the older one is still 李明's (the first went to 张伟): for him
    # the last digits are enough.
    await wechat.say(f"结案 {digits} 已处理", sender=REP)
    closed = await Complaint.filter(status=ComplaintStatus.CLOSED).values_list(
        "ticket_no", flat=True
    )
    assert closed == ["TS20261101" + digits]


async def test_still_broken_in_words_reopens_the_closed_ticket(wechat: WeChatSender) -> None:
    number = await closed_ticket(wechat, "投诉 收到的货有破损", "已换新")
    reply = await wechat.say("还是有问题，换的新的也是裂的", sender=CUSTOMER)
    assert "已重新打开投诉单 " + number in reply
    assert await Complaint.all().count() == 1
    c = await Complaint.get(ticket_no=number)
    assert c.status == ComplaintStatus.REOPENED
    # Once it is open again, the same words are more of that ticket, not a reopening.
    again = await wechat.say("还是有问题", sender=CUSTOMER)
    assert "已重新打开" not in again and await Complaint.all().count() == 1


async def test_a_second_complaint_announced_after_the_first_is_a_ticket_of_its_own(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await vip_customer(rep)
    first = ticket_in(await wechat.say("我上个月买的那台机器一直漏油，你们到底管不管", CUSTOMER))
    await wechat.say("1", CUSTOMER)  # the category it asked for: 质量
    # More words right after are the same problem: a note on the ticket.
    note = await wechat.say("漏得满地都是油，太气人了，质量太差", CUSTOMER)
    assert first in note and "补充说明" in note, note
    # 「我要投诉」 announces another one: it is asked for and gets its own number.
    asked = await wechat.say("我要投诉", CUSTOMER)
    assert "补充说明" not in asked, asked
    second = ticket_in(await wechat.say("送货的师傅态度很差，东西还摔坏了", CUSTOMER))
    assert second != first
    assert await Complaint.filter(customer__name="张三").count() == 2


async def test_a_rep_writes_down_a_customers_complaint(wechat: WeChatSender) -> None:
    """What a customer said on the phone is a ticket the rep registers (it was 没有看懂,
    or 「请写上投诉单号」 after 「投诉 张三 …」): the customer's own kind of ticket, created
    by the rep, assigned to the customer's rep without telling them what they just wrote,
    and its number sent to the customer."""
    rep, _, _ = await team()
    customer = await vip_customer(rep)
    reply = await wechat.say("张三投诉说上次的货有破损", sender=REP)
    number = ticket_in(reply)
    assert reply.startswith(f"已为张三登记投诉，单号 {number}（未分类"), reply
    assert "负责人：李明" in reply and "已把单号发给客户" in reply, reply
    # 「破损」: the goods or the transport? The customer would be asked; the rep is.
    assert reply.endswith("回复数字：1 质量　2 物流　3 服务　4 价格　5 其他"), reply
    kind = await wechat.say("2", sender=REP)
    assert kind.startswith(f"投诉 {number} 已归为「物流」类（一般）"), kind
    c = await Complaint.get(ticket_no=number)
    assert c.customer_id == customer.id and c.content == "上次的货有破损"  # type: ignore[attr-defined]
    assert c.assignee_id == rep.id and c.channel == "oa"  # type: ignore[attr-defined]
    assert c.category == Category.LOGISTICS
    created = await ComplaintEvent.get(complaint=c, kind="created")
    assert created.actor == f"staff:{rep.id}"
    assert await pushes(REP) == []  # no 【新投诉】 about their own ticket
    [to_customer] = await pushes(CUSTOMER)
    assert number in to_customer and f"进度 {number}" in to_customer
    assert "您的客户经理" in to_customer and "李明" not in to_customer
    # The same words again within minutes are the same ticket.
    again = await wechat.say("张三投诉说上次的货有破损", sender=REP)
    assert again == f"张三的这条投诉几分钟前已经登记过了，单号 {number}。"

    # As reps say it; a manager registering it tells the rep it goes to.
    for said in (
        "帮张三登记一个投诉，设备漏水",
        "投诉 张三 发票开错了",
        "登记投诉 张三 安装师傅迟到",
        "客户张三投诉发货太慢",  # it was 查 「张三投诉发货太慢」: 没有找到
    ):
        assert "已为张三登记投诉" in await wechat.say(said, sender=MANAGER), said
    assert await Complaint.filter(customer=customer).count() == 5
    assert len(await pushes(REP)) == 4
    # A customer who does not follow the Official Account is told of by the rep.
    await Customer.create(name="王强", owner=rep)
    no_openid = await wechat.say("登记投诉 王强 送货太慢", sender=REP)
    assert "请把单号告诉客户" in no_openid, no_openid
    # Not a customer's name, not a complaint to register; the tickets' own commands stay.
    assert "已为" not in await wechat.say("王总投诉说价格太高", sender=REP)
    logged = await wechat.say("跟进 张三 客户投诉了发货慢", sender=REP)
    assert logged.startswith("已记录跟进"), logged
    assert "没有找到「赵六」" in await wechat.say("登记投诉 赵六 设备漏水", sender=REP)
    assert number in await wechat.say(f"投诉 {number}", sender=REP)
    assert number in await wechat.say("投诉 全部", sender=REP)


async def test_a_voice_message_saying_the_complaint_again_goes_on_the_ticket(
    wechat: WeChatSender,
) -> None:
    """The first reply promises that a voice message in the next minutes goes on the
    ticket; a recording that says the complaint again (「投诉，…」) is one too."""
    rep, _, _ = await team()
    await vip_customer(rep)
    number = ticket_in(await wechat.say("投诉 快递三天了还没到，急用", sender=CUSTOMER))
    said = "投诉，快递到现在还没到，我都打了好几次电话了"
    voice = message_xml(
        "voice", CUSTOMER, MediaId="media-9", Format="amr", Recognition=said, MsgId=next_msg_id()
    )
    reply = (await wechat.send(voice))["Content"]  # type: ignore[index]
    assert "已将语音附在投诉单 " + number in reply, reply
    assert await Complaint.filter(customer__name="张三").count() == 1
    c = await Complaint.get(ticket_no=number)
    [recording] = await ComplaintEvent.filter(complaint=c, kind="voice")
    assert (recording.media_id, recording.note) == ("media-9", said)
    # Typed, 「投诉 …」 is still a complaint of its own, as the reply says.
    other = ticket_in(await wechat.say("投诉 送货师傅态度很差", sender=CUSTOMER))
    assert other != number


async def test_a_new_complaint_said_by_voice_after_asking_for_one_is_its_own_ticket(
    wechat: WeChatSender,
) -> None:
    """「我要投诉」 first, as the first reply says, then the new complaint by voice: a
    ticket of its own, not a recording on the last one."""
    rep, _, _ = await team()
    await vip_customer(rep)
    first = ticket_in(await wechat.say("投诉 快递三天了还没到，急用", sender=CUSTOMER))
    await wechat.say("我要投诉", sender=CUSTOMER)
    voice = message_xml(
        "voice",
        CUSTOMER,
        MediaId="media-10",
        Format="amr",
        Recognition="投诉，送货师傅态度很差",
        MsgId=next_msg_id(),
    )
    second = ticket_in((await wechat.send(voice))["Content"])  # type: ignore[arg-type]
    assert second != first
    assert await Complaint.filter(customer__name="张三").count() == 2
