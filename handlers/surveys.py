"""The customer's answer to the after-sale satisfaction question (``4 送货有点慢``).

The complaint flow asks for a 1-5 rating after closing a ticket too: the answer goes
to whichever question was asked last and is still waiting. The rules are in
``models.surveys``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.context import Context
from bot.filters import Command, Filter, KindIs, RoleIs
from bot.incoming import Incoming, Kind
from bot.parsing.ratings import normalized, parse_rating
from bot.router import HandlerResult, Router
from handlers.complaints_common import RATE_STATE
from handlers.customer_pick import on_pick, refusal_to_change, resolve_customer, staff_of
from handlers.help import STAFF_ROLES, register_help
from models.customer_search import split_customer
from models.customers import Customer
from models.surveys import answer_survey, open_surveys, pending_surveys

router = Router("surveys")

THANKS = "感谢您的评价（{score} 分）！我们会继续努力。"
THANKS_LOW = "感谢您的评价（{score} 分），很抱歉让您不满意。{who}会尽快联系您，了解情况并解决。"
THANKS_COMPLAINT = "已为您登记投诉，单号 {no}，我们会尽快处理。查询进度请发送：进度 {no}"
OWNER = "您的专属顾问"
SOMEONE = "我们的工作人员"

# --- staff side: the answer a rep got by forwarding the question ---------------------
USAGE = "用法：满意度 客户 分数 [意见]，例如：满意度 张三 4 送货有点慢"
NOT_YOURS = "{name}是{owner}的客户，只有负责人或主管可以记录。"
NOTHING_OPEN = "{name}最近一个月没有待回访的满意度调查。"
RECORDED = "已记下{name}的满意度：{score} 分{comment}。"
RECORDED_LOW = (
    "分数偏低，已记在{name}的卡片上（满意度低分回访），记得尽快回访；"
    "客户要投诉的话，请他在公众号发送「投诉 问题描述」。"
)

register_help("满意度 客户 分数 [意见]", "记录客户回复你的售后满意度（1-5 分）", *STAFF_ROLES)


def _asked_before(asked_at: str | None, moment: datetime) -> bool:
    """The complaint's rating request was asked before ``moment`` (unknown: after)."""
    if not asked_at:
        return False
    try:
        return datetime.fromisoformat(asked_at) < moment
    except ValueError:
        return False


class SurveyAnswer(Filter):
    """A 1-5 answer from a customer with a survey question waiting, asked after any
    other question still open: ``ctx.data`` gets score, comment and the surveys."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        customer = ctx.sender.customer
        rating = parse_rating(msg.text)
        if customer is None or rating is None:
            return False
        conversation = ctx.conversation
        state = conversation.state if conversation is not None else None
        if state is not None and state != RATE_STATE:
            return False  # another question of the bot (a category, a choice) is open
        surveys = await pending_surveys(customer)
        if not surveys:
            return False
        if state == RATE_STATE:
            assert conversation is not None
            if not _asked_before(conversation.data.get("asked_at"), surveys[0].asked_at):
                return False  # the ticket's rating request is the later question
        ctx.data.update(score=rating.score, comment=rating.comment, surveys=surveys)
        return True


# A number that is no 1-5 answer (「3.5」, 「10分」, 「0」) while the question waits.
_NUMBER = re.compile(r"^\d+(?:\.\d+)?\s*分?\s*[。.!！]?$")
ASK_AGAIN = (
    "请回复 1 到 5 的整数为这次购买打分（5 分最满意），可以在分数后附一句意见，例如：4 送货有点慢"
)


class NumberNotARating(Filter):
    """A customer with a survey question waiting (and no other question of the bot
    open) answered with a number the question does not take."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        customer = ctx.sender.customer
        text = normalized(msg.text)
        if customer is None or not _NUMBER.match(text) or parse_rating(text) is not None:
            return False
        if ctx.conversation is not None and ctx.conversation.state is not None:
            return False
        return bool(await pending_surveys(customer))


@router.message(RoleIs("customer"), KindIs(Kind.TEXT), NumberNotARating(), read_only=True)
async def ask_again(msg: Incoming, ctx: Context) -> str:
    return ASK_AGAIN


@router.message(RoleIs("customer"), KindIs(Kind.TEXT), SurveyAnswer())
async def survey_answer(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    assert customer is not None
    score = ctx.data["score"]
    answered = await answer_survey(
        customer, ctx.data["surveys"], score, ctx.data["comment"], ctx.config, channel=msg.channel
    )
    ctx.data["audit_target"] = f"customer:{customer.id}"
    if answered.complaint is not None:
        reply = THANKS_COMPLAINT.format(no=answered.complaint.complaint.ticket_no)
        return THANKS.format(score=score) + "\n" + reply
    if answered.low:
        revisit = answered.revisit
        owner = (
            revisit is not None
            and revisit.assignee is not None
            and (
                revisit.assignee.id == customer.owner_id  # type: ignore[attr-defined]
            )
        )
        return THANKS_LOW.format(score=score, who=OWNER if owner else SOMEONE)
    return THANKS.format(score=score)


@router.message(RoleIs("staff"), Command("满意度", "回访满意度"))
async def record_answer(msg: Incoming, ctx: Context) -> HandlerResult:
    # 「满意度张三4分送货有点慢」: the name may be glued to the score, as speech writes it.
    split = await split_customer(ctx.data.get("args", ""))
    query, rest = split.query, split.rest
    rating = parse_rating(rest)
    if not query or rating is None:
        return USAGE
    payload = {"score": rating.score, "comment": rating.comment}
    return await resolve_customer(msg, ctx, query, "surveys.record", payload, split.named)


@on_pick("surveys.record", own_first=True)
async def record_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    surveys = await open_surveys(customer)
    if not surveys:
        return NOTHING_OPEN.format(name=customer.name)
    score, comment = payload["score"], payload["comment"]
    answered = await answer_survey(
        customer, surveys, score, comment, ctx.config, channel=msg.channel, by=staff_of(ctx)
    )
    text = RECORDED.format(
        name=customer.name, score=score, comment=f"「{comment}」" if comment else ""
    )
    return text + (RECORDED_LOW.format(name=customer.name) if answered.low else "")
