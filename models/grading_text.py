"""What people read about grading: the reason on the customer card
(「VIP：近 12 个月 ¥182,000，9 笔」) and the push that tells a rep which of their
customers changed (「张三 变为沉默：上次联系 92 天前」), one push per rep per run.

Changes of customers whose owner left (inactive) or who have none go to the on-duty
manager, as the morning briefing does.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime

from bot.config import Config
from bot.parsing.amounts import format_amount
from models.care import after_quiet_hours
from models.enums import Grade, Lifecycle, Role
from models.grading import (
    GRADE_RANK,
    TIER_RANK,
    Assessment,
    Change,
    Figures,
    Standing,
    last_activity,
)
from models.staff import Staff
from models.staff_push import push_to_staff

PINNED = "主管指定"
PUSH_HEAD = "{name}，你有 {n} 位客户的等级或状态有变化："
PUSH_MORE = "……另有 {n} 位，发送「查 客户名」查看名片。"
PUSH_DORMANT_TIP = "沉默的客户建议近期联系一次。"


def ago(day: date, today: date) -> str:
    days = (today - day).days
    return {0: "今天", 1: "昨天"}.get(days, f"{days} 天前")


def purchase_reason(f: Figures) -> str:
    if f.deals:
        return f"近 12 个月 {format_amount(f.amount)}，{f.deals} 笔"
    return "近 12 个月没有成交" if f.bought else "还没有成交"


def activity_reason(f: Figures, lifecycle: Lifecycle, today: date) -> str:
    if lifecycle is Lifecycle.POTENTIAL:
        return "还没有成交"
    last = last_activity(f)
    if last is None:
        return "没有联系和成交记录"
    if f.last_contact is not None and f.last_contact == last:
        if lifecycle is Lifecycle.DORMANT:
            return f"上次联系 {ago(last, today)}"
        return f"{ago(last, today)}联系过"
    if lifecycle is Lifecycle.DORMANT:
        return f"上次成交 {ago(last, today)}"
    return f"{ago(last, today)}成交"


# --- the card --------------------------------------------------------------------------


def card_lines(a: Assessment) -> list[str]:
    """The full card's grading lines: grade and tier with their reason
    (「VIP：近 12 个月 ¥182,000，9 笔」), and what tonight's recompute will change."""
    s = a.standing
    reason = purchase_reason(a.figures)
    grade_reason = f"{PINNED}（目前{reason}）" if a.grade_pinned else reason
    tier_reason = f"{PINNED}（目前{reason}）" if a.tier_pinned else reason
    if s.tier is not None and tier_reason == grade_reason:
        lines = [f"{s.grade.label} · {s.tier.label}：{grade_reason}"]
    else:
        lines = [f"{s.grade.label}：{grade_reason}"]
        if s.tier is not None:
            lines.append(f"{s.tier.label}：{tier_reason}")
    if a.pending is not None:
        lines.append(f"按最新记录，今晚重新评级后为：{standing_label(a.pending)}。")
    return lines


def standing_label(s: Standing) -> str:
    """「VIP · 活跃 · 重要大客户」; a prospect is just 「潜在」."""
    labels = [s.grade.label, s.lifecycle.label] + ([s.tier.label] if s.tier else [])
    return " · ".join(dict.fromkeys(labels))


# --- the change push -------------------------------------------------------------------


def _verb(old: int, new: int) -> str:
    return "升为" if new > old else "降为"


def change_line(c: Change, today: date) -> str:
    """「李娜 升为 VIP：近 12 个月 ¥182,000，9 笔」, 「张三 变为沉默：上次联系 92 天前」,
    「王芳 升为 VIP、重要大客户，恢复活跃：…；3 天前成交」."""
    moves: dict[str, list[str]] = {}  # 升为 / 降为 → labels, in order
    parts: list[str] = []
    reasons: list[str] = []
    if c.new.grade != c.old.grade:
        verb = _verb(GRADE_RANK[c.old.grade], GRADE_RANK[c.new.grade])
        moves.setdefault(verb, []).append(c.new.grade.label)
    if c.new.tier is None and c.old.tier is not None:
        parts.append("不再是大客户")
    elif c.new.tier is not None and c.new.tier != c.old.tier:
        verb = _verb(TIER_RANK[c.old.tier], TIER_RANK[c.new.tier])
        moves.setdefault(verb, []).append(c.new.tier.label)
    parts = [f"{verb} {'、'.join(labels)}" for verb, labels in moves.items()] + parts
    if parts:
        reasons.append(purchase_reason(c.figures))
    # 潜在 as a grade already says what 潜在 as a lifecycle would.
    if c.new.lifecycle != c.old.lifecycle and not (
        c.new.lifecycle is Lifecycle.POTENTIAL and c.new.grade is Grade.POTENTIAL and parts
    ):
        parts.append(
            {
                Lifecycle.DORMANT: "变为沉默",
                Lifecycle.ACTIVE: "恢复活跃"
                if c.old.lifecycle is Lifecycle.DORMANT
                else "变为活跃",
                Lifecycle.POTENTIAL: "变回潜在",
            }[c.new.lifecycle]
        )
        reason = activity_reason(c.figures, c.new.lifecycle, today)
        if reason not in reasons:
            reasons.append(reason)
    return f"{c.name} {'，'.join(parts)}：{'；'.join(reasons)}"


def _importance(c: Change) -> tuple[int, str]:
    up = TIER_RANK[c.new.tier] > TIER_RANK[c.old.tier] or (
        c.new.grade is Grade.VIP and c.old.grade is not Grade.VIP
    )
    if up:
        return 0, c.name
    if c.new.lifecycle is Lifecycle.DORMANT and c.old.lifecycle is not Lifecycle.DORMANT:
        return 1, c.name
    return 2, c.name


def render_push(staff: Staff, changes: list[Change], today: date, cap: int) -> str:
    ordered = sorted(changes, key=_importance)
    lines = [PUSH_HEAD.format(name=staff.name, n=len(changes))]
    lines += [f"· {change_line(c, today)}" for c in ordered[:cap]]
    if len(ordered) > cap:
        lines.append(PUSH_MORE.format(n=len(ordered) - cap))
    if any(c.new.lifecycle is Lifecycle.DORMANT for c in changes):
        lines.append(PUSH_DORMANT_TIP)
    return "\n".join(lines)


def push_key(staff: Staff, changes: list[Change], today: date) -> str:
    """Deterministic: the same changes for the same person on the same day are one push."""
    items = sorted(
        f"{c.customer_id}:{c.new.grade}/{c.new.lifecycle}/{c.new.tier or '-'}" for c in changes
    )
    digest = hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()[:16]
    return f"grade:{staff.id}:{today.isoformat()}:{digest}"


async def _by_recipient(changes: list[Change]) -> list[tuple[Staff, list[Change]]]:
    """Each owner's changes; a departed or missing owner's go to the on-duty manager."""
    staff = [s for s in await Staff.filter(active=True)]
    active = {s.id: s for s in staff}
    managers = sorted(
        (s for s in staff if s.role in (Role.MANAGER, Role.ADMIN)),
        key=lambda s: (not s.on_duty, s.role != Role.MANAGER, s.id),
    )
    fallback = managers[0] if managers else None
    grouped: dict[int, list[Change]] = defaultdict(list)
    for c in changes:
        who = active.get(c.owner_id) if c.owner_id is not None else None  # type: ignore[arg-type]
        who = who or fallback
        if who is not None:
            grouped[who.id].append(c)
    return [(active[sid], items) for sid, items in grouped.items()]


async def notify_changes(changes: list[Change], at: datetime, cfg: Config) -> tuple[int, int]:
    """One push per person for this run's changes; (queued, already queued)."""
    today = at.astimezone(cfg.tz).date()
    when = after_quiet_hours(at, cfg.care, cfg.tz)
    queued = already = 0
    for staff, items in await _by_recipient(changes):
        text = render_push(staff, items, today, cfg.grading.push_max_lines)
        key = push_key(staff, items, today)
        if await push_to_staff(staff, text, key, cfg, when=when, bulk=True):
            queued += 1
        else:
            already += 1
    return queued, already


async def preview_changes(
    changes: list[Change], at: datetime, cfg: Config
) -> list[tuple[str, str]]:
    today = at.astimezone(cfg.tz).date()
    return [
        (staff.name, render_push(staff, items, today, cfg.grading.push_max_lines))
        for staff, items in await _by_recipient(changes)
    ]
