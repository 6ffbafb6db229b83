"""Complaint tickets, their SLA deadlines and their timeline — and the rules on them.

A complaint knows how to be opened (classified, given deadlines, assigned), replied
to, reassigned, escalated, regraded, closed, rated and reopened; the SLA job's
warnings and escalations and the digest's KPIs are computed here too, so the chat
handlers, the CLI and the scheduler all apply the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pypinyin import Style, lazy_pinyin
from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.functions import Length
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot.config import ComplaintsConfig, Config, parse_clock, parse_date_list
from models.audit import AuditLog
from models.customers import Customer
from models.enums import ComplaintStatus, Grade, Lifecycle, Role, Severity
from models.outbox import enqueue
from models.sealed import SealedTextField
from models.staff import Staff
from models.staff_push import push_to_staff, text_payload
from models.worktime import WorkCalendar


class Complaint(Model):
    id = fields.IntField(primary_key=True)
    ticket_no = fields.CharField(max_length=32, unique=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="complaints", on_delete=fields.CASCADE
    )
    category = fields.CharField(max_length=32, default="")
    severity = fields.CharEnumField(Severity, max_length=16, default=Severity.MEDIUM)
    # 1 (normal) .. 3 (urgent): from the wording, raised for VIP customers.
    urgency = fields.SmallIntField(default=1)
    # severity weight x urgency, 1 .. 12: the higher, the sooner.
    priority = fields.SmallIntField(default=0)
    status = fields.CharEnumField(ComplaintStatus, max_length=16, default=ComplaintStatus.OPEN)
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="complaints", null=True, on_delete=fields.SET_NULL
    )
    content = SealedTextField()
    # The channel the customer wrote through: replies go back the same way.
    channel = fields.CharField(max_length=16, default="oa")
    first_reply_due = fields.DatetimeField()
    resolve_due = fields.DatetimeField()
    first_replied_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolution = SealedTextField(default="")
    rating = fields.SmallIntField(null=True)
    rating_comment = SealedTextField(default="")
    rated_at = fields.DatetimeField(null=True)
    # Raised by a manager (升级) or by a missed deadline.
    escalation_level = fields.SmallIntField(default=0)
    escalated_at = fields.DatetimeField(null=True)
    # The customer said 未解决 after closing: the resolve clock restarts at reopened_at.
    reopened_count = fields.SmallIntField(default=0)
    reopened_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "complaint"
        indexes = (
            ("status", "first_reply_due"),
            ("status", "resolve_due"),
            ("assignee_id", "status"),
        )


class ComplaintEvent(Model):
    """One entry in the timeline of a ticket: intake, reply, assignment, close, rating…"""

    id = fields.IntField(primary_key=True)
    complaint: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Complaint", related_name="events", on_delete=fields.CASCADE
    )
    actor = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32)
    note = SealedTextField(default="")
    media_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "complaint_event"
        indexes = (("complaint_id", "created_at"),)


# --- the rules ------------------------------------------------------------------------
#
# Everything below is shared by the chat handlers (handlers/complaints.py), the CLI
# (`wecrm jobs run sla`) and the scheduler. Every state change writes a
# ComplaintEvent; every push is an outbox row whose dedup key derives from that
# event (or, for SLA jobs, from ticket and stage), so nothing is sent twice.


def _words(*lines: str) -> tuple[str, ...]:
    return tuple(word for line in lines for word in line.split())


class Category(StrEnum):
    QUALITY = "quality"
    LOGISTICS = "logistics"
    SERVICE = "service"
    PRICE = "price"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.QUALITY: "质量",
    Category.LOGISTICS: "物流",
    Category.SERVICE: "服务",
    Category.PRICE: "价格",
    Category.OTHER: "其他",
}
# The order of the one-question menu: 1 质量 … 5 其他.
CATEGORY_CHOICES = tuple(Category)

# A complaint's words -> its category. "破损" is in two lists on purpose: damage
# on arrival may be the goods or the transport, and then we ask.
CATEGORY_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.QUALITY: _words(
        "质量 破损 损坏 坏了 裂 故障 不能用 无法使用 用不了 漏水",
        "异味 过期 变质 次品 瑕疵 假货 划痕 不工作 报警",
    ),
    Category.LOGISTICS: _words(
        "物流 快递 发货 送货 配送 没收到 未收到 还没到 没到货 丢件",
        "丢失 少发 漏发 错发 外箱 压坏 运输 破损 延误",
    ),
    Category.SERVICE: _words("服务 态度 客服 售后 没人接 没人理 不理 不回复 推诿 安装 敷衍 骂人"),
    Category.PRICE: _words("价格 太贵 多收 收费 扣费 退款 差价 降价 发票 报价 乱收 退钱"),
}

# Words that make a complaint more serious than its category alone.
CRITICAL_WORDS = _words("受伤 伤人 起火 着火 冒烟 爆炸 触电 中毒 安全事故 住院")
HIGH_WORDS = _words(
    "12315 消协 媒体 曝光 律师 起诉 法院 欺诈 诈骗",
    "假货 严重 无法使用 不能用 停产 索赔 全部 多次",
)
URGENT_WORDS = _words("急 马上 立刻 立即 尽快 今天 赶紧 等着用 催")

CATEGORY_SEVERITY = {
    Category.QUALITY: Severity.MEDIUM,
    Category.LOGISTICS: Severity.MEDIUM,
    Category.SERVICE: Severity.MEDIUM,
    Category.PRICE: Severity.LOW,
    Category.OTHER: Severity.LOW,
}
SEVERITY_WEIGHT = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}
SEVERITY_BY_LABEL = {s.label: s for s in Severity}
URGENCY_LABELS = {1: "低", 2: "中", 3: "高"}
URGENCY_BY_LABEL = {label: level for level, label in URGENCY_LABELS.items()}
MAX_URGENCY = 3

ACTIVE = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS, ComplaintStatus.REOPENED)
MANAGING_ROLES = (Role.MANAGER, Role.ADMIN)

# The customer's dialog after closing: a 1-5 rating (or 未解决).
RATE_STATE = "complaints:rate"

# Ticket numbers as typed: TS202611250007, ts20261125-0007, "TS 20261125 0007".
# Four digits of daily sequence, five or more on a day past 9 999 tickets.
TICKET_RE = re.compile(r"TS\s*-?\s*(\d{8})\s*-?\s*(\d{4,6})(?!\d)", re.IGNORECASE)

# --- what the rules push (the handlers' own replies live in handlers/complaints.py) ---

N_ASSIGNED = (
    "【新投诉】{no}（{category}，{severity}，优先级 {priority}）\n"
    "客户：{customer}（{grade}）\n内容：{content}\n"
    "首次回复截止：{first_due}\n处理截止：{resolve_due}\n"
    "回复客户请发送：回复 {no} 内容"
)
N_REPLY = "【投诉 {no}】{who}回复：\n{text}"
N_CLOSED = (
    "【投诉 {no}】已处理完毕：\n{resolution}\n\n"
    "请回复数字 1-5 为本次处理打分（5 分最满意），可在数字后附一句评价。"
    "如果问题没有解决，请回复「未解决」。"
)
N_REOPENED = (
    "【投诉重新打开】{no}：客户表示问题未解决（第 {count} 次）。新的处理截止：{resolve_due}"
)
N_LOW_RATING = "【差评提醒】{no}：客户评分 {score} 分。{comment}"
N_ESCALATED = "【投诉升级】{no}（{severity}，优先级 {priority}）由 {actor} 升级：{reason}"
N_REGRADED = "【投诉改级】{no}：{change}。原因：{reason}"
N_WARN = {
    "first_reply": "【时限提醒】投诉 {no} 还未回复客户，首次回复截止 {due}（还剩约 {left}）。",
    "resolve": "【时限提醒】投诉 {no} 处理截止 {due}（还剩约 {left}），请尽快结案。",
}
N_BREACH = {
    "first_reply": "【超时升级】投诉 {no} 已超过首次回复时限（{due}），负责人：{assignee}。",
    "resolve": "【超时升级】投诉 {no} 已超过处理时限（{due}），负责人：{assignee}。",
}
# Who answers, as the customer sees it: a role, never a name or a phone number.
ROLE_FOR_CUSTOMER = {Role.REP: "您的客户经理", Role.MANAGER: "客服主管", Role.ADMIN: "客服主管"}


class ComplaintError(Exception):
    """Why a rule refused: ``forbidden``, ``closed``, ``not_closed``, ``too_late``,
    ``rated``, ``no_reason``, ``no_change``. The handler turns it into Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Classification:
    # None when the words point nowhere or to two places: then we ask.
    category: Category | None
    severity: Severity
    urgency: int

    @property
    def priority(self) -> int:
        return priority_of(self.severity, self.urgency)


def priority_of(severity: Severity | str, urgency: int) -> int:
    """Priority = severity weight (1-4) x urgency (1-3): 1 … 12, higher is sooner."""
    return SEVERITY_WEIGHT[Severity(severity)] * max(1, min(MAX_URGENCY, urgency))


def priority_label(priority: int) -> str:
    if priority >= 9:
        return f"最高（{priority}）"
    if priority >= 6:
        return f"高（{priority}）"
    if priority >= 3:
        return f"中（{priority}）"
    return f"低（{priority}）"


def category_label(code: str) -> str:
    try:
        return Category(code).label
    except ValueError:
        # Older rows (and the demo data of earlier versions) hold free text.
        return code or "待确认"


def parse_category(text: str) -> Category | None:
    """``"2"``, ``"物流"``, ``"物流问题"`` -> Category.LOGISTICS."""
    text = text.strip().rstrip("。.！!")
    if text.isdigit() and 1 <= int(text) <= len(CATEGORY_CHOICES):
        return CATEGORY_CHOICES[int(text) - 1]
    for category, label in CATEGORY_LABELS.items():
        if text.startswith(label):
            return category
    return None


def guess_category(content: str) -> Category | None:
    hits = {c: sum(w in content for w in words) for c, words in CATEGORY_KEYWORDS.items()}
    best = max(hits.values())
    winners = [c for c, n in hits.items() if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def classify(content: str, grade: Grade | str, category: Category | None = None) -> Classification:
    """Category (guessed unless given), severity from category and wording, urgency
    from wording and the customer's grade: a VIP's complaint is one step more urgent."""
    category = category or guess_category(content)
    severity = CATEGORY_SEVERITY[category or Category.OTHER]
    if any(w in content for w in CRITICAL_WORDS):
        severity = Severity.CRITICAL
    elif any(w in content for w in HIGH_WORDS):
        severity = Severity.HIGH
    urgency = 1
    if any(w in content for w in URGENT_WORDS):
        urgency += 1
    if Grade(grade) is Grade.VIP:
        urgency += 1
    return Classification(category, severity, min(urgency, MAX_URGENCY))


def parse_ticket_no(text: str) -> str | None:
    match = TICKET_RE.search(text)
    return f"TS{match.group(1)}{match.group(2)}".upper() if match else None


def ticket_no(created: datetime, seq: int, tz: ZoneInfo) -> str:
    """``TS`` + local date + 4-digit daily sequence, e.g. TS202611250007: letters and
    digits only, so it survives being typed on a phone."""
    return f"TS{created.astimezone(tz):%Y%m%d}{seq:04d}"


# --- deadlines ------------------------------------------------------------------------


def sla_targets(severity: Severity | str, cfg: ComplaintsConfig) -> tuple[float, float]:
    """(first reply hours, resolve days) for a severity: its own keys, else the defaults."""
    name = Severity(severity).value
    first = getattr(cfg, f"first_reply_hours_{name}") or cfg.first_reply_hours
    resolve = getattr(cfg, f"resolve_days_{name}") or cfg.resolve_days
    return first, resolve


def work_calendar(cfg: ComplaintsConfig, tz: ZoneInfo) -> WorkCalendar:
    (sh, sm), (eh, em) = parse_clock(cfg.workday_start), parse_clock(cfg.workday_end)
    return WorkCalendar(
        tz=tz,
        start=time(sh, sm),
        end=time(eh, em),
        extra_holidays=parse_date_list(cfg.extra_holidays),
        extra_workdays=parse_date_list(cfg.extra_workdays),
    )


def add_sla_time(start: datetime, hours: float, cfg: ComplaintsConfig, tz: ZoneInfo) -> datetime:
    if not cfg.working_hours:
        return start + timedelta(hours=hours)
    return work_calendar(cfg, tz).add(start, timedelta(hours=hours))


def compute_deadlines(
    start: datetime, severity: Severity | str, cfg: ComplaintsConfig, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """(first reply due, resolve due) for a ticket received at ``start``.

    Calendar hours by default. In working-hours mode only working time counts, and
    a resolve day is one working day (workday_end - workday_start)."""
    first_hours, resolve_days = sla_targets(severity, cfg)
    if cfg.working_hours:
        day_hours = work_calendar(cfg, tz).day_length.total_seconds() / 3600
    else:
        day_hours = 24.0
    return (
        add_sla_time(start, first_hours, cfg, tz),
        add_sla_time(start, resolve_days * day_hours, cfg, tz),
    )


def next_due(c: Complaint) -> datetime:
    """The deadline that matters now: the first reply until it happened, then resolving."""
    return c.first_reply_due if c.first_replied_at is None else c.resolve_due


# --- people and addresses ---------------------------------------------------------------


async def push_to_customer(c: Complaint, customer: Customer, text: str, key: str) -> bool:
    """Back through the channel the customer wrote from (Official Account or simulator)."""
    if not customer.openid:
        return False
    return await enqueue(key, c.channel, customer.openid, text_payload(text))


async def managers() -> list[Staff]:
    found = await Staff.filter(active=True, role=Role.MANAGER).order_by("id")
    return found or await Staff.filter(active=True, role=Role.ADMIN).order_by("id")


async def default_assignee(customer: Customer) -> Staff | None:
    """The customer's owner rep, else the manager on duty, else any manager or admin."""
    owner_id = customer.owner_id  # type: ignore[attr-defined]
    if owner_id is not None:
        owner = await Staff.get_or_none(id=owner_id, active=True)
        if owner is not None:
            return owner
    on_duty = (
        await Staff.filter(active=True, on_duty=True, role__in=MANAGING_ROLES)
        .order_by("id")
        .first()
    )
    if on_duty is not None:
        return on_duty
    found = await managers()
    return found[0] if found else None


async def customer_for_openid(openid: str) -> Customer:
    """The customer behind an openid, created as a 潜在 customer when we have none."""
    existing = await Customer.get_or_none(openid=openid)
    if existing is not None:
        return existing
    name = f"微信客户{openid[-4:]}"
    try:
        async with in_transaction():  # a savepoint inside the message's transaction
            return await Customer.create(
                name=name,
                name_pinyin="".join(lazy_pinyin(name)).lower(),
                name_initials="".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower(),
                grade=Grade.POTENTIAL,
                lifecycle=Lifecycle.POTENTIAL,
                openid=openid,
                notes="首次来信投诉时自动建档",
            )
    except IntegrityError:  # the same person's other message created it a moment ago
        return await Customer.get(openid=openid)


def fmt_time(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%m月%d日 %H:%M") if moment else "—"


def _duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)} 天 {minutes % (24 * 60) // 60} 小时"
    if minutes >= 60:
        return f"{minutes // 60} 小时 {minutes % 60} 分钟"
    return f"{minutes} 分钟"


def staff_actor(staff: Staff) -> str:
    return f"staff:{staff.id}"


def customer_actor(customer: Customer) -> str:
    return f"customer:{customer.id}"


async def record(
    c: Complaint, actor: str, kind: str, note: str = "", media_id: str | None = None
) -> ComplaintEvent:
    return await ComplaintEvent.create(
        complaint=c, actor=actor[:64], kind=kind, note=note, media_id=media_id
    )


def _event_key(c: Complaint, event: ComplaintEvent, to: str) -> str:
    return f"complaint:{c.ticket_no}:event:{event.id}:{to}"


# --- intake ---------------------------------------------------------------------------


@dataclass
class Intake:
    complaint: Complaint
    # False when this was the same complaint again (sent twice within minutes).
    created: bool
    # True when the category could not be told from the words: ask the customer.
    needs_category: bool


async def _next_ticket_no(now: datetime, tz: ZoneInfo) -> str:
    prefix = ticket_no(now, 0, tz)[:-4]
    # Past 9 999 a day the sequence grows a digit: order by length first, or
    # "…10000" would sort before "…9999" as text.
    last = (
        await Complaint.filter(ticket_no__startswith=prefix)
        .annotate(width=Length("ticket_no"))
        .order_by("-width", "-ticket_no")
        .first()
        .values_list("ticket_no", flat=True)
    )
    tail = str(last)[len(prefix) :] if last else ""
    seq = int(tail) + 1 if tail.isdigit() else 1
    return ticket_no(now, seq, tz)


async def open_ticket(
    customer: Customer,
    content: str,
    channel: str,
    cfg: Config,
    now: datetime | None = None,
) -> Intake:
    """Open a ticket: classify, compute deadlines, assign and notify the assignee."""
    now = now or datetime.now(UTC)
    content = content.strip()[:2000]
    window = timedelta(minutes=cfg.complaints.media_window_minutes)
    # Lock the customer for the rest of the message's transaction, so two copies of
    # the same words handled at once (two workers, a resend) cannot both pass the
    # check below. SQLite serialises transactions anyway and ignores the clause.
    await Customer.select_for_update().filter(id=customer.id).values_list("id", flat=True)
    # The same words again within minutes (a double tap, a resend) are one complaint.
    # Compared here, not in SQL: a phone number in the words is stored encrypted
    # with a fresh nonce each time (models.sealed), so equal texts differ at rest.
    recent = await Complaint.filter(
        customer=customer, status__in=ACTIVE, created_at__gte=now - window
    ).order_by("-id")
    same = next((c for c in recent if c.content == content), None)
    if same is not None:
        return Intake(same, created=False, needs_category=not same.category)
    found = classify(content, customer.grade)
    first_due, resolve_due = compute_deadlines(now, found.severity, cfg.complaints, cfg.tz)
    complaint: Complaint | None = None
    for _ in range(20):
        # Two intakes in the same instant may draw the same number: the unique
        # constraint decides, the loser draws the next one.
        try:
            async with in_transaction():  # a savepoint: the loser draws again
                complaint = await Complaint.create(
                    ticket_no=await _next_ticket_no(now, cfg.tz),
                    customer=customer,
                    category=found.category.value if found.category else "",
                    severity=found.severity,
                    urgency=found.urgency,
                    priority=found.priority,
                    content=content,
                    channel=channel,
                    first_reply_due=first_due,
                    resolve_due=resolve_due,
                    created_at=now,
                )
            break
        except IntegrityError:
            continue
    if complaint is None:
        raise RuntimeError("could not draw a free ticket number")
    await record(complaint, customer_actor(customer), "created", content)
    if found.category is not None:
        await record(complaint, "system", "categorized", found.category.label)
    assignee = await default_assignee(customer)
    if assignee is not None:
        await assign(complaint, assignee, "system", cfg, customer=customer)
    return Intake(complaint, created=True, needs_category=found.category is None)


async def set_category(c: Complaint, category: Category, actor: str, cfg: Config) -> Complaint:
    """The customer's answer to the category question: severity, priority and the
    deadlines follow (still counted from intake)."""
    customer = await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    found = classify(c.content, customer.grade, category)
    c.category = category.value
    c.severity = found.severity
    c.urgency = max(c.urgency, found.urgency)
    c.priority = priority_of(c.severity, c.urgency)
    c.first_reply_due, c.resolve_due = compute_deadlines(
        c.created_at, c.severity, cfg.complaints, cfg.tz
    )
    await c.save()
    await record(c, actor, "categorized", category.label)
    return c


async def recent_ticket(
    customer: Customer, cfg: Config, now: datetime | None = None
) -> Complaint | None:
    """The ticket this customer opened in the last few minutes: their photos and
    voice messages belong to it."""
    now = now or datetime.now(UTC)
    window = timedelta(minutes=cfg.complaints.media_window_minutes)
    return (
        await Complaint.filter(customer=customer, status__in=ACTIVE, created_at__gte=now - window)
        .order_by("-created_at", "-id")
        .first()
    )


async def attach_media(
    c: Complaint, customer: Customer, kind: str, media_id: str, note: str = ""
) -> ComplaintEvent:
    return await record(
        c, customer_actor(customer), kind, note[:500], media_id=media_id[:128] or None
    )


# --- what staff do --------------------------------------------------------------------


def is_manager(staff: Staff) -> bool:
    return Role(staff.role) in MANAGING_ROLES


async def may_view(staff: Staff, c: Complaint) -> bool:
    if is_manager(staff) or c.assignee_id == staff.id:  # type: ignore[attr-defined]
        return True
    customer = await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    return customer.owner_id == staff.id  # type: ignore[attr-defined]


def _require_manager(staff: Staff) -> None:
    if not is_manager(staff):
        raise ComplaintError("forbidden")


def _require_handler(staff: Staff, c: Complaint) -> None:
    """The assignee or a manager: a rep cannot act on another rep's ticket."""
    if not (is_manager(staff) or c.assignee_id == staff.id):  # type: ignore[attr-defined]
        raise ComplaintError("forbidden")


def _require_active(c: Complaint) -> None:
    if c.status not in ACTIVE:
        raise ComplaintError("closed")


async def assign(
    c: Complaint,
    staff: Staff,
    actor: str,
    cfg: Config,
    customer: Customer | None = None,
    reason: str = "",
) -> ComplaintEvent:
    """Give the ticket to ``staff`` and tell them at once."""
    customer = customer or await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    c.assignee = staff
    await c.save(update_fields=["assignee_id", "updated_at"])
    event = await record(c, actor, "assigned", staff.name + (f"：{reason}" if reason else ""))
    text = N_ASSIGNED.format(
        no=c.ticket_no,
        category=category_label(c.category),
        severity=Severity(c.severity).label,
        priority=priority_label(c.priority),
        customer=customer.name,
        grade=Grade(customer.grade).label,
        content=c.content[:200],
        first_due=fmt_time(c.first_reply_due, cfg.tz),
        resolve_due=fmt_time(c.resolve_due, cfg.tz),
    )
    await push_to_staff(staff, text, _event_key(c, event, f"staff:{staff.id}"), cfg)
    return event


async def reassign(c: Complaint, by: Staff, to: Staff, cfg: Config) -> ComplaintEvent:
    _require_manager(by)
    _require_active(c)
    if c.assignee_id == to.id:  # type: ignore[attr-defined]
        raise ComplaintError("no_change")
    return await assign(c, to, staff_actor(by), cfg, reason=f"由 {by.name} 指派")


async def reply(
    c: Complaint, by: Staff, text: str, cfg: Config, now: datetime | None = None
) -> ComplaintEvent:
    """Send ``text`` to the customer; the first one stops the first-reply clock."""
    _require_handler(by, c)
    _require_active(c)
    now = now or datetime.now(UTC)
    if c.first_replied_at is None:
        c.first_replied_at = now
    c.status = ComplaintStatus.IN_PROGRESS
    await c.save()
    event = await record(c, staff_actor(by), "replied", text)
    customer = await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    who = ROLE_FOR_CUSTOMER[Role(by.role)]
    await push_to_customer(
        c,
        customer,
        N_REPLY.format(no=c.ticket_no, who=who, text=text),
        _event_key(c, event, "customer"),
    )
    return event


async def close(
    c: Complaint, by: Staff, resolution: str, cfg: Config, now: datetime | None = None
) -> ComplaintEvent:
    """Resolve and close: the customer gets the result and a request to rate it."""
    _require_handler(by, c)
    _require_active(c)
    now = now or datetime.now(UTC)
    c.status = ComplaintStatus.CLOSED
    c.resolution = resolution
    c.resolved_at = now
    # The result reaches the customer: that is a reply too.
    c.first_replied_at = c.first_replied_at or now
    await c.save()
    event = await record(c, staff_actor(by), "closed", resolution)
    customer = await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    text = N_CLOSED.format(no=c.ticket_no, resolution=resolution)
    if await push_to_customer(c, customer, text, _event_key(c, event, "customer")):
        await _await_rating(c, customer, cfg)
    return event


async def _await_rating(c: Complaint, customer: Customer, cfg: Config) -> None:
    # Imported here: models do not depend on the bot package at import time.
    from bot.conversation import Conversation

    ttl = timedelta(days=max(1, cfg.complaints.reopen_days))
    await Conversation(f"{c.channel}:{customer.openid}", ttl).set(
        RATE_STATE, {"ticket": c.ticket_no}
    )


async def escalate(
    c: Complaint, by: Staff, reason: str, cfg: Config, now: datetime | None = None
) -> ComplaintEvent:
    """A manager raises the ticket: most urgent, the assignee and other managers told."""
    _require_manager(by)
    _require_active(c)
    now = now or datetime.now(UTC)
    c.escalation_level += 1
    c.escalated_at = now
    c.urgency = MAX_URGENCY
    c.priority = priority_of(c.severity, c.urgency)
    await c.save()
    reason = reason or "需要尽快处理"
    event = await record(c, staff_actor(by), "escalated", reason)
    text = N_ESCALATED.format(
        no=c.ticket_no,
        severity=Severity(c.severity).label,
        priority=priority_label(c.priority),
        actor=by.name,
        reason=reason,
    )
    for person in await _assignee_and_managers(c):
        if person.id != by.id:
            await push_to_staff(person, text, _event_key(c, event, f"staff:{person.id}"), cfg)
    return event


async def regrade(
    c: Complaint,
    by: Staff,
    severity: Severity | None,
    urgency: int | None,
    reason: str,
    cfg: Config,
) -> ComplaintEvent:
    """A manager changes severity and/or urgency, with a reason; priority and the
    deadlines still ahead follow."""
    _require_manager(by)
    _require_active(c)
    if not reason:
        raise ComplaintError("no_reason")
    changes = []
    if severity is not None and severity != c.severity:
        changes.append(f"严重程度 {Severity(c.severity).label}→{severity.label}")
        c.severity = severity
    if urgency is not None and urgency != c.urgency:
        changes.append(f"紧急度 {URGENCY_LABELS[c.urgency]}→{URGENCY_LABELS[urgency]}")
        c.urgency = urgency
    if not changes:
        raise ComplaintError("no_change")
    c.priority = priority_of(c.severity, c.urgency)
    first_due, resolve_due = compute_deadlines(
        c.reopened_at or c.created_at, c.severity, cfg.complaints, cfg.tz
    )
    if c.first_replied_at is None and c.reopened_at is None:
        c.first_reply_due = first_due
    c.resolve_due = resolve_due
    await c.save()
    change = "，".join(changes) + f"，优先级 {priority_label(c.priority)}"
    event = await record(c, staff_actor(by), "regraded", f"{change}。原因：{reason}")
    assignee = await _assignee(c)
    if assignee is not None and assignee.id != by.id:
        text = N_REGRADED.format(no=c.ticket_no, change=change, reason=reason)
        await push_to_staff(assignee, text, _event_key(c, event, f"staff:{assignee.id}"), cfg)
    return event


async def _assignee(c: Complaint) -> Staff | None:
    assignee_id = c.assignee_id  # type: ignore[attr-defined]
    return await Staff.get_or_none(id=assignee_id, active=True) if assignee_id else None


async def _assignee_and_managers(c: Complaint) -> list[Staff]:
    people = await managers()
    assignee = await _assignee(c)
    if assignee is not None and all(p.id != assignee.id for p in people):
        people.insert(0, assignee)
    return people


# --- what customers do after closing -------------------------------------------------------


def _within_reopen_window(c: Complaint, cfg: Config, now: datetime) -> bool:
    return c.resolved_at is not None and now - c.resolved_at <= timedelta(
        days=cfg.complaints.reopen_days
    )


async def rate(
    c: Complaint,
    customer: Customer,
    score: int,
    comment: str,
    cfg: Config,
    now: datetime | None = None,
) -> ComplaintEvent:
    now = now or datetime.now(UTC)
    if c.customer_id != customer.id:  # type: ignore[attr-defined]
        raise ComplaintError("forbidden")
    if c.status != ComplaintStatus.CLOSED:
        raise ComplaintError("not_closed")
    if c.rating is not None:
        raise ComplaintError("rated")
    if not _within_reopen_window(c, cfg, now):
        raise ComplaintError("too_late")
    c.rating, c.rating_comment, c.rated_at = score, comment[:500], now
    await c.save()
    event = await record(
        c, customer_actor(customer), "rated", f"{score} 分" + (f"：{comment}" if comment else "")
    )
    if score <= 2:
        text = N_LOW_RATING.format(no=c.ticket_no, score=score, comment=comment)
        for person in await _assignee_and_managers(c):
            await push_to_staff(person, text, _event_key(c, event, f"staff:{person.id}"), cfg)
    return event


async def reopen(
    c: Complaint, customer: Customer, reason: str, cfg: Config, now: datetime | None = None
) -> ComplaintEvent:
    """未解决 within the reopen window: back to work with a fresh resolve deadline."""
    now = now or datetime.now(UTC)
    if c.customer_id != customer.id:  # type: ignore[attr-defined]
        raise ComplaintError("forbidden")
    if c.status != ComplaintStatus.CLOSED:
        raise ComplaintError("not_closed")
    if not _within_reopen_window(c, cfg, now):
        raise ComplaintError("too_late")
    c.status = ComplaintStatus.REOPENED
    c.reopened_count += 1
    c.reopened_at = now
    c.resolved_at = None
    c.rating, c.rating_comment, c.rated_at = None, "", None
    _, c.resolve_due = compute_deadlines(now, c.severity, cfg.complaints, cfg.tz)
    await c.save()
    event = await record(c, customer_actor(customer), "reopened", reason or "客户表示问题未解决")
    assignee = await _assignee(c) or await default_assignee(customer)
    if assignee is not None:
        if assignee.id != c.assignee_id:  # type: ignore[attr-defined]
            c.assignee = assignee
            await c.save(update_fields=["assignee_id", "updated_at"])
        text = N_REOPENED.format(
            no=c.ticket_no, count=c.reopened_count, resolve_due=fmt_time(c.resolve_due, cfg.tz)
        )
        await push_to_staff(assignee, text, _event_key(c, event, f"staff:{assignee.id}"), cfg)
    return event


async def latest_closed(customer: Customer) -> Complaint | None:
    return (
        await Complaint.filter(customer=customer, status=ComplaintStatus.CLOSED)
        .order_by("-resolved_at", "-id")
        .first()
    )


# --- queries ----------------------------------------------------------------------------


async def get_ticket(number: str) -> Complaint | None:
    return await Complaint.get_or_none(ticket_no=number).prefetch_related("customer", "assignee")


async def customer_ticket(customer: Customer, number: str) -> Complaint | None:
    """Only the customer's own ticket: someone else's number finds nothing."""
    return await Complaint.get_or_none(ticket_no=number, customer=customer).prefetch_related(
        "assignee"
    )


async def customer_tickets(customer: Customer, limit: int = 5) -> list[Complaint]:
    return (
        await Complaint.filter(customer=customer)
        .order_by("-created_at", "-id")
        .limit(limit)
        .prefetch_related("assignee")
    )


async def open_tickets_for(staff: Staff) -> list[Complaint]:
    """Open tickets ``staff`` owns (managers: all), nearest deadline first."""
    query = Complaint.filter(status__in=ACTIVE)
    if not is_manager(staff):
        query = query.filter(assignee_id=staff.id)
    rows = await query.prefetch_related("customer", "assignee")
    return sorted(rows, key=lambda c: (next_due(c), -c.priority, c.id))


async def timeline(c: Complaint) -> list[ComplaintEvent]:
    return await ComplaintEvent.filter(complaint=c).order_by("created_at", "id")


# --- SLA: warnings before, escalations after -----------------------------------------------


def _stages(c: Complaint) -> list[tuple[str, datetime, datetime]]:
    """(stage, clock start, deadline) of the deadlines still running on a ticket."""
    stages = []
    if c.first_replied_at is None:
        stages.append(("first_reply", c.created_at, c.first_reply_due))
    stages.append(("resolve", c.reopened_at or c.created_at, c.resolve_due))
    return stages


def _stage_key(kind: str, stage: str, c: Complaint) -> str:
    # A reopened ticket has a new resolve deadline, and a new warning is due for it.
    suffix = f":r{c.reopened_count}" if stage == "resolve" and c.reopened_count else ""
    return f"sla:{kind}:{stage}:{c.ticket_no}{suffix}"


async def sla_warnings(now: datetime, cfg: Config) -> int:
    """Warn the assignee once per ticket and stage when ``warn_fraction`` of the time
    to a deadline has passed. Returns the number of warnings queued."""
    sent = 0
    rows = await Complaint.filter(status__in=ACTIVE, assignee_id__isnull=False).prefetch_related(
        "assignee"
    )
    for c in rows:
        for stage, start, due in _stages(c):
            warn_at = start + (due - start) * cfg.complaints.warn_fraction
            if not (warn_at <= now < due):
                continue
            text = N_WARN[stage].format(
                no=c.ticket_no, due=fmt_time(due, cfg.tz), left=_duration(due - now)
            )
            if await push_to_staff(c.assignee, text, _stage_key("warn", stage, c), cfg):
                await record(c, "system", "sla_warning", f"{stage}：{fmt_time(due, cfg.tz)}")
                sent += 1
    return sent


async def sla_breaches(now: datetime, cfg: Config) -> int:
    """Escalate to the managers (and tell the assignee) once per ticket and stage when
    a deadline has passed. Returns the number of tickets newly escalated."""
    escalated = 0
    rows = await Complaint.filter(status__in=ACTIVE).prefetch_related("assignee")
    people = await managers()
    for c in rows:
        for stage, _start, due in _stages(c):
            if now < due:
                continue
            text = N_BREACH[stage].format(
                no=c.ticket_no,
                due=fmt_time(due, cfg.tz),
                assignee=c.assignee.name if c.assignee else "未指派",
            )
            recipients = list(people)
            if c.assignee is not None and all(p.id != c.assignee.id for p in recipients):
                recipients.append(c.assignee)
            new = False
            for person in recipients:
                key = f"{_stage_key('breach', stage, c)}:{person.id}"
                new = await push_to_staff(person, text, key, cfg) or new
            if new:
                c.escalation_level += 1
                c.escalated_at = c.escalated_at or now
                await c.save(update_fields=["escalation_level", "escalated_at", "updated_at"])
                await record(c, "system", "breached", f"{stage}：{fmt_time(due, cfg.tz)}")
                # Handlers are audited by the middleware; the job audits itself.
                await AuditLog.create(
                    actor="system",
                    actor_role="system",
                    action="complaints.sla_breach",
                    target=f"complaint:{c.id}",
                    detail={"stage": stage, "ticket": c.ticket_no},
                )
                escalated += 1
    return escalated


async def run_sla(now: datetime, cfg: Config) -> tuple[int, int]:
    """The SLA job: (warnings queued, tickets escalated). Safe to run any number of times."""
    return await sla_warnings(now, cfg), await sla_breaches(now, cfg)


# --- KPIs for the digest ----------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintKpis:
    opened: int
    first_replied: int
    # Averages in hours; None when nothing to average.
    avg_first_reply_hours: float | None
    resolved: int
    avg_resolution_hours: float | None
    first_reply_breaches: int
    resolve_breaches: int
    rated: int
    csat_avg: float | None
    # Share of the tickets opened in the range that got a first reply.
    first_reply_rate: float | None
    # Share of the tickets closed in the range whose customer answered the rating request.
    rating_response_rate: float | None

    @property
    def breaches(self) -> int:
        return self.first_reply_breaches + self.resolve_breaches


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def complaint_kpis(
    first_day: date, last_day: date, cfg: Config, now: datetime | None = None
) -> ComplaintKpis:
    """Complaint KPIs for local days ``first_day`` … ``last_day`` (inclusive)."""
    now = now or datetime.now(UTC)
    start = datetime.combine(first_day, time(0), cfg.tz)
    end = datetime.combine(last_day + timedelta(days=1), time(0), cfg.tz)
    opened = await Complaint.filter(created_at__gte=start, created_at__lt=end)
    replied = [c for c in opened if c.first_replied_at is not None]
    closed = await Complaint.filter(
        status=ComplaintStatus.CLOSED, resolved_at__gte=start, resolved_at__lt=end
    )
    rated = await Complaint.filter(rated_at__gte=start, rated_at__lt=end, rating__isnull=False)
    hours = 3600.0
    return ComplaintKpis(
        opened=len(opened),
        first_replied=len(replied),
        avg_first_reply_hours=_avg(
            [(c.first_replied_at - c.created_at).total_seconds() / hours for c in replied]  # type: ignore[operator]
        ),
        resolved=len(closed),
        avg_resolution_hours=_avg(
            [(c.resolved_at - c.created_at).total_seconds() / hours for c in closed]  # type: ignore[operator]
        ),
        first_reply_breaches=sum(
            1 for c in opened if (c.first_replied_at or now) > c.first_reply_due
        ),
        resolve_breaches=sum(
            1
            for c in opened
            if (c.resolved_at or (now if c.status in ACTIVE else c.resolve_due)) > c.resolve_due
        ),
        rated=len(rated),
        csat_avg=_avg([float(c.rating) for c in rated if c.rating is not None]),
        first_reply_rate=_ratio(len(replied), len(opened)),
        rating_response_rate=_ratio(sum(1 for c in closed if c.rating is not None), len(closed)),
    )
