"""Taking things back in chat: 「撤销」 undoes the rep's last change (follow-up, deal,
stage move, birthday) within half an hour, one step per 撤销; 「改 成交 6000」 (or
「改 成交 张三 6000 监护仪」) corrects the deal the rep signed last. Before the follow-up
router, whose 「改」 corrects a follow-up."""

from __future__ import annotations

from decimal import Decimal

from bot.context import Context
from bot.conversation import yields
from bot.filters import Command, Regex, RoleIs
from bot.incoming import Incoming
from bot.parsing.amounts import format_amount
from bot.parsing.dates import local_today
from bot.router import Router
from handlers.customer_pick import staff_of
from handlers.deals import DealError, parse_deal
from handlers.help import STAFF_ROLES, register_help
from models.deals import correct_deal, latest_own_deal
from models.undo import NothingToUndo, undo_last

router = Router("corrections")

register_help("撤销", "撤回你半小时内的上一次操作（跟进、成交、阶段、生日、联系人）", *STAFF_ROLES)
register_help("改 成交 金额", "更正你刚记录的成交，例如：改 成交 6000", *STAFF_ROLES)

UNDONE = "已撤销：{label}。再发「撤销」可以继续往前撤。"
NOTHING = "半小时内没有可以撤销的操作。"
QUESTION_DROPPED = "好的，刚才那条没有保存。要撤回之前的操作，请再发一次「撤销」。"
NO_DEAL = "半小时内你没有记录过成交，没有可以更正的。要记录请发：成交 客户 金额 产品。"
CORRECT_USAGE = "用法：改 成交 金额 [产品] [数量]，例如：改 成交 6000 或 改 成交 张三 6000 监护仪"
CORRECTED = "已更正{name}的成交：金额 {old} → {new}{product}。发「撤销」可以改回去。"


# 「取消刚才的跟进」, 「删掉上一条」, 「撤销刚才那条成交」: 撤销 said in words.
_UNDO_SAID = (
    r"^\s*(?:撤销|撤回|取消|删掉|删除|删了|去掉)(?:一下)?\s*"
    r"(?:刚才|刚刚|上一条|最后一条|最近一条|上一个|刚记)(?:的|那条|那个|记的)?\s*"
    r"(?:跟进|成交|记录|操作|那条)?\s*(?:吧)?\s*[。.!！]?\s*$"
)
# 「刚才那条记错了」: what the rep can do about it.
WRONG_HINT = (
    "要撤回刚才那条，请发「撤销」；"
    "只改一部分可以发「改 回访 周五」「改 内容 …」或「改 成交 6000」。"
)


@router.message(
    RoleIs("staff"),
    Regex(r"^\s*(?:刚才|刚刚|上一条|那条)(?:那条|那个|的)?(?:跟进|成交|记录)?(?:记|写|录)错了"),
    read_only=True,
)
async def wrong(msg: Incoming, ctx: Context) -> str:
    return WRONG_HINT


@router.message(RoleIs("staff"), Regex(_UNDO_SAID))
@router.message(RoleIs("staff"), Command("撤销", "撤回", "undo"))
async def undo(msg: Incoming, ctx: Context) -> str:
    conversation = ctx.conversation
    if conversation is not None and yields(conversation.state):
        # 「撤销」 to the bot's own question (「是它吗？」, 「哪一位？」) means "never
        # mind": the question goes, and no earlier record is taken back with it.
        await conversation.clear()
        return QUESTION_DROPPED
    try:
        done = await undo_last(staff_of(ctx))
    except NothingToUndo:
        return NOTHING
    return UNDONE.format(label=done.label)


@router.message(RoleIs("staff"), Regex(r"^\s*/?(?:改|修改|更正)\s*(?:成交|签单)\s*(.*)$"))
async def correct(msg: Incoming, ctx: Context) -> str:
    rest = ctx.data["match"].group(1).strip()
    if not rest:
        return CORRECT_USAGE
    deal = await latest_own_deal(staff_of(ctx))
    if deal is None:
        return NO_DEAL
    name = deal.customer.name
    rest = rest.removeprefix(name).strip()  # 「改 成交 张三 6000」 names the customer again
    try:
        parsed = parse_deal(rest, name, local_today(ctx.config.tz))
    except DealError as exc:
        return str(exc)
    old = format_amount(deal.amount)
    quantity = parsed["quantity"] if parsed["quantity"] != 1 else None
    await correct_deal(deal, staff_of(ctx), Decimal(parsed["amount"]), parsed["product"], quantity)
    ctx.data["audit_target"] = f"customer:{deal.customer.id}"
    product = f"，产品 {deal.product}" if parsed["product"] else ""
    return CORRECTED.format(name=name, old=old, new=format_amount(deal.amount), product=product)
