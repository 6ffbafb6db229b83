"""Intake: a customer's words become a classified, scheduled, assigned ticket; photos
and voice messages sent soon after are attached to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.config import Config
from models.complaints.classification import Category, classify, priority_of
from models.complaints.deadlines import compute_deadlines
from models.complaints.numbers import next_ticket_no
from models.complaints.people import customer_actor, default_assignee, record, staff_actor
from models.complaints.tables import ACTIVE, Complaint, ComplaintEvent
from models.complaints.workflow import assign
from models.customers import UNNAMED, Customer, name_pinyin
from models.enums import Grade, Lifecycle
from models.staff import Staff


async def customer_for_openid(openid: str) -> Customer:
    """The customer behind an openid, created as a 潜在 customer when we have none."""
    existing = await Customer.get_or_none(openid=openid)
    if existing is not None:
        return existing
    name = f"{UNNAMED}{openid[-4:]}"
    full, initials = name_pinyin(name)
    try:
        async with in_transaction():  # a savepoint inside the message's transaction
            return await Customer.create(
                name=name,
                name_pinyin=full,
                name_initials=initials,
                grade=Grade.POTENTIAL,
                lifecycle=Lifecycle.POTENTIAL,
                openid=openid,
                notes="首次来信时自动建档",
            )
    except IntegrityError:  # the same person's other message created it a moment ago
        return await Customer.get(openid=openid)


@dataclass
class Intake:
    complaint: Complaint
    # False when this was the same complaint again (sent twice within minutes).
    created: bool
    # True when the category could not be told from the words: ask the customer.
    needs_category: bool


async def open_ticket(
    customer: Customer,
    content: str,
    channel: str,
    cfg: Config,
    now: datetime | None = None,
    registered_by: Staff | None = None,
) -> Intake:
    """Open a ticket: classify, compute deadlines, assign and notify the assignee.
    ``registered_by``: the staff member who wrote it down for the customer (who said
    it on the phone or in person); they are not told of their own ticket again."""
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
                    ticket_no=await next_ticket_no(now, cfg.tz),
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
    creator = staff_actor(registered_by) if registered_by else customer_actor(customer)
    await record(complaint, creator, "created", content)
    if found.category is not None:
        await record(complaint, "system", "categorized", found.category.label)
    assignee = await default_assignee(customer)
    if assignee is not None:
        told = registered_by is None or assignee.id != registered_by.id
        await assign(complaint, assignee, "system", cfg, customer=customer, tell=told)
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
