"""The team in chat for managers and admins: 「团队」 (one line per rep), 「团队 李明」
(that rep's overdue revisits), 「待办 团队」 (everyone's), and 「转移 李明 王五」 /
「转移 张三 王五」 (a departing rep's customers, or one customer, to another rep)."""

from __future__ import annotations

import re
from typing import Any

from bot.context import Context
from bot.filters import Command, Filter, Regex, RoleIs
from bot.incoming import Incoming
from bot.parsing.dates import local_today
from bot.router import HandlerResult, Router
from handlers.customer_pick import on_pick, resolve_customer, staff_of
from handlers.help import register_help
from models.customers import Customer, company_beside
from models.digest_text import money
from models.staff import Staff
from models.staff_push import push_to_staff
from models.team import overdue_of, staff_named, team_lines
from models.transfer import transfer

router = Router("team")

register_help(
    "团队", "每位销售的客户、跟进、逾期回访、投诉和成交（「团队 李明」）", "manager", "admin"
)
register_help(
    "转移 李明 王五", "把李明的客户（或一位客户）连同回访和投诉转给王五", "manager", "admin"
)

MANAGERS_ONLY = "团队数据和客户转移只对主管开放。你可以发送「待办」或「我的客户」。"
TEAM_HEAD = "团队概况（{n} 人）："
TEAM_LINE = (
    "· {name}：客户 {customers}，本周跟进 {week}，逾期回访 {overdue}，"
    "未结投诉 {complaints}，本月成交 {deals} 笔 {amount}"
)
TEAM_TAIL = "发送「团队 姓名」看某人的逾期回访，「待办 团队」看全部。"
NO_TEAM = "团队里还没有销售。用「邀请 销售 姓名」邀请同事加入。"
NO_SUCH_STAFF = "团队里没有叫「{name}」的同事。发送「团队」查看名单。"
OVERDUE_HEAD = "{name} 的逾期回访（{n} 条）："
OVERDUE_LINE = "· {customer}{company}：计划 {day}，已逾期 {days} 天"
NO_OVERDUE = "{name} 没有逾期的回访。"
ALL_OVERDUE_HEAD = "团队逾期回访共 {n} 条："
NO_TEAM_OVERDUE = "团队没有逾期的回访。"
MORE = "……还有 {n} 条，发送「团队 {name}」看全部。"
SHOWN_PER_REP = 5

TRANSFER_USAGE = "用法：转移 原负责人 新负责人（转走全部客户），或 转移 客户名 新负责人。"
TRANSFER_TO_UNKNOWN = "没有在职的同事叫「{name}」，请核对新负责人的姓名。"
TRANSFER_SAME = "{name} 已经是负责人了，不需要转移。"
TRANSFER_NOTHING = "{name} 名下没有客户，不需要转移。"
TRANSFERRED_ALL = (
    "已把 {old} 的 {n} 位客户转给 {new}（含待办回访 {revisits} 条、未结投诉 {complaints} 件）。"
    "每张客户卡片都记下了原负责人。"
)
TRANSFERRED_ONE = "已把客户 {customer} 从 {old} 转给 {new}。{extra}卡片上记下了原负责人。"
TOLD_ALL = (
    "{by} 把 {old} 的 {n} 位客户转给了你（待办回访 {revisits} 条、未结投诉 {complaints} 件）。"
    "发送「待办」看今天要做的事。"
)
TOLD_ONE = "{by} 把客户 {customer} 转给了你。发送「查 {customer}」看客户卡片。"


@router.message(Command("团队", "转移"), RoleIs("rep"), read_only=True)
async def not_for_reps(msg: Incoming, ctx: Context) -> str:
    return MANAGERS_ONLY


@router.message(Regex(r"^\s*/?待办\s*团队\s*$"), RoleIs("rep"), read_only=True)
async def team_todo_not_for_reps(msg: Incoming, ctx: Context) -> str:
    return MANAGERS_ONLY


class AsksAboutRep(Filter):
    """「李明最近怎么样」, 「李明的逾期回访」: 「团队 李明」 asked in words, when the name is a
    colleague's."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        asked = _ABOUT_REP.match(msg.text or "")
        rep = await staff_named(asked.group("name")) if asked else None
        if rep is None:
            return False
        ctx.data["rep"] = rep
        return True


_ABOUT_REP = re.compile(
    r"^\s*(?P<name>[^\s的]{2,10}?)\s*(?:最近|这周|本周)?\s*"
    r"(?:怎么样|咋样|情况如何|的情况|有逾期吗|的逾期(?:回访)?|的回访)\s*[?？。]?\s*$"
)


@router.message(RoleIs("manager", "admin"), AsksAboutRep(), read_only=True)
@router.message(Command("团队"), RoleIs("manager", "admin"), read_only=True)
async def team(msg: Incoming, ctx: Context) -> str:
    today = local_today(ctx.config.tz)
    name = ctx.data.get("args", "").strip()
    rep = ctx.data.get("rep") or (await staff_named(name) if name else None)
    if name and rep is None:
        return NO_SUCH_STAFF.format(name=name[:20])
    lines = await team_lines(today, ctx.config.tz)
    if rep is not None:
        # Their line of the overview first: 「李明最近怎么样」 asks for more than overdue.
        own = [_team_line(t) for t in lines if t.staff.id == rep.id]
        return "\n".join([*own, await _overdue_text(rep, today)])
    if not lines:
        return NO_TEAM
    return "\n".join([TEAM_HEAD.format(n=len(lines)), *map(_team_line, lines), TEAM_TAIL])


def _team_line(t: Any) -> str:
    return TEAM_LINE.format(
        name=t.staff.name,
        customers=t.customers,
        week=t.followups_week,
        overdue=t.overdue,
        complaints=t.open_complaints,
        deals=t.deals_month,
        amount=money(t.amount_month),
    )


# As a manager asks it: 「谁的回访逾期了」, 「逾期回访」, 「团队逾期」.
_TEAM_OVERDUE = Regex(
    r"^\s*(?:/?待办\s*团队|(?:团队|大家)?的?逾期(?:的)?回访(?:有哪些|有谁)?|团队逾期|"
    r"谁的?回访逾期了?|哪些回访逾期了?|谁(?:有)?逾期(?:的回访)?)\s*[?？。]?\s*$"
)


@router.message(_TEAM_OVERDUE, RoleIs("manager", "admin"), read_only=True)
async def team_todo(msg: Incoming, ctx: Context) -> str:
    today = local_today(ctx.config.tz)
    lines = [t for t in await team_lines(today, ctx.config.tz) if t.overdue]
    if not lines:
        return NO_TEAM_OVERDUE
    out = [ALL_OVERDUE_HEAD.format(n=sum(t.overdue for t in lines))]
    for t in lines:
        items = await overdue_of(t.staff, today)
        out.append(OVERDUE_HEAD.format(name=t.staff.name, n=len(items)))
        out += [_overdue_line(d) for d in items[:SHOWN_PER_REP]]
        if len(items) > SHOWN_PER_REP:
            out.append(MORE.format(n=len(items) - SHOWN_PER_REP, name=t.staff.name))
    return "\n".join(out)


async def _overdue_text(rep: Staff, today: Any) -> str:
    items = await overdue_of(rep, today)
    if not items:
        return NO_OVERDUE.format(name=rep.name)
    return "\n".join(
        [OVERDUE_HEAD.format(name=rep.name, n=len(items))] + [_overdue_line(d) for d in items]
    )


def _overdue_line(d: Any) -> str:
    day = d.followup.next_revisit_on
    return OVERDUE_LINE.format(
        customer=d.customer.name,
        company=company_beside(d.customer.name, d.customer.company),
        day=f"{day.month}月{day.day}日",
        days=d.days_overdue,
    )


# 「转移 张三 王五」, and as said: 「转移 张三 给 王五」, 「转移 张三 → 王五」, 「转移张三给王五」.
_TO_WORDS = {"给", "转给", "到", "至", "→", "->"}
_GLUED_TO = re.compile(r"(.+?)(?:转给|给|→|->)(.+)")


@router.message(Command("转移"), RoleIs("manager", "admin"))
async def move(msg: Incoming, ctx: Context) -> HandlerResult:
    parts = ctx.data.get("args", "").split()
    if len(parts) == 3 and parts[1] in _TO_WORDS:
        parts = [parts[0], parts[2]]
    elif len(parts) == 1 and (glued := _GLUED_TO.fullmatch(parts[0])):
        parts = list(glued.groups())
    if len(parts) != 2:
        return TRANSFER_USAGE
    source, target = parts
    to = await Staff.filter(name=target, active=True).first()
    if to is None:
        return TRANSFER_TO_UNKNOWN.format(name=target[:20])
    old = await staff_named(source)
    if old is not None:
        if old.id == to.id:
            return TRANSFER_SAME.format(name=to.name)
        done = await transfer(to, staff_of(ctx), from_rep=old)
        if not done.customers:
            return TRANSFER_NOTHING.format(name=old.name)
        ctx.data["audit_target"] = f"staff:{old.id}"
        facts = {"n": done.customers, "revisits": done.revisits, "complaints": done.complaints}
        await _tell(to, TOLD_ALL.format(by=staff_of(ctx).name, old=old.name, **facts), ctx)
        return TRANSFERRED_ALL.format(old=old.name, new=to.name, **facts)
    return await resolve_customer(msg, ctx, source, "team.transfer", {"to": to.id})


@on_pick("team.transfer")
async def move_one(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> HandlerResult:
    to = await Staff.get_or_none(id=payload["to"], active=True)
    if to is None:
        return TRANSFER_TO_UNKNOWN.format(name="")
    await customer.fetch_related("owner")
    if customer.owner_id == to.id:  # type: ignore[attr-defined]
        return TRANSFER_SAME.format(name=to.name)
    old = customer.owner.name if customer.owner else "未分配"
    done = await transfer(to, staff_of(ctx), customer=customer)
    ctx.data["audit_target"] = f"customer:{customer.id}"
    extra = f"未结投诉 {done.complaints} 件也一并转交。" if done.complaints else ""
    await _tell(to, TOLD_ONE.format(by=staff_of(ctx).name, customer=customer.name), ctx)
    return TRANSFERRED_ONE.format(customer=customer.name, old=old, new=to.name, extra=extra)


async def _tell(to: Staff, text: str, ctx: Context) -> None:
    """The new owner hears of it (unless they did it themselves)."""
    if to.id != staff_of(ctx).id:
        await push_to_staff(to, text, f"transfer:{ctx.request_id}:{to.id}", ctx.config)
