"""「不要再联系我」: a customer's 「退订」 (or 「不要再发了」, 「别再联系我」 — classified by
``bot.parsing.intent``) flags them so no campaign or survey includes them, with a
polite confirmation; 「恢复订阅」 takes it back. Staff set or clear it on a customer's
behalf: 「免打扰 张三」 / 「取消免打扰 张三」 (the owner or a manager); the card shows it."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.filters import Command, IntentIs, KindIs, RoleIs
from bot.incoming import Incoming, Kind
from bot.parsing.intent import Intent
from bot.router import HandlerResult, Router
from handlers.complaints_customer import customer_of
from handlers.customer_pick import on_pick, refusal_to_change, resolve_customer
from handlers.help import STAFF_ROLES, register_help
from models.customers import Customer
from models.optout import set_opt_out

router = Router("optout")

CUSTOMER_ROLES = ("customer", "stranger")
OPTED_OUT = (
    "好的，已为您退订。今后我们不会再向您发送活动和推荐信息；"
    "您的咨询、订单和售后服务不受影响。如需恢复，回复「恢复订阅」。"
)
ALREADY_OUT = "您已经退订了，我们不会再向您发送活动和推荐信息。如需恢复，回复「恢复订阅」。"
OPTED_IN = "好的，已为您恢复订阅，今后有新品和活动会再通知您。"
NOT_OUT = "您没有退订，有新品和活动时会通知您。"
ELSEWHERE = "好的，我们不会向您发送推广信息。"

STAFF_SET = "已将{name}设为免打扰：今后的活动名单不会包含这位客户。取消请发「取消免打扰 {name}」。"
STAFF_ALREADY = "{name}已经是免打扰了。"
STAFF_CLEARED = "已取消{name}的免打扰，今后的活动可以包含这位客户。"
STAFF_NOT_SET = "{name}没有设免打扰。"
NOT_YOURS = "{name}是{owner}的客户，只有负责人或主管可以设免打扰。"
SET_USAGE = "请写上客户，例如：免打扰 张三"
CLEAR_USAGE = "请写上客户，例如：取消免打扰 张三"

register_help("免打扰 张三", "客户不想收到活动和推荐（「取消免打扰 张三」恢复）", *STAFF_ROLES)
register_help("退订", "不再接收活动和推荐信息", "customer")


@router.message(RoleIs(*CUSTOMER_ROLES), Command("恢复订阅", "重新订阅", "取消退订"))
async def opt_in(msg: Incoming, ctx: Context) -> str:
    customer = ctx.sender.customer
    if customer is None:
        return NOT_OUT
    ctx.data["audit_target"] = f"customer:{customer.id}"
    return OPTED_IN if await set_opt_out(customer, False) else NOT_OUT


@router.message(RoleIs(*CUSTOMER_ROLES), KindIs(Kind.TEXT, Kind.VOICE), IntentIs(Intent.OPT_OUT))
async def opt_out(msg: Incoming, ctx: Context) -> str:
    customer = await customer_of(msg, ctx)
    if customer is None:
        return ELSEWHERE
    ctx.data["audit_target"] = f"customer:{customer.id}"
    return OPTED_OUT if await set_opt_out(customer, True) else ALREADY_OUT


@router.message(RoleIs("staff"), Command("取消免打扰", "解除免打扰"))
async def staff_clear(msg: Incoming, ctx: Context) -> HandlerResult:
    query = ctx.data.get("args", "").strip()
    if not query:
        return CLEAR_USAGE
    return await resolve_customer(msg, ctx, query, "optout.clear", {})


@router.message(RoleIs("staff"), Command("免打扰", "设免打扰"))
async def staff_set(msg: Incoming, ctx: Context) -> HandlerResult:
    query = ctx.data.get("args", "").strip()
    if not query:
        return SET_USAGE
    return await resolve_customer(msg, ctx, query, "optout.set", {})


@on_pick("optout.set")
async def set_for(msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]) -> str:
    refusal = await refusal_to_change(ctx, customer, NOT_YOURS)
    if refusal:
        return refusal
    changed = await set_opt_out(customer, True)
    return (STAFF_SET if changed else STAFF_ALREADY).format(name=customer.name)


@on_pick("optout.clear")
async def clear_for(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    refusal = await refusal_to_change(ctx, customer, NOT_YOURS)
    if refusal:
        return refusal
    changed = await set_opt_out(customer, False)
    return (STAFF_CLEARED if changed else STAFF_NOT_SET).format(name=customer.name)
