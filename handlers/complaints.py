"""Complaints by message: customers file them (``投诉 …``, the menu, or words that
are plainly a complaint), add photos and voice, ask for ``进度``, rate the result
and say ``未解决``; staff list, read, answer, reassign, close, escalate and regrade.

Handlers only parse and answer: the rules are in ``models.complaints``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

from bot.config import Config
from bot.context import Context
from bot.conversation import Conversation
from bot.filters import Command, EventIs, EventKeyIs, Filter, IntentIs, KindIs, RoleIs, StateIs
from bot.incoming import Incoming, Kind
from bot.parsing.intent import Intent
from bot.router import Router
from handlers.help import STAFF_ROLES, register_help
from models import complaints as rules
from models.complaints import (
    SEVERITY_BY_LABEL,
    URGENCY_BY_LABEL,
    URGENCY_LABELS,
    Category,
    Complaint,
    ComplaintError,
    category_label,
    fmt_time,
    next_due,
    parse_category,
    parse_ticket_no,
    priority_label,
)
from models.customers import Customer
from models.enums import ComplaintStatus, Grade, Role, Severity
from models.staff import Staff

router = Router("complaints")

# --- the conversation, customer side ------------------------------------------------------

ASK_CONTENT = "请直接描述您遇到的问题，也可以发送照片或语音，我们会马上登记。发送「取消」可退出。"
CONTENT_CANCELLED = "好的，已取消。如需投诉，随时发送「投诉 问题描述」。"
OPENED = (
    "已收到您的投诉，单号 {no}。\n"
    "负责人：{who}\n"
    "我们会在 {first_due} 前首次回复您，{resolve_due} 前处理完毕。\n"
    "接下来 {minutes} 分钟内发送的照片或语音会附在这张投诉单上。查询进度请发送：进度 {no}"
)
ASK_CATEGORY = "请问问题属于哪一类？回复数字即可：\n1 质量　2 物流　3 服务　4 价格　5 其他"
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

# --- the conversation, staff side ---------------------------------------------------------

LIST_EMPTY = "目前没有待处理的投诉。"
LIST_MINE = "你负责的待处理投诉（{n} 单，按截止时间排序）：\n{lines}"
LIST_ALL = "全部待处理投诉（{n} 单，按截止时间排序）：\n{lines}"
LIST_LINE = "· {no} {customer} {severity}·优先级{priority} {due_label} {due}{late}"
LIST_MORE = "……另有 {n} 单未列出"
LIST_HINT = "查看详情：投诉 单号"
LATE = "（已超时）"
DUE_FIRST = "首次回复"
DUE_RESOLVE = "处理截止"
DETAIL = (
    "投诉单 {no} · {status}\n"
    "客户：{customer}（{grade}）\n"
    "类别：{category}　严重程度：{severity}　紧急度：{urgency}　优先级：{priority}\n"
    "负责人：{assignee}{escalated}\n"
    "首次回复截止：{first_due}{first_state}\n"
    "处理截止：{resolve_due}\n"
    "内容：{content}\n"
    "{extra}"
    "处理记录：\n{timeline}"
)
DETAIL_ESCALATED = "（已升级 {n} 次）"
DETAIL_REPLIED = "（{at} 已回复）"
DETAIL_RESOLUTION = "处理结果：{resolution}\n"
DETAIL_RATING = "客户评分：{rating} 分{comment}\n"
TICKET_USAGE = "请写上投诉单号，例如：投诉 TS202611250001"
TICKET_NOT_FOUND = "没有找到投诉单 {no}。"
NOT_YOURS = "投诉单 {no} 不是你负责的，只有负责人、客户的销售或主管可以查看。"
REPLY_USAGE = "用法：回复 单号 回复内容，例如：回复 TS202611250001 已安排补发，明天送到"
REPLIED = "已发给客户（{no}）。"
ASSIGN_USAGE = "用法：指派 单号 姓名，例如：指派 TS202611250001 李明"
ASSIGNED = "已将 {no} 指派给 {name}，并已通知对方。"
STAFF_NOT_FOUND = "没有找到在职员工「{name}」，请核对姓名。"
STAFF_AMBIGUOUS = "有 {n} 位员工叫「{name}」，请联系管理员区分后再指派。"
CLOSE_USAGE = "用法：结案 单号 处理结果，例如：结案 TS202611250001 已补发新品，客户已签收"
CLOSED = "已结案 {no}。处理结果已发给客户，并请客户评分。"
ESCALATE_USAGE = "用法：升级 单号 [原因]，例如：升级 TS202611250001 客户要求三天内解决"
ESCALATED = "已升级 {no}：紧急度调为最高（优先级 {priority}），已通知负责人和主管。"
REGRADE_USAGE = (
    "用法：改级 单号 严重程度 原因，例如：改级 TS202611250001 严重 涉及批量退货\n"
    "严重程度：轻微、一般、严重、紧急；也可以改紧急度：改级 单号 紧急度高 原因"
)
REGRADED = "已改级 {no}：{change}"
STAFF_ERRORS = {
    "forbidden": "你没有权限{action}投诉单 {no}：{who}。",
    "closed": "投诉单 {no} 已结案，不能再{action}。",
    "no_reason": "请写上改级的原因。\n" + REGRADE_USAGE,
    "no_change": "投诉单 {no} 没有变化，无需{action}。",
}
WHO_MAY_TEXT = {"handle": "只有负责人或主管可以操作", "manage": "只有主管可以操作"}

EVENT_LABELS = {
    "created": "提交投诉",
    "categorized": "归类",
    "image": "补充图片",
    "voice": "补充语音",
    "video": "补充视频",
    "note": "补充说明",
    "assigned": "指派给",
    "replied": "回复客户",
    "closed": "结案",
    "rated": "评价",
    "reopened": "重新打开",
    "escalated": "升级",
    "regraded": "改级",
    "sla_warning": "时限提醒",
    "breached": "超时升级",
}
TIMELINE_MAX = 15

# The customer's dialog after closing: a 1-5 rating (or 未解决).
RATE_STATE = "complaints:rate"
AWAIT_CONTENT = "complaints:await_content"
AWAIT_CATEGORY = "complaints:await_category"
CUSTOMER_ROLES = ("customer", "stranger")

register_help("投诉 问题描述", "提交投诉，随后可以发送照片或语音", *CUSTOMER_ROLES)
register_help("进度 [单号]", "查询投诉的处理进度", *CUSTOMER_ROLES)
register_help("未解决 [单号]", "结案后问题仍未解决时，重新打开投诉", "customer")
register_help(
    "投诉 [单号]", "我负责的待处理投诉（主管看全部）；带单号看详情和处理记录", *STAFF_ROLES
)
register_help("回复 单号 内容", "回复客户（计入首次回复时间）", *STAFF_ROLES)
register_help("结案 单号 处理结果", "结案，处理结果发给客户并请客户评分", *STAFF_ROLES)
register_help("指派 单号 姓名", "把投诉交给另一位同事", "manager", "admin")
register_help("升级 单号 [原因]", "升级投诉，通知负责人和主管", "manager", "admin")
register_help("改级 单号 严重程度 原因", "修改严重程度或紧急度（如：紧急度高）", "manager", "admin")


# --- filters ------------------------------------------------------------------------------


def normalized(text: str) -> str:
    """Full-width digits and spaces as typed on phones become plain ones."""
    return unicodedata.normalize("NFKC", text).strip()


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


class CategoryAnswer(Filter):
    """``1``-``5`` or a category word: ``ctx.data["category"]``."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        category = parse_category(normalized(msg.text))
        if category is not None:
            ctx.data["category"] = category
        return category is not None


# A digit alone, a digit with 分/星, or a digit and a separator: "2台新机器又坏了" or
# "5号下的单还没到" are messages, not ratings.
_SEP = r"[\s,，。.:：!！]"
_RATING = re.compile(
    rf"^([1-5])(?:\s*(?:分|星){_SEP}*(.*)|{_SEP}+(.*)|)$",
    re.DOTALL,
)


_TICKETISH = re.compile(r"[A-Za-z]{1,3}\s*\d{4,}|\d{8,}")


class RatingAnswer(Filter):
    """``5``, ``4分 还行``, ``５ 很满意``: ``ctx.data["score"]`` and ``ctx.data["comment"]``."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        match = _RATING.match(normalized(msg.text))
        if match:
            ctx.data["score"] = int(match.group(1))
            ctx.data["comment"] = (match.group(2) or match.group(3) or "").strip()[:200]
        return match is not None


# --- helpers ------------------------------------------------------------------------------


def _customer_channel(msg: Incoming) -> bool:
    # As bot.middlewares.identify_sender: customers write from the Official Account;
    # the simulator's customer personas carry a "sim-" id.
    return msg.channel == "oa" or (msg.channel == "simulator" and msg.sender.startswith("sim-"))


async def customer_of(msg: Incoming, ctx: Context) -> Customer | None:
    """The sender as a customer, created as a 潜在 customer on first contact."""
    if ctx.sender.customer is None and _customer_channel(msg):
        ctx.sender.customer = await rules.customer_for_openid(msg.sender)
    return ctx.sender.customer


def _who_for_customer(assignee: Staff | None) -> str:
    if assignee is None:
        return NO_ASSIGNEE
    return rules.ROLE_FOR_CUSTOMER[Role(assignee.role)]


def _target(ctx: Context, c: Complaint) -> None:
    ctx.data["audit_target"] = f"complaint:{c.id}"


async def await_rating(c: Complaint, customer: Customer, cfg: Config) -> None:
    """The ticket was closed and the customer asked to rate it: their next 1-5 (or
    未解决) answers that request, for as long as the ticket may be reopened."""
    ttl = timedelta(days=max(1, cfg.complaints.reopen_days))
    await Conversation(f"{c.channel}:{customer.openid}", ttl).set(
        RATE_STATE, {"ticket": c.ticket_no}
    )


async def _intake(msg: Incoming, ctx: Context, content: str) -> str:
    customer = await customer_of(msg, ctx)
    if customer is None:
        return WRONG_CHANNEL
    if ctx.conversation is not None and ctx.conversation.state == AWAIT_CONTENT:
        await ctx.conversation.clear()
    intake = await rules.open_ticket(customer, content, msg.channel, ctx.config)
    c = intake.complaint
    _target(ctx, c)
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
    if not _customer_channel(msg):
        return WRONG_CHANNEL
    assert ctx.conversation is not None
    await ctx.conversation.set(AWAIT_CONTENT)
    return ASK_CONTENT


@router.message(Command("投诉"), RoleIs(*CUSTOMER_ROLES))
async def file_complaint(msg: Incoming, ctx: Context) -> str:
    content = ctx.data.get("args", "")
    if not content:
        if not _customer_channel(msg):
            return WRONG_CHANNEL
        assert ctx.conversation is not None
        await ctx.conversation.set(AWAIT_CONTENT)
        return ASK_CONTENT
    number, rest = _split_ticket(content)
    if number is not None and not rest:
        # "投诉 TS…" from a customer asks about that ticket; it is not a new complaint.
        return await progress(msg, ctx)
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
        _target(ctx, c)
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
    _target(ctx, c)
    try:
        await rules.reopen(c, customer, _split_ticket(args)[1], ctx.config)
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
    _target(ctx, c)
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
    _target(ctx, c)
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
    _target(ctx, c)
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
    # More words about the ticket just opened are part of it, not a second ticket.
    customer = ctx.sender.customer
    assert customer is not None
    c: Complaint = ctx.data["complaint"]
    _target(ctx, c)
    await rules.record(c, rules.customer_actor(customer), "note", msg.text.strip()[:500])
    return NOTE_ADDED.format(no=c.ticket_no)


@router.message(RoleIs(*CUSTOMER_ROLES), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.COMPLAINT))
async def complaint_in_words(msg: Incoming, ctx: Context) -> str:
    return await _intake(msg, ctx, msg.text)


# --- staff side ---------------------------------------------------------------------------


def _staff(ctx: Context) -> Staff:
    staff = ctx.sender.staff
    assert staff is not None
    return staff


def _split_ticket(args: str) -> tuple[str | None, str]:
    """``"TS20261125-0001 已补发"`` -> ("TS202611250001", "已补发")."""
    match = rules.TICKET_RE.match(args.strip())
    if not match:
        return None, args.strip()
    rest = args.strip()[match.end() :]
    return f"TS{match.group(1)}{match.group(2)}".upper(), rest.strip(" \u3000,，:：")


def _staff_error(exc: ComplaintError, no: str, action: str, kind: str = "handle") -> str:
    template = STAFF_ERRORS.get(exc.reason, STAFF_ERRORS["forbidden"])
    return template.format(no=no, action=action, who=WHO_MAY_TEXT[kind])


@router.message(EventIs("click"), EventKeyIs("COMPLAINT", "complaint"), RoleIs("staff"))
async def menu_staff_list(msg: Incoming, ctx: Context) -> str:
    return await _list(ctx)


async def _list(ctx: Context) -> str:
    staff = _staff(ctx)
    tickets = await rules.open_tickets_for(staff)
    if not tickets:
        return LIST_EMPTY
    now = datetime.now(UTC)
    lines = []
    for c in tickets[:TIMELINE_MAX]:
        due = next_due(c)
        lines.append(
            LIST_LINE.format(
                no=c.ticket_no,
                customer=c.customer.name,
                severity=Severity(c.severity).label,
                priority=c.priority,
                due_label=DUE_FIRST if c.first_replied_at is None else DUE_RESOLVE,
                due=fmt_time(due, ctx.config.tz),
                late=LATE if due <= now else "",
            )
        )
    if len(tickets) > TIMELINE_MAX:
        lines.append(LIST_MORE.format(n=len(tickets) - TIMELINE_MAX))
    lines.append(LIST_HINT)
    template = LIST_ALL if rules.is_manager(staff) else LIST_MINE
    return template.format(n=len(tickets), lines="\n".join(lines))


async def _actor_name(actor: str, names: dict[str, str]) -> str:
    if actor not in names:
        kind, _, ident = actor.partition(":")
        if kind == "staff" and ident.isdigit():
            staff = await Staff.get_or_none(id=int(ident))
            names[actor] = staff.name if staff else "员工"
        elif kind == "customer":
            names[actor] = "客户"
        else:
            names[actor] = "系统"
    return names[actor]


async def _detail(c: Complaint, ctx: Context) -> str:
    tz = ctx.config.tz
    events = await rules.timeline(c)
    names: dict[str, str] = {}
    lines = []
    for e in events[-TIMELINE_MAX:]:
        who = await _actor_name(e.actor, names)
        label = EVENT_LABELS.get(e.kind, e.kind)
        note = e.note.replace("\n", " ")
        note = note if len(note) <= 60 else note[:60] + "…"
        when = e.created_at.astimezone(tz).strftime("%m-%d %H:%M")
        lines.append(f"{when} {who} {label}" + (f"：{note}" if note else ""))
    extra = ""
    if c.resolution:
        extra += DETAIL_RESOLUTION.format(resolution=c.resolution)
    if c.rating is not None:
        comment = f"（{c.rating_comment}）" if c.rating_comment else ""
        extra += DETAIL_RATING.format(rating=c.rating, comment=comment)
    return DETAIL.format(
        no=c.ticket_no,
        status=ComplaintStatus(c.status).label,
        customer=c.customer.name,
        grade=Grade(c.customer.grade).label,
        category=category_label(c.category),
        severity=Severity(c.severity).label,
        urgency=URGENCY_LABELS.get(c.urgency, str(c.urgency)),
        priority=priority_label(c.priority),
        assignee=c.assignee.name if c.assignee else "未指派",
        escalated=DETAIL_ESCALATED.format(n=c.escalation_level) if c.escalation_level else "",
        first_due=fmt_time(c.first_reply_due, tz),
        first_state=DETAIL_REPLIED.format(at=fmt_time(c.first_replied_at, tz))
        if c.first_replied_at
        else "",
        resolve_due=fmt_time(c.resolve_due, tz),
        content=c.content,
        extra=extra,
        timeline="\n".join(lines) or "—",
    )


@router.message(Command("投诉"), RoleIs("staff"))
async def staff_complaints(msg: Incoming, ctx: Context) -> str:
    args = ctx.data.get("args", "")
    if not args:
        return await _list(ctx)
    number = parse_ticket_no(args)
    if number is None:
        return TICKET_USAGE
    c = await rules.get_ticket(number)
    if c is None:
        return TICKET_NOT_FOUND.format(no=number)
    _target(ctx, c)
    if not await rules.may_view(_staff(ctx), c):
        return NOT_YOURS.format(no=number)
    return await _detail(c, ctx)


async def _ticket_and_rest(ctx: Context, usage: str) -> tuple[Complaint | None, str, str | None]:
    """(ticket, rest of the text, or the answer to give instead)."""
    number, rest = _split_ticket(ctx.data.get("args", ""))
    if number is None:
        return None, rest, usage
    c = await rules.get_ticket(number)
    if c is None:
        return None, rest, TICKET_NOT_FOUND.format(no=number)
    _target(ctx, c)
    return c, rest, None


@router.message(Command("回复"), RoleIs("staff"))
async def staff_reply(msg: Incoming, ctx: Context) -> str:
    c, text, answer = await _ticket_and_rest(ctx, REPLY_USAGE)
    if c is None:
        return answer or REPLY_USAGE
    if not text:
        return REPLY_USAGE
    try:
        await rules.reply(c, _staff(ctx), text[:1000], ctx.config)
    except ComplaintError as exc:
        return _staff_error(exc, c.ticket_no, "回复")
    return REPLIED.format(no=c.ticket_no)


@router.message(Command("指派"), RoleIs("staff"))
async def staff_assign(msg: Incoming, ctx: Context) -> str:
    c, name, answer = await _ticket_and_rest(ctx, ASSIGN_USAGE)
    if c is None:
        return answer or ASSIGN_USAGE
    if not name:
        return ASSIGN_USAGE
    if not rules.is_manager(_staff(ctx)):
        return _staff_error(ComplaintError("forbidden"), c.ticket_no, "指派", "manage")
    name = name.split()[0][:32]
    found = await Staff.filter(name=name, active=True)
    if not found:
        return STAFF_NOT_FOUND.format(name=name)
    if len(found) > 1:
        return STAFF_AMBIGUOUS.format(n=len(found), name=name)
    try:
        await rules.reassign(c, _staff(ctx), found[0], ctx.config)
    except ComplaintError as exc:
        return _staff_error(exc, c.ticket_no, "指派", "manage")
    return ASSIGNED.format(no=c.ticket_no, name=found[0].name)


@router.message(Command("结案"), RoleIs("staff"))
async def staff_close(msg: Incoming, ctx: Context) -> str:
    c, resolution, answer = await _ticket_and_rest(ctx, CLOSE_USAGE)
    if c is None:
        return answer or CLOSE_USAGE
    if not resolution:
        return CLOSE_USAGE
    try:
        closing = await rules.close(c, _staff(ctx), resolution[:1000], ctx.config)
    except ComplaintError as exc:
        return _staff_error(exc, c.ticket_no, "结案")
    if closing.rating_requested:
        await await_rating(c, closing.customer, ctx.config)
    return CLOSED.format(no=c.ticket_no)


@router.message(Command("升级"), RoleIs("staff"))
async def staff_escalate(msg: Incoming, ctx: Context) -> str:
    c, reason, answer = await _ticket_and_rest(ctx, ESCALATE_USAGE)
    if c is None:
        return answer or ESCALATE_USAGE
    try:
        await rules.escalate(c, _staff(ctx), reason[:500], ctx.config)
    except ComplaintError as exc:
        return _staff_error(exc, c.ticket_no, "升级", "manage")
    return ESCALATED.format(no=c.ticket_no, priority=priority_label(c.priority))


_URGENCY_WORD = re.compile(r"紧急度\s*[:：]?\s*([低中高])")


@router.message(Command("改级"), RoleIs("staff"))
async def staff_regrade(msg: Incoming, ctx: Context) -> str:
    c, rest, answer = await _ticket_and_rest(ctx, REGRADE_USAGE)
    if c is None:
        return answer or REGRADE_USAGE
    severity: Severity | None = None
    urgency: int | None = None
    match = _URGENCY_WORD.search(rest)
    if match:
        urgency = URGENCY_BY_LABEL[match.group(1)]
        rest = (rest[: match.start()] + " " + rest[match.end() :]).strip()
    # 「严重 原因」, 「严重，原因」 or 「严重原因」: the severity word leads.
    rest = rest.lstrip(" ,，:：")
    word = next((w for w in SEVERITY_BY_LABEL if rest.startswith(w)), None)
    if word is not None:
        severity = SEVERITY_BY_LABEL[word]
        reason = rest[len(word) :].lstrip(" ,，:：;；")
    else:
        reason = rest
    if severity is None and urgency is None:
        return REGRADE_USAGE
    try:
        event = await rules.regrade(c, _staff(ctx), severity, urgency, reason.strip(), ctx.config)
    except ComplaintError as exc:
        return _staff_error(exc, c.ticket_no, "改级", "manage")
    return REGRADED.format(no=c.ticket_no, change=event.note)
