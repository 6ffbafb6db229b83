"""Complaints by message, customer side: customers file them (``投诉 …``, the menu, or
words that are plainly a complaint), add photos and voice, ask for ``进度``, answer the
category question, rate the result and say ``未解决``.

Handlers only parse and answer: the rules are in ``models.complaints``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.context import Context
from bot.filters import Command, EventIs, EventKeyIs, Filter, IntentIs, KindIs, RoleIs, StateIs
from bot.incoming import Incoming, Kind
from bot.parsing.intent import Intent
from bot.parsing.ratings import parse_rating
from bot.router import Router
from handlers.complaints_common import (
    CATEGORY_MENU,
    RATE_STATE,
    CategoryAnswer,
    split_ticket,
    target,
)
from handlers.help import register_help
from models import complaints as rules
from models.complaints import (
    Category,
    Complaint,
    ComplaintError,
    category_label,
    fmt_time,
    parse_ticket_no,
)
from models.customers import Customer
from models.enums import ComplaintStatus, Role
from models.staff import Staff

# Named like the staff side's: handler names (metrics, audit) stay ``complaints.*``.
router = Router("complaints")

# --- the conversation, customer side ------------------------------------------------------

ASK_CONTENT = "请直接描述您遇到的问题，也可以发送照片或语音，我们会马上登记。发送「取消」可退出。"
CONTENT_CANCELLED = "好的，已取消。如需投诉，随时发送「投诉 问题描述」。"
OPENED = (
    "已收到您的投诉，单号 {no}。\n"
    "负责人：{who}\n"
    "我们会在 {first_due} 前首次回复您，{resolve_due} 前处理完毕。\n"
    "接下来 {minutes} 分钟内发送的照片、语音或补充说明会附在这张投诉单上；"
    "另有别的问题请先发「我要投诉」。查询进度请发送：进度 {no}"
)
ASK_CATEGORY = "请问问题属于哪一类？回复数字即可：\n" + CATEGORY_MENU
CATEGORY_SET = "好的，已归为「{category}」类问题，我们会尽快处理。"
ALREADY_OPEN = "这条投诉已经登记过了，单号 {no}。查询进度请发送：进度 {no}"
MEDIA_ADDED = "已将{what}附在投诉单 {no} 上。"
NOTE_ADDED = "已将您的补充说明附在投诉单 {no} 上。"
WRONG_CHANNEL = "请通过我们的公众号提交投诉，我们会尽快处理。"
PROGRESS_NONE = "您目前没有投诉记录。如需投诉，请发送：投诉 问题描述"
# The same answer for a number that does not exist and for someone else's ticket:
# a customer must not learn that another customer's ticket exists.
PROGRESS_NOT_FOUND = "没有找到您名下单号为 {no} 的投诉，请核对单号。"
PROGRESS_ONE = "投诉单 {no}\n状态：{status}\n类别：{category}\n负责人：{who}\n{deadlines}"
PROGRESS_FIRST_DUE = "预计首次回复：{first_due} 前\n预计处理完毕：{resolve_due} 前"
PROGRESS_REPLIED = "预计处理完毕：{resolve_due} 前"
PROGRESS_CLOSED = "处理结果：{resolution}"
PROGRESS_LIST = "您最近的投诉：\n{lines}\n查看详情请发送：进度 单号"
PROGRESS_LINE = "· {no} {status}（{date} 提交）"
RATED = "感谢您的评价（{score} 分）！我们会继续改进。"
REOPENED = "已重新打开投诉单 {no}，我们会继续处理，{resolve_due} 前给您结果。"
NOTHING_TO_REOPEN = "没有可以重新打开的投诉：结案后 {days} 天内回复「未解决」即可重新打开。"
CUSTOMER_ERRORS = {
    "rated": "投诉单 {no} 已经评价过了，谢谢您！",
    "too_late": "投诉单 {no} 结案已超过 {days} 天，如仍有问题，请发送「投诉 问题描述」重新提交。",
    "not_closed": "投诉单 {no} 还在处理中，处理完毕后再请您评价。",
    "forbidden": PROGRESS_NOT_FOUND,
}
MEDIA_WHAT = {
    Kind.IMAGE: "图片",
    Kind.VOICE: "语音",
    Kind.VIDEO: "视频",
    Kind.SHORTVIDEO: "视频",
}
NO_ASSIGNEE = "客服团队"

AWAIT_CONTENT = "complaints:await_content"
AWAIT_CATEGORY = "complaints:await_category"
CUSTOMER_ROLES = ("customer", "stranger")

register_help("投诉 问题描述", "提交投诉，随后可以发送照片或语音", *CUSTOMER_ROLES)
register_help("进度 [单号]", "查询投诉的处理进度", *CUSTOMER_ROLES)
register_help("未解决 [单号]", "结案后问题仍未解决时，重新打开投诉", "customer")


# --- filters ------------------------------------------------------------------------------


class RecentTicket(Filter):
    """The customer opened a ticket in the last few minutes: ``ctx.data["complaint"]``."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        customer = ctx.sender.customer
        if customer is None:
            return False
        found = await rules.recent_ticket(customer, ctx.config)
        if found is not None:
            ctx.data["complaint"] = found
        return found is not None


_TICKETISH = re.compile(r"[A-Za-z]{1,3}\s*\d{4,}|\d{8,}")
# What follows 「投诉」 when the customer asks how one is going (「投诉进度」, 「投诉的
# 处理结果」); 「投诉 安装进度太慢」 is a complaint about progress, not a question.
_ASKS_PROGRESS = re.compile(
    r"^\s*的?\s*(?:进度|进展|处理(?:得|到|结果|情况)|怎么样|到哪|有结果|结果|状态|查询|查一下)"
)


class RatingAnswer(Filter):
    """``5``, ``4分 还行``, ``５ 很满意``: ``ctx.data["score"]`` and ``ctx.data["comment"]``."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        rating = parse_rating(msg.text)
        if rating is not None:
            ctx.data["score"], ctx.data["comment"] = rating.score, rating.comment
        return rating is not None


# --- helpers ------------------------------------------------------------------------------


async def customer_of(msg: Incoming, ctx: Context) -> Customer | None:
    """The sender as a customer, created as a 潜在 customer on first contact."""
    if ctx.sender.customer is None and msg.customer_side:
        ctx.sender.customer = await rules.customer_for_openid(msg.sender)
    return ctx.sender.customer


def _who_for_customer(assignee: Staff | None) -> str:
    if assignee is None:
        return NO_ASSIGNEE
    return rules.ROLE_FOR_CUSTOMER[Role(assignee.role)]


async def _intake(msg: Incoming, ctx: Context, content: str) -> str:
    customer = await customer_of(msg, ctx)
    if customer is None:
        return WRONG_CHANNEL
    if ctx.conversation is not None and ctx.conversation.state == AWAIT_CONTENT:
        await ctx.conversation.clear()
    intake = await rules.open_ticket(customer, content, msg.channel, ctx.config)
    c = intake.complaint
    target(ctx, c)
    if msg.kind is not Kind.TEXT and msg.media_id:
        # A voice complaint: the recording itself belongs on the ticket as well.
        await rules.attach_media(c, customer, str(msg.kind), msg.media_id, msg.text)
    if not intake.created:
        return ALREADY_OPEN.format(no=c.ticket_no)
    await c.fetch_related("assignee")
    text = OPENED.format(
        no=c.ticket_no,
        who=_who_for_customer(c.assignee),
        first_due=fmt_time(c.first_reply_due, ctx.config.tz),
        resolve_due=fmt_time(c.resolve_due, ctx.config.tz),
        minutes=ctx.config.complaints.media_window_minutes,
    )
    if intake.needs_category and ctx.conversation is not None:
        await ctx.conversation.set(AWAIT_CATEGORY, {"ticket": c.ticket_no})
        text += "\n\n" + ASK_CATEGORY
    return text


# --- customer side ------------------------------------------------------------------------


@router.message(EventIs("click"), EventKeyIs("COMPLAINT", "complaint"), RoleIs(*CUSTOMER_ROLES))
async def menu_complaint(msg: Incoming, ctx: Context) -> str:
    if not msg.customer_side:
        return WRONG_CHANNEL
    assert ctx.conversation is not None
    await ctx.conversation.set(AWAIT_CONTENT)
    return ASK_CONTENT


@router.message(Command("投诉"), RoleIs(*CUSTOMER_ROLES))
async def file_complaint(msg: Incoming, ctx: Context) -> str:
    content = ctx.data.get("args", "")
    if not content:
        if not msg.customer_side:
            return WRONG_CHANNEL
        assert ctx.conversation is not None
        await ctx.conversation.set(AWAIT_CONTENT)
        return ASK_CONTENT
    number, rest = split_ticket(content)
    if (number is not None and not rest) or _ASKS_PROGRESS.match(content):
        # 「投诉 TS…」, 「投诉进度」, 「投诉处理得怎么样了」 ask about a ticket: no new one.
        return await progress(msg, ctx)
    if (
        msg.kind is Kind.VOICE
        and number is None  # 「投诉 TS… 还没人联系」 is about that ticket, not the last one
        and not _ANOTHER.match(content)
        and (ctx.conversation is None or ctx.conversation.state != AWAIT_CONTENT)
        and await RecentTicket().check(msg, ctx)
    ):
        # The ticket's first reply promised that a voice message sent within minutes
        # goes on it: one that begins 「投诉」 (the complaint said again, aloud) too —
        # unless the customer asked for a new one first (「我要投诉」).
        return await attach(msg, ctx)
    return await _intake(msg, ctx, content)


@router.message(StateIs(AWAIT_CONTENT), Command("取消", "cancel"), RoleIs(*CUSTOMER_ROLES))
async def cancel_complaint(msg: Incoming, ctx: Context) -> str:
    assert ctx.conversation is not None
    await ctx.conversation.clear()
    return CONTENT_CANCELLED


@router.message(Command("进度", "查询进度"), RoleIs(*CUSTOMER_ROLES))
async def progress(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    args = ctx.data.get("args", "")
    tz = ctx.config.tz
    number = parse_ticket_no(args) if args else None
    if number is None and _TICKETISH.search(args):
        number = args.strip()[:20]  # looks like a ticket number, but not one of ours
    if number is not None:
        # "进度怎么样了" asks about progress in general: the list below answers it.
        c = await rules.customer_ticket(customer, number) if customer else None
        if c is None:
            return PROGRESS_NOT_FOUND.format(no=number)
        target(ctx, c)
        if c.status == ComplaintStatus.CLOSED:
            deadlines = PROGRESS_CLOSED.format(resolution=c.resolution or "—")
        elif c.first_replied_at is None:
            deadlines = PROGRESS_FIRST_DUE.format(
                first_due=fmt_time(c.first_reply_due, tz), resolve_due=fmt_time(c.resolve_due, tz)
            )
        else:
            deadlines = PROGRESS_REPLIED.format(resolve_due=fmt_time(c.resolve_due, tz))
        return PROGRESS_ONE.format(
            no=c.ticket_no,
            status=ComplaintStatus(c.status).label,
            category=category_label(c.category),
            who=_who_for_customer(c.assignee),
            deadlines=deadlines,
        )
    tickets = await rules.customer_tickets(customer) if customer else []
    if not tickets:
        return PROGRESS_NONE
    lines = [
        PROGRESS_LINE.format(
            no=c.ticket_no,
            status=ComplaintStatus(c.status).label,
            date=c.created_at.astimezone(tz).strftime("%m月%d日"),
        )
        for c in tickets
    ]
    return PROGRESS_LIST.format(lines="\n".join(lines))


class StillBroken(Filter):
    """「还是有问题」, 「又坏了」 from a customer whose last ticket was closed within the
    reopen window: the same problem, so that ticket is reopened (not a new one)."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        customer = ctx.sender.customer
        if customer is None or not _STILL_BROKEN.search(msg.text or ""):
            return False
        closed = await rules.latest_closed(customer)
        if closed is None or not rules.within_reopen_window(closed, ctx.config, datetime.now(UTC)):
            return False
        ctx.data["args"] = f"{closed.ticket_no} {msg.text.strip()}"
        return True


_STILL_BROKEN = re.compile(
    r"还是有问题|还有问题|问题还在|还是不行|还是没好|还是坏|又坏了|又出问题|没修好|还没修好|"
    r"还是没解决|还没解决|根本没解决|没有解决"
)


@router.message(RoleIs("customer"), KindIs(Kind.TEXT, Kind.VOICE), StillBroken())
@router.message(Command("未解决", "没解决", "没有解决"), RoleIs("customer"))
async def not_solved(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    assert customer is not None and ctx.conversation is not None
    days = ctx.config.complaints.reopen_days
    args = ctx.data.get("args", "")
    number = parse_ticket_no(args) or (
        ctx.conversation.data.get("ticket") if ctx.conversation.state == RATE_STATE else None
    )
    c = await (rules.customer_ticket(customer, number) if number else rules.latest_closed(customer))
    if c is None:
        return (
            PROGRESS_NOT_FOUND.format(no=number) if number else NOTHING_TO_REOPEN.format(days=days)
        )
    target(ctx, c)
    try:
        await rules.reopen(c, customer, split_ticket(args)[1], ctx.config)
    except ComplaintError as exc:
        if exc.reason == "not_closed" and c.status in rules.ACTIVE:
            return CUSTOMER_ERRORS["not_closed"].format(no=c.ticket_no)
        if exc.reason == "too_late":
            return CUSTOMER_ERRORS["too_late"].format(no=c.ticket_no, days=days)
        return NOTHING_TO_REOPEN.format(days=days)
    if ctx.conversation.state == RATE_STATE:
        await ctx.conversation.clear()
    return REOPENED.format(no=c.ticket_no, resolve_due=fmt_time(c.resolve_due, ctx.config.tz))


@router.message(StateIs(AWAIT_CATEGORY), KindIs(Kind.TEXT), CategoryAnswer(), RoleIs("customer"))
async def category_answer(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    assert customer is not None and ctx.conversation is not None
    number = ctx.conversation.data.get("ticket", "")
    await ctx.conversation.clear()
    c = await rules.customer_ticket(customer, number)
    if c is None:
        return PROGRESS_NOT_FOUND.format(no=number)
    target(ctx, c)
    category: Category = ctx.data["category"]
    await rules.set_category(c, category, rules.customer_actor(customer), ctx.config)
    return CATEGORY_SET.format(category=category.label)


@router.message(StateIs(RATE_STATE), KindIs(Kind.TEXT), RatingAnswer(), RoleIs("customer"))
async def rating_answer(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    assert customer is not None and ctx.conversation is not None
    number = ctx.conversation.data.get("ticket", "")
    c = await rules.customer_ticket(customer, number)
    if c is None:
        await ctx.conversation.clear()
        return PROGRESS_NOT_FOUND.format(no=number)
    target(ctx, c)
    score = ctx.data["score"]
    try:
        await rules.rate(c, customer, score, ctx.data["comment"], ctx.config)
    except ComplaintError as exc:
        await ctx.conversation.clear()
        template = CUSTOMER_ERRORS.get(exc.reason, CUSTOMER_ERRORS["not_closed"])
        return template.format(no=c.ticket_no, days=ctx.config.complaints.reopen_days)
    await ctx.conversation.clear()
    return RATED.format(score=score)


@router.message(StateIs(AWAIT_CONTENT), KindIs(Kind.TEXT, Kind.VOICE), RoleIs(*CUSTOMER_ROLES))
async def complaint_content(msg: Incoming, ctx: Context) -> str:
    # A voice message nobody could transcribe is still a complaint: keep the recording.
    return await _intake(msg, ctx, msg.text.strip() or "（语音投诉）")


@router.message(
    StateIs(AWAIT_CONTENT), KindIs(Kind.IMAGE, Kind.VIDEO, Kind.SHORTVIDEO), RoleIs(*CUSTOMER_ROLES)
)
async def complaint_by_picture(msg: Incoming, ctx: Context) -> str:
    what = MEDIA_WHAT.get(msg.kind, "图片")
    return await _intake(msg, ctx, f"（客户发来{what}，见附件）")


@router.message(
    RoleIs("customer"), KindIs(Kind.IMAGE, Kind.VOICE, Kind.VIDEO, Kind.SHORTVIDEO), RecentTicket()
)
async def attach(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    assert customer is not None
    c: Complaint = ctx.data["complaint"]
    target(ctx, c)
    note = msg.extra.get("PicUrl", "") or msg.text
    await rules.attach_media(c, customer, str(msg.kind), msg.media_id, note)
    return MEDIA_ADDED.format(what=MEDIA_WHAT.get(msg.kind, "附件"), no=c.ticket_no)


@router.message(RoleIs(*CUSTOMER_ROLES), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.PROGRESS))
async def progress_in_words(msg: Incoming, ctx: Context) -> str:
    # 「我的投诉怎么样了」 asks about a ticket; it is neither a new one nor a note on one.
    ctx.data["args"] = msg.text
    return await progress(msg, ctx)


@router.message(
    RoleIs("customer"), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.COMPLAINT), RecentTicket()
)
async def complaint_follow_up(msg: Incoming, ctx: Context) -> str:
    # More words about the ticket just opened are part of it, not a second ticket —
    # unless the customer says a new one comes (「我要投诉」): then it is asked for.
    if _ONLY_WANTS_TO.fullmatch(msg.text) or _ANOTHER.match(msg.text):
        ctx.data["args"] = ""
        return await file_complaint(msg, ctx)
    customer = ctx.sender.customer
    assert customer is not None
    c: Complaint = ctx.data["complaint"]
    target(ctx, c)
    await rules.record(c, rules.customer_actor(customer), "note", msg.text.strip()[:500])
    return NOTE_ADDED.format(no=c.ticket_no)


@router.message(RoleIs(*CUSTOMER_ROLES), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.COMPLAINT))
async def complaint_in_words(msg: Incoming, ctx: Context) -> str:
    if _ONLY_WANTS_TO.fullmatch(msg.text):
        # 「我要投诉。」 says nothing yet to act on: ask what happened, as 「投诉」 does.
        return await file_complaint(msg, ctx)
    return await _intake(msg, ctx, msg.text)


# 「还有一个问题要投诉」, 「另外投诉…」, 「再投诉一个」: a second complaint, announced.
_ANOTHER = re.compile(r"\s*(?:还有|另外|另有|再|还要|我还要|我再)(?:一个|一件|个)?.{0,6}?投诉")
# The wish to complain without the complaint: 「我要投诉」, 「我想投诉一下你们」.
_ONLY_WANTS_TO = re.compile(
    r"\s*(?:我|我们)?(?:要|想|需要)?投诉(?:一下)?(?:你们)?\s*[。.!！~～]*\s*"
)
