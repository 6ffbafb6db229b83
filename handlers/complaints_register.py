"""A complaint a customer made to a rep — on the phone, in person — written down by
the rep: 「登记投诉 李娜 设备漏水」, 「李娜投诉说上次的货有破损」, 「帮李娜登记一个投诉，
设备漏水」. The ticket is the one the customer would have opened themselves
(``models.complaints.open_ticket``: classified, deadlines, assigned), created by the
rep; the customer gets its number when they follow the Official Account.
"""

from __future__ import annotations

import re
from typing import Any

from bot.context import Context
from bot.conversation import yields_to_commands
from bot.filters import Command, Filter, KindIs, RoleIs, StateIs
from bot.incoming import Incoming
from bot.router import HandlerResult, Router
from handlers.complaints_common import CATEGORY_MENU, LIST_WORDS, CategoryAnswer, target
from handlers.customer_pick import SaidOfCustomer, on_pick, resolve_customer, staff_of
from handlers.help import STAFF_ROLES, register_help
from models import complaints as rules
from models.complaints.classification import category_label
from models.complaints.numbers import parse_ticket_no
from models.complaints.people import push_to_customer, staff_actor
from models.complaints.text import fmt_time
from models.customers import Customer
from models.enums import Role, Severity

router = Router("complaints_register")

USAGE = "请这样登记客户的投诉：登记投诉 客户 问题描述，例如：登记投诉 李娜 设备漏水"
REGISTERED = (
    "已为{customer}登记投诉，单号 {no}（{category}，{severity}）。\n"
    "负责人：{assignee}\n"
    "首次回复截止：{first_due}\n处理截止：{resolve_due}\n"
    "{told}"
)
ALREADY = "{customer}的这条投诉几分钟前已经登记过了，单号 {no}。"
TOLD = "已把单号发给客户。回复客户请发送：回复 {no} 内容"
NOT_TOLD = "客户没有关注公众号，请把单号告诉客户。回复客户的内容请发送：回复 {no} 内容"
UNASSIGNED = "（还没有负责人，请经理指派）"
# The words left the category open (「破损」: the goods or the transport?): the rep knows.
ASK_KIND = "这单属于哪一类？回复数字：" + CATEGORY_MENU
KIND_SET = (
    "投诉 {no} 已归为「{category}」类（{severity}）。\n"
    "首次回复截止：{first_due}\n处理截止：{resolve_due}"
)
GONE = "没有找到投诉单 {no}。"
KIND = "complaints.register:category"
yields_to_commands(KIND)
# To the customer, on the Official Account.
FOR_CUSTOMER = (
    "您好，您向{role}反映的问题已登记为投诉，单号 {no}。\n"
    "我们会在 {first_due} 前首次回复您，{resolve_due} 前处理完毕。查询进度请发送：进度 {no}"
)

register_help("登记投诉 客户 问题", "替客户登记投诉（电话里或当面说的）", *STAFF_ROLES)

# 「李娜投诉说上次的货有破损」, 「帮李娜登记一个投诉，设备漏水」, 「客户王强投诉发货太慢」.
_SAYS_COMPLAINT = re.compile(
    r"^\s*(?:帮|给|替)?\s*(?:客户)?\s*(?P<who>[^\s的，,：:]{2,20}?)\s*(?:那边|这边)?\s*"
    r"(?:要|想|又)?\s*(?:登记|报|提)?(?:一个|一下|个)?\s*投诉\s*(?:说|了|一下)?"
    r"\s*[，,：:。]?\s*(?P<what>\S.+?)\s*$"
)


class NamesACustomer(Filter):
    """「投诉 李娜 设备漏水」: staff's 「投诉」 naming no ticket but a customer and what they
    complain of (「投诉 TS…」, 「投诉 0001」 and 「投诉 全部」 are the tickets')."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        args = ctx.data.get("args", "")
        who, _, what = args.strip().partition(" ")
        return (
            bool(what.strip())
            and parse_ticket_no(args) is None
            and not who.isdigit()
            and who not in LIST_WORDS
        )


@router.message(RoleIs("staff"), Command("登记投诉", "代客投诉"))
@router.message(RoleIs("staff"), Command("投诉"), NamesACustomer())
@router.message(RoleIs("staff"), KindIs("text", "voice"), SaidOfCustomer(_SAYS_COMPLAINT, "what"))
async def register(msg: Incoming, ctx: Context) -> HandlerResult:
    who, _, what = ctx.data.get("args", "").strip().partition(" ")
    if not who or not what.strip():
        return USAGE
    return await resolve_customer(msg, ctx, who, "complaints.register", {"content": what})


@on_pick("complaints.register")
async def _register_for(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> HandlerResult:
    rep = staff_of(ctx)
    channel = "simulator" if msg.channel == "simulator" else "oa"
    intake = await rules.open_ticket(
        customer, payload["content"], channel, ctx.config, registered_by=rep
    )
    c = intake.complaint
    target(ctx, c)
    if not intake.created:
        return ALREADY.format(customer=customer.name, no=c.ticket_no)
    await c.fetch_related("assignee")
    first_due = fmt_time(c.first_reply_due, ctx.config.tz)
    resolve_due = fmt_time(c.resolve_due, ctx.config.tz)
    told = await push_to_customer(
        c,
        customer,
        FOR_CUSTOMER.format(
            # Staff names stay inside the company, as in every message to customers.
            role=rules.ROLE_FOR_CUSTOMER[Role(rep.role)],
            no=c.ticket_no,
            first_due=first_due,
            resolve_due=resolve_due,
        ),
        # One per ticket: a key of its own, not an event's (open_ticket keeps those).
        f"complaint:{c.ticket_no}:registered:customer",
    )
    text = REGISTERED.format(
        customer=customer.name,
        no=c.ticket_no,
        category=category_label(c.category) if c.category else "未分类",
        severity=Severity(c.severity).label,
        assignee=c.assignee.name if c.assignee else UNASSIGNED,
        first_due=first_due,
        resolve_due=resolve_due,
        told=(TOLD if told else NOT_TOLD).format(no=c.ticket_no),
    )
    if intake.needs_category and ctx.conversation is not None:
        await ctx.conversation.set(KIND, {"ticket": c.ticket_no})
        text += "\n\n" + ASK_KIND
    return text


@router.message(StateIs(KIND), RoleIs("staff"), KindIs("text", "voice"), CategoryAnswer())
async def kind_answer(msg: Incoming, ctx: Context) -> HandlerResult:
    assert ctx.conversation is not None
    number = ctx.conversation.data.get("ticket", "")
    await ctx.conversation.clear()
    c = await rules.get_ticket(number)
    if c is None:
        return GONE.format(no=number)
    target(ctx, c)
    category = ctx.data["category"]
    await rules.set_category(c, category, staff_actor(staff_of(ctx)), ctx.config)
    return KIND_SET.format(
        no=c.ticket_no,
        category=category.label,
        severity=Severity(c.severity).label,
        first_due=fmt_time(c.first_reply_due, ctx.config.tz),
        resolve_due=fmt_time(c.resolve_due, ctx.config.tz),
    )
