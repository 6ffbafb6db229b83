"""Follow-ups in chat: 「跟进 张三 电话 聊了新品报价，客户有兴趣 下周三回访」 logs one and
echoes what was understood; 「改 回访 周五」 corrects the last one. (「待办」 is
the care briefing: ``handlers.care``.)

The note is parsed by ``bot.parsing.followups``; the rules (claiming an unowned
customer, no revisit in the past, what counts as due) are in ``models.followups``.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from bot.context import Context
from bot.filters import Command, Filter, KindIs, RoleIs
from bot.incoming import Incoming, Kind
from bot.parsing.dates import (
    InvalidDate,
    describe,
    has_passed,
    local_today,
    parse_moment_phrase,
)
from bot.parsing.followups import (
    method_of,
    opening_method,
    parse_note,
    planned_contact,
    reads_like_report,
)
from bot.router import HandlerResult, Router
from handlers.customer_pick import (
    ask_which,
    on_pick,
    refusal_to_change,
    resolve_customer,
    staff_of,
)
from handlers.help import STAFF_ROLES, register_help
from models.customer_search import MAX_RESULTS, Match, by_company_said, split_customer
from models.customers import Customer, company_beside
from models.enums import FollowUpMethod
from models.followups import (
    RevisitInPast,
    amend_followup,
    latest_own_followup,
    log_followup,
    plan_revisit,
)
from models.mentions import Mention, leading_title, mentioned_customers

router = Router("followups")
# A report without the command word: after every command router (handlers/__init__.py).
free_router = Router("followups_free")

USAGE = (
    "用法：跟进 客户 方式 内容 回访时间，例如：\n"
    "跟进 张三 电话 聊了新品报价，客户有兴趣 下周三回访\n"
    "方式：电话、微信、拜访、邮件；回访时间可以写 明天、下周三、3天后、月底、12月1日。"
)
NO_CONTENT = "请写上这次跟进聊了什么，例如：跟进 {name} 电话 聊了新品报价 下周三回访"
BAD_DATE = "回访时间「{phrase}」不是有效的日期，请换个写法，例如：明天、下周三、3天后、12月1日。"
PAST_DATE = "回访时间 {date} 已经过去了，请给一个今天或以后的日期。这条跟进还没有保存。"
PAST_TIME = "回访时间 {date} {time} 已经过去了，请给一个以后的时间。这条跟进还没有保存。"
NOT_YOURS = "{name}是{owner}的客户，只有负责人或主管可以记录跟进。"
LOGGED = "已记录跟进：\n客户：{name}{company}\n方式：{method}\n内容：{content}"
LOGGED_FEEDBACK = "反馈：{feedback}"
LOGGED_REVISIT = "下次回访：{date}"
LOGGED_NO_REVISIT = "下次回访：未设置（可发送「改 回访 下周三」补上）"
LOGGED_KEPT_REVISIT = "下次回访：仍是 {date}（之前已安排；要改可发送「改 回访 周五」）"
LOGGED_CLAIMED = "这位客户之前没有负责人，现在归入你的名下。"
LOGGED_HINT = "有误可以发送「改 回访 周五」「改 方式 微信」「改 内容 …」「改 反馈 …」。"

AMEND_USAGE = (
    "用法：改 回访 周五 / 改 方式 微信 / 改 内容 新的内容 / 改 反馈 新的反馈 —— "
    "修改你最近一条跟进。回访写「不用」可取消。"
)
AMEND_NOTHING = "没有找到你最近 24 小时内记录的跟进，无法修改。"
AMEND_PAST = "回访时间 {date} 已经过去了，请给一个以后的时间。跟进没有修改。"
AMEND_BAD_METHOD = "方式「{value}」看不懂，请用：电话、微信、拜访、邮件、其他。"
AMENDED = "已修改{name}的跟进：{label}改为 {value}。"
AMEND_FIELDS = {
    "回访": "next_revisit_on", "下次回访": "next_revisit_on", "回访时间": "next_revisit_on",
    "日期": "next_revisit_on", "时间": "next_revisit_on",
    "方式": "method", "内容": "content", "反馈": "feedback",
}  # fmt: skip
FIELD_LABELS = {
    "next_revisit_on": "下次回访",
    "method": "方式",
    "content": "内容",
    "feedback": "反馈",
}
NONE = "不安排"
# NONE is how the bot itself words "no revisit", so a rep may answer with it too.
NO_REVISIT_WORDS = {NONE, "不用", "无", "没有", "取消", "不回访", "不用回访", "暂不回访", "待定"}


register_help(
    "跟进 客户 方式 内容 回访时间", "记录跟进，例如：跟进 张三 电话 聊了报价 下周三回访",
    *STAFF_ROLES,
)  # fmt: skip
register_help("改 回访 周五", "修改我最近一条跟进（回访/方式/内容/反馈）", *STAFF_ROLES)


@router.message(RoleIs("staff"), Command("跟进", "回访"))
async def followup(msg: Incoming, ctx: Context) -> HandlerResult:
    split = await split_customer(ctx.data.get("args", ""))
    query, note_text = split.query, split.rest
    if not query:
        return USAGE
    today = local_today(ctx.config.tz)
    try:
        note = parse_note(note_text, today)
    except InvalidDate as exc:
        return BAD_DATE.format(phrase=exc.phrase[:20])
    # 「跟进 李娜 明天上午去拜访」: the plan is all there is to say, and is the content.
    content = note.content or note.revisit_phrase
    if not content:
        return NO_CONTENT.format(name=query[:20])
    if refusal := _past(note.next_revisit, note.revisit_time, ctx, today):
        return refusal
    payload = {
        "method": note.method.value,
        "content": content,
        "feedback": note.feedback,
        "next_revisit_on": note.next_revisit.isoformat() if note.next_revisit else None,
        "next_revisit_time": note.revisit_time.strftime("%H:%M") if note.revisit_time else None,
    }
    return await resolve_customer(msg, ctx, query, "followups.log", payload, split.named)


def _by_company(
    matches: list[Match], payload: dict[str, Any]
) -> tuple[Customer, dict[str, Any]] | None:
    """「跟进 张三 华东精密 电话 聊了报价」: the 张三 of 华东精密 — and the note without the
    company (nor the method word that then opens it)."""
    said = by_company_said(matches, payload["content"])
    if said is None:
        return None
    customer, content = said
    opening = opening_method(content)
    if opening and opening[0] is FollowUpMethod(payload["method"]):
        content = opening[1]
    return customer, {**payload, "content": content or payload["content"]}


@on_pick("followups.log", own_first=True, narrow=_by_company)
async def log_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    staff = staff_of(ctx)
    today = local_today(ctx.config.tz)
    revisit = payload.get("next_revisit_on")
    next_on = date.fromisoformat(revisit) if revisit else None
    at_text = payload.get("next_revisit_time")
    at = time.fromisoformat(at_text) if at_text else None
    try:
        logged = await log_followup(
            customer,
            staff,
            FollowUpMethod(payload["method"]),
            payload["content"],
            payload.get("feedback", ""),
            next_on,
            today,
            at,
        )
    except RevisitInPast:
        # The day turned between the question 「哪一位？」 and the answer.
        assert next_on is not None
        return PAST_DATE.format(date=describe(next_on, today))
    lines = [
        LOGGED.format(
            name=customer.name,
            company=company_beside(customer.name, customer.company),
            method=FollowUpMethod(payload["method"]).label,
            content=payload["content"],
        )
    ]
    if payload.get("feedback"):
        lines.append(LOGGED_FEEDBACK.format(feedback=payload["feedback"]))
    if logged.kept_revisit is not None:
        lines.append(LOGGED_KEPT_REVISIT.format(date=describe(logged.kept_revisit, today)))
    elif next_on:
        when = describe(next_on, today) + (f" {at:%H:%M}（到时提醒你）" if at else "")
        lines.append(LOGGED_REVISIT.format(date=when))
    else:
        lines.append(LOGGED_NO_REVISIT)
    if logged.claimed:
        lines.append(LOGGED_CLAIMED)
    lines.append(LOGGED_HINT)
    return "\n".join(lines)


def _amend_parts(args: str) -> tuple[str, str] | None:
    """(field, new value) of 「回访 周五」, or of 「回访周五」 said without a space."""
    parts = args.split(maxsplit=1)
    if len(parts) == 2 and parts[0] in AMEND_FIELDS:
        return AMEND_FIELDS[parts[0]], parts[1].strip()
    text = args.strip()
    # Longest first: 「回访时间周五」 is 回访时间 + 周五, not 回访 + 时间周五.
    for word in sorted(AMEND_FIELDS, key=len, reverse=True):
        value = text.removeprefix(word).lstrip(" \u3000:：")
        if text.startswith(word) and value:
            return AMEND_FIELDS[word], value
    return None


@router.message(RoleIs("staff"), Command("改", "修改", "更正"))
async def amend(msg: Incoming, ctx: Context) -> str:
    parts = _amend_parts(ctx.data.get("args", ""))
    if parts is None:
        return AMEND_USAGE
    field, raw = parts
    staff = staff_of(ctx)
    latest = await latest_own_followup(staff)
    if latest is None:
        return AMEND_NOTHING
    today = local_today(ctx.config.tz)
    value: Any
    at: time | None = None
    if field == "next_revisit_on":
        if raw in NO_REVISIT_WORDS:
            value, shown = None, NONE
        else:
            # 「改 回访 下周四下午两点」: a time of day as 跟进 takes it.
            try:
                moment = parse_moment_phrase(raw, today)
            except InvalidDate:
                moment = None
            if moment is None:
                return BAD_DATE.format(phrase=raw[:12])
            value, at = moment
            shown = describe(value, today) + (f" {at:%H:%M}" if at else "")
            if has_passed(value, at, ctx.config.tz):
                return AMEND_PAST.format(date=shown)
    elif field == "method":
        value = method_of(raw)
        if value is None:
            return AMEND_BAD_METHOD.format(value=raw[:10])
        shown = value.label
    else:
        value = shown = raw
    try:
        await amend_followup(latest, field, value, today, staff, at)
    except RevisitInPast:
        return AMEND_PAST.format(date=shown)
    ctx.data["audit_target"] = f"customer:{latest.customer.id}"
    return AMENDED.format(name=latest.customer.name, label=FIELD_LABELS[field], value=shown)


def _past(day: date | None, at: time | None, ctx: Context, today: date) -> str | None:
    """The refusal of a revisit already behind us (a time gone today, too), if it is."""
    if day is None or not has_passed(day, at, ctx.config.tz):
        return None
    if day < today or at is None:
        return PAST_DATE.format(date=describe(day, today))
    return PAST_TIME.format(date=describe(day, today), time=f"{at:%H:%M}")


# --- a report without 「跟进」 ------------------------------------------------------------

FREE_LOGGED = "（没写「跟进」也记下了；不对请发「撤销」。）"
WHICH_CUSTOMER = "这条要记在哪位客户名下？请回复序号："
PLANNED = (
    "好的，{name}的下次回访定在 {date}，到时提醒你。\n"
    "这是计划，没有记成一次跟进；联系过后发「跟进 {name} …」记下结果。不对请发「撤销」。"
)


class ReportOnCustomer(Filter):
    """A rep's sentence that reads like a report and mentions one of their customers:
    ``ctx.data["mentions"]``."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        staff = ctx.sender.staff
        if staff is None or not reads_like_report(msg.text, local_today(ctx.config.tz)):
            return False
        mentions = await mentioned_customers(staff, msg.text)
        ctx.data["mentions"] = mentions
        return bool(mentions)


# Also while a bot question is pending: a report is not an answer to 「回复序号」 or
# 「是它吗」, and running it ends that question (bot.dispatcher).
@free_router.message(RoleIs("staff"), KindIs(Kind.TEXT, Kind.VOICE), ReportOnCustomer())
async def free_followup(msg: Incoming, ctx: Context) -> HandlerResult:
    """「刚见了周杰，他说月底前定，记得28号提醒我」: a follow-up for 周杰; when the
    customer is only guessed (李总) or several are named, the rep picks by number."""
    today = local_today(ctx.config.tz)
    mentions = ctx.data["mentions"]
    try:
        note = parse_note(_after_name(msg.text, mentions), today)
    except InvalidDate as exc:
        return BAD_DATE.format(phrase=exc.phrase[:20])
    if refusal := _past(note.next_revisit, note.revisit_time, ctx, today):
        return refusal
    payload = {
        "method": note.method.value,
        "content": note.content or msg.text.strip(),
        "feedback": note.feedback,
        "next_revisit_on": note.next_revisit.isoformat() if note.next_revisit else None,
        "next_revisit_time": note.revisit_time.strftime("%H:%M") if note.revisit_time else None,
    }
    action = "followups.log"
    # 「明天要去拜访李娜」: a plan sets the revisit; it is no contact to log.
    planned = planned_contact(msg.text, note, today)
    if planned is not None:
        action = "followups.plan"
        day, at = planned
        if refusal := _past(day, at, ctx, today):
            return refusal
        payload |= {
            "content": msg.text.strip().rstrip("。.!！"),
            "next_revisit_on": day.isoformat(),
            "next_revisit_time": at.strftime("%H:%M") if at else None,
        }
    if len(mentions) == 1 and mentions[0].sure:
        ctx.handler_name = action
        customer = await Customer.get(id=mentions[0].customer.id)
        if action == "followups.plan":
            return await plan_action(msg, ctx, customer, payload)
        return await log_action(msg, ctx, customer, payload) + "\n" + FREE_LOGGED
    shown = [m.customer for m in mentions[:MAX_RESULTS]]
    return await ask_which(ctx, shown, "", action, payload, WHICH_CUSTOMER)


def _after_name(text: str, mentions: list[Mention]) -> str:
    """「李娜王总那边说月底定」, 「周杰电话聊了报价」: the one customer named at the start
    as a label, before a contact's title or the method — the note is what follows, as
    「跟进 李娜 …」 would have it. Else (「王强说价格太高了」: the customer is who spoke)
    the whole text."""
    text = text.strip()
    if len(mentions) == 1 and mentions[0].sure:
        rest = text.removeprefix(mentions[0].customer.name).lstrip(" \u3000,，:：")
        if rest != text and (leading_title(rest) or opening_method(rest)):
            return rest
    return text


@on_pick("followups.plan", own_first=True)
async def plan_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    today = local_today(ctx.config.tz)
    day = date.fromisoformat(payload["next_revisit_on"])
    at_text = payload.get("next_revisit_time")
    at = time.fromisoformat(at_text) if at_text else None
    try:
        await plan_revisit(customer, staff_of(ctx), day, at, payload["content"], today)
    except RevisitInPast:
        return PAST_DATE.format(date=describe(day, today))
    when = describe(day, today) + (f" {at:%H:%M}" if at else "")
    return PLANNED.format(name=customer.name, date=when)
