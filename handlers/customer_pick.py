"""「哪一位张三？」: the numbered choice shared by every command that names a customer.

A command resolves its customer with :func:`resolve_customer`. One clear match and it
goes on at once; several and the list is shown, the command's parsed arguments are
kept in the dialog state, and the reply 「2」 resumes the command (its *action*) with
the second customer. Parsing happens before the question, so a wrong date or amount
is corrected first and never asked about after the choice.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.context import Context
from bot.conversation import yields_to_commands
from bot.crypto import FieldCipher, cipher_for
from bot.filters import Command, Filter, RoleIs, StateIs
from bot.incoming import Incoming
from bot.parsing.numbers import normalize, to_int
from bot.router import HandlerResult, Router
from models.customer_search import (
    MAX_RESULTS,
    Match,
    best_match,
    own_among_best,
    search_customers,
)
from models.customers import Customer, company_beside, may_change
from models.enums import Role
from models.mentions import Mention, is_title, mentioned_customers
from models.staff import Staff

router = Router("customer_pick")

CHOOSE_HEAD = "找到 {n} 位与「{query}」匹配的客户，请回复序号："
CHOOSE_HEAD_UNCOUNTED = "找到超过 {n} 位与「{query}」匹配的客户，请回复序号："
MORE = "\n只列出了前 {n} 位，输入全名、公司或手机尾号可以缩小范围。"
CHOOSE_TAIL = "\n发送「取消」退出。"
LINE = "{i}. {name}{company}{owner}"
NOT_FOUND = "没有找到「{query}」。可以用全名、拼音首字母（如 zs）、公司名或手机尾号再试一次。"
NO_QUERY = "请告诉我是哪位客户，例如：{example}"
OUT_OF_RANGE = "请回复 1–{n} 之间的序号，或发送「取消」。"
CANCELLED = "好的，已取消。"
GONE = "这位客户已不在系统中，请重新查询。"

PICK = "customers.pick"
yields_to_commands(PICK)

Action = Callable[[Incoming, Context, Customer, dict[str, Any]], Awaitable[HandlerResult]]
_ACTIONS: dict[str, Action] = {}
_OWN_FIRST: set[str] = set()
# Telling customers alike apart by what the command says next (a company).
Narrow = Callable[[list[Match], dict[str, Any]], tuple[Customer, dict[str, Any]] | None]
_NARROW: dict[str, Narrow] = {}


def on_pick(
    name: str, *, own_first: bool = False, narrow: Narrow | None = None
) -> Callable[[Action], Action]:
    """Register what a command does once its customer is known, under ``name``
    (also the audit log's action when the customer was chosen from a list).
    ``own_first``: a rep naming two customers alike means their own, when exactly one
    is (a change only the owner may make). ``narrow``: the one of several alike the
    command's own words point to (and the payload without those words)."""

    def register(action: Action) -> Action:
        _ACTIONS[name] = action
        if own_first:
            _OWN_FIRST.add(name)
        if narrow is not None:
            _NARROW[name] = narrow
        return action

    return register


def cipher_of(ctx: Context) -> FieldCipher:
    return cipher_for(ctx.config.data_key_bytes)


def staff_of(ctx: Context) -> Staff:
    staff = ctx.sender.staff
    assert staff is not None, "customer commands are routed to staff only"
    return staff


async def refusal_to_change(ctx: Context, customer: Customer, not_yours: str) -> str | None:
    """Audit the customer as the target; the refusal text if the sender may not change
    them (``not_yours`` with {name} and {owner}), else None."""
    ctx.data["audit_target"] = f"customer:{customer.id}"
    if may_change(staff_of(ctx), customer):
        return None
    await customer.fetch_related("owner")
    return not_yours.format(name=customer.name, owner=customer.owner.name)


async def resolve_customer(
    msg: Incoming,
    ctx: Context,
    query: str,
    action: str,
    payload: dict[str, Any],
    named: list[Customer] | None = None,
) -> HandlerResult:
    """Run ``action`` on the customer ``query`` names, or ask which one is meant
    (``named``: see :func:`models.customer_search.search_customers`)."""
    staff = staff_of(ctx)
    matches = await search_customers(query, cipher_of(ctx), prefer_owner=staff.id, named=named)
    if not matches and is_title(query):
        # 「跟进 王总 …」: no customer is called 王总, but the rep's customers surnamed 王
        # (or with 王总 among their contacts) are who is meant — offered, not assumed.
        guessed = [m.customer for m in await title_guesses(ctx, staff, query)]
        if guessed:
            return await ask_which(
                ctx, guessed[:MAX_RESULTS], query, action, payload, more=len(guessed)
            )
    if not matches:
        return NOT_FOUND.format(query=query[:30])
    chosen = best_match(matches)
    if chosen is None and action in _NARROW:
        narrowed = _NARROW[action](matches, payload)
        if narrowed is not None:
            chosen, payload = narrowed
    if chosen is None and action in _OWN_FIRST and Role(staff.role) is Role.REP:
        chosen = own_among_best(matches, staff.id)
    if chosen is not None:
        return await _ACTIONS[action](msg, ctx, chosen, payload)
    shown = [m.customer for m in matches[:MAX_RESULTS]]
    # The search stops one past what is shown: more than that is all it knows.
    more = len(matches) > MAX_RESULTS
    return await ask_which(ctx, shown, query, action, payload, more=-1 if more else 0)


async def title_guesses(ctx: Context, staff: Staff, title: str) -> list[Mention]:
    """The sender's customers 「王总」 may mean, read once per message: the sentence
    filter that let 「王总那边签了5万」 through has them already."""
    cached = ctx.data.get(_GUESSES)
    if cached is not None and cached[0] == title:
        return cached[1]
    guesses = await mentioned_customers(staff, title, every_guess=True)
    ctx.data[_GUESSES] = (title, guesses)
    return guesses


_GUESSES = "customer_pick.title_guesses"


async def ask_which(
    ctx: Context,
    shown: list[Customer],
    query: str,
    action: str,
    payload: dict[str, Any],
    head: str | None = None,
    more: int = 0,
) -> str:
    """List ``shown`` numbered and wait for the number; ``action`` then runs on it.
    ``head``: the question, when it is not which customers ``query`` matched.
    ``more``: how many matched in all, when that may be more than are shown; -1
    when more matched than are shown, uncounted."""
    owners = {
        s.id: s.name
        for s in await Staff.filter(id__in={c.owner_id for c in shown if c.owner_id})  # type: ignore[attr-defined]
    }
    lines = []
    for i, c in enumerate(shown, 1):
        owner = owners.get(c.owner_id)  # type: ignore[attr-defined]
        lines.append(
            LINE.format(
                i=i,
                name=c.name,
                company=company_beside(c.name, c.company, " · {}"),
                owner=f"（{owner}）" if owner else "（未分配）",
            )
        )
    assert ctx.conversation is not None
    await ctx.conversation.set(
        PICK, {"ids": [c.id for c in shown], "action": action, "payload": payload}
    )
    cut = more < 0 or more > len(shown)
    counted = CHOOSE_HEAD_UNCOUNTED if more < 0 else CHOOSE_HEAD
    question = head or counted.format(n=max(len(shown), more), query=query[:30])
    tail = MORE.format(n=len(shown)) + CHOOSE_TAIL if cut else CHOOSE_TAIL
    return f"{question}\n" + "\n".join(lines) + tail


class SaidOfCustomer(Filter):
    """A sentence about a customer said by their exact name (``who``): ``ctx.data["args"]``
    is the name and the ``what`` group, as the command's own arguments would be
    (``needs``: what that group must hold, e.g. an amount). ``titles``: a surname and
    title (「王总」) will do too when the sender has customers so called — the command
    then offers them, as it does for 「成交 王总 5万」."""

    def __init__(
        self,
        pattern: re.Pattern[str],
        what: str,
        needs: re.Pattern[str] | None = None,
        *,
        titles: bool = False,
    ) -> None:
        self.pattern, self.what, self.needs, self.titles = pattern, what, needs, titles

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        said = self.pattern.match(msg.text or "")
        if said is None or Command.starts_any(said.group("who")):
            return False
        if self.needs is not None and not self.needs.search(said.group(self.what)):
            return False
        who = said.group("who")
        # Only a customer's own name: 「王总说月底到签约」 is a report, not this.
        if not await Customer.filter(name=who).exists() and not (
            self.titles
            and is_title(who)
            and ctx.sender.staff is not None
            and await title_guesses(ctx, ctx.sender.staff, who)
        ):
            return False
        ctx.data["args"] = f"{who} {said.group(self.what)}"
        return True


@router.message(StateIs(PICK), RoleIs("staff"), Command("取消", "算了", "cancel"))
async def cancel_pick(msg: Incoming, ctx: Context) -> str:
    assert ctx.conversation is not None
    await ctx.conversation.clear()
    return CANCELLED


class PickAnswer(Filter):
    """The answer to the numbered list, as reps give it: 「2」, 「第一个」, 「选2」, 「1号」, or
    words only one of the listed customers has (「杭州那个」 for 张三 · 杭州某某):
    ``ctx.data["pick"]``, counted from 1."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        text = normalize(msg.text or "")
        said = _PICK_NUMBER.fullmatch(text)
        number = to_int(said.group(1)) if said else None
        if number is None and ctx.conversation is not None:
            number = await _pick_by_words(text, ctx.conversation.data.get("ids", []))
        if number is None:
            return False
        ctx.data["pick"] = number
        return True


async def _pick_by_words(text: str, ids: list[int]) -> int | None:
    hint = _POINTING.sub("", text)
    if len(hint) < 2:
        return None
    shown = {c.id: c for c in await Customer.filter(id__in=ids)}
    found = [
        i
        for i, cid in enumerate(ids, 1)
        if cid in shown and (hint in shown[cid].company or hint in shown[cid].name)
    ]
    return found[0] if len(found) == 1 else None


_PICK_NUMBER = re.compile(
    r"(?:选|要|是|就|就是)?\s*第?\s*(\d{1,2}|[一二两三四五六七八九十])\s*(?:个|位|号|条)?\s*(?:吧|的)?"
)


def looks_like_pick(text: str) -> bool:
    """「第一个」, 「选2」, 「3」: an answer to a numbered list, whether or not one waits."""
    return _PICK_NUMBER.fullmatch(normalize(text or "")) is not None


# 「杭州那个」, 「华东精密的」: the words that point, around the words that tell.
_POINTING = re.compile(r"^(?:是|选|要|就是)|(?:那个|那位|这个|这位|那家|的)+$")


@router.message(StateIs(PICK), RoleIs("staff"), PickAnswer())
async def picked(msg: Incoming, ctx: Context) -> HandlerResult:
    assert ctx.conversation is not None
    data = ctx.conversation.data
    ids: list[int] = data.get("ids", [])
    number = int(ctx.data["pick"])
    if not 1 <= number <= len(ids):
        return OUT_OF_RANGE.format(n=len(ids))
    await ctx.conversation.clear()
    customer = await Customer.get_or_none(id=ids[number - 1])
    if customer is None or data.get("action") not in _ACTIONS:
        return GONE
    # The audit log names what was done (e.g. the card view), not the choosing.
    ctx.handler_name = data["action"]
    return await _ACTIONS[data["action"]](msg, ctx, customer, data.get("payload", {}))
