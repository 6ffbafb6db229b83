"""「联系人 张三 李总 王经理」: the people at a customer as reps call them, kept on the card,
so that 「刚见了李总」 is known to be about 张三."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.filters import Command, RoleIs
from bot.incoming import Incoming
from bot.router import HandlerResult, Router
from handlers.customer_pick import on_pick, refusal_to_change, resolve_customer, staff_of
from handlers.help import STAFF_ROLES, register_help
from models.customers import Customer, add_contacts

router = Router("contacts")

register_help(
    "联系人 客户 称呼", "记下客户那边的联系人，例如：联系人 张三 李总 采购王经理", *STAFF_ROLES
)

USAGE = "用法：联系人 客户 称呼…，例如：联系人 张三 李总 采购王经理"
NOT_YOURS = "{name}是{owner}的客户，只有负责人或主管可以修改。"
SAVED = "已记下{name}的联系人：{contacts}。以后说「见了{first}」也能认出是{name}。"
MAX_NAME = 16


@router.message(RoleIs("staff"), Command("联系人"))
async def contacts(msg: Incoming, ctx: Context) -> HandlerResult:
    parts = ctx.data.get("args", "").replace("，", " ").replace("、", " ").split()
    if len(parts) < 2:
        return USAGE
    names = [p[:MAX_NAME] for p in parts[1:]]
    return await resolve_customer(msg, ctx, parts[0], "contacts.add", {"names": names})


@on_pick("contacts.add", own_first=True)
async def add_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    known = await add_contacts(customer, payload["names"], by=staff_of(ctx))
    return SAVED.format(name=customer.name, contacts="、".join(known), first=payload["names"][0])
