"""Moving customers between reps (「转移 李明 王五」, 「转移 张三 王五」): the customers, their
planned revisits and open complaints go to the new rep, and each card keeps who owned
it before (``OwnerChange``)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.complaints import ACTIVE, Complaint
from models.customers import Customer
from models.followups import FollowUp, latest_followup_ids
from models.rawsql import newest_of_customer
from models.staff import Staff

# Customers are moved in slices, so a departing rep with a large book does not make
# one statement with tens of thousands of ids.
CHUNK = 500


class OwnerChange(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="owner_changes", on_delete=fields.CASCADE
    )
    from_staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    to_staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    by_staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "owner_change"
        indexes = (("customer_id", "created_at"),)


@dataclass(frozen=True)
class Transferred:
    customers: int
    revisits: int
    complaints: int


async def transfer(
    to: Staff, by: Staff, *, from_rep: Staff | None = None, customer: Customer | None = None
) -> Transferred:
    """Give ``to`` every customer of ``from_rep``, or the one ``customer``. Planned
    revisits follow the customer (they are the owner's to do) and open complaints
    assigned to the old owner go to the new one."""
    if customer is not None:
        ids = [customer.id]
        old_owner_of = {customer.id: customer.owner_id}  # type: ignore[attr-defined]
    else:
        assert from_rep is not None
        ids = list(
            await Customer.filter(owner_id=from_rep.id).order_by("id").values_list("id", flat=True)
        )
        old_owner_of = dict.fromkeys(ids, from_rep.id)
    revisits = complaints = 0
    async with in_transaction():
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            await Customer.filter(id__in=part).update(owner_id=to.id)
            await OwnerChange.bulk_create(
                [
                    OwnerChange(
                        customer_id=cid,
                        from_staff_id=old_owner_of[cid],
                        to_staff_id=to.id,
                        by_staff_id=by.id,
                    )
                    for cid in part
                ]
            )
            latest = await latest_followup_ids(set(part))
            revisits += await FollowUp.filter(
                id__in=list(latest.values()), next_revisit_on__isnull=False
            ).count()
            olds = {o for o in (old_owner_of[c] for c in part) if o is not None}
            if olds:
                complaints += await Complaint.filter(
                    customer_id__in=part, status__in=ACTIVE, assignee_id__in=olds
                ).update(assignee_id=to.id)
    return Transferred(len(ids), revisits, complaints)


async def previous_owners(customer_id: int, limit: int = 3) -> list[OwnerChange]:
    """The customer's latest changes of owner, newest first, with the staff loaded."""
    found = await newest_of_customer(OwnerChange, customer_id, limit)
    if found:
        await OwnerChange.fetch_for_list(found, "from_staff", "to_staff")
    return found
