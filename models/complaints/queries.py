"""Finding tickets: by number, a customer's own, a staff member's open ones, the timeline."""

from __future__ import annotations

from models.complaints.deadlines import next_due
from models.complaints.people import is_manager
from models.complaints.tables import ACTIVE, Complaint, ComplaintEvent
from models.customers import Customer
from models.staff import Staff


async def get_ticket(number: str) -> Complaint | None:
    return await Complaint.get_or_none(ticket_no=number).prefetch_related("customer", "assignee")


async def active_tickets_ending(digits: str, limit: int = 5) -> list[Complaint]:
    """Tickets still being handled whose number ends with ``digits``: staff type the
    last digits (「0001」 for TS202612020001) on a phone. Newest first."""
    return (
        await Complaint.filter(ticket_no__endswith=digits, status__in=ACTIVE)
        .order_by("-created_at")
        .limit(limit)
        .prefetch_related("customer", "assignee")
    )


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
