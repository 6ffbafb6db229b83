"""What staff do with a ticket (assign, reply, close, escalate, regrade) and what the
customer does after closing (rate, reopen). Every change is a ComplaintEvent, every
push an outbox row keyed by that event, so nothing is sent twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config import Config
from models.complaints.classification import (
    MAX_URGENCY,
    URGENCY_LABELS,
    category_label,
    priority_label,
    priority_of,
)
from models.complaints.deadlines import compute_deadlines
from models.complaints.people import (
    assignee_and_managers,
    assignee_of,
    customer_actor,
    default_assignee,
    event_key,
    push_to_customer,
    record,
    require_active,
    require_handler,
    require_manager,
    staff_actor,
)
from models.complaints.tables import Complaint, ComplaintError, ComplaintEvent
from models.complaints.text import (
    N_ASSIGNED,
    N_CLOSED,
    N_ESCALATED,
    N_LOW_RATING,
    N_REGRADED,
    N_REOPENED,
    N_REPLY,
    ROLE_FOR_CUSTOMER,
    fmt_time,
)
from models.customers import Customer
from models.enums import ComplaintStatus, Grade, Role, Severity
from models.staff import Staff
from models.staff_push import push_to_staff

# --- what staff do --------------------------------------------------------------------


async def assign(
    c: Complaint,
    staff: Staff,
    actor: str,
    cfg: Config,
    customer: Customer | None = None,
    reason: str = "",
    tell: bool = True,
) -> ComplaintEvent:
    """Give the ticket to ``staff`` and tell them at once (unless ``tell`` is False:
    they are the one who just wrote it down)."""
    customer = customer or await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    c.assignee = staff
    await c.save(update_fields=["assignee_id", "updated_at"])
    event = await record(c, actor, "assigned", staff.name + (f"：{reason}" if reason else ""))
    if not tell:
        return event
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
    await push_to_staff(staff, text, event_key(c, event, f"staff:{staff.id}"), cfg)
    return event


async def reassign(c: Complaint, by: Staff, to: Staff, cfg: Config) -> ComplaintEvent:
    require_manager(by)
    require_active(c)
    if c.assignee_id == to.id:  # type: ignore[attr-defined]
        raise ComplaintError("no_change")
    return await assign(c, to, staff_actor(by), cfg, reason=f"由 {by.name} 指派")


async def reply(
    c: Complaint, by: Staff, text: str, cfg: Config, now: datetime | None = None
) -> ComplaintEvent:
    """Send ``text`` to the customer; the first one stops the first-reply clock."""
    require_handler(by, c)
    require_active(c)
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
        event_key(c, event, "customer"),
    )
    return event


@dataclass(frozen=True)
class Closing:
    event: ComplaintEvent
    customer: Customer
    # The result and the request to rate it were queued for the customer: the chat
    # side now waits for their 1-5 (handlers.complaints_common.await_rating).
    rating_requested: bool


async def close(
    c: Complaint, by: Staff, resolution: str, cfg: Config, now: datetime | None = None
) -> Closing:
    """Resolve and close: the customer gets the result and a request to rate it."""
    require_handler(by, c)
    require_active(c)
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
    asked = await push_to_customer(c, customer, text, event_key(c, event, "customer"))
    return Closing(event, customer, rating_requested=asked)


async def escalate(
    c: Complaint, by: Staff, reason: str, cfg: Config, now: datetime | None = None
) -> ComplaintEvent:
    """A manager raises the ticket: most urgent, the assignee and other managers told."""
    require_manager(by)
    require_active(c)
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
    for person in await assignee_and_managers(c):
        if person.id != by.id:
            await push_to_staff(person, text, event_key(c, event, f"staff:{person.id}"), cfg)
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
    require_manager(by)
    require_active(c)
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
    assignee = await assignee_of(c)
    if assignee is not None and assignee.id != by.id:
        text = N_REGRADED.format(no=c.ticket_no, change=change, reason=reason)
        await push_to_staff(assignee, text, event_key(c, event, f"staff:{assignee.id}"), cfg)
    return event


# --- what customers do after closing -------------------------------------------------------


def within_reopen_window(c: Complaint, cfg: Config, now: datetime) -> bool:
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
    if not within_reopen_window(c, cfg, now):
        raise ComplaintError("too_late")
    c.rating, c.rating_comment, c.rated_at = score, comment[:500], now
    await c.save()
    event = await record(
        c, customer_actor(customer), "rated", f"{score} 分" + (f"：{comment}" if comment else "")
    )
    if score <= 2:
        text = N_LOW_RATING.format(no=c.ticket_no, score=score, comment=comment)
        for person in await assignee_and_managers(c):
            await push_to_staff(person, text, event_key(c, event, f"staff:{person.id}"), cfg)
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
    if not within_reopen_window(c, cfg, now):
        raise ComplaintError("too_late")
    c.status = ComplaintStatus.REOPENED
    c.reopened_count += 1
    c.reopened_at = now
    c.resolved_at = None
    c.rating, c.rating_comment, c.rated_at = None, "", None
    _, c.resolve_due = compute_deadlines(now, c.severity, cfg.complaints, cfg.tz)
    await c.save()
    event = await record(c, customer_actor(customer), "reopened", reason or "客户表示问题未解决")
    assignee = await assignee_of(c) or await default_assignee(customer)
    if assignee is not None:
        if assignee.id != c.assignee_id:  # type: ignore[attr-defined]
            c.assignee = assignee
            await c.save(update_fields=["assignee_id", "updated_at"])
        text = N_REOPENED.format(
            no=c.ticket_no, count=c.reopened_count, resolve_due=fmt_time(c.resolve_due, cfg.tz)
        )
        await push_to_staff(assignee, text, event_key(c, event, f"staff:{assignee.id}"), cfg)
    return event


async def latest_closed(customer: Customer) -> Complaint | None:
    return (
        await Complaint.filter(customer=customer, status=ComplaintStatus.CLOSED)
        .order_by("-resolved_at", "-id")
        .first()
    )
