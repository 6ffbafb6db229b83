"""Deals and transactions, moving through the sales pipeline stages; and the rules:
recording a closed deal and moving a deal along the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tortoise import fields
from tortoise.models import Model

from bot.parsing.amounts import format_amount, summed_amount
from models.customers import Customer
from models.enums import DealStage
from models.rawsql import fetch, placeholders, select
from models.staff import Staff
from models.undo import DEAL, deal_state, remember


class Deal(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="deals", on_delete=fields.CASCADE
    )
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="deals", null=True, on_delete=fields.SET_NULL
    )
    product = fields.CharField(max_length=128, default="")
    quantity = fields.IntField(default=1)
    amount = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    closed_on = fields.DateField(null=True)
    stage = fields.CharEnumField(DealStage, max_length=16, default=DealStage.NEEDS)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "deal"
        # (customer_id, stage): one customer's signed deals (the card, its grading reason).
        indexes = (("owner_id", "stage"), ("closed_on",), ("customer_id", "stage"))


class DealEvent(Model):
    """A deal entering a stage (opened, moved, signed): the digest's "stage moves" and a
    deal's history. ``from_stage`` is empty for a deal opened or recorded at once; a
    "move" to the stage a deal is already at is not recorded."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    deal: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Deal", related_name="events", on_delete=fields.CASCADE
    )
    staff: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    from_stage = fields.CharField(max_length=16, default="")
    to_stage = fields.CharEnumField(DealStage, max_length=16)
    amount = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "deal_event"
        indexes = (("created_at",),)


async def _event(deal: Deal, staff: Staff, old: DealStage | str | None) -> None:
    if old is not None and DealStage(old) == deal.stage:
        return  # an amount given to a deal already at 签约 is not a move
    await DealEvent.create(
        deal=deal,
        staff=staff,
        from_stage=str(old or ""),
        to_stage=deal.stage,
        amount=deal.amount,
    )


# --- rules -------------------------------------------------------------------------------

PIPELINE = tuple(DealStage)
# Before 签约 a deal is an opportunity still being worked on.
OPEN_STAGES = PIPELINE[: PIPELINE.index(DealStage.SIGNED)]


# The card's reads are fixed in shape: written once, not rebuilt by the ORM per message.
_OPEN_DEALS = (
    f'"customer_id" = ? AND "stage" IN ({placeholders(len(OPEN_STAGES))}) '
    'ORDER BY "updated_at" DESC, "id" DESC'
)
SIGNED_STAGES = (DealStage.SIGNED, DealStage.AFTER_SALES)
# SUM over the text SQLite keeps decimals as is numeric there too.
_SIGNED_TOTAL = (
    'SELECT COUNT("id") AS n, SUM("amount") AS total FROM "deal" '
    f'WHERE "customer_id" = ? AND "stage" IN ({placeholders(len(SIGNED_STAGES))})'
)


async def open_deals(customer_id: int) -> list[Deal]:
    return await select(Deal, _OPEN_DEALS, customer_id, *(s.value for s in OPEN_STAGES))


@dataclass(frozen=True)
class SignedTotal:
    count: int
    amount: Decimal


async def signed_total(customer_id: int) -> SignedTotal:
    (row,) = await fetch(_SIGNED_TOTAL, customer_id, *(s.value for s in SIGNED_STAGES))
    return SignedTotal(row["n"] or 0, summed_amount(row["total"]))


@dataclass(frozen=True)
class Closed:
    deal: Deal
    # True when an open opportunity was closed, False when a new deal was recorded (or
    # the amount given to a deal already moved to 签约 today).
    from_opportunity: bool


async def record_deal(
    customer: Customer,
    owner: Staff,
    amount: Decimal,
    product: str,
    quantity: int,
    today: date,
    separate: bool = False,
) -> Closed:
    """A signed deal. If the customer has exactly one open opportunity for the same
    product (or either names none), that opportunity is what was signed. With none,
    a deal moved to 签约 today without an amount (「阶段 张三 签约」 then 「成交 张三 5000」)
    is the one whose amount this is. ``separate``: a new deal, whatever is open."""

    def same_product(d: Deal) -> bool:
        return not product or not d.product or d.product == product

    candidates = [] if separate else [d for d in await open_deals(customer.id) if same_product(d)]
    opened = bool(candidates)
    if not candidates and not separate:
        unpriced = (
            await Deal.filter(
                customer_id=customer.id, stage=DealStage.SIGNED, amount=0, closed_on=today
            )
            .order_by("-updated_at", "-id")
            .first()
        )
        if unpriced is not None and same_product(unpriced):
            candidates = [unpriced]
    fields = {
        "amount": amount,
        "quantity": quantity,
        "stage": DealStage.SIGNED,
        "closed_on": today,
    }
    label = f"成交 {customer.name} {format_amount(amount)}"
    if len(candidates) == 1:
        deal = candidates[0]
        old = deal.stage
        await remember(owner, DEAL, deal.id, {"created": False, **deal_state(deal)}, label)
        deal.update_from_dict({**fields, "product": product or deal.product})
        await deal.save()
        await _event(deal, owner, old)
        return Closed(deal, opened)
    deal = await Deal.create(customer=customer, owner=owner, product=product, **fields)
    await remember(owner, DEAL, deal.id, {"created": True}, label)
    await _event(deal, owner, None)
    return Closed(deal, False)


@dataclass(frozen=True)
class StageMove:
    deal: Deal
    old: DealStage | None  # None: a new opportunity was opened at this stage


# The same deal again within this long is most likely sent twice: ask first.
REPEAT_WINDOW = timedelta(minutes=30)


async def recent_same_deal(
    customer: Customer, amount: Decimal, product: str, now: datetime | None = None
) -> Deal | None:
    """A deal signed for the customer with the same amount and product moments ago."""
    now = now or datetime.now(UTC)
    return (
        await Deal.filter(
            customer_id=customer.id,
            stage=DealStage.SIGNED,
            amount=amount,
            product=product,
            updated_at__gte=now - REPEAT_WINDOW,
        )
        .order_by("-updated_at")
        .first()
    )


class NeedsDealName(ValueError):
    """No open deal to move, and no name to open one under: ask, do not invent one."""


async def move_stage(
    customer: Customer, owner: Staff, stage: DealStage, today: date, name: str = ""
) -> StageMove:
    """Move the customer's most recently active open deal to ``stage``; with none open,
    open an opportunity called ``name`` at that stage (:class:`NeedsDealName` without
    one). Reaching 签约 sets the closing date."""
    current = await open_deals(customer.id)
    if not current:
        # 「阶段 张三 售后」 after signing: the latest signed deal moves on.
        if stage is DealStage.AFTER_SALES:
            signed = (
                await Deal.filter(customer_id=customer.id, stage=DealStage.SIGNED)
                .order_by("-updated_at", "-id")
                .first()
            )
            if signed is not None:
                current = [signed]
    if not current:
        if not name.strip():
            raise NeedsDealName(customer.name)
        deal = await Deal.create(
            customer=customer,
            owner=owner,
            product=name.strip()[:128],
            stage=stage,
            closed_on=today if stage in (DealStage.SIGNED, DealStage.AFTER_SALES) else None,
        )
        await remember(
            owner, DEAL, deal.id, {"created": True}, f"阶段 {customer.name} → {stage.label}"
        )
        await _event(deal, owner, None)
        return StageMove(deal, None)
    deal = current[0]
    old = DealStage(deal.stage)
    label = f"阶段 {customer.name} {old.label} → {stage.label}"
    await remember(owner, DEAL, deal.id, {"created": False, **deal_state(deal)}, label)
    deal.stage = stage
    if stage in OPEN_STAGES:
        deal.closed_on = None
    elif deal.closed_on is None:
        deal.closed_on = today
    await deal.save()
    await _event(deal, owner, old)
    return StageMove(deal, old)


# A signed deal may be corrected by its author for this long (「改 成交 …」).
CORRECT_WINDOW = timedelta(minutes=30)


async def latest_own_deal(owner: Staff, now: datetime | None = None) -> Deal | None:
    """The deal the staff member signed last, if recent enough to correct."""
    now = now or datetime.now(UTC)
    return (
        await Deal.filter(
            owner_id=owner.id, stage=DealStage.SIGNED, updated_at__gte=now - CORRECT_WINDOW
        )
        .order_by("-updated_at", "-id")
        .first()
        .prefetch_related("customer")
    )


async def correct_deal(
    deal: Deal, by: Staff, amount: Decimal, product: str, quantity: int | None
) -> Deal:
    """Change a signed deal's amount (and product, quantity when given); 撤销 undoes it."""
    label = f"更正成交 {deal.customer.name} {format_amount(amount)}"
    await remember(by, DEAL, deal.id, {"created": False, **deal_state(deal)}, label)
    deal.amount = amount
    if product:
        deal.product = product[:128]
    if quantity is not None:
        deal.quantity = quantity
    await deal.save(update_fields=["amount", "product", "quantity", "updated_at"])
    return deal
