"""「撤销」: a rep takes back their last change — a follow-up, a deal, a stage move, a
birthday or contacts — within half an hour. Each change writes what it replaced (``UndoEntry``) in
the same transaction; undoing puts it back (or deletes what was created) and marks the
entry, so a second 撤销 goes one step further back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.deferred import Ref, insert_later
from models.staff import Staff

UNDO_WINDOW = timedelta(minutes=30)
FOLLOWUP, DEAL = "followup", "deal"
# A change to a follow-up (「改 回访 周五」): its fields as they were.
FOLLOWUP_EDIT = "followup_edit"
# A change of customer fields (birthday, contacts): ``before`` holds the old values.
CUSTOMER = "customer"
BIRTHDAY = CUSTOMER  # entries written before contacts were undoable say "birthday"
# Deal fields a 成交 or 阶段 may change, restored as they were.
DEAL_FIELDS = ("amount", "quantity", "stage", "closed_on", "product")
BIRTHDAY_FIELDS = ("birthday_month", "birthday_day", "birthday_year", "birthday_lunar")
BIRTHDAY_FIELDS += ("birthday_leap",)


class UndoEntry(Model):
    """What one change replaced, so its author can take it back."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)
    target_id = fields.IntField()
    before = fields.JSONField(default=dict)
    # What was done, as the rep will read it back: 「跟进 张三（电话）」.
    label = fields.CharField(max_length=128)
    undone_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "undo_entry"
        indexes = (("staff_id", "created_at"),)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value) if hasattr(value, "value") else value


async def remember(
    staff: Staff, kind: str, target_id: int | Ref, before: dict[str, Any], label: str
) -> None:
    # Read back only by a later 「撤销」: written with the message's other bookkeeping.
    await insert_later(
        UndoEntry,
        staff_id=staff.pk,
        kind=kind,
        target_id=target_id,
        before={k: _plain(v) for k, v in before.items()},
        label=label[:128],
    )


def deal_state(deal: Any) -> dict[str, Any]:
    return {name: getattr(deal, name) for name in DEAL_FIELDS}


class NothingToUndo(Exception):
    """No change of this staff member is recent enough to take back."""


@dataclass(frozen=True)
class Undone:
    label: str


async def undo_last(staff: Staff, now: datetime | None = None) -> Undone:
    """Take back the staff member's latest change of the last half hour."""
    now = now or datetime.now(UTC)
    entry = (
        await UndoEntry.filter(
            staff_id=staff.id, undone_at__isnull=True, created_at__gte=now - UNDO_WINDOW
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if entry is None:
        raise NothingToUndo()
    async with in_transaction():
        await _REVERT[entry.kind](entry)
        await UndoEntry.filter(id=entry.id).update(undone_at=now)
    return Undone(entry.label)


async def _revert_followup(entry: UndoEntry) -> None:
    from models.customers import Customer
    from models.followups import FollowUp

    before = entry.before
    await FollowUp.filter(id=entry.target_id).delete()
    last = before.get("last_contact_at")
    restore: dict[str, Any] = {"last_contact_at": datetime.fromisoformat(last) if last else None}
    if before.get("claimed"):
        restore["owner_id"] = None  # the follow-up had made the rep its owner
    await Customer.filter(id=before["customer_id"]).update(**restore)


async def _revert_followup_edit(entry: UndoEntry) -> None:
    from models.enums import FollowUpMethod
    from models.followups import SEALED_TEXT, FollowUp
    from models.sealed import open_text

    values = dict(entry.before)
    if values.get("next_revisit_on"):
        values["next_revisit_on"] = date.fromisoformat(values["next_revisit_on"])
    if "method" in values:
        values["method"] = FollowUpMethod(values["method"])
    for name in SEALED_TEXT & values.keys():
        values[name] = open_text(values[name])
    await FollowUp.filter(id=entry.target_id).update(**values)


async def _revert_deal(entry: UndoEntry) -> None:
    from models.deals import Deal, DealEvent

    before = entry.before
    if before.get("created"):
        await Deal.filter(id=entry.target_id).delete()
        return
    values = {k: before[k] for k in DEAL_FIELDS if k in before}
    if values.get("closed_on"):
        values["closed_on"] = date.fromisoformat(values["closed_on"])
    if "amount" in values:
        values["amount"] = Decimal(values["amount"])
    await Deal.filter(id=entry.target_id).update(**values)
    # The stage move this change recorded is taken back with it.
    await DealEvent.filter(deal_id=entry.target_id, created_at__gte=entry.created_at).delete()


async def _revert_customer(entry: UndoEntry) -> None:
    from models.customers import Customer

    await Customer.filter(id=entry.target_id).update(**entry.before)


_REVERT = {
    FOLLOWUP: _revert_followup,
    FOLLOWUP_EDIT: _revert_followup_edit,
    DEAL: _revert_deal,
    CUSTOMER: _revert_customer,
    "birthday": _revert_customer,
}
