"""The customer card: everything a viewer may see about one customer, gathered in one
place so chat, a future web page and jobs apply the same visibility rule.

A rep looking at another rep's customer gets the identity (name, company, grade,
大客户 tier, owner) and a masked phone — enough to avoid a duplicate or to call the colleague —
but no address, no history, no deals and no complaints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.config import Config
from bot.crypto import FieldCipher
from bot.parsing.birthdays import Birthday
from bot.parsing.phones import mask_phone
from models.complaints import Complaint
from models.customers import (
    Customer,
    address_of,
    birthday_of,
    phone_of,
    sees_full_card,
)
from models.deals import Deal, SignedTotal, open_deals, signed_total
from models.enums import ComplaintStatus
from models.followups import FollowUp, recent_followups
from models.grading import Assessment, assess
from models.rawsql import placeholders, select, together
from models.requests import CustomerRequest, open_requests
from models.staff import Staff
from models.surveys import Survey, latest_answer
from models.transfer import OwnerChange, previous_owners

OPEN_COMPLAINTS = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS, ComplaintStatus.REOPENED)
_OPEN_COMPLAINTS = (
    f'"customer_id" = ? AND "status" IN ({placeholders(len(OPEN_COMPLAINTS))}) '
    'ORDER BY "created_at" DESC'
)


@dataclass
class CustomerCard:
    customer: Customer
    full: bool
    owner_name: str | None
    phone: str | None  # masked unless ``full``
    birthday: Birthday | None
    next_birthday: date | None
    address: str | None = None
    followups: list[FollowUp] = field(default_factory=list)
    next_revisit: date | None = None
    deals: list[Deal] = field(default_factory=list)
    signed: SignedTotal | None = None
    complaints: list[Complaint] = field(default_factory=list)
    # Who owned the customer before (「转移」), newest first.
    owner_history: list[OwnerChange] = field(default_factory=list)
    # What the customer asked for lately (leads, service requests), newest first.
    requests: list[CustomerRequest] = field(default_factory=list)
    # The customer's latest answer to the after-sale satisfaction survey.
    survey: Survey | None = None
    # Grade and tier with the figures behind them (full card, when a config is given).
    grading: Assessment | None = None


async def customer_card(
    customer: Customer,
    viewer: Staff,
    cipher: FieldCipher,
    today: date,
    config: Config | None = None,
    now: datetime | None = None,
) -> CustomerCard:
    if customer.owner_id == viewer.id:  # type: ignore[attr-defined]
        owner_name: str | None = viewer.name  # a rep's own customer: no query for the owner
    else:
        await customer.fetch_related("owner")
        owner_name = customer.owner.name if customer.owner else None
    full = sees_full_card(viewer, customer)
    phone = phone_of(customer, cipher)
    birthday = birthday_of(customer)
    card = CustomerCard(
        customer=customer,
        full=full,
        owner_name=owner_name,
        phone=phone if full or phone is None else mask_phone(phone),
        birthday=birthday,
        next_birthday=birthday.next_solar(today) if birthday else None,
    )
    if not full:
        return card
    card.address = address_of(customer, cipher)
    grading = assess(customer, now or datetime.now(UTC), config) if config is not None else None
    # Nine reads, independent of each other: one statement on PostgreSQL.
    parts = await together(
        recent_followups(customer.id, known=viewer),
        open_deals(customer.id),
        signed_total(customer.id),
        select(Complaint, _OPEN_COMPLAINTS, customer.id, *(s.value for s in OPEN_COMPLAINTS)),
        previous_owners(customer.id, limit=2),
        open_requests(customer.id),
        latest_answer(customer.id),
        *([grading] if grading is not None else []),
    )
    (
        card.followups,
        card.deals,
        card.signed,
        card.complaints,
        card.owner_history,
        card.requests,
        card.survey,
    ) = parts[:7]
    card.grading = parts[7] if grading is not None else None
    # The revisit the latest follow-up planned: the first of the recent ones.
    card.next_revisit = card.followups[0].next_revisit_on if card.followups else None
    return card
