"""Who acts and who is told: actors on the timeline, the default assignee, managers,
the rights checks, and the pushes to the customer."""

from __future__ import annotations

from models.complaints.tables import (
    ACTIVE,
    MANAGING_ROLES,
    Complaint,
    ComplaintError,
    ComplaintEvent,
)
from models.customers import Customer
from models.enums import Role
from models.outbox import enqueue
from models.staff import Staff
from models.staff_push import text_payload


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


def event_key(c: Complaint, event: ComplaintEvent, to: str) -> str:
    return f"complaint:{c.ticket_no}:event:{event.id}:{to}"


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


async def assignee_of(c: Complaint) -> Staff | None:
    assignee_id = c.assignee_id  # type: ignore[attr-defined]
    return await Staff.get_or_none(id=assignee_id, active=True) if assignee_id else None


async def assignee_and_managers(c: Complaint) -> list[Staff]:
    people = await managers()
    assignee = await assignee_of(c)
    if assignee is not None and all(p.id != assignee.id for p in people):
        people.insert(0, assignee)
    return people


def is_manager(staff: Staff) -> bool:
    return Role(staff.role) in MANAGING_ROLES


async def may_view(staff: Staff, c: Complaint) -> bool:
    if is_manager(staff) or c.assignee_id == staff.id:  # type: ignore[attr-defined]
        return True
    customer = await Customer.get(id=c.customer_id)  # type: ignore[attr-defined]
    return customer.owner_id == staff.id  # type: ignore[attr-defined]


def require_manager(staff: Staff) -> None:
    if not is_manager(staff):
        raise ComplaintError("forbidden")


def require_handler(staff: Staff, c: Complaint) -> None:
    """The assignee or a manager: a rep cannot act on another rep's ticket."""
    if not (is_manager(staff) or c.assignee_id == staff.id):  # type: ignore[attr-defined]
        raise ComplaintError("forbidden")


def require_active(c: Complaint) -> None:
    if c.status not in ACTIVE:
        raise ComplaintError("closed")
