"""Grading: every customer's grade (VIP / 普通 / 潜在), lifecycle (潜在 / 活跃 / 沉默)
and 大客户 tier, recomputed nightly from signed deals and the last contact.

The rules (thresholds in ``[grading]``, "12 months" = the local day a year ago,
exclusive, to today, inclusive):

- grade: VIP with at least ``vip_amount`` or ``vip_deals`` signed in the last 12
  months; 普通 for any other customer who has ever bought (a lapsed buyer is not a
  prospect — their lifecycle says 沉默); 潜在 for one who never bought.
- tier: the highest of 战略 / 重要 / 普通大客户 whose amount or deal count (12
  months) is reached, else none. A threshold of 0 turns that criterion off.
- lifecycle: 潜在 while the customer never bought; else 活跃 when the latest
  purchase or contact is at most ``active_days`` days ago, 沉默 when it is at least
  ``dormant_days`` days ago, and in between the customer keeps its state (an active
  customer is not silent yet; a silent one must be contacted or buy to be active).
- pins: a grade or tier a manager set in chat (``grade_pinned`` / ``tier_pinned``)
  is left as it is; unpinning computes the automatic value at once.

The recompute is set-based: three reads (deals and follow-ups aggregated per
customer with GROUP BY, then the customers) and, on PostgreSQL, one UPDATE per
changed column and value (``id = ANY(array)``) — at most ten, whatever the number of
customers; SQLite updates in chunks of ``SQLITE_CHUNK`` ids. The updates and the
pushes to reps (``models.grading_text``) commit together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bot.config import Config, GradingConfig
from bot.parsing.amounts import summed_amount
from models.customers import Customer
from models.deals import SIGNED_STAGES
from models.enums import Grade, Lifecycle, Tier
from models.rawsql import fetch, placeholders, together

GRADE_RANK = {Grade.POTENTIAL: 0, Grade.NORMAL: 1, Grade.VIP: 2}
TIER_RANK: dict[Tier | None, int] = {None: 0, Tier.MAJOR: 1, Tier.KEY: 2, Tier.STRATEGIC: 3}
# SQLite's statements take at most 32 766 parameters; PostgreSQL gets one array.
SQLITE_CHUNK = 5000


@dataclass(frozen=True)
class Figures:
    """What a customer's standing is computed from."""

    amount: Decimal = Decimal(0)  # signed in the last 12 months
    deals: int = 0  # signed deals in the last 12 months
    bought: bool = False  # any signed deal up to today
    last_purchase: date | None = None
    last_contact: date | None = None  # local day of the latest follow-up or contact


@dataclass(frozen=True)
class Standing:
    grade: Grade
    lifecycle: Lifecycle
    tier: Tier | None


@dataclass(frozen=True)
class Change:
    customer_id: int
    name: str
    owner_id: int | None
    old: Standing
    new: Standing
    figures: Figures


@dataclass
class GradingSummary:
    today: date
    customers: int = 0
    changes: list[Change] = field(default_factory=list)
    queued: int = 0
    already_queued: int = 0
    dry_run: bool = False
    # Dry run: (recipient name, text) of each push that would be queued.
    previews: list[tuple[str, str]] = field(default_factory=list)

    def count(self, what: str) -> int:
        return sum(getattr(c.old, what) != getattr(c.new, what) for c in self.changes)

    def __str__(self) -> str:
        head = f"grade {self.today}{' (dry run)' if self.dry_run else ''}: "
        text = (
            f"{head}{self.customers} customer(s), {len(self.changes)} changed "
            f"(grade {self.count('grade')}, lifecycle {self.count('lifecycle')}, "
            f"tier {self.count('tier')}), "
        )
        if self.dry_run:
            text += f"{len(self.previews)} push(es) would be queued"
            return "\n\n".join([text, *(f"--- {who} ---\n{body}" for who, body in self.previews)])
        return text + f"{self.queued} push(es) queued, {self.already_queued} already queued"


# --- rules ---------------------------------------------------------------------------------


def window_start(today: date) -> date:
    """The day a year before ``today``: deals closed after it count as the last 12 months."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def _reaches(f: Figures, amount: float, deals: int) -> bool:
    return (amount > 0 and f.amount >= Decimal(str(amount))) or (deals > 0 and f.deals >= deals)


def auto_grade(f: Figures, cfg: GradingConfig) -> Grade:
    if _reaches(f, cfg.vip_amount, cfg.vip_deals):
        return Grade.VIP
    return Grade.NORMAL if f.bought else Grade.POTENTIAL


def auto_tier(f: Figures, cfg: GradingConfig) -> Tier | None:
    for tier, amount, deals in (
        (Tier.STRATEGIC, cfg.strategic_amount, cfg.strategic_deals),
        (Tier.KEY, cfg.key_amount, cfg.key_deals),
        (Tier.MAJOR, cfg.major_amount, cfg.major_deals),
    ):
        if _reaches(f, amount, deals):
            return tier
    return None


def last_activity(f: Figures) -> date | None:
    known = [d for d in (f.last_purchase, f.last_contact) if d is not None]
    return max(known) if known else None


def auto_lifecycle(
    f: Figures, current: Lifecycle, today: date, cfg: GradingConfig, since: date
) -> Lifecycle:
    """``since``: the day to count from when nothing is known (the customer's creation)."""
    if not f.bought:
        return Lifecycle.POTENTIAL
    days = (today - (last_activity(f) or since)).days
    if days <= cfg.active_days:
        return Lifecycle.ACTIVE
    if days >= cfg.dormant_days:
        return Lifecycle.DORMANT
    return current if current is not Lifecycle.POTENTIAL else Lifecycle.ACTIVE


@dataclass(frozen=True)
class _Row:
    id: int
    name: str
    owner_id: int | None
    standing: Standing
    grade_pinned: bool
    tier_pinned: bool
    created: date


def standing_for(row: _Row, f: Figures, today: date, cfg: GradingConfig) -> Standing:
    """The customer's standing after a recompute: pinned values stay."""
    old = row.standing
    return Standing(
        grade=old.grade if row.grade_pinned else auto_grade(f, cfg),
        lifecycle=auto_lifecycle(f, old.lifecycle, today, cfg, row.created),
        tier=old.tier if row.tier_pinned else auto_tier(f, cfg),
    )


# --- reading, set-based ------------------------------------------------------------------


# The two aggregates are written out: the card asks them on every look, and the ORM
# would build the same statement anew each time.
@cache
def _purchases_sql(ids: int | None) -> str:
    return (
        'SELECT "customer_id", SUM(CASE WHEN "closed_on" > ? THEN "amount" END) AS amount, '
        'COUNT(CASE WHEN "closed_on" > ? THEN "id" END) AS n, MAX("closed_on") AS last '
        'FROM "deal" WHERE ("closed_on" <= ? OR "closed_on" IS NULL) '
        f'AND "stage" IN ({placeholders(len(SIGNED_STAGES))})'
        + ("" if ids is None else f' AND "customer_id" IN ({placeholders(ids)})')
        + ' GROUP BY "customer_id"'
    )


@cache
def _contacts_sql(ids: int | None) -> str:
    return (
        'SELECT "customer_id", MAX("created_at") AS last FROM "followup" WHERE "created_at" <= ?'
        " AND \"method\" <> 'plan'"  # a plan is no contact (FollowUpMethod.PLAN)
        + ("" if ids is None else f' AND "customer_id" IN ({placeholders(ids)})')
        + ' GROUP BY "customer_id"'
    )


async def _purchases(today: date, ids: list[int] | None) -> dict[int, tuple[Decimal, int, Any]]:
    """customer id → (amount and deal count in the last 12 months, last closing day)."""
    start = window_start(today)
    sql = _purchases_sql(None if ids is None else len(ids))
    stages = (s.value for s in SIGNED_STAGES)
    rows = await fetch(sql, start, start, today, *stages, *(ids or ()))
    return {r["customer_id"]: (summed_amount(r["amount"]), r["n"] or 0, r["last"]) for r in rows}


async def _contacts(at: datetime, ids: list[int] | None) -> dict[int, datetime]:
    """customer id → their latest follow-up up to ``at``."""
    sql = _contacts_sql(None if ids is None else len(ids))
    rows = await fetch(sql, at, *(ids or ()))
    return {r["customer_id"]: _aware(r["last"]) for r in rows if r["last"] is not None}


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands MAX() of a timestamp back as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date()


_ROW = (
    "id", "name", "owner_id", "grade", "lifecycle", "tier",
    "grade_pinned", "tier_pinned", "last_contact_at", "created_at",
)  # fmt: skip


async def gather(
    at: datetime, tz: ZoneInfo, ids: list[int] | None = None, customer: Customer | None = None
) -> tuple[list[_Row], dict[int, Figures]]:
    """The customers (all, or ``ids``) and their figures: three statements; two for
    ``customer``, a row just read."""
    if customer is not None:
        ids = [customer.id]
    today = at.astimezone(tz).date()
    purchases, contacts = await together(_purchases(today, ids), _contacts(at, ids))
    if customer is not None:
        values: list[Any] = [tuple(getattr(customer, f) for f in _ROW)]
    else:
        query = Customer.all() if ids is None else Customer.filter(id__in=ids)
        values = list(await query.values_list(*_ROW))
    rows: list[_Row] = []
    figures: dict[int, Figures] = {}
    for cid, name, owner_id, grade, lifecycle, tier, gp, tp, contact_at, created in values:
        rows.append(
            _Row(
                cid,
                name,
                owner_id,
                Standing(Grade(grade), Lifecycle(lifecycle), Tier(tier) if tier else None),
                bool(gp),
                bool(tp),
                _aware(created).astimezone(tz).date(),
            )
        )
        moments = [m for m in (contacts.get(cid), contact_at and _aware(contact_at)) if m]
        moments = [m for m in moments if m <= at]
        amount, n, last = purchases.get(cid, (Decimal(0), 0, None))
        figures[cid] = Figures(
            amount=amount,
            deals=n,
            bought=cid in purchases,
            last_purchase=_day(last),
            last_contact=max(moments).astimezone(tz).date() if moments else None,
        )
    return rows, figures


async def figures_of(customer_id: int, at: datetime, tz: ZoneInfo) -> Figures:
    _rows, figures = await gather(at, tz, [customer_id])
    return figures.get(customer_id, Figures())


# --- writing -------------------------------------------------------------------------------

_GUARD = {"grade": "grade_pinned", "tier": "tier_pinned"}


def _groups(changes: Iterable[Change]) -> dict[tuple[str, Any], list[int]]:
    """(column, new value) → ids of the customers that get it."""
    groups: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for c in changes:
        for column in ("grade", "lifecycle", "tier"):
            new = getattr(c.new, column)
            if new != getattr(c.old, column):
                groups[(column, None if new is None else str(new))].append(c.customer_id)
    return groups


async def _apply(conn: BaseDBAsyncClient, changes: list[Change], at: datetime) -> None:
    """One UPDATE per (column, value) on PostgreSQL; chunks of ids on SQLite. A pin set
    meanwhile wins: the update skips pinned rows."""
    postgres = conn.capabilities.dialect == "postgres"
    for (column, value), ids in sorted(_groups(changes).items(), key=str):
        guard = _GUARD.get(column)
        if postgres:
            sql = (
                f'UPDATE "customer" SET "{column}" = $1, "updated_at" = $2 '
                'WHERE "id" = ANY($3::int[])'
            ) + (f' AND NOT "{guard}"' if guard else "")
            await conn.execute_query(sql, [value, at, ids])
            continue
        for start in range(0, len(ids), SQLITE_CHUNK):
            query = Customer.filter(id__in=ids[start : start + SQLITE_CHUNK])
            if guard:
                query = query.filter(**{guard: False})
            await query.using_db(conn).update(**{column: value, "updated_at": at})


async def recompute(
    at: datetime,
    cfg: Config,
    *,
    dry_run: bool = False,
    customer_ids: list[int] | None = None,
    notify: bool = True,
) -> GradingSummary:
    """Recompute grade, lifecycle and tier of every customer (or ``customer_ids``) as
    of ``at``; store the changes and tell each owner once (unless ``dry_run``)."""
    from models.grading_text import notify_changes, preview_changes

    today = at.astimezone(cfg.tz).date()
    rows, figures = await gather(at, cfg.tz, customer_ids)
    summary = GradingSummary(today, customers=len(rows), dry_run=dry_run)
    for row in rows:
        new = standing_for(row, figures[row.id], today, cfg.grading)
        if new != row.standing:
            summary.changes.append(
                Change(row.id, row.name, row.owner_id, row.standing, new, figures[row.id])
            )
    if dry_run:
        summary.previews = await preview_changes(summary.changes, at, cfg)
        return summary
    async with in_transaction() as conn:
        await _apply(conn, summary.changes, at)
        if notify and summary.changes:
            summary.queued, summary.already_queued = await notify_changes(summary.changes, at, cfg)
    return summary


# --- pins ----------------------------------------------------------------------------------


async def pin(
    customer: Customer, grade: Grade | None = None, tier: Tier | None = None, set_tier: bool = False
) -> None:
    """A manager's grade (``grade``) and/or tier (``set_tier``; ``tier`` None = not a big
    customer): kept by every recompute until :func:`unpin`."""
    values: dict[str, Any] = {}
    if grade is not None:
        values |= {"grade": grade, "grade_pinned": True}
    if set_tier:
        values |= {"tier": tier, "tier_pinned": True}
    if values:
        await Customer.filter(id=customer.id).update(**values)
        await customer.refresh_from_db()


async def unpin(customer: Customer, at: datetime, cfg: Config) -> None:
    """Back to automatic grading: the automatic values apply at once (no push: the
    manager is told in chat)."""
    await Customer.filter(id=customer.id).update(grade_pinned=False, tier_pinned=False)
    await recompute(at, cfg, customer_ids=[customer.id], notify=False)
    await customer.refresh_from_db()


@dataclass(frozen=True)
class Assessment:
    """One customer's stored standing, the figures behind it, and what tonight's
    recompute would change (None: nothing)."""

    standing: Standing
    grade_pinned: bool
    tier_pinned: bool
    figures: Figures
    pending: Standing | None


async def assess(customer: Customer | int, at: datetime, cfg: Config) -> Assessment | None:
    """The card's view of one customer's grading: two aggregates, and the customer's
    row unless it was just read (a ``Customer``, not an id)."""
    if isinstance(customer, Customer):
        rows, figures = await gather(at, cfg.tz, customer=customer)
    else:
        rows, figures = await gather(at, cfg.tz, [customer])
    if not rows:
        return None
    row = rows[0]
    f = figures[row.id]
    new = standing_for(row, f, at.astimezone(cfg.tz).date(), cfg.grading)
    return Assessment(
        row.standing, row.grade_pinned, row.tier_pinned, f, new if new != row.standing else None
    )
