"""What needs a manager today, in words with names: complaints at or near their
deadline, reps with many overdue revisits, VIPs and 大客户 nobody has called for too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tortoise.expressions import Q

from bot.config import Config
from models.care import silent_since
from models.complaints import ACTIVE, Complaint
from models.customers import Customer, company_beside
from models.enums import Grade, Tier


class RepLike(Protocol):
    name: str
    overdue: int
    oldest_overdue_days: int


@dataclass(frozen=True)
class Attention:
    """Something a manager should act on today, in words, with a weight for ranking."""

    weight: int
    text: str


def silent_vip_filter(now: datetime, cfg: Config) -> Q:
    """VIPs nobody contacted for ``care.silent_days_vip`` days (the digest's figure)."""
    return Q(silent_since(now - timedelta(days=cfg.care.silent_days_vip)), grade=Grade.VIP)


def silent_key_filter(now: datetime, cfg: Config) -> Q:
    """VIPs and 大客户 of any tier gone as silent: who the manager hears about by name."""
    cutoff = now - timedelta(days=cfg.care.silent_days_vip)
    return Q(silent_since(cutoff), Q(grade=Grade.VIP) | Q(tier__isnull=False))


# --- what needs a manager today ------------------------------------------------------------------

# Complaints due within this long are "near breach".
NEAR_BREACH = timedelta(hours=4)
# A rep with at least this many overdue revisits is worth a word.
OVERDUE_ALERT = 5
SHOWN = 3
# A silent 大客户 weighs more than a silent VIP, a strategic one most.
TIER_WEIGHT = {Tier.STRATEGIC: 15, Tier.KEY: 10, Tier.MAJOR: 5}


async def attention_items(reps: list[RepLike], cfg: Config, now: datetime) -> list[Attention]:
    """At most three things, most urgent first: complaints at or near their deadline
    (VIP first), reps with many overdue revisits, VIPs silent the longest."""
    items: list[Attention] = []
    soon = now + NEAR_BREACH
    risky = (
        await Complaint.filter(
            Q(first_replied_at__isnull=True, first_reply_due__lt=soon) | Q(resolve_due__lt=soon),
            status__in=ACTIVE,
        )
        .order_by("resolve_due")
        .limit(10)
        .prefetch_related("customer", "assignee")
    )
    for c in risky:
        due = c.first_reply_due if c.first_replied_at is None else c.resolve_due
        what = "首次回复" if c.first_replied_at is None else "处理"
        vip = Grade(c.customer.grade) is Grade.VIP
        who = f"，处理人 {c.assignee.name}" if c.assignee else "，还没有处理人"
        label = "VIP " if vip else ""
        if due <= now:
            hours = int((now - due).total_seconds() // 3600)
            text = f"{label}{c.customer.name}的投诉 {c.ticket_no} {what}已超时 {hours} 小时{who}"
            weight = 100 + (20 if vip else 0)
        else:
            minutes = int((due - now).total_seconds() // 60)
            left = f"{minutes // 60} 小时" if minutes >= 60 else f"{minutes} 分钟"
            text = f"{label}{c.customer.name}的投诉 {c.ticket_no} 距{what}时限还剩 {left}{who}"
            weight = 80 + (20 if vip else 0)
        items.append(Attention(weight, text))
    for r in reps:
        if r.overdue >= OVERDUE_ALERT:
            text = f"{r.name} 有 {r.overdue} 条回访逾期，最久的已拖 {r.oldest_overdue_days} 天"
            items.append(Attention(60 + min(r.overdue, 30), text))
    silent = (
        await Customer.filter(silent_key_filter(now, cfg))
        .order_by("last_contact_at", "id")
        .limit(3)
        .prefetch_related("owner")
    )
    for c in silent:
        days = (now - (c.last_contact_at or c.created_at)).days
        owner = f"，负责人 {c.owner.name}" if c.owner else "，还没有负责人"
        company = company_beside(c.name, c.company)
        label = Tier(c.tier).label if c.tier else "VIP"
        text = f"{label} {c.name}{company}已 {days} 天没有联系{owner}"
        big = (
            {Tier.STRATEGIC: 15, Tier.KEY: 10, Tier.MAJOR: 5}.get(Tier(c.tier), 0) if c.tier else 0
        )
        items.append(Attention(50 + big + min(days, 60) // 2, text))
    items.sort(key=lambda a: -a.weight)
    return items[:SHOWN]
