"""Complaints by message, staff side: list, read, answer, reassign, close, escalate
and regrade tickets, by command or the menu.

Handlers only parse and answer: the rules are in ``models.complaints``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.context import Context
from bot.filters import Command, EventIs, EventKeyIs, Filter, KindIs, RoleIs
from bot.incoming import Incoming
from bot.parsing.tickets import handed_over
from bot.router import Router
from handlers.complaints_common import LIST_WORDS, await_rating, split_ticket, target
from handlers.help import STAFF_ROLES, register_help
from models import complaints as rules
from models.complaints import (
    SEVERITY_BY_LABEL,
    URGENCY_BY_LABEL,
    URGENCY_LABELS,
    Complaint,
    ComplaintError,
    category_label,
    fmt_time,
    next_due,
    parse_ticket_no,
    priority_label,
)
from models.enums import ComplaintStatus, Grade, Severity
from models.staff import Staff

# Named like the customer side's: handler names (metrics, audit) stay ``complaints.*``.
router = Router("complaints")

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
SHORT_NONE = "没有尾号为 {digits} 的未结投诉，请写完整单号，例如 TS202611250001。"
SHORT_MANY = "尾号为 {digits} 的未结投诉不止一单（{numbers}），请写完整单号。"
# 「投诉 全部」: the list, as 「投诉」 alone.
_TO_SOMEONE = re.compile(r"^\s*(?:转给|交给|分给|给)\s*")
# The last digits of a ticket number, typed instead of all of it: 「回复 0001 已补发」.
_SHORT_NO = re.compile(r"^\s*(\d{3,6})(?!\d)(.*)$", re.DOTALL)
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

register_help(
    "投诉 [单号]", "我负责的待处理投诉（主管看全部）；带单号看详情和处理记录", *STAFF_ROLES
)
register_help("回复 单号 内容", "回复客户（计入首次回复时间）", *STAFF_ROLES)
register_help("结案 单号 处理结果", "结案，处理结果发给客户并请客户评分", *STAFF_ROLES)
register_help("指派 单号 姓名", "把投诉交给另一位同事", "manager", "admin")
register_help("升级 单号 [原因]", "升级投诉，通知负责人和主管", "manager", "admin")
register_help("改级 单号 严重程度 原因", "修改严重程度或紧急度（如：紧急度高）", "manager", "admin")


# --- staff side ---------------------------------------------------------------------------


def _staff(ctx: Context) -> Staff:
    staff = ctx.sender.staff
    assert staff is not None
    return staff


def _staff_error(exc: ComplaintError, no: str, action: str, kind: str = "handle") -> str:
    template = STAFF_ERRORS.get(exc.reason, STAFF_ERRORS["forbidden"])
    return template.format(no=no, action=action, who=WHO_MAY_TEXT[kind])


@router.message(
    EventIs("click"), EventKeyIs("COMPLAINT", "complaint"), RoleIs("staff"), read_only=True
)
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


class HandsOver(Filter):
    """「把投诉TS…交给刘洋处理」: ``ctx.data["args"]`` as 「指派」's."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        said = handed_over(msg.text or "")
        if said is None:
            return False
        ctx.data["args"] = " ".join(said)
        return True


# Before 「投诉」: 「投诉TS…交给刘洋处理」 hands the ticket over, it does not show it.
@router.message(RoleIs("staff"), KindIs("text", "voice"), HandsOver())
async def assign_in_words(msg: Incoming, ctx: Context) -> str:
    ctx.handler_name = f"{router.name}.staff_assign"  # audited as 「指派」 is
    return await staff_assign(msg, ctx)


@router.message(Command("投诉"), RoleIs("staff"), read_only=True)
async def staff_complaints(msg: Incoming, ctx: Context) -> str:
    args = ctx.data.get("args", "").strip()
    if not args or args in LIST_WORDS:
        return await _list(ctx)
    number = parse_ticket_no(args)
    if number is not None:
        ctx.data["args"] = number  # anywhere in the text: 「投诉 详情 TS…」
    c, _rest, answer = await _ticket_and_rest(ctx, TICKET_USAGE)
    if c is None:
        return answer or TICKET_USAGE
    if not await rules.may_view(_staff(ctx), c):
        return NOT_YOURS.format(no=c.ticket_no)
    return await _detail(c, ctx)


async def _ticket_and_rest(ctx: Context, usage: str) -> tuple[Complaint | None, str, str | None]:
    """(ticket, rest of the text, or the answer to give instead). The ticket may be
    given by its last digits (「回复 0001 …」) when one ticket still open ends so, or
    one of those is the sender's own."""
    args = ctx.data.get("args", "")
    number, rest = split_ticket(args)
    if number is None:
        short = _SHORT_NO.match(args)
        if short is None:
            return None, rest, usage
        digits, rest = short.group(1), short.group(2).strip(" \u3000,，:：")
        found = await rules.active_tickets_ending(digits)
        # Every day's first ticket ends in 0001: the sender's own, when only one is.
        own = [c for c in found if c.assignee_id == _staff(ctx).id]  # type: ignore[attr-defined]
        if len(found) > 1 and len(own) == 1:
            found = own
        if len(found) != 1:
            answer = SHORT_NONE if not found else SHORT_MANY
            numbers = "、".join(c.ticket_no for c in found)
            return None, rest, answer.format(digits=digits, numbers=numbers)
        c = found[0]
    else:
        named = await rules.get_ticket(number)
        if named is None:
            return None, rest, TICKET_NOT_FOUND.format(no=number)
        c = named
    target(ctx, c)
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
    # 「指派 0001 给张伟」, 「指派 TS… 交给 张伟」: the word before the name is no part of it.
    words = _TO_SOMEONE.sub("", name).split()
    if not words:
        return ASSIGN_USAGE
    name = words[0][:32]
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
