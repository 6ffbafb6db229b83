"""The after-sale satisfaction survey (issue #16): asked N days after a signed deal,
once, never of a customer who opted out; on the Official Account inside the 48-hour
window, else a line in the owner rep's briefing; the answer (with a comment) on the
card and in the digest; a low score becomes a revisit for the owner rep, a complaint
in the comment a ticket; and a pending complaint rating and a survey side by side."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.config import ConfigError
from bot.parsing.ratings import Rating, parse_rating
from models import (
    Complaint,
    Customer,
    CustomerRequest,
    Deal,
    Outbox,
    ProcessedMessage,
    Staff,
    Survey,
)
from models.digest import build_digest
from models.digest_text import render_digest
from models.enums import ComplaintStatus, DealStage
from models.periods import day_period
from models.surveys import send_surveys
from scheduler.jobs import briefing, survey
from tests.conftest import make_config
from tests.outbox_helpers import drain
from tests.sales_helpers import MANAGER, REP_A, REP_B, team
from tests.wechat_client import WeChatSender

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Thursday 3 December 2026, 08:00 in Shanghai: deals closed on 26 November are due.
MORNING = datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
TODAY = date(2026, 12, 3)
DUE_DAY = date(2026, 11, 26)
ZHANG = "oCustomerZhang00000000000001"
WANG = "oCustomerWang000000000000002"


async def buyer(name: str, owner: Staff, openid: str | None, wrote_lately: bool) -> Customer:
    c = await Customer.create(name=name, owner=owner, openid=openid)
    if wrote_lately and openid:
        # A message handled yesterday evening: inside WeChat's 48-hour window.
        await ProcessedMessage.create(key=f"oa:{openid}:1", channel="oa", sender=openid)
        await ProcessedMessage.filter(sender=openid).update(
            created_at=MORNING.astimezone(UTC) - timedelta(hours=14)
        )
    return c


async def deal(
    c: Customer, owner: Staff, closed_on: date, stage: DealStage = DealStage.SIGNED
) -> Deal:
    return await Deal.create(
        customer=c,
        owner=owner,
        product="数控机床",
        amount=Decimal(80000),
        closed_on=closed_on,
        stage=stage,
    )


async def questions_to(openid: str) -> list[str]:
    rows = await Outbox.filter(recipient=openid, dedup_key__startswith="survey:").order_by("id")
    return [r.payload["reply"]["text"] for r in rows]


async def pushes_to(openid: str) -> list[str]:
    rows = await Outbox.filter(recipient=openid).order_by("id")
    return [r.payload["reply"]["text"] for r in rows]


def test_answers_as_customers_type_them() -> None:
    assert parse_rating("5") == Rating(5, "")
    assert parse_rating("５") == Rating(5, "")
    assert parse_rating("五分") == Rating(5, "")
    assert parse_rating("四 还行") == Rating(4, "还行")
    assert parse_rating("4 送货有点慢") == Rating(4, "送货有点慢")
    assert parse_rating("3分，安装师傅迟到了") == Rating(3, "安装师傅迟到了")
    # Messages that begin with a number are not answers.
    assert parse_rating("2台新机器又坏了") is None
    assert parse_rating("五号下的单还没到") is None
    assert parse_rating("6") is None and parse_rating("好的") is None
    # Found by trying it: 「3.5」 was read as 3 with the comment 「5」.
    assert parse_rating("3.5") is None and parse_rating("４．５分") is None
    # Words of the five-level scale, alone or with a comment after a break.
    assert parse_rating("非常满意") == Rating(5, "非常满意")
    assert parse_rating("还行吧") == Rating(3, "还行吧")
    assert parse_rating("一般般") == Rating(3, "一般般")
    assert parse_rating("不满意，问题没解决") == Rating(2, "不满意，问题没解决")
    assert parse_rating("非常不满意") == Rating(1, "非常不满意")
    assert parse_rating("差评") == Rating(1, "差评")
    # Words that only start like one are messages.
    assert parse_rating("满意度调查是什么") is None and parse_rating("一般什么时候到") is None


async def test_asked_once_after_the_delay_never_of_an_opted_out_customer(db: str) -> None:
    a, _, _ = await team()
    cfg = make_config(db)
    zhang = await buyer("张三", a, ZHANG, wrote_lately=True)
    await deal(zhang, a, DUE_DAY)
    quiet = await buyer("退订客户", a, "oOptedOut0000000000000000003", wrote_lately=True)
    await Customer.filter(id=quiet.id).update(opted_out_at=MORNING.astimezone(UTC))
    await deal(quiet, a, DUE_DAY)
    await deal(await buyer("谈判中", a, None, False), a, DUE_DAY, DealStage.NEGOTIATION)
    await deal(await buyer("去年", a, None, False), a, date(2025, 11, 26))

    # Six days after the deal: too early.
    early = (MORNING - timedelta(days=1)).astimezone(UTC)
    assert "0 question(s)" in await survey(cfg, early)
    assert await Survey.all().count() == 0

    first = await survey(cfg, MORNING.astimezone(UTC))
    again = await survey(cfg, MORNING.astimezone(UTC) + timedelta(hours=3))
    assert first.startswith("survey: 1 question(s) queued, 0 for the reps")
    assert again.startswith("survey: 0 question(s) queued, 0 for the reps")
    [asked] = await Survey.all()
    assert asked.customer_id == zhang.id and asked.channel == "oa"  # type: ignore[attr-defined]
    [question] = await questions_to(ZHANG)
    assert "请回复 1-5 分" in question and "数控机床" in question
    # The next days find nothing new either.
    await survey(cfg, (MORNING + timedelta(days=1)).astimezone(UTC))
    assert await Survey.all().count() == 1 and len(await questions_to(ZHANG)) == 1
    assert await questions_to("oOptedOut0000000000000000003") == []


async def test_outside_the_window_the_rep_asks_from_the_briefing(
    db: str, wechat: WeChatSender
) -> None:
    a, _, _ = await team()
    cfg = make_config(db)
    await deal(await buyer("张三", a, ZHANG, wrote_lately=True), a, DUE_DAY)
    wang = await buyer("王五", a, WANG, wrote_lately=False)
    await deal(wang, a, DUE_DAY - timedelta(days=2))
    await deal(await buyer("赵六", a, None, False), a, DUE_DAY)
    qian = await buyer("钱七", a, None, False)
    await deal(qian, a, DUE_DAY)

    await survey(cfg, MORNING.astimezone(UTC))
    # 钱七 asks not to be contacted after the job ran: the rep does not ask either.
    await Customer.filter(id=qian.id).update(opted_out_at=MORNING.astimezone(UTC))
    assert len(await questions_to(ZHANG)) == 1
    assert await questions_to(WANG) == []
    await briefing(cfg, (MORNING + timedelta(minutes=30)).astimezone(UTC))
    [pushed] = [t for t in await pushes_to(REP_A) if t.startswith("早上好")]
    assert "【请回访满意度 2 位】" in pushed
    assert "王五 · 数控机床" in pushed and "赵六" in pushed
    assert "张三" not in pushed and "钱七" not in pushed
    assert "可转发给客户：您好，感谢您选择我们" in pushed
    with time_machine.travel(MORNING + timedelta(hours=1), tick=False):
        todo = await wechat.say("待办", REP_A)
    assert "【请回访满意度 2 位】" in todo
    # Tomorrow's briefing does not ask again.
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        assert "请回访满意度" not in await wechat.say("待办", REP_A)


async def test_an_answer_with_a_comment_lands_on_the_card(db: str, wechat: WeChatSender) -> None:
    a, _, _ = await team()
    zhang = await buyer("张三", a, ZHANG, wrote_lately=True)
    await deal(zhang, a, DUE_DAY)
    with time_machine.travel(MORNING, tick=False):
        await send_surveys(TODAY, make_config(db))
    with time_machine.travel(MORNING + timedelta(hours=2), tick=False):
        # Found by trying it: half points are no answer; the question is asked again.
        again = await wechat.say("3.5分", ZHANG)
        reply = await wechat.say("４ 送货有点慢", ZHANG)
        card = await wechat.say("查 张三", REP_A)
        # The question is answered: another digit is an ordinary message again.
        later = await wechat.say("5", ZHANG)
    assert again.startswith("请回复 1 到 5 的整数")
    assert reply == "感谢您的评价（4 分）！我们会继续努力。"
    s = await Survey.get(customer_id=zhang.id)
    assert (s.score, s.comment) == (4, "送货有点慢")
    assert "售后满意度：4 分（12月3日）「送货有点慢」" in card
    assert "感谢您的评价" not in later
    # 4 is not a low score: nobody is asked to call back.
    assert await CustomerRequest.all().count() == 0


async def test_a_low_score_asks_the_owner_rep_to_call_back(db: str, wechat: WeChatSender) -> None:
    a, _, _ = await team()
    zhang = await buyer("张三", a, ZHANG, wrote_lately=True)
    await deal(zhang, a, DUE_DAY)
    with time_machine.travel(MORNING, tick=False):
        await send_surveys(TODAY, make_config(db))
        reply = await wechat.say("二分", ZHANG)
        card = await wechat.say("查 张三", REP_A)
    assert "很抱歉让您不满意" in reply and "您的专属顾问会尽快联系您" in reply
    [request] = await CustomerRequest.filter(customer_id=zhang.id)
    assert request.kind == "survey" and request.assignee_id == a.id  # type: ignore[attr-defined]
    [push] = [t for t in await pushes_to(REP_A) if "满意度低分回访" in t]
    assert "张三" in push and "满意度回访 2 分（没有留言）" in push
    assert "满意度低分回访「满意度回访 2 分（没有留言）」→ 李明" in card
    assert await Complaint.all().count() == 0


async def test_a_complaint_in_the_comment_opens_a_ticket(db: str, wechat: WeChatSender) -> None:
    a, _, _ = await team()
    zhang = await buyer("张三", a, ZHANG, wrote_lately=True)
    await deal(zhang, a, DUE_DAY)
    with time_machine.travel(MORNING, tick=False):
        await send_surveys(TODAY, make_config(db))
        reply = await wechat.say("1 机器用了两天就坏了，我要投诉", ZHANG)
    [ticket] = await Complaint.filter(customer_id=zhang.id)
    assert ticket.content == "机器用了两天就坏了，我要投诉"
    assert f"已为您登记投诉，单号 {ticket.ticket_no}" in reply
    # A low score too: the owner rep is asked to call back besides.
    assert await CustomerRequest.filter(customer_id=zhang.id, kind="survey").count() == 1


async def test_the_digest_shows_both_satisfaction_figures(db: str, wechat: WeChatSender) -> None:
    a, _, _ = await team()
    cfg = make_config(db)
    answers = [("oBuyer1", "5"), ("oBuyer2", "4 不错"), ("oBuyer3", "2 太慢了")]
    for n, (openid, _answer) in enumerate(answers):
        c = await buyer(f"客户{n}", a, openid, wrote_lately=True)
        await deal(c, a, DUE_DAY)
    with time_machine.travel(MORNING, tick=False):
        await send_surveys(TODAY, cfg)
        for openid, answer in answers:
            assert "感谢您的评价" in await wechat.say(answer, openid)
    text = render_digest(
        await build_digest(
            day_period(TODAY), cfg, now=MORNING.astimezone(UTC) + timedelta(hours=10)
        )
    )
    # (5 + 4 + 2) / 3 = 3.7; one score at or below 3 — today, and over 30 days.
    today, rolling = text.split("近 30 天")
    assert "· 售后回访满意度 3.7 分（3 人回复）" in today
    assert "· 售后回访满意度 3.7 分（3 人回复，1 人不满意）" in rolling
    yesterday = render_digest(
        await build_digest(day_period(TODAY - timedelta(days=1)), cfg, now=MORNING.astimezone(UTC))
    )
    assert "售后回访满意度" not in yesterday
    # The complaint figure keeps its own, distinct label (no rated tickets here).
    assert "投诉处理满意度" not in text


async def test_a_pending_complaint_rating_and_a_survey_take_turns(
    db: str, wechat: WeChatSender
) -> None:
    a, _, _ = await team()
    zhang = await buyer("张三", a, ZHANG, wrote_lately=True)
    await deal(zhang, a, DUE_DAY)
    cfg = make_config(db)
    with time_machine.travel(MORNING - timedelta(hours=2), tick=False) as clock:
        # A ticket closed first: its rating request is the earlier question…
        opened = await wechat.say("投诉 快递三天了还没到", ZHANG)
        number = opened[opened.index("TS") : opened.index("TS") + 14]
        assert "已结案" in await wechat.say(f"结案 {number} 已送达", REP_A)
        clock.move_to(MORNING)
        await send_surveys(TODAY, cfg)  # …then the survey.
        clock.move_to(MORNING + timedelta(minutes=5))
        first = await wechat.say("5", ZHANG)
        second = await wechat.say("3 处理得太慢", ZHANG)
    s = await Survey.get(customer_id=zhang.id)
    c = await Complaint.get(ticket_no=number)
    assert first == "感谢您的评价（5 分）！我们会继续努力。" and s.score == 5
    assert "感谢您的评价（3 分）" in second
    assert c.status == ComplaintStatus.CLOSED and (c.rating, c.rating_comment) == (3, "处理得太慢")


async def test_a_rating_asked_after_the_survey_is_answered_first(
    db: str, wechat: WeChatSender
) -> None:
    a, _, _ = await team()
    zhang = await buyer("张三", a, ZHANG, wrote_lately=True)
    await deal(zhang, a, DUE_DAY)
    with time_machine.travel(MORNING, tick=False) as clock:
        await send_surveys(TODAY, make_config(db))
        clock.move_to(MORNING + timedelta(minutes=5))
        opened = await wechat.say("投诉 快递三天了还没到", ZHANG)
        number = opened[opened.index("TS") : opened.index("TS") + 14]
        await wechat.say(f"结案 {number} 已送达", REP_A)
        clock.move_to(MORNING + timedelta(minutes=10))
        first = await wechat.say("2", ZHANG)
        second = await wechat.say("4", ZHANG)
    c = await Complaint.get(ticket_no=number)
    s = await Survey.get(customer_id=zhang.id)
    assert c.rating == 2 and s.score == 4
    assert "感谢您的评价（2 分）" in first and second.startswith("感谢您的评价（4 分）")


async def test_the_question_reaches_the_customer_through_the_fake_api(
    db: str, fake_tencent: object
) -> None:
    from tests.fake_tencent import OA_CUSTOM_SEND
    from tests.test_delivery import sections

    a, _, _ = await team()
    await deal(await buyer("张三", a, ZHANG, wrote_lately=True), a, DUE_DAY)
    cfg = make_config(db, **sections(fake_tencent))  # type: ignore[arg-type]
    await survey(cfg, MORNING.astimezone(UTC))
    await drain(cfg)
    sent = fake_tencent.sent_to(OA_CUSTOM_SEND)  # type: ignore[attr-defined]
    assert [m["touser"] for m in sent] == [ZHANG]
    assert "请回复 1-5 分" in sent[0]["text"]["content"]
    assert MANAGER not in [m["touser"] for m in sent]


def test_the_survey_section_is_validated(db_url: str) -> None:
    cfg = make_config(db_url)
    assert (cfg.survey.days_after_deal, cfg.survey.low_score, cfg.survey.enabled) == (7, 3, True)
    for bad, message in (
        ({"days_after_deal": 0}, "survey.days_after_deal"),
        ({"low_score": 5}, "survey.low_score"),
        ({"time": "8点"}, "survey.time"),
    ):
        with pytest.raises(ConfigError, match=message):
            make_config(db_url, survey=bad)


async def test_switched_off_nobody_is_asked(db: str) -> None:
    a, _, _ = await team()
    await deal(await buyer("张三", a, ZHANG, wrote_lately=True), a, DUE_DAY)
    cfg = make_config(db, survey={"enabled": False})
    assert await survey(cfg, MORNING.astimezone(UTC)) == "survey: disabled"
    assert await Survey.all().count() == 0


async def test_a_rep_records_the_answer_they_got(db: str, wechat: WeChatSender) -> None:
    a, _, _ = await team()
    wang = await buyer("王五", a, None, wrote_lately=False)
    await deal(wang, a, DUE_DAY)
    with time_machine.travel(MORNING, tick=False) as clock:
        await send_surveys(TODAY, make_config(db))
        clock.move_to(MORNING + timedelta(days=2))
        assert (await wechat.say("满意度 王五", REP_A)).startswith("用法：满意度 客户 分数")
        assert "只有负责人或主管可以记录" in await wechat.say("满意度 王五 5", REP_B)
        # Spoken as one run of words: the score glued to the name.
        reply = await wechat.say("满意度王五2分安装师傅迟到了", REP_A)
        again = await wechat.say("满意度 王五 4", REP_A)
        card = await wechat.say("查 王五", REP_A)
    assert reply.startswith("已记下王五的满意度：2 分「安装师傅迟到了」。分数偏低")
    assert again == "王五最近一个月没有待回访的满意度调查。"
    s = await Survey.get(customer_id=wang.id)
    assert (s.channel, s.score, s.comment) == ("rep", 2, "安装师傅迟到了")
    assert "售后满意度：2 分（12月5日）「安装师傅迟到了」" in card
    # On the card as a revisit, but the rep is not pushed about their own entry.
    assert await CustomerRequest.filter(customer_id=wang.id, kind="survey").count() == 1
    assert [t for t in await pushes_to(REP_A) if "满意度低分回访" in t] == []
    assert await Complaint.all().count() == 0
