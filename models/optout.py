"""A customer's wish not to be contacted by campaigns (and surveys): 「退订」 from the
customer, or 「免打扰 张三」 from a rep or manager on their behalf. The flag is
``Customer.opted_out_at``; segments never include a flagged customer."""

from __future__ import annotations

from datetime import UTC, datetime

from models.customers import Customer


async def set_opt_out(customer: Customer, opted_out: bool, now: datetime | None = None) -> bool:
    """Flag or clear; False when the customer was already so."""
    if (customer.opted_out_at is not None) == opted_out:
        return False
    customer.opted_out_at = (now or datetime.now(UTC)) if opted_out else None
    await customer.save(update_fields=["opted_out_at", "updated_at"])
    return True
