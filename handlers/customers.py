"""Customers in chat: the card (「查 张三」), a rep's portfolio (「我的客户」), a new
customer (「新客户 张三 138… 公司 行业 VIP 生日3月5日」, missing fields asked for),
and birthdays (「生日 张三 农历八月十五」).

The rules — who sees what, duplicates, encryption — are in ``models.customers``,
``models.customer_search`` and ``models.customer_card``; this module parses and answers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.context import Context
from bot.conversation import yields_to_commands
from bot.filters import Command, Filter, KindIs, RoleIs, StateIs, answer_text
from bot.incoming import Incoming
from bot.parsing.birthdays import Birthday, InvalidBirthday, parse_birthday
from bot.parsing.dates import describe, local_today
from bot.parsing.new_customers import DraftError, parse_new_customer, says_new_customer
from bot.parsing.phones import (
    mask_phone,
    parse_phone,
)
from bot.router import HandlerResult, Router
from handlers.customer_card_text import NOT_SET, UNOWNED, render_card
from handlers.customer_pick import cipher_of, on_pick, refusal_to_change, resolve_customer, staff_of
from handlers.help import STAFF_ROLES, register_help
from models.customer_card import customer_card
from models.customer_search import NAME_MAX, split_customer
from models.customers import (
    Customer,
    CustomerDraft,
    company_beside,
    create_customer,
    find_duplicates,
    portfolio,
    set_birthday,
)
from models.enums import Grade, Role

router = Router("customers")
# Answers inside the new-customer dialog; registered after every command router so a
# command sent mid-dialog is still a command.
dialog_router = Router("customers_dialog")


# --- portfolio ---
PORTFOLIO_HEAD_OWN = "你名下共有 {total} 位客户。"
PORTFOLIO_HEAD_ALL = "全部客户共 {total} 位。"
PORTFOLIO_GRADE = "按等级：{parts}"
PORTFOLIO_LIFECYCLE = "按状态：{parts}"
PORTFOLIO_EMPTY = "你名下还没有客户。发送「新客户 姓名 手机号 公司」添加一位。"

# --- new customer ---
NEW_USAGE = (
    "用法：新客户 姓名 手机号 公司 行业 等级 生日，例如：\n"
    "新客户 张三 13800138000 上海某某贸易 餐饮 VIP 生日3月5日\n"
    "除了姓名，其他都可以稍后补充。"
)
BAD_NAME = "客户姓名「{text}」看起来不对，请用 1–20 个字的姓名。"
BAD_PHONE = (
    "手机号「{text}」不对：请发送 11 位手机号（如 13800138000）或带区号的座机（如 021-12345678）。"
)
BAD_BIRTHDAY = "生日「{text}」不是有效的日期，例如：生日3月5日、生日1990-03-05、生日农历八月十五。"
# What parse_new_customer refused, as the rep is told to fix it ({text}: what was said).
_DRAFT_ERRORS = {"usage": NEW_USAGE, "name": BAD_NAME, "phone": BAD_PHONE, "birthday": BAD_BIRTHDAY}
ASK_PHONE = "请发送{name}的手机号；没有的话回复「跳过」。发送「取消」放弃新建。"
ASK_COMPANY = "{name}在哪家公司？回复公司名称；个人客户回复「跳过」。"
DUP_PHONE = (
    "手机号 {phone} 已经属于客户「{name}」（{company}，负责人：{owner}），没有重复创建。"
    "发送「查 {name}」查看。"
)
DUP_SIMILAR = (
    "发现可能重复的客户：\n{lines}\n回复「确认」仍然新建，回复「取消」放弃"
    "（3 分钟内有效，发别的消息也会放弃）。"
)
DUP_LINE = "· {name} · {company}（负责人：{owner}）"
CREATED = "已新建客户：{name}{company}\n{details}\n发送「跟进 {name} …」记录第一次跟进。"
NEW_CANCELLED = "已放弃新建客户。"
SKIP_WORDS = {"跳过", "没有", "无", "不知道", "暂无", "个人", "skip"}
CANCEL_WORDS = {"取消", "算了", "不要了", "cancel"}
CONFIRM_WORDS = {
    "确认",
    "确定",
    "是",
    "是的",
    "对",
    "好",
    "好的",
    "嗯",
    "可以",
    "新建",
    "yes",
    "y",
    "ok",
}

# --- birthday ---
BIRTHDAY_USAGE = (
    "用法：生日 客户 日期，例如：生日 张三 3-5、生日 张三 1990年3月5日、生日 张三 农历八月十五"
)
BIRTHDAY_SAVED = "已记录{name}的生日：{label}，下次是 {next}。"
NOT_YOURS = "{name}是{owner}的客户，只有负责人或主管可以修改。"

NEW_PHONE = "customers.new:phone"
NEW_COMPANY = "customers.new:company"
NEW_CONFIRM = "customers.new:confirm"
# 「查」 alone: the next message is the name (or company, or phone) to look up.
ASK_WHO = "customers.card:who"
# A quick yes/no: it does not wait the whole dialog time.
CONFIRM_TTL = timedelta(minutes=3)
yields_to_commands(NEW_PHONE, NEW_COMPANY, NEW_CONFIRM, ASK_WHO)
ASK_WHO_TEXT = "要查哪位客户？直接回复名字、拼音首字母、公司或电话即可，例如：张三、zs、8000。"
ASK_WHO_DROPPED = "好的，不查了。"


register_help("查 客户", "客户名片：姓名、拼音首字母、公司或手机尾号都可以", *STAFF_ROLES)
register_help("我的客户", "按等级和状态统计我的客户", *STAFF_ROLES)
register_help("新客户 姓名 手机号 公司 …", "新建客户，缺的信息我会问你", *STAFF_ROLES)
register_help("生日 客户 日期", "记录生日，支持农历，例如：生日 张三 农历八月十五", *STAFF_ROLES)


# --- 我的客户 ------------------------------------------------------------------------------
# Registered before 查, so 「客户统计」 is not read as 「客户 统计」.


@router.message(RoleIs("staff"), Command("我的客户", "客户统计"), read_only=True)
async def my_customers(msg: Incoming, ctx: Context) -> str:
    staff = staff_of(ctx)
    everyone = Role(staff.role) in (Role.MANAGER, Role.ADMIN)
    stats = await portfolio(None if everyone else staff.id)
    if not stats.total:
        return PORTFOLIO_EMPTY
    head = PORTFOLIO_HEAD_ALL if everyone else PORTFOLIO_HEAD_OWN
    grades = "、".join(f"{g.label} {n}" for g, n in stats.by_grade.items())
    stages = "、".join(f"{s.label} {n}" for s, n in stats.by_lifecycle.items())
    return "\n".join(
        [
            head.format(total=stats.total),
            PORTFOLIO_GRADE.format(parts=grades),
            PORTFOLIO_LIFECYCLE.format(parts=stages),
        ]
    )


# --- 查 -----------------------------------------------------------------------------------


@router.message(
    RoleIs("staff"),
    Command("查", "查看", "查询", "查找", "搜", "搜索", "客户", "帮我查", "帮忙查", "帮我找"),
    read_only=True,
)
async def show_card(msg: Incoming, ctx: Context) -> HandlerResult:
    query = ctx.data.get("args", "")
    if not query:
        assert ctx.conversation is not None
        await ctx.conversation.set(ASK_WHO)
        return ASK_WHO_TEXT
    return await resolve_customer(msg, ctx, query, "customers.card", {})


# 「张三的电话多少」, 「张三电话」, 「华东精密的地址？」, 「李娜的公司」: a rep asking for a
# contact detail (or where they work) gets the card, which shows it (a method word
# alone must not log a follow-up).
_ASKS_CONTACT = re.compile(
    r"^\s*(?P<who>[^\s的]{2,}?)\s*的?\s*(?:电话号?码?|手机号?码?|号码|联系方式|地址|公司|单位|"
    # 「李娜是哪家公司的」, 「李娜在哪个单位」.
    r"(?:是|在)?哪(?:家|个)(?:公司|单位)的?|"
    # 「张三的生日是几号」, 「张三生日哪天」.
    r"生日(?:是|在)?(?:几号|哪天|哪一天|什么时候|几月几号|多少号)?)"
    r"\s*(?:是|是多少|多少|呢|是啥|是什么|叫什么|叫啥|是哪家)?\s*[?？。]?\s*$"
)


# 「下周一上午十点给王强打电话」: a call to make (or made), not a number asked for.
_MAKES_A_CALL = re.compile(r"[给跟和]|[打拨回]$")


class AsksContact(Filter):
    """``ctx.data["who"]``: the customer a contact detail is asked of — not a command
    glued to one (「跟进张三电话」 logs a call)."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        asked = _ASKS_CONTACT.match(msg.text or "")
        if (
            asked is None
            or Command.starts_any(asked.group("who"))
            or _MAKES_A_CALL.search(asked.group("who"))
        ):
            return False
        ctx.data["who"] = asked.group("who")
        return True


@router.message(RoleIs("staff"), KindIs("text", "voice"), AsksContact(), read_only=True)
async def card_for_contact(msg: Incoming, ctx: Context) -> HandlerResult:
    return await resolve_customer(msg, ctx, ctx.data["who"], "customers.card", {})


@dialog_router.message(StateIs(ASK_WHO), RoleIs("staff"), KindIs("text", "voice"))
async def card_answer(msg: Incoming, ctx: Context) -> HandlerResult:
    """The answer to 「要查哪位客户？」. Commands are routed before this, so a new
    command is never taken for a name."""
    assert ctx.conversation is not None
    await ctx.conversation.clear()
    answer = answer_text(msg)
    if answer.lower() in CANCEL_WORDS:
        return ASK_WHO_DROPPED
    return await resolve_customer(msg, ctx, answer, "customers.card", {})


class CustomerNamed(Filter):
    """The whole text is a customer's name (「张三」): a rep asking for the card.
    ``ctx.data["named"]``: the customers of that name, read once."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        text = (msg.text or "").strip().rstrip("。.?？")
        if not 2 <= len(text) <= NAME_MAX or any(ch.isspace() for ch in text):
            return False
        ctx.data["named"] = await Customer.filter(name=text)
        return bool(ctx.data["named"])


# After every command and report: a bare name is only the card when nothing else took it.
@dialog_router.message(StateIs(None), RoleIs("staff"), KindIs("text", "voice"), CustomerNamed())
async def card_by_name(msg: Incoming, ctx: Context) -> HandlerResult:
    named: list[Customer] = ctx.data["named"]
    return await resolve_customer(msg, ctx, named[0].name, "customers.card", {}, named)


@on_pick("customers.card")
async def card_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    ctx.data["audit_target"] = f"customer:{customer.id}"
    today = local_today(ctx.config.tz)
    card = await customer_card(customer, staff_of(ctx), cipher_of(ctx), today, ctx.config)
    return render_card(card, today, ctx.config.tz)


# --- 新客户 --------------------------------------------------------------------------------


def _draft(data: dict[str, Any]) -> CustomerDraft:
    b = data.get("birthday")
    return CustomerDraft(
        name=data["name"],
        phone=data.get("phone") or None,
        company=data.get("company") or "",
        industry=data.get("industry", ""),
        grade=Grade(data.get("grade", Grade.POTENTIAL.value)),
        birthday=Birthday(*b) if b else None,
        notes=data.get("notes", ""),
    )


class SaysNewCustomer(Filter):
    """「加个客户叫王强，杭州某某公司的，电话138…」: ``ctx.data["args"]`` as 「新客户」's."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        rest = says_new_customer(msg.text or "")
        if rest is None:
            return False
        ctx.data["args"] = rest
        return True


# Registered bottom-up: the command first, the sentence after it.
@router.message(RoleIs("staff"), KindIs("text", "voice"), SaysNewCustomer())
@router.message(RoleIs("staff"), Command("新客户", "新建客户", "添加客户", "加客户"))
async def new_customer(msg: Incoming, ctx: Context) -> str:
    try:
        draft = parse_new_customer(ctx.data.get("args", ""))
    except DraftError as exc:
        return _DRAFT_ERRORS[exc.kind].format(text=exc.said[:20])
    return await _next_step(ctx, draft)


async def _next_step(ctx: Context, draft: dict[str, Any]) -> str:
    """Ask for what is missing, point out duplicates, or create: the dialog as data."""
    assert ctx.conversation is not None
    if draft["phone"] is None:
        await ctx.conversation.set(NEW_PHONE, draft)
        return ASK_PHONE.format(name=draft["name"])
    if draft["company"] is None:
        await ctx.conversation.set(NEW_COMPANY, draft)
        return ASK_COMPANY.format(name=draft["name"])
    cipher = cipher_of(ctx)
    if not draft.get("confirmed"):
        dups = await find_duplicates(
            cipher, draft["name"], draft["company"] or "", draft["phone"] or None
        )
        if dups.same_phone is not None:
            await ctx.conversation.clear()
            other = dups.same_phone
            await other.fetch_related("owner")
            return DUP_PHONE.format(
                phone=mask_phone(draft["phone"]),
                name=other.name,
                company=other.company or "个人",
                owner=other.owner.name if other.owner else UNOWNED,
            )
        if dups.similar:
            await ctx.conversation.set(NEW_CONFIRM, draft, ttl=CONFIRM_TTL)
            lines = []
            for other in dups.similar:
                await other.fetch_related("owner")
                lines.append(
                    DUP_LINE.format(
                        name=other.name,
                        company=other.company or "个人",
                        owner=other.owner.name if other.owner else UNOWNED,
                    )
                )
            return DUP_SIMILAR.format(lines="\n".join(lines))
    await ctx.conversation.clear()
    customer = await create_customer(cipher, _draft(draft), owner=staff_of(ctx))
    ctx.data["audit_target"] = f"customer:{customer.id}"
    details = [f"手机：{draft['phone'] or NOT_SET}", f"等级：{Grade(customer.grade).label}"]
    if customer.industry:
        details.append(f"行业：{customer.industry}")
    if draft.get("birthday"):
        details.append(f"生日：{_draft(draft).birthday.label()}")  # type: ignore[union-attr]
    return CREATED.format(
        name=customer.name,
        company=company_beside(customer.name, customer.company),
        details=" · ".join(details),
    )


class ConfirmOrCancel(Filter):
    """In the confirm step only 「确认」 or 「取消」 is an answer: anything else goes on
    to be understood as itself instead of being swallowed by the pending question."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        if ctx.conversation is None or ctx.conversation.state != NEW_CONFIRM:
            return True
        answer = answer_text(msg).lower()
        return answer in CONFIRM_WORDS or answer in CANCEL_WORDS


@dialog_router.message(
    StateIs(NEW_PHONE, NEW_COMPANY, NEW_CONFIRM),
    RoleIs("staff"),
    KindIs("text", "voice"),
    ConfirmOrCancel(),
)
async def new_customer_answer(msg: Incoming, ctx: Context) -> str:
    assert ctx.conversation is not None
    state, draft = ctx.conversation.state, dict(ctx.conversation.data)
    answer = answer_text(msg)
    if answer.lower() in CANCEL_WORDS:
        await ctx.conversation.clear()
        return NEW_CANCELLED
    if state == NEW_PHONE:
        if answer.lower() in SKIP_WORDS:
            draft["phone"] = ""
        else:
            phone = parse_phone(answer)
            if phone is None:
                return (
                    BAD_PHONE.format(text=answer[:20]) + "\n" + ASK_PHONE.format(name=draft["name"])
                )
            draft["phone"] = phone
    elif state == NEW_COMPANY:
        draft["company"] = "" if answer.lower() in SKIP_WORDS else answer[:128]
    else:
        draft["confirmed"] = True  # ConfirmOrCancel let only 确认 (or 取消, above) through
    return await _next_step(ctx, draft)


# --- 生日 ---------------------------------------------------------------------------------


class SaysBirthday(Filter):
    """「张三生日是3月5号」, 「李娜的农历生日八月十五」: ``ctx.data["args"]`` as 「生日」's."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        said = _SAYS_BIRTHDAY.match(msg.text or "")
        if said is None or Command.starts_any(said.group("who")):
            return False
        when = (said.group("lunar") or "") + said.group("when")
        try:
            if parse_birthday(when) is None:
                return False
        except InvalidBirthday:
            pass  # a birthday, said wrongly: 「生日」 answers what is wrong with it
        ctx.data["args"] = f"{said.group('who')} {when}"
        return True


_SAYS_BIRTHDAY = re.compile(
    r"^\s*(?P<who>[^\s的]{2,20}?)\s*的?\s*(?P<lunar>农历|阴历|公历)?生日\s*(?:是|在|为)?\s*"
    r"(?P<when>\S.*?)\s*[。.!！]?\s*$"
)


@router.message(RoleIs("staff"), KindIs("text", "voice"), SaysBirthday())
@router.message(RoleIs("staff"), Command("生日"))
async def birthday(msg: Incoming, ctx: Context) -> HandlerResult:
    split = await split_customer(ctx.data.get("args", ""))
    query, text = split.query, split.rest
    if not query or not text:
        return BIRTHDAY_USAGE
    try:
        parsed = parse_birthday(text)
    except InvalidBirthday:
        parsed = None
    if parsed is None:
        return BAD_BIRTHDAY.format(text=text[:20])
    payload = {"birthday": [parsed.month, parsed.day, parsed.year, parsed.lunar, parsed.leap]}
    return await resolve_customer(msg, ctx, query, "customers.birthday", payload, split.named)


@on_pick("customers.birthday", own_first=True)
async def birthday_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    if refusal := await refusal_to_change(ctx, customer, NOT_YOURS):
        return refusal
    parsed = Birthday(*payload["birthday"])
    await set_birthday(customer, parsed, by=staff_of(ctx))
    today = local_today(ctx.config.tz)
    return BIRTHDAY_SAVED.format(
        name=customer.name, label=parsed.label(), next=describe(parsed.next_solar(today), today)
    )
