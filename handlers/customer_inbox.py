"""Every customer message reaches a person or gets a real answer: after complaints and
progress questions (``handlers/complaints_customer.py``), a wish to buy or a service request
goes to the owner rep (else the manager on duty) with the customer's words, and the
customer is told who will get in touch and by when; small talk gets a friendly word and
the way to a person."""

from __future__ import annotations

from bot.context import Context
from bot.filters import Command, IntentIs, KindIs, RoleIs
from bot.incoming import Incoming, Kind
from bot.parsing.intent import Intent, is_acknowledgement, is_greeting, is_thanks
from bot.parsing.phones import mask_phone
from bot.router import Router
from handlers.complaints_customer import customer_of
from handlers.customer_pick import cipher_of
from handlers.fallback import NOT_UNDERSTOOD
from models.complaints import fmt_time
from models.customers import Customer
from models.requests import LEAD, SERVICE, CustomerRequest, add_to_request, route_request
from models.staff import Staff

router = Router("customer_inbox")

CUSTOMER_ROLES = ("customer", "stranger")
PASSED_ON = "好的，已转给{who}，会在 {due} 前联系您。{tail}"
ALREADY = "您的需求已经转给{who}了，会在 {due} 前联系您，请稍候。"
NOBODY = "好的，您的需求已记录，工作人员上班后会尽快联系您。"
LEAD_TAIL = "方便的话请留下联系电话和需要的数量。"
SERVICE_TAIL = "如有照片或单号，也可以直接发过来。"
THANKS = "谢谢您的支持！有任何需要随时发消息给我。"
MORE_PASSED_ON = "收到，已一并转给{who}，会在 {due} 前联系您。{phone}"
NOTED = "好的，有任何需要随时发消息给我。"
PHONE_KEPT = "我们会打 {phone} 联系您。"
ELSEWHERE = "您好！请在我们的公众号里留言，我们会尽快联系您。"


def _who(assignee: Staff | None, owner_id: int | None) -> str:
    if assignee is None:
        return "我们的工作人员"
    if assignee.id == owner_id:
        return f"您的专属顾问{assignee.name}"
    return "值班主管" if assignee.role != "rep" else f"顾问{assignee.name}"


def _who_and_when(
    customer: Customer, assignee: Staff, request: CustomerRequest, ctx: Context
) -> tuple[str, str]:
    """Who will get in touch, as the customer is told, and by when."""
    who = _who(assignee, customer.owner_id)  # type: ignore[attr-defined]
    return who, fmt_time(request.due_at, ctx.config.tz)


@router.message(RoleIs(*CUSTOMER_ROLES), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.LEAD))
async def lead(msg: Incoming, ctx: Context) -> str:
    return await _pass_on(msg, ctx, LEAD, LEAD_TAIL)


@router.message(RoleIs(*CUSTOMER_ROLES), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.SERVICE))
async def service(msg: Incoming, ctx: Context) -> str:
    return await _pass_on(msg, ctx, SERVICE, SERVICE_TAIL)


async def _pass_on(msg: Incoming, ctx: Context, kind: str, tail: str) -> str:
    # A first message from someone new is a customer's first contact.
    customer = await customer_of(msg, ctx)
    if customer is None:
        return ELSEWHERE
    routed = await route_request(customer, kind, msg.text, ctx.config)
    ctx.data["audit_target"] = f"customer:{customer.id}"
    if routed.assignee is None:
        return NOBODY
    who, due = _who_and_when(customer, routed.assignee, routed.request, ctx)
    if not routed.new:
        return ALREADY.format(who=who, due=due)
    return PASSED_ON.format(who=who, due=due, tail=tail)


@router.message(
    RoleIs(*CUSTOMER_ROLES),
    KindIs(Kind.TEXT, Kind.VOICE),
    IntentIs(Intent.SMALL_TALK),
    ~Command("取消", "cancel", "算了"),  # the fallback says there is nothing to cancel
)
async def small_talk(msg: Incoming, ctx: Context) -> str:
    if is_thanks(msg.text):
        return THANKS
    if is_acknowledgement(msg.text):
        return NOTED
    customer = ctx.sender.customer
    # 「？？？」, 「🙂」: nothing a colleague could act on is added to a request.
    says_something = any(ch.isalnum() for ch in msg.text)
    if customer is not None and says_something and not is_greeting(msg.text):
        # 「13800138000，要20台」 after 「方便的话请留下联系电话和需要的数量」: the answer.
        added = await add_to_request(customer, msg.text, cipher_of(ctx), ctx.config)
        if added is not None:
            ctx.data["audit_target"] = f"customer:{customer.id}"
            if added.assignee is None:
                return NOBODY
            who, due = _who_and_when(customer, added.assignee, added.request, ctx)
            phone = PHONE_KEPT.format(phone=mask_phone(added.phone)) if added.phone else ""
            return MORE_PASSED_ON.format(who=who, due=due, phone=phone)
    return NOT_UNDERSTOOD
