"""The demo data set behind ``wecrm seed``: a small sales team with its customers.

Everything is relative to today (in the configured time zone), so a fresh demo
always has revisits due today and overdue, a birthday today, a complaint close to
its first-reply deadline. Random choices come from ``random.Random(2026)``: two
seeds on the same day give the same data (only the ciphertexts differ, since
encryption uses a fresh nonce each time).

Staff and some customers carry simulator identities (``sim-admin``, ``sim-manager``,
``sim-rep-1``…, customers ``sim-cust-1``…) so the web simulator can speak as them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from bot.config import Config
from bot.crypto import FieldCipher
from bot.seed_data import (
    BIRTHDAY_IN_DAYS,
    CUSTOMERS,
    DEALS,
    DISTRICTS,
    FIRST_REPLY_SLA,
    FOLLOWUP_TEXTS,
    LUNAR_BIRTHDAYS,
    METHODS,
    MOBILE_PREFIXES,
    NO_PHONE,
    NOTES,
    RESOLVE_SLA,
    REVISIT_OFFSETS,
    ROADS,
    SEED,
    SIM_CUSTOMERS,
    STAFF,
    CustomerSpec,
)
from models.complaints import Category, Complaint, ComplaintEvent, priority_of
from models.complaints import ticket_no as draw_ticket_no
from models.customers import Customer, name_pinyin, phone_fields
from models.deals import Deal
from models.enums import (
    ComplaintStatus,
    FollowUpMethod,
    Grade,
    Lifecycle,
    Severity,
)
from models.followups import FollowUp
from models.staff import Staff


class SeedError(Exception):
    """The demo data cannot be loaded; the message says why, in Chinese, for the CLI."""


def ticket_no(created: datetime, seq: int, cfg: Config) -> str:
    """The ticket number as models.complaints draws them: TS + local date + sequence."""
    return draw_ticket_no(created, seq, cfg.tz)


async def seed_demo(cfg: Config, if_empty: bool = False) -> str:
    """Load the demo data set; returns a one-line summary in Chinese for the CLI."""
    if if_empty and await Staff.exists():
        return "数据库中已有员工数据，跳过演示数据导入。"
    sim_staff = [s.simulator_id for s in STAFF]
    if (
        await Staff.filter(simulator_id__in=sim_staff).exists()
        or await Customer.filter(openid__in=list(SIM_CUSTOMERS.values())).exists()
    ):
        raise SeedError("演示数据已经导入过了（模拟器身份已存在），未重复导入。")

    rng = random.Random(SEED)
    cipher = FieldCipher(cfg.data_key_bytes)
    now = datetime.now(UTC)
    today = now.astimezone(cfg.tz).date()
    counts = {"followups": 0, "deals": 0, "complaints": 0}

    # All or nothing: a failure half-way must not leave a demo database that
    # `seed --if-empty` would then consider seeded.
    async with in_transaction():
        staff = [
            await Staff.create(
                name=s.name,
                role=s.role,
                simulator_id=s.simulator_id,
                on_duty=s.on_duty,
                wecom_userid=s.wecom_userid,
            )
            for s in STAFF
        ]
        manager = staff[1]
        reps = staff[2:]

        customers: list[Customer] = []
        used_phones: set[str] = set()
        revisit_offsets = itertools.cycle(REVISIT_OFFSETS)
        for index, spec in enumerate(CUSTOMERS):
            owner = reps[spec.owner] if spec.owner is not None else None
            plan = _followup_plan(rng, now, today, spec.lifecycle, revisit_offsets)
            if owner is None:
                plan = []  # nobody has followed up an unowned customer yet
            customer = await _create_customer(
                rng, cipher, today, index, spec, owner, used_phones, plan, now
            )
            customers.append(customer)
            for when, method, content, feedback, next_on in plan:
                assert owner is not None
                await FollowUp.create(
                    customer=customer,
                    rep=owner,
                    method=method,
                    content=content,
                    feedback=feedback,
                    next_revisit_on=next_on,
                    created_at=when,
                )
                counts["followups"] += 1

        for cust_ix, product, qty, amount, stage, created_ago, closed_ago in DEALS:
            customer = customers[cust_ix]
            await Deal.create(
                customer=customer,
                owner_id=customer.owner_id,  # type: ignore[attr-defined]
                product=product,
                quantity=qty,
                amount=Decimal(amount),
                stage=stage,
                closed_on=today - timedelta(days=closed_ago) if closed_ago is not None else None,
                created_at=now - timedelta(days=created_ago),
            )
            counts["deals"] += 1

        counts["complaints"] = await _create_complaints(cfg, now, customers, reps, manager)

    return (
        f"演示数据已导入：员工 {len(staff)} 人（管理员 1、主管 1、销售 {len(reps)}），"
        f"客户 {len(customers)} 位，跟进记录 {counts['followups']} 条，"
        f"商机 {counts['deals']} 个，投诉 {counts['complaints']} 单。"
        "打开模拟器即可用这些身份体验。"
    )


FollowUpPlan = list[tuple[datetime, FollowUpMethod, str, str, date | None]]


def _followup_plan(
    rng: random.Random,
    now: datetime,
    today: date,
    lifecycle: Lifecycle,
    revisit_offsets: Iterator[int],
) -> FollowUpPlan:
    """Past follow-ups, oldest first; each one's next revisit is when the next took place."""
    if lifecycle is Lifecycle.ACTIVE:
        count, last_ago = rng.randint(2, 3), rng.randint(1, 12)
    elif lifecycle is Lifecycle.DORMANT:
        count, last_ago = 1, rng.randint(95, 200)
    else:  # potential: half of them were contacted once
        count, last_ago = rng.randint(0, 1), rng.randint(2, 10)
    # Oldest first, roughly a fortnight apart, the latest ``last_ago`` days ago.
    days_ago = [last_ago + 14 * k + rng.randint(0, 6) for k in range(count - 1, 0, -1)]
    days_ago += [last_ago] if count else []
    plan: FollowUpPlan = []
    for i, ago in enumerate(days_ago):
        when = now - timedelta(days=ago, hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
        content, feedback = rng.choice(FOLLOWUP_TEXTS)
        if i + 1 < len(days_ago):
            next_on: date | None = today - timedelta(days=days_ago[i + 1])
        elif lifecycle is Lifecycle.DORMANT:
            next_on = None  # dropped off the radar: that is what makes them dormant
        else:
            next_on = today + timedelta(days=next(revisit_offsets))
        plan.append((when, rng.choice(METHODS), content, feedback, next_on))
    return plan


async def _create_customer(
    rng: random.Random,
    cipher: FieldCipher,
    today: date,
    index: int,
    spec: CustomerSpec,
    owner: Staff | None,
    used_phones: set[str],
    plan: FollowUpPlan,
    now: datetime,
) -> Customer:
    full, initials = name_pinyin(spec.name)

    phone = None
    if index not in NO_PHONE:
        while phone is None or phone in used_phones:
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        used_phones.add(phone)
    address = (
        f"{spec.city}市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
        if rng.random() < 0.8
        else None
    )

    month = day = year = None
    lunar = False
    if index in BIRTHDAY_IN_DAYS:
        birthday = today + timedelta(days=BIRTHDAY_IN_DAYS[index])
        month, day = birthday.month, birthday.day
    elif index in LUNAR_BIRTHDAYS:
        (month, day), lunar = LUNAR_BIRTHDAYS[index], True
        year = rng.randint(1965, 1995)
    elif rng.random() < 0.4:
        # Day 1-28: every month has it, so a stored year is always a valid date.
        month, day, year = rng.randint(1, 12), rng.randint(1, 28), rng.randint(1965, 1998)

    if plan:
        last_contact = plan[-1][0]
    elif spec.lifecycle is Lifecycle.ACTIVE:
        last_contact = now - timedelta(days=rng.randint(1, 10))
    else:
        last_contact = None

    return await Customer.create(
        name=spec.name,
        name_pinyin=full,
        name_initials=initials,
        company=spec.company,
        industry=spec.industry,
        size=spec.size,
        category=spec.category,
        grade=spec.grade,
        lifecycle=spec.lifecycle,
        birthday_month=month,
        birthday_day=day,
        birthday_year=year,
        birthday_lunar=lunar,
        owner=owner,
        openid=SIM_CUSTOMERS.get(index),
        **phone_fields(cipher, phone),
        address_enc=cipher.encrypt(address) if address else None,
        notes=rng.choice(NOTES),
        last_contact_at=last_contact,
        created_at=now - timedelta(days=rng.randint(200, 700)),
    )


async def _create_complaints(
    cfg: Config, now: datetime, customers: list[Customer], reps: list[Staff], manager: Staff
) -> int:
    """Three tickets in three states: new and near its first-reply deadline, being
    worked on, closed and rated."""
    tickets = [
        # (customer index, assignee, category, severity, status, created ago, content)
        (
            25,
            manager,  # no owner: the manager on duty has it
            Category.LOGISTICS,
            Severity.HIGH,
            ComplaintStatus.OPEN,
            timedelta(hours=20),
            "收到的货有破损，外箱压坏了，里面两件商品有裂痕。",
        ),
        (
            4,
            reps[1],
            Category.SERVICE,
            Severity.MEDIUM,
            ComplaintStatus.IN_PROGRESS,
            timedelta(days=3, hours=2),
            "设备安装后一直报警，打售后电话也没人接。",
        ),
        (
            0,
            reps[0],
            Category.PRICE,
            Severity.LOW,
            ComplaintStatus.CLOSED,
            timedelta(days=9, hours=5),
            "发票抬头开错了，需要重新开具。",
        ),
    ]
    per_day: dict[str, int] = {}
    for cust_ix, assignee, category, severity, status, ago, content in tickets:
        customer = customers[cust_ix]
        created = now - ago
        day = f"{created.astimezone(cfg.tz):%Y%m%d}"
        per_day[day] = per_day.get(day, 0) + 1
        replied = created + timedelta(hours=2) if status != ComplaintStatus.OPEN else None
        resolved = created + timedelta(days=2) if status == ComplaintStatus.CLOSED else None
        closed = status == ComplaintStatus.CLOSED
        complaint = await Complaint.create(
            ticket_no=ticket_no(created, per_day[day], cfg),
            customer=customer,
            category=category,
            severity=severity,
            # VIP customers' complaints are one step more urgent, as at intake.
            urgency=2 if customer.grade == Grade.VIP else 1,
            priority=priority_of(severity, 2 if customer.grade == Grade.VIP else 1),
            # The demo customers talk through the simulator: replies go back there.
            channel="simulator" if (customer.openid or "").startswith("sim-") else "oa",
            status=status,
            assignee=assignee,
            content=content,
            first_reply_due=created + FIRST_REPLY_SLA,
            resolve_due=created + RESOLVE_SLA,
            first_replied_at=replied,
            resolved_at=resolved,
            resolution="已重新开具发票并快递寄出，单号已发给客户。" if closed else "",
            rating=5 if closed else None,
            rating_comment="处理很快，谢谢！" if closed else "",
            rated_at=resolved + timedelta(hours=3) if resolved is not None else None,
            created_at=created,
        )
        cust_actor, staff_actor = f"customer:{customer.id}", f"staff:{assignee.id}"
        events = [(created, cust_actor, "created", content)]
        events.append((created + timedelta(minutes=5), "system", "assigned", assignee.name))
        if replied is not None:
            events.append((replied, staff_actor, "replied", "您好，已收到您的反馈，正在处理。"))
        if resolved is not None:
            events.append((resolved, staff_actor, "closed", complaint.resolution))
            events.append((resolved + timedelta(hours=3), cust_actor, "rated", "5 分"))
        for when, actor, kind, note in events:
            await ComplaintEvent.create(
                complaint=complaint, actor=actor, kind=kind, note=note, created_at=when
            )
    return len(tickets)
