"""Campaigns in chat, the rep's side: what came of a prompt — 「已推荐 张三」,
「张三 有兴趣」, 「张三 报名了」, 「张三 不感兴趣」, 「张三 成交了」 (typed or spoken, with or
without spaces) — and 「活动」, the rep's customers in running campaigns with what
they marked. Each mark is a follow-up too (``models.campaigns.marks``)."""

from __future__ import annotations

import re
from typing import Any

from bot.context import Context
from bot.filters import Filter, RoleIs
from bot.incoming import Incoming
from bot.parsing.dates import local_today
from bot.parsing.intent import normalize
from bot.router import HandlerResult, Router
from handlers.customer_pick import ask_which, on_pick, staff_of
from handlers.help import STAFF_ROLES, register_help
from models.campaigns.marks import REACHED, mark, matching, running_contacts
from models.campaigns.prompts import Listed
from models.campaigns.tables import CampaignContact, Outcome
from models.campaigns.text import contact_state, headline, render_rep_list
from models.customers import Customer

router = Router("campaign_marks")

# 「已推荐 张三」, 「推荐了张三」, 「已经邀请张三」, 「发给张三了」.
_VERB = (
    r"(?:已经?|刚刚?)\s*(?:推荐|邀请|通知|发)(?:给|了)?|(?:推荐|邀请|通知|发)(?:了|过)(?:给)?|发给"
)
_OUTCOMES: list[tuple[str, str]] = [
    (Outcome.DECLINED, r"不感兴趣|没兴趣|没有兴趣|不需要|不要|不来|来不了|不参加|没意向|拒绝了?"),
    (Outcome.CONVERTED, r"成交了|已成交|下单了|已下单|买了|签了|签单了"),
    (Outcome.SIGNED_UP, r"报名了|已报名|报名|要来|会来|确认参加|参加"),
    (Outcome.INTERESTED, r"有兴趣|感兴趣|有意向|想了解|想看看"),
]
_OUTCOME = "|".join(f"(?P<o{i}>{words})" for i, (_o, words) in enumerate(_OUTCOMES))
MARK = re.compile(
    rf"^(?P<verb>{_VERB})?\s*(?P<name>[^\s,，。!！:：]{{1,12}}?)\s*[,，]?\s*"
    rf"(?:了|说|表示|已经?|也|很|挺|比较)*\s*(?:{_OUTCOME})?\s*(?:了)?\s*[。.!！]?$"
)

MANAGER_WORDS = ("活动", "推荐", "名单")

NOT_IN_CAMPAIGN = "「{name}」不在你进行中的活动客户里。发送「活动」查看你的活动客户。"
NO_CAMPAIGN = "你现在没有进行中的活动。主管发起活动后，我会把要联系的客户发给你。"
DONE = "已记下：{name}（{company}）{state} —— {headline}。也记为一次跟进。"
SAME = "{name} 已经是「{state}」了，没有重复记录。"
CONVERTED_TAIL = "\n记成交金额请发「成交 {name} 金额 产品」。"
MY_NONE = "你现在没有进行中的活动。"

register_help(
    "已推荐 张三", "活动客户的反馈：张三 有兴趣 / 报名了 / 不感兴趣 / 成交了", *STAFF_ROLES
)
register_help("活动", "我在进行中活动里要联系的客户", "rep")


def parse_mark(text: str) -> tuple[str, str] | None:
    """(name, what was said: REACHED or an Outcome value), or None when the text is no
    mark (a verb or an outcome word is needed)."""
    m = MARK.match(normalize(text).replace("\u3000", " "))
    # 「活动12月20日答谢会给活跃客户欢迎参加」 is a manager's command, not 「… 参加」.
    if m is None or m.group("name").startswith(MANAGER_WORDS):
        return None
    said = next((o.value for i, (o, _w) in enumerate(_OUTCOMES) if m.group(f"o{i}")), None)
    if said is None and not m.group("verb"):
        return None
    return m.group("name"), said or REACHED


class LooksLikeMark(Filter):
    """The words of a mark, before any database check: keeps 「推荐了张三」 from being
    read as the command 「推荐」."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        return bool(msg.text) and parse_mark(msg.text) is not None


class CampaignMark(Filter):
    """A rep's mark on a campaign customer. A sentence with an explicit verb (已推荐) or
    about signing up is always one; 「王总 有兴趣」 only while the rep has a running
    campaign — otherwise it is left to the free follow-up report."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        if not msg.text:
            return False
        parsed = parse_mark(msg.text)
        if parsed is None:
            return False
        name, said = parsed
        contacts = await running_contacts(staff_of(ctx), local_today(ctx.config.tz))
        explicit = MARK.match(normalize(msg.text)).group("verb") is not None  # type: ignore[union-attr]
        if not contacts and not explicit and said != Outcome.SIGNED_UP:
            return False
        ctx.data["mark"] = (name, said, contacts)
        return True


@router.message(RoleIs("staff"), CampaignMark())
async def campaign_mark(msg: Incoming, ctx: Context) -> HandlerResult:
    name, said, contacts = ctx.data["mark"]
    if not contacts:
        return NO_CAMPAIGN
    found = matching(contacts, name)
    if not found:
        return NOT_IN_CAMPAIGN.format(name=name)
    if len(found) > 1:
        shown = [c.customer for c in found[:9]]
        return await ask_which(ctx, shown, name, "campaigns.mark", {"said": said})
    return await _mark(ctx, found[0], said)


@on_pick("campaigns.mark")
async def mark_picked(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    contacts = await running_contacts(staff_of(ctx), local_today(ctx.config.tz))
    for contact in contacts:
        if contact.customer_id == customer.id:  # type: ignore[attr-defined]
            return await _mark(ctx, contact, payload.get("said", REACHED))
    return NOT_IN_CAMPAIGN.format(name=customer.name)


async def _mark(ctx: Context, contact: CampaignContact, said: str) -> str:
    ctx.data["audit_target"] = f"customer:{contact.customer_id}"  # type: ignore[attr-defined]
    done = await mark(contact, staff_of(ctx), said, local_today(ctx.config.tz))
    c = done.customer
    state = contact_state(True, done.outcome, done.campaign)
    if not done.changed:
        return SAME.format(name=c.name, state=state)
    text = DONE.format(
        name=c.name, company=c.company or "个人客户", state=state, headline=headline(done.campaign)
    )
    if done.outcome == Outcome.CONVERTED:
        text += CONVERTED_TAIL.format(name=c.name)
    return text


async def my_campaigns(msg: Incoming, ctx: Context) -> str:
    """A rep's 「活动」: each running campaign, their customers and what they marked."""
    contacts = await running_contacts(staff_of(ctx), local_today(ctx.config.tz))
    if not contacts:
        return MY_NONE
    by_campaign: dict[int, list[CampaignContact]] = {}
    for contact in contacts:
        by_campaign.setdefault(contact.campaign_id, []).append(contact)  # type: ignore[attr-defined]
    parts = []
    for group in by_campaign.values():
        campaign = group[0].campaign
        listed = [
            (
                Listed(c.customer.name, c.customer.company, str(c.customer.grade)),
                contact_state(c.reached_at is not None, Outcome(c.outcome), campaign),
            )
            for c in group
        ]
        parts.append(render_rep_list(campaign, listed))
    return "\n\n".join(parts)
