"""Deals in chat: 「成交 张三 5000 产品A 10件」 records a signed deal (amounts as 5000,
5千, 1.2万, 五千); 「阶段 张三 报价」 moves the customer's deal along the pipeline
(需求分析→方案→报价→谈判→签约→售后). Rules in ``models.deals``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.context import Context
from bot.conversation import yields_to_commands
from bot.filters import Command, Filter, KindIs, RoleIs, StateIs, answer_text
from bot.incoming import Incoming
from bot.parsing.amounts import (
    InvalidAmount,
    format_amount,
    parse_amount,
    parse_quantity,
    unglue,
)
from bot.parsing.dates import InvalidDate, local_today, parse_past_date
from bot.router import HandlerResult, Router
from handlers.customer_pick import (
    SaidOfCustomer,
    on_pick,
    refusal_to_change,
    resolve_customer,
    staff_of,
)
from handlers.help import STAFF_ROLES, register_help
from models.customer_search import split_customer
from models.customers import Customer
from models.deals import (
    PIPELINE,
    Deal,
    NeedsDealName,
    move_stage,
    open_deals,
    recent_same_deal,
    record_deal,
)
from models.enums import DealStage

router = Router("deals")
# Answers to a bot question: after every command router (handlers/__init__.py).
dialog_router = Router("deals_dialog")

REPEAT_STATE = "deals.repeat"
yields_to_commands(REPEAT_STATE)
REPEAT_ASK = (
    "{minutes} 分钟前刚记录过同样的成交：{name}{product}，金额 {amount}。\n"
    "是重复发送吗？确实是第二笔请回复「再记一笔」；否则不用理会，不会重复记录。"
)
REPEAT_YES = {"再记一笔", "再记", "是第二笔", "第二笔", "确认", "是"}
# 「成交 张三 5000」 without a product while an opportunity is open: is it that one?
WHICH_STATE = "deals.which"
yields_to_commands(WHICH_STATE)
WHICH_ASK = (
    "{name}有进行中的商机「{product}」（{stage}）。这笔 {amount} 是它吗？\n"
    "回复「是」记为该商机签约，回复「不是」另记一笔新成交。"
)
WHICH_YES = {"是", "是的", "对", "是它", "嗯", "好", "确认", "yes"}
WHICH_NO = {"不是", "不", "否", "另记", "新的", "另记一笔", "no"}
REPEAT_DROPPED = "好的，这笔没有重复记录。"

DEAL_USAGE = (
    "用法：成交 客户 金额 产品 数量，例如：成交 张三 5000 产品A 10件（金额可写 5千、1.2万、五千）"
)
NO_AMOUNT = "没有看到成交金额。请写上金额，例如：成交 {name} 5000 产品A 10件。"
BAD_AMOUNT = "金额「{amount}」不对：请写大于 0 的金额，最多到分，例如 5000、5千、1.2万、五千。"
BAD_DEAL_DATE = "日期「{date}」不是有效的日期，例如：日期 11月28日、昨天、2026-11-28。"
FUTURE_DEAL_DATE = "成交日期「{date}」还没到：成交只能记已经签下的，日期写今天或以前。"
TWO_AMOUNTS = "「{a}」和「{b}」都像金额，请只写一个金额，数量带上单位（如 10件）。"
DEAL_SAVED = "已记录成交：{name}{product}{quantity}，金额 {amount}，日期 {date}。"
DEAL_FROM_OPPORTUNITY = "（由进行中的商机转为签约）"
NOT_YOURS = "{name}是{owner}的客户，只有负责人或主管可以记录。"

STAGE_USAGE = "用法：阶段 客户 阶段名，例如：阶段 张三 报价。阶段：{stages}"
BAD_STAGE = "没有「{stage}」这个阶段。可选：{stages}"
STAGE_MOVED = "{name}的商机{product}：{old} → {new}"
STAGE_OPENED = "已为{name}新建商机「{product}」，当前阶段：{new}"
STAGE_NEEDS_NAME = (
    "{name}还没有进行中的商机。要新建，请写上商机名称，例如：阶段 {name} {stage} 监护仪采购；"
    "已经签了合同请用「成交 {name} 金额 产品」记录。"
)
STAGE_SAME = "{name}的商机{product}已经在「{new}」阶段。"

STAGE_WORDS: dict[str, DealStage] = {
    "需求分析": DealStage.NEEDS, "需求": DealStage.NEEDS, "初步接触": DealStage.NEEDS,
    "方案": DealStage.PROPOSAL, "方案设计": DealStage.PROPOSAL,
    "报价": DealStage.QUOTE, "谈判": DealStage.NEGOTIATION, "商务谈判": DealStage.NEGOTIATION,
    "签约": DealStage.SIGNED, "成交": DealStage.SIGNED, "签单": DealStage.SIGNED,
    "签合同": DealStage.SIGNED, "售后": DealStage.AFTER_SALES,
}  # fmt: skip
STAGE_LIST = "→".join(s.label for s in PIPELINE)
_STAGES_LONGEST_FIRST = sorted(STAGE_WORDS, key=len, reverse=True)
_PARTICLES = {"中", "了", "啦", "的", "吧", "啊", "呢"}

register_help(
    "成交 客户 金额 产品 数量",
    "记录成交，例如：成交 张三 5千 产品A 10件",
    "rep",
    "manager",
    "admin",
)
register_help("阶段 客户 阶段", f"推进商机阶段：{STAGE_LIST}", *STAFF_ROLES)


class DealError(ValueError):
    """The correction prompt for a deal that could not be read; nothing saved."""


# 「1,280,000」: a comma between digit groups is a thousands separator, not a break.
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?:\D|$))")
# Labels reps put before a value: 「金额 5万 产品 监护仪」, 「数量10件」, 「日期 11月28日」.
_AMOUNT_LABEL = r"(?:合同金额|合同额|成交金额|成交额|总金额|总价|总额|金额|价格|一共|总共|共计)"
_LABEL = re.compile(
    rf"^(?:(?:{_AMOUNT_LABEL}|产品|品名|商品|货品|数量|日期|签约日期|成交日期)(?:[:：]|$)"
    rf"|(?:{_AMOUNT_LABEL}|数量)[为是]?(?=[\d一二两三四五六七八九十百千万])"
    r"|(?:日期|签约日期|成交日期)(?=\S))"
)
# A price per unit: 「每台1.5万」, 「单价 200」 — the amount is it times the quantity.
_UNIT_PRICE = re.compile(r"^(?:单价[:：]?|每[\u4e00-\u9fff]?)(?=[\d一二两三四五六七八九十百千万])")
# 「11月28日签的」: the day the contract was signed, said as such.
_SIGNED_WORDS = re.compile(r"(?:签的|签约的?|签单的?|签了|签的合同|成交的?)$")
# A token that names a day (「11月28日」, 「昨天」, 「周一」, 「2026-11-28」), not an amount.
_DATEISH = re.compile(
    r"[月日号]|昨|前天|今天|明天|后天|(?:周|星期|礼拜)[一二三四五六日天]|"
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$"
)


def parse_deal(text: str, name: str, today: date) -> dict[str, Any]:
    """「5000 产品A 10件」 → amount, product, quantity (JSON-friendly for the dialog).
    Thousands separators and labels (金额, 产品, 数量, 日期) are understood; a signing
    day (「11月28日」, 「昨天」) may be given, never a day still to come."""
    amount: Decimal | None = None
    amount_token = ""
    unit_price: Decimal | None = None
    quantity = 1
    signed_on: date | None = None
    product: list[str] = []
    # Speech recognition ends a sentence with 「。」: not part of the product's name.
    text = _THOUSANDS.sub("", text).strip().rstrip("。.!！")
    tokens = (
        _LABEL.sub("", piece) for t in re.split(r"[\s\u3000,，;；]+", text) for piece in unglue(t)
    )
    for token in (t for t in tokens if t):
        counted = parse_quantity(token)
        if counted is not None:
            quantity = counted[0]
            continue
        if signed_on is None and _DATEISH.search(token):
            token = _SIGNED_WORDS.sub("", token) or token
            try:
                day = parse_past_date(token, today)
            except InvalidDate:
                raise DealError(BAD_DEAL_DATE.format(date=token[:20])) from None
            if day is not None:
                if day > today:
                    raise DealError(FUTURE_DEAL_DATE.format(date=token[:20]))
                signed_on = day
                continue
        per_unit = _UNIT_PRICE.match(token)
        try:
            value = parse_amount(token[per_unit.end() :] if per_unit else token)
        except InvalidAmount:
            raise DealError(BAD_AMOUNT.format(amount=token[:20])) from None
        if per_unit and value is not None and unit_price is None:
            unit_price = value
        elif value is None:
            product.append(token)
        elif amount is None:
            amount, amount_token = value, token
        else:
            raise DealError(TWO_AMOUNTS.format(a=amount_token[:20], b=token[:20]))
    if amount is None and unit_price is not None:
        amount = unit_price * quantity
    if amount is None:
        raise DealError(NO_AMOUNT.format(name=name[:20]))
    return {
        "amount": str(amount),
        "product": " ".join(product)[:128],
        "quantity": quantity,
        "signed_on": signed_on.isoformat() if signed_on else None,
    }


# 「周杰成交了三万」, 「李娜签了两万三的单」: 「成交」's arguments when an amount follows
# (without one, 「张三 成交了」 is a campaign's mark or a report).
_SAYS_DEAL = re.compile(
    r"^\s*(?P<who>[^\s的]{2,20}?)\s*(?:那边|这边)?\s*(?:已经|已|今天|刚刚?)*"
    r"(?:成交了|签了|签单了|下单了|订了)\s*(?P<rest>.+?)"
    r"(?:的(?:单子?|合同|订单))?\s*[。.!！]?\s*$"
)
# A figure with a unit of money, or a plain number long enough to be one.
_AMOUNTISH = re.compile(
    r"[\d一二两三四五六七八九十百千]\s*(?:万|千|元|块|[kKwW](?![A-Za-z]))|\d{3,}"
)


@router.message(
    RoleIs("staff"),
    KindIs("text", "voice"),
    SaidOfCustomer(_SAYS_DEAL, "rest", _AMOUNTISH, titles=True),
)
@router.message(RoleIs("staff"), Command("成交", "签单"))
async def deal(msg: Incoming, ctx: Context) -> HandlerResult:
    split = await split_customer(ctx.data.get("args", ""))
    query, rest = split.query, split.rest
    if not query or not rest:
        return DEAL_USAGE
    try:
        payload = parse_deal(rest, query, local_today(ctx.config.tz))
    except DealError as exc:
        return str(exc)
    return await resolve_customer(msg, ctx, query, "deals.record", payload, split.named)


@on_pick("deals.record", own_first=True)
async def record_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    staff = staff_of(ctx)
    signed_on = payload.get("signed_on")
    today = date.fromisoformat(signed_on) if signed_on else local_today(ctx.config.tz)
    amount = Decimal(payload["amount"])
    if not payload.get("confirmed"):
        same = await recent_same_deal(customer, amount, payload["product"])
        if same is not None:
            assert ctx.conversation is not None
            await ctx.conversation.set(
                REPEAT_STATE, {"customer": customer.id, "payload": {**payload, "confirmed": True}}
            )
            minutes = max(1, int((datetime.now(UTC) - same.updated_at).total_seconds() // 60))
            return REPEAT_ASK.format(
                minutes=minutes,
                name=customer.name,
                product=f" {same.product}" if same.product else "",
                amount=format_amount(amount),
            )
    if not payload["product"] and not payload.get("which_asked"):
        opportunities = await open_deals(customer.id)
        if len(opportunities) == 1 and opportunities[0].product:
            o = opportunities[0]
            assert ctx.conversation is not None
            data = {"customer": customer.id, "deal": o.id, "payload": payload}
            await ctx.conversation.set(WHICH_STATE, data)
            return WHICH_ASK.format(
                name=customer.name,
                product=o.product,
                stage=DealStage(o.stage).label,
                amount=format_amount(amount),
            )
    closed = await record_deal(
        customer,
        staff,
        amount,
        payload["product"],
        payload["quantity"],
        today,
        separate=bool(payload.get("separate")),
    )
    text = DEAL_SAVED.format(
        name=customer.name,
        product=f" {closed.deal.product}" if closed.deal.product else "",
        quantity=f" ×{closed.deal.quantity}" if closed.deal.quantity != 1 else "",
        amount=format_amount(amount),
        date=f"{today.month}月{today.day}日",
    )
    return text + (DEAL_FROM_OPPORTUNITY if closed.from_opportunity else "")


_STAGE_GAP = re.compile(r"[\s,，、;；]+")


# 「张三那个单子到谈判了」, 「李娜的项目进入方案阶段」: 「阶段」's arguments.
_SAYS_STAGE = re.compile(
    r"^\s*(?P<who>[^\s的]{2,20}?)\s*(?:的|那个|那边|这个|这边)?\s*(?:单子|商机|项目|订单)?\s*"
    r"(?:已经|已)?(?:到了|到|进入了?|推进到|进到|走到)\s*"
    rf"(?P<stage>{'|'.join(sorted(STAGE_WORDS, key=len, reverse=True))})"
    r"(?:阶段)?\s*了?\s*[。.!！]?\s*$"
)


@router.message(RoleIs("staff"), KindIs("text", "voice"), SaidOfCustomer(_SAYS_STAGE, "stage"))
@router.message(RoleIs("staff"), Command("阶段", "推进"))
async def stage(msg: Incoming, ctx: Context) -> HandlerResult:
    split = await split_customer(ctx.data.get("args", ""))
    query, rest = split.query, split.rest
    if not query or not rest:
        return STAGE_USAGE.format(stages=STAGE_LIST)
    # 「阶段张三，报价，监护仪。」: spoken with commas as well as typed with spaces.
    word, _, name = _STAGE_GAP.sub(" ", rest.strip().rstrip("。.!！")).partition(" ")
    word = word.removeprefix("到")
    new = STAGE_WORDS.get(word.removesuffix("阶段"))
    if new is None:
        # 「阶段王小明报价监护仪采购」: the deal's name glued to the stage.
        glued = next((w for w in _STAGES_LONGEST_FIRST if word.startswith(w)), None)
        if glued is None:
            return BAD_STAGE.format(stage=word[:10], stages=STAGE_LIST)
        new = STAGE_WORDS[glued]
        tail = word[len(glued) :].removeprefix("阶段")
        # 「谈判中」, 「报价了」: a particle, not a deal's name.
        name = f"{'' if tail in _PARTICLES else tail} {name}"
    payload = {"stage": new.value, "name": name.strip()[:128]}
    return await resolve_customer(msg, ctx, query, "deals.stage", payload, split.named)


@on_pick("deals.stage", own_first=True)
async def stage_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    staff = staff_of(ctx)
    new = DealStage(payload["stage"])
    try:
        moved = await move_stage(
            customer, staff, new, local_today(ctx.config.tz), payload.get("name", "")
        )
    except NeedsDealName:
        return STAGE_NEEDS_NAME.format(name=customer.name, stage=new.label)
    product = f"「{moved.deal.product}」" if moved.deal.product else ""
    if moved.old is None:
        return STAGE_OPENED.format(name=customer.name, product=moved.deal.product, new=new.label)
    if moved.old is new:
        return STAGE_SAME.format(name=customer.name, product=product, new=new.label)
    return STAGE_MOVED.format(
        name=customer.name, product=product, old=moved.old.label, new=new.label
    )


@dialog_router.message(StateIs(REPEAT_STATE), RoleIs("staff"), KindIs("text", "voice"))
async def repeat_answer(msg: Incoming, ctx: Context) -> str:
    """「再记一笔」 records the second deal; anything else drops it."""
    assert ctx.conversation is not None
    data = dict(ctx.conversation.data)
    await ctx.conversation.clear()
    if answer_text(msg) not in REPEAT_YES:
        return REPEAT_DROPPED
    customer = await Customer.get_or_none(id=data.get("customer"))
    if customer is None:
        return REPEAT_DROPPED
    ctx.handler_name = "deals.record"
    return await record_action(msg, ctx, customer, data["payload"])


class WhichAnswer(Filter):
    """「是」 or 「不是」 to the which-opportunity question; anything else is itself."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        answer = answer_text(msg).lower()
        return answer in WHICH_YES or answer in WHICH_NO


@dialog_router.message(
    StateIs(WHICH_STATE), RoleIs("staff"), KindIs("text", "voice"), WhichAnswer()
)
async def which_answer(msg: Incoming, ctx: Context) -> str:
    assert ctx.conversation is not None
    data = dict(ctx.conversation.data)
    await ctx.conversation.clear()
    customer = await Customer.get_or_none(id=data.get("customer"))
    if customer is None:
        return REPEAT_DROPPED
    payload = {**data["payload"], "which_asked": True}
    if answer_text(msg).lower() in WHICH_YES:
        deal = await Deal.get_or_none(id=data.get("deal"))
        payload["product"] = deal.product if deal is not None else ""
    else:
        payload["separate"] = True
    ctx.handler_name = "deals.record"
    return await record_action(msg, ctx, customer, payload)
