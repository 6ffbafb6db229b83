"""定级 in chat: a manager or admin pins a customer's grade or 大客户 tier
(「定级 张三 VIP」, 「定级 张三 战略」, 「定级 张三 VIP 重要」, 「定级 张三 非大客户」) or gives
it back to the nightly grading (「定级 张三 自动」). Reps are told who can. Not to be
confused with 「改级」, which changes a complaint's severity. Rules in ``models.grading``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.context import Context
from bot.filters import Command, RoleIs
from bot.incoming import Incoming
from bot.router import HandlerResult, Router
from handlers.customer_pick import on_pick, resolve_customer, staff_of
from handlers.help import register_help
from models.care import after_quiet_hours
from models.customers import Customer
from models.enums import Grade, Role, Tier
from models.grading import assess, pin, unpin
from models.grading_text import purchase_reason, standing_label
from models.staff import Staff
from models.staff_push import push_to_staff

router = Router("grading")

USAGE = (
    "用法：定级 客户 等级，例如：\n"
    "定级 张三 VIP（等级：VIP、普通、潜在）\n"
    "定级 张三 战略（大客户：战略、重要、普通大客户、非大客户）\n"
    "定级 张三 自动（恢复每晚自动定级）"
)
REP_REFUSED = (
    "抱歉，定级需要主管或管理员来操作。客户等级每晚会按近 12 个月的成交自动更新；"
    "如果觉得哪位客户的等级不合适，请联系主管。"
)
TWO_GRADES = "一次只能定一个等级和一个大客户级别。\n" + USAGE
PINNED = (
    "已将{name}定为 {labels}（目前{reason}）。\n"
    "手动定级在每晚自动评级时保持不变；发送「定级 {name} 自动」恢复自动定级。"
)
UNPINNED = "已恢复{name}的自动定级：现在是 {standing}（{reason}）。"
OWNER_PINNED = "{by} 把你的客户 {name} 定为 {labels}（手动定级）。"
OWNER_UNPINNED = "{by} 恢复了你的客户 {name} 的自动定级：现在是 {standing}。"
NOT_A_BIG_CUSTOMER = "非大客户"

GRADE_WORDS = {"vip": Grade.VIP, "普通": Grade.NORMAL, "潜在": Grade.POTENTIAL}
TIER_WORDS: dict[str, Tier | None] = {
    "战略": Tier.STRATEGIC, "战略大客户": Tier.STRATEGIC,
    "重要": Tier.KEY, "重要大客户": Tier.KEY,
    "普通大客户": Tier.MAJOR, "大客户": Tier.MAJOR,
    "非大客户": None, "不是大客户": None, "取消大客户": None,
}  # fmt: skip
AUTO_WORDS = {"自动", "自动定级", "恢复自动", "取消定级", "取消"}
_WORDS = sorted([*GRADE_WORDS, *TIER_WORDS, *AUTO_WORDS], key=len, reverse=True)
# The last word of the text, when it is one of the above (「张三VIP」 without a space too).
_TRAILING = re.compile(
    r"[\s\u3000,，]*(" + "|".join(map(re.escape, _WORDS)) + r")[\s。.!！]*$", re.IGNORECASE
)

register_help(
    "定级 客户 等级",
    "手动定级（VIP/普通/潜在，战略/重要/普通大客户/非大客户）；「定级 客户 自动」恢复自动",
    "manager",
    "admin",
)


class PinError(ValueError):
    """The reply for a 定级 that could not be read."""


def parse_pin(args: str) -> tuple[str, dict[str, Any]]:
    """「张三 VIP 重要」 → ("张三", {"grade": "vip", "tier": "key", "auto": False});
    words are read from the end, so a customer query may contain spaces."""
    text = args.strip()
    grade: Grade | None = None
    tier: Tier | None = None
    set_tier = auto = False
    while match := _TRAILING.search(text):
        word = match.group(1).lower()
        text = text[: match.start()]
        if word in AUTO_WORDS:
            auto = True
        elif word in GRADE_WORDS:
            if grade is not None:
                raise PinError(TWO_GRADES)
            grade = GRADE_WORDS[word]
        else:
            if set_tier:
                raise PinError(TWO_GRADES)
            tier, set_tier = TIER_WORDS[word], True
    if not text.strip() or not (auto or grade or set_tier):
        raise PinError(USAGE)
    payload = {
        "grade": grade.value if grade else None,
        "tier": tier.value if tier else None,
        "set_tier": set_tier,
        "auto": auto and not (grade or set_tier),
    }
    return text.strip(), payload


def _may_pin(staff: Staff) -> bool:
    return Role(staff.role) in (Role.MANAGER, Role.ADMIN)


@router.message(RoleIs("staff"), Command("定级"))
async def pin_command(msg: Incoming, ctx: Context) -> HandlerResult:
    if not _may_pin(staff_of(ctx)):
        return REP_REFUSED
    try:
        query, payload = parse_pin(ctx.data.get("args", ""))
    except PinError as exc:
        return str(exc)
    return await resolve_customer(msg, ctx, query, "grading.pin", payload)


@on_pick("grading.pin")
async def pin_action(
    msg: Incoming, ctx: Context, customer: Customer, payload: dict[str, Any]
) -> str:
    staff = staff_of(ctx)
    ctx.data["audit_target"] = f"customer:{customer.id}"
    if not _may_pin(staff):
        return REP_REFUSED
    now = datetime.now(UTC)
    cfg = ctx.config
    if payload.get("auto"):
        await unpin(customer, now, cfg)
        a = await assess(customer.id, now, cfg)
        assert a is not None
        standing = standing_label(a.standing)
        told = OWNER_UNPINNED.format(by=staff.name, name=customer.name, standing=standing)
        await _tell_owner(customer, staff, told, ctx)
        return UNPINNED.format(
            name=customer.name, standing=standing, reason=purchase_reason(a.figures)
        )
    grade = Grade(payload["grade"]) if payload.get("grade") else None
    tier = Tier(payload["tier"]) if payload.get("tier") else None
    await pin(customer, grade, tier, set_tier=bool(payload.get("set_tier")))
    labels = "、".join(
        ([grade.label] if grade else [])
        + ([tier.label if tier else NOT_A_BIG_CUSTOMER] if payload.get("set_tier") else [])
    )
    a = await assess(customer.id, now, cfg)
    assert a is not None
    told = OWNER_PINNED.format(by=staff.name, name=customer.name, labels=labels)
    await _tell_owner(customer, staff, told, ctx)
    return PINNED.format(name=customer.name, labels=labels, reason=purchase_reason(a.figures))


async def _tell_owner(customer: Customer, by: Staff, text: str, ctx: Context) -> None:
    """The owner rep hears about a manager's 定级 of their customer (once per resulting
    grading and day; quiet hours respected)."""
    owner_id = customer.owner_id  # type: ignore[attr-defined]
    if owner_id is None or owner_id == by.id:
        return
    owner = await Staff.get_or_none(id=owner_id, active=True)
    if owner is None:
        return
    cfg = ctx.config
    now = datetime.now(UTC)
    c = customer
    state = f"{c.grade}/{c.tier or '-'}/{int(c.grade_pinned)}{int(c.tier_pinned)}"
    key = f"grade-pin:{c.id}:{state}:{now.astimezone(cfg.tz).date().isoformat()}"
    await push_to_staff(owner, text, key, cfg, when=after_quiet_hours(now, cfg.care, cfg.tz))
