"""Customers' free messages reach a person or get a real answer: complaints become
tickets, progress questions are answered, leads and service requests go to the owner
rep (else the manager on duty) with the customer's words, small talk gets a kind word.
The classifier is measured on a labelled corpus of real-looking messages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.parsing.intent import Intent, classify
from models import Complaint, ComplaintEvent, Customer, CustomerRequest, Outbox
from tests.sales_helpers import MANAGER, REP_A, customer, team
from tests.wechat_client import OPENID, WeChatSender

CORPUS = Path(__file__).parent / "data" / "customer_messages.tsv"


def corpus() -> list[tuple[str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t", 1)
            rows.append((label, text))
    return rows


def test_classifier_precision_and_recall_on_the_corpus() -> None:
    rows = corpus()
    assert len(rows) >= 200
    predicted = [(label, classify(text).value) for label, text in rows]
    counts = Counter(label for label, _ in rows)
    report = []
    for intent in Intent:
        tp = sum(1 for label, got in predicted if label == got == intent.value)
        fp = sum(1 for label, got in predicted if got == intent.value != label)
        fn = sum(1 for label, got in predicted if label == intent.value != got)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        report.append((intent.value, counts[intent.value], precision, recall))
    print("\nintent       n  precision  recall")
    for name, n, p, r in report:
        print(f"{name:<10} {n:>3}  {p:9.3f}  {r:6.3f}")
    for name, _, p, r in report:
        assert p >= 0.9 and r >= 0.9, (name, p, r)


def test_praise_and_negated_complaint_words_are_not_tickets() -> None:
    for text in ("东西没坏，挺好的", "一点都不慢，很满意", "没有破损，谢谢", "质量真不错 👍"):
        assert classify(text) is not Intent.COMPLAINT, text
    for text in ("😡", "差评", "I want a refund", "complaint: wrong size", "客服态度太差"):
        assert classify(text) is Intent.COMPLAINT, text


async def owned_customer() -> Customer:
    rep, _, manager = await team()
    await manager.__class__.filter(id=manager.id).update(on_duty=True)
    c = await customer("张三", rep, company="华东精密")
    await Customer.filter(id=c.id).update(openid=OPENID)
    return c


async def test_a_lead_reaches_the_owner_with_the_customers_words(wechat: WeChatSender) -> None:
    c = await owned_customer()
    reply = await wechat.say("让销售联系我，想订一批监护仪")
    assert "您的专属顾问李明" in reply and "前联系您" in reply
    push = await Outbox.get(recipient=REP_A)
    text = push.payload["reply"]["text"]
    assert text.startswith("【购买意向】客户 张三（华东精密）：")
    assert "「让销售联系我，想订一批监护仪」" in text and "查 张三" in text
    again = await wechat.say("让销售联系我")
    assert "已经转给" in again
    assert await Outbox.filter(recipient=REP_A).count() == 1  # not pushed twice
    card = await wechat.say("查 张三", REP_A)
    assert "客户留言：" in card and "购买意向「让销售联系我，想订一批监护仪」→ 李明" in card
    assert await CustomerRequest.filter(customer_id=c.id).count() == 1


async def test_a_stranger_with_a_service_request_reaches_the_manager_on_duty(
    wechat: WeChatSender,
) -> None:
    _, _, manager = await team()
    await manager.__class__.filter(id=manager.id).update(on_duty=True)
    reply = await wechat.say("我需要开个发票，抬头是上海禾丰贸易")
    assert "值班主管" in reply and "前联系您" in reply
    newcomer = await Customer.get(openid=OPENID)  # first contact: a 潜在 customer now
    request = await CustomerRequest.get(customer_id=newcomer.id)
    assert request.kind == "service" and request.assignee_id == manager.id  # type: ignore[attr-defined]
    push = await Outbox.get(recipient=MANAGER)
    assert push.payload["reply"]["text"].startswith("【服务请求】")
    assert "转人工" not in reply and "值班主管" in await wechat.say("转人工")


async def test_progress_question_answers_with_the_ticket_instead_of_a_note(
    wechat: WeChatSender,
) -> None:
    await owned_customer()
    opened = await wechat.say("投诉 收到的货有破损")
    ticket = (await Complaint.get()).ticket_no
    assert ticket in opened
    events = await ComplaintEvent.all().count()
    answer = await wechat.say("我的投诉怎么样了")
    assert ticket in answer
    # The command word with a question after it, and "when" asked without it.
    for asked in ("投诉进度", "投诉处理得怎么样了", "什么时候能给我解决"):
        assert ticket in await wechat.say(asked), asked
    assert await ComplaintEvent.all().count() == events  # not stored as a note
    assert await Complaint.all().count() == 1
    # A complaint about slow progress is still a complaint.
    assert "已收到您的投诉" in await wechat.say("投诉 安装进度太慢，等了一个月")


async def test_praise_gets_thanks_and_anger_gets_a_ticket(wechat: WeChatSender) -> None:
    await owned_customer()
    thanks = await wechat.say("收到了，质量不错，给个好评")
    assert "谢谢您的支持" in thanks
    hello = await wechat.say("在吗")
    assert "转人工" in hello and "报价" in hello
    assert await Complaint.all().count() == 0
    angry = await wechat.say("😡😡 到现在还没人理我")
    assert "TS" in angry and await Complaint.all().count() == 1


async def test_wanting_to_complain_is_asked_what_happened(wechat: WeChatSender) -> None:
    from tests.wechat_client import message_xml, next_msg_id

    await owned_customer()
    said = message_xml(
        "voice", OPENID, MediaId="m1", Format="amr", Recognition="我要投诉。", MsgId=next_msg_id()
    )
    asked = (await wechat.send(said) or {}).get("Content", "")
    assert "请直接描述您遇到的问题" in asked
    assert await Complaint.all().count() == 0
    opened = await wechat.say("送来的监护仪屏幕是裂的")
    assert "已收到您的投诉" in opened
    assert (await Complaint.get()).content == "送来的监护仪屏幕是裂的"


async def test_asking_where_everyone_is_after_a_request(wechat: WeChatSender) -> None:
    await owned_customer()
    first = await wechat.say("我需要开个发票")
    waiting = await wechat.say("人呢？怎么没人回复")
    assert "前联系您" in first
    assert "已经转给" in waiting and "前联系您" in waiting
    assert await CustomerRequest.all().count() == 1


async def test_the_phone_and_quantity_asked_for_reach_the_same_person(
    wechat: WeChatSender,
) -> None:
    _, _, manager = await team()
    await manager.__class__.filter(id=manager.id).update(on_duty=True)
    stranger = "oStranger00000000000000000019"
    asked = await wechat.say("你们的监护仪多少钱一台", stranger)
    assert "留下联系电话" in asked
    answer = await wechat.say("13800138000，要20台", stranger)
    more = await wechat.say("我姓王，杭州的", stranger)
    assert "已一并转给值班主管" in answer and "138****8000" in answer
    assert "已一并转给值班主管" in more and "****" not in more
    newcomer = await Customer.get(openid=stranger)
    assert newcomer.phone_last4 == "8000"  # the card now has a number to call
    request = await CustomerRequest.get(customer_id=newcomer.id)
    assert request.words.splitlines() == [
        "你们的监护仪多少钱一台",
        "13800138000，要20台",
        "我姓王，杭州的",
    ]
    pushed = [
        o.payload["reply"]["text"] for o in await Outbox.filter(recipient=MANAGER).order_by("id")
    ]
    assert len(pushed) == 3 and "客户补充" in pushed[1] and "已记下电话 13800138000" in pushed[1]
    # Thanks, greetings and 「好的」 are no additions.
    assert "谢谢您的支持" in await wechat.say("好的谢谢", stranger)
    assert "有任何需要随时发消息给我" in await wechat.say("好的", stranger)
    assert "已一并转给" not in await wechat.say("在吗", stranger)
    # Nor are stray marks and faces: nothing a colleague could act on.
    for noise in ("？？？", "。。。", "🙂"):
        assert "已一并转给" not in await wechat.say(noise, stranger)
    assert await Outbox.filter(recipient=MANAGER).count() == 3
    assert len((await CustomerRequest.get(id=request.id)).words.splitlines()) == 3


async def test_a_visitor_who_gives_their_name_is_named_on_the_card(wechat: WeChatSender) -> None:
    _, _, manager = await team()
    await manager.__class__.filter(id=manager.id).update(on_duty=True)
    stranger = "oStranger00000000000000000023"
    await wechat.say("你们的监护仪多少钱一台", stranger)
    answer = await wechat.say("我叫黄小龙电话13566667777要三台", stranger)
    assert "已一并转给值班主管" in answer, answer
    card = await Customer.get(openid=stranger)
    assert (card.name, card.name_initials, card.phone_last4) == ("黄小龙", "hxl", "7777")
