"""Follow-ups (回访) a rep logs, with the next revisit date that drives reminders;
and the rules on them: logging one, amending it, and what is due today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from models.atomic import atomic
from models.customers import Customer
from models.deferred import id_of, save_later, update_later
from models.enums import FollowUpMethod
from models.rawsql import newest_of_customer
from models.sealed import SealedTextField, seal_text
from models.staff import Staff
from models.undo import FOLLOWUP, FOLLOWUP_EDIT, remember


class FollowUp(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="followups", on_delete=fields.CASCADE
    )
    rep: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="followups", null=True, on_delete=fields.SET_NULL
    )
    method = fields.CharEnumField(FollowUpMethod, max_length=16)
    content = SealedTextField()
    feedback = SealedTextField(default="")
    next_revisit_on = fields.DateField(null=True)
    # Local time of day of the revisit ("HH:MM"), when the rep said one: prompted then.
    # Text, not a time column: compared as text, and SQLite has no time type.
    next_revisit_time = fields.CharField(max_length=5, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "followup"
        indexes = (
            ("rep_id", "next_revisit_on"),
            # A customer's latest follow-up is the first entry of this index (created_at,
            # then id breaks ties): the planned revisit that counts.
            ("customer_id", "created_at", "id"),
            ("created_at",),  # the digest's follow-ups of a day
        )


# --- rules -------------------------------------------------------------------------------


class RevisitInPast(ValueError):
    """A next revisit before today: nobody can visit yesterday."""


@dataclass(frozen=True)
class Logged:
    followup: FollowUp
    # The customer had no owner and the rep who followed up now owns them.
    claimed: bool
    # No date was given and a revisit planned earlier (after today) stays planned.
    kept_revisit: date | None = None


async def log_followup(
    customer: Customer,
    rep: Staff,
    method: FollowUpMethod,
    content: str,
    feedback: str,
    next_revisit_on: date | None,
    today: date,
    next_revisit_time: time | None = None,
) -> Logged:
    """Record a follow-up; it is the customer's latest contact, and an unowned
    customer becomes the rep's. Raises :class:`RevisitInPast` before writing anything.

    Without a date the revisit already planned for a later day is carried over (the
    plan lives on the latest follow-up): an unrelated call must not erase it. A plan
    for today or earlier is what this follow-up fulfils, so it ends here."""
    if next_revisit_on is not None and next_revisit_on < today:
        raise RevisitInPast(next_revisit_on.isoformat())
    claimed = False
    kept: date | None = None
    kept_time = next_revisit_time.strftime("%H:%M") if next_revisit_time else None
    if next_revisit_on is None:
        latest = await _latest(customer.id)
        if latest is not None and latest.next_revisit_on and latest.next_revisit_on > today:
            next_revisit_on = kept = latest.next_revisit_on
            kept_time = latest.next_revisit_time
    previous_contact = customer.last_contact_at
    async with atomic():
        followup = FollowUp(
            customer=customer,
            rep=rep,
            method=method,
            content=content,
            feedback=feedback,
            next_revisit_on=next_revisit_on,
            next_revisit_time=kept_time,
        )
        # With the message's bookkeeping: on PostgreSQL all of it is one statement.
        await save_later(followup)
        if customer.owner_id is None:  # type: ignore[attr-defined]
            # Only if still unowned in the database: of two reps claiming at once, the
            # one whose update matches a row wins, and the other is not told otherwise.
            claimed = bool(
                await Customer.filter(id=customer.id, owner_id=None).update(owner_id=rep.id)
            )
            await customer.refresh_from_db(fields=["owner_id"])
        customer.last_contact_at = followup.created_at
        # Nothing in the message reads it back: written with its undo step and audit.
        await update_later(customer, "last_contact_at", "updated_at")
        before = {
            "customer_id": customer.id,
            "last_contact_at": previous_contact,
            "claimed": claimed,
        }
        await remember(
            rep, FOLLOWUP, id_of(followup), before, f"跟进 {customer.name}（{method.label}）"
        )
    return Logged(followup, claimed, kept)


# How long after logging a follow-up its author may still amend it with 「改 …」.
AMEND_WINDOW = timedelta(hours=24)
AMENDABLE = ("next_revisit_on", "method", "content", "feedback")
# The amendable fields whose text may hold a phone number (SealedTextField).
SEALED_TEXT = {"content", "feedback"}


async def latest_own_followup(rep: Staff, now: datetime | None = None) -> FollowUp | None:
    """The rep's most recent follow-up, if still recent enough to amend."""
    now = now or datetime.now(UTC)
    return (
        await FollowUp.filter(rep=rep, created_at__gte=now - AMEND_WINDOW)
        .order_by("-created_at", "-id")
        .prefetch_related("customer")
        .first()
    )


async def amend_followup(
    followup: FollowUp,
    field: str,
    value: Any,
    today: date,
    by: Staff,
    at: time | None = None,
) -> None:
    """Change one field of the rep's follow-up (the revisit with its time of day,
    ``at``); 撤销 then takes back this change, not the follow-up."""
    if field not in AMENDABLE:
        raise ValueError(field)
    if field == "next_revisit_on" and value is not None and value < today:
        raise RevisitInPast(value.isoformat())
    changes: dict[str, Any] = {field: value}
    if field == "next_revisit_on":
        changes["next_revisit_time"] = at.strftime("%H:%M") if at and value else None
    # The undo entry is plain JSON: phone numbers in the text stay sealed there too.
    before = {name: getattr(followup, name) for name in changes}
    for name in SEALED_TEXT & before.keys():
        before[name] = seal_text(before[name])
    for name, new in changes.items():
        setattr(followup, name, new)
    await followup.save(update_fields=list(changes))
    await remember(by, FOLLOWUP_EDIT, followup.id, before, f"修改跟进 {followup.customer.name}")


async def plan_revisit(
    customer: Customer, rep: Staff, day: date, at: time | None, words: str, today: date
) -> FollowUp:
    """A contact planned, not made (「明天要去拜访李娜」): the customer's revisit is set to
    ``day`` and nothing counts as a contact (no last contact, no claiming). The plan
    lives on the latest follow-up, as a revisit always does; a customer with none gets
    one that says it is a plan. 撤销 takes it back either way."""
    if day < today:
        raise RevisitInPast(day.isoformat())
    latest = await _latest(customer.id)
    if latest is not None:
        latest.customer = customer
        await amend_followup(latest, "next_revisit_on", day, today, rep, at)
        return latest
    async with atomic():
        planned = FollowUp(
            customer=customer,
            rep=rep,
            method=FollowUpMethod.PLAN,
            content=PLANNED.format(words=words),
            feedback="",
            next_revisit_on=day,
            next_revisit_time=at.strftime("%H:%M") if at else None,
        )
        await save_later(planned)
        before = {
            "customer_id": customer.id,
            "last_contact_at": customer.last_contact_at,
            "claimed": False,
        }
        await remember(rep, FOLLOWUP, id_of(planned), before, f"计划 {customer.name}")
    return planned


# How a plan reads in the card's history, where a revisit has to live on a follow-up.
PLANNED = "（计划）{words}"


@dataclass(frozen=True)
class DueRevisit:
    followup: FollowUp
    customer: Customer
    days_overdue: int


async def latest_followup_ids(customer_ids: set[int]) -> dict[int, int]:
    """customer id → id of their latest follow-up (the one whose plan counts), in one
    query."""
    rows = await FollowUp.filter(customer_id__in=customer_ids).values_list(
        "customer_id", "id", "created_at"
    )
    newest: dict[int, tuple[datetime, int]] = {}
    for customer_id, followup_id, created in rows:
        if customer_id not in newest or (created, followup_id) > newest[customer_id]:
            newest[customer_id] = (created, followup_id)
    return {cid: fid for cid, (_created, fid) in newest.items()}


async def due_revisits(rep_id: int, today: date) -> list[DueRevisit]:
    """The rep's revisits due today or overdue, most overdue first."""
    return (await due_revisits_by_rep(today, rep_id)).get(rep_id, [])


async def due_revisits_by_rep(
    today: date, rep_id: int | None = None
) -> dict[int, list[DueRevisit]]:
    """Revisits due today or overdue, by the rep who is to make them (every rep, or
    one), most overdue first — in two queries, whatever the number of reps.

    Only the revisit planned by a customer's *latest* follow-up counts: once someone
    followed up again, the older plan is done. It is the customer's owner's to make
    (so it moves with the customer, 「转移」); the planner's for a customer nobody owns.
    """
    query = FollowUp.filter(next_revisit_on__lte=today, rep_id__isnull=False)
    if rep_id is not None:
        query = query.filter(
            Q(customer__owner_id=rep_id) | Q(customer__owner_id__isnull=True, rep_id=rep_id)
        )
    planned = await query.order_by("next_revisit_on", "id").prefetch_related("customer")
    if not planned:
        return {}
    latest = await latest_followup_ids({f.customer_id for f in planned})  # type: ignore[attr-defined]
    due: dict[int, list[DueRevisit]] = {}
    for f in planned:
        if latest.get(f.customer_id) != f.id:  # type: ignore[attr-defined]
            continue
        assert f.next_revisit_on is not None
        item = DueRevisit(f, f.customer, (today - f.next_revisit_on).days)
        due.setdefault(revisit_owner(f), []).append(item)
    return due


def revisit_owner(f: FollowUp) -> int:
    """Who is to make the revisit ``f`` plans: the customer's owner, else its planner."""
    return f.customer.owner_id or f.rep_id  # type: ignore[attr-defined,no-any-return]


async def recent_followups(
    customer_id: int, limit: int = 3, known: Staff | None = None
) -> list[FollowUp]:
    """The customer's latest follow-ups, newest first, with their rep loaded — without
    a query when every one is by ``known`` (a rep's own customer, as a rule)."""
    found = await newest_of_customer(FollowUp, customer_id, limit)
    if known is not None and all(f.rep_id == known.id for f in found):  # type: ignore[attr-defined]
        for f in found:
            f.rep = known
    elif found:
        await FollowUp.fetch_for_list(found, "rep")
    return found


async def _latest(customer_id: int) -> FollowUp | None:
    return await FollowUp.filter(customer_id=customer_id).order_by("-created_at", "-id").first()
