"""What needs a manager today, in words with names: complaints at or near their
deadline, reps with many overdue revisits, VIPs nobody has called for too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tortoise.expressions import Q

from bot.config import Config
from models.complaints import ACTIVE, Complaint
from models.customers import Customer
from models.enums import Grade


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
    cutoff = now - timedelta(days=cfg.care.silent_days_vip)
    return Q(
        Q(last_contact_at__lt=cutoff) | Q(last_contact_at__isnull=True, created_at__lt=cutoff),
        grade=Grade.VIP,
    )


# --- what needs a manager today ------------------------------------------------------------------

# Complaints due within this long are "near breach".
NEAR_BREACH = timedelta(hours=4)
# A rep with at least this many overdue revisits is worth a word.
OVERDUE_ALERT = 5
SHOWN = 3


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
        await Customer.filter(silent_vip_filter(now, cfg))
        .order_by("last_contact_at", "id")
        .limit(3)
        .prefetch_related("owner")
    )
    for c in silent:
        days = (now - (c.last_contact_at or c.created_at)).days
        owner = f"，负责人 {c.owner.name}" if c.owner else "，还没有负责人"
        company = f"（{c.company}）" if c.company else ""
        text = f"VIP {c.name}{company}已 {days} 天没有联系{owner}"
        items.append(Attention(50 + min(days, 60) // 2, text))
    items.sort(key=lambda a: -a.weight)
    return items[:SHOWN]
