"""The managers' digest: the figures of a day (week, month) against the one before,
the rolling KPIs of the last 30 days, the team by rep, and the three things that need
a manager today — as data; ``models.digest_text`` writes it, ``models.digest_chart``
draws it.

Built set-based with a fixed number of statements whatever the size of the book
(about a dozen: aggregates with conditional counts, one window-function query for
overdue revisits). State figures that cannot be recomputed for a past day (retention,
silent VIPs, overdue revisits) are kept in ``KpiSnapshot`` when a digest is built for
today, and compared with the snapshot of the day or week before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from bot.config import Config
from models.campaigns.report import CampaignReport, reports, running_campaigns
from models.complaints import Complaint, ComplaintKpis, complaint_kpis
from models.customers import Customer
from models.deals import Deal, DealEvent
from models.digest_attention import Attention, attention_items, silent_vip_filter
from models.enums import ComplaintStatus, DealStage, FollowUpMethod, Lifecycle, Role
from models.followups import FollowUp
from models.kpi_snapshot import KpiSnapshot
from models.periods import Period, bounds, compared_period, month_period
from models.rawsql import dialect, fetch
from models.staff import Staff
from models.surveys import SurveyKpis, survey_kpis

SIGNED = (DealStage.SIGNED, DealStage.AFTER_SALES)
ROLLING_DAYS = 30
CHART_DAYS = 14


# --- figures ---------------------------------------------------------------------------------


@dataclass
class PeriodFigures:
    followups: int = 0
    new_customers: int = 0
    deals: int = 0
    amount: Decimal = Decimal(0)
    stage_moves: int = 0
    complaints_opened: int = 0
    complaints_answered: int = 0
    complaints_closed: int = 0
    # Answers to the after-sale satisfaction survey given in the period.
    survey_answers: int = 0
    survey_avg: float | None = None


@dataclass
class RepFigures:
    staff_id: int
    name: str
    followups: int = 0
    deals: int = 0
    amount: Decimal = Decimal(0)
    overdue: int = 0
    oldest_overdue_days: int = 0


@dataclass
class Rolling:
    """The last 30 days (and the state of the book) as of the digest's last day."""

    converted: int = 0  # first purchase within the 30 days
    prospects: int = 0  # never bought, contacted within the 30 days
    amount_mtd: Decimal = Decimal(0)
    amount_last_month: Decimal = Decimal(0)  # the same days of last month
    complaints: ComplaintKpis | None = None
    # Answers to the after-sale satisfaction survey (models.surveys).
    surveys: SurveyKpis | None = None
    active: int = 0
    dormant: int = 0
    silent_vips: int = 0
    overdue: int = 0

    @property
    def conversion(self) -> float | None:
        pool = self.converted + self.prospects
        return self.converted / pool if pool else None

    @property
    def retention(self) -> float | None:
        graded = self.active + self.dormant
        return self.active / graded if graded else None

    def snapshot(self) -> dict[str, Any]:
        """The state figures worth keeping for tomorrow's comparison."""
        c = self.complaints
        return {
            "conversion": self.conversion,
            "retention": self.retention,
            "silent_vips": self.silent_vips,
            "overdue": self.overdue,
            "csat": c.csat_avg if c else None,
            "survey_avg": self.surveys.avg_score if self.surveys else None,
            "first_reply_hours": c.avg_first_reply_hours if c else None,
            "breaches": (c.first_reply_breaches + c.resolve_breaches) if c else None,
        }


@dataclass
class Digest:
    period: Period
    figures: PeriodFigures
    before: PeriodFigures
    reps: list[RepFigures]
    rolling: Rolling
    # KpiSnapshot.data of the comparison day (the day or week before), if one was kept.
    compared: dict[str, Any] | None
    attention: list[Attention] = field(default_factory=list)
    daily_amounts: list[tuple[date, Decimal]] = field(default_factory=list)
    # Campaigns running on the period's last day, with their figures per rep.
    campaigns: list[CampaignReport] = field(default_factory=list)


async def build_digest(
    period: Period, cfg: Config, now: datetime | None = None, keep_snapshot: bool = True
) -> Digest:
    """The digest of ``period`` for the whole team."""
    prev = compared_period(period)
    start, end = bounds(period.first, period.last, cfg)
    # A report on a past day is told as of that day's end.
    now = min(now or datetime.now(UTC), end)
    pstart, pend = bounds(prev.first, prev.last, cfg)
    reps = {s.id: s for s in await Staff.filter(active=True).order_by("id")}
    figures, before = PeriodFigures(), PeriodFigures()
    by_rep: dict[int, RepFigures] = {
        s.id: RepFigures(s.id, s.name) for s in reps.values() if s.role == Role.REP
    }

    def rep(staff_id: int | None) -> RepFigures | None:
        if staff_id is None or staff_id not in reps:
            return None
        if staff_id not in by_rep:
            by_rep[staff_id] = RepFigures(staff_id, reps[staff_id].name)
        return by_rep[staff_id]

    in_now, in_prev = (
        Q(created_at__gte=start, created_at__lt=end),
        Q(created_at__gte=pstart, created_at__lt=pend),
    )
    rows = (
        await FollowUp.filter(in_now | in_prev)
        .exclude(method=FollowUpMethod.PLAN)
        .annotate(cur=Count("id", _filter=in_now), old=Count("id", _filter=in_prev))
        .group_by("rep_id")
        .values_list("rep_id", "cur", "old")
    )
    for rep_id, cur, old in rows:
        figures.followups += cur
        before.followups += old
        if (r := rep(rep_id)) is not None:
            r.followups += cur

    row = (
        await Customer.filter(in_now | in_prev)
        .annotate(cur=Count("id", _filter=in_now), old=Count("id", _filter=in_prev))
        .first()
        .values("cur", "old")
    )
    figures.new_customers, before.new_customers = int(row["cur"] or 0), int(row["old"] or 0)

    d_now = Q(closed_on__gte=period.first, closed_on__lte=period.last)
    d_prev = Q(closed_on__gte=prev.first, closed_on__lte=prev.last)
    rows = (
        await Deal.filter(d_now | d_prev, stage__in=SIGNED)
        .annotate(
            n=Count("id", _filter=d_now),
            amt=Sum("amount", _filter=d_now),
            pn=Count("id", _filter=d_prev),
            pamt=Sum("amount", _filter=d_prev),
        )
        .group_by("owner_id")
        .values_list("owner_id", "n", "amt", "pn", "pamt")
    )
    for owner_id, n, amt, pn, pamt in rows:
        figures.deals += n
        figures.amount += Decimal(amt or 0)
        before.deals += pn
        before.amount += Decimal(pamt or 0)
        if (r := rep(owner_id)) is not None:
            r.deals += n
            r.amount += Decimal(amt or 0)

    row = (
        await DealEvent.filter(in_now | in_prev)
        .annotate(cur=Count("id", _filter=in_now), old=Count("id", _filter=in_prev))
        .first()
        .values("cur", "old")
    )
    figures.stage_moves, before.stage_moves = int(row["cur"] or 0), int(row["old"] or 0)

    await _complaint_counts(figures, before, (start, end), (pstart, pend))
    answers = await survey_kpis(period.first, period.last, cfg)
    figures.survey_answers, figures.survey_avg = answers.answered, answers.avg_score
    rolling = await _rolling(period.last, cfg, now)
    for item in await overdue_by_owner(period.last):
        rolling.overdue += item["n"]
        if (r := rep(item["who"])) is not None:
            r.overdue = int(item["n"])
            r.oldest_overdue_days = (period.last - _as_date(item["oldest"])).days
    digest = Digest(
        period=period,
        figures=figures,
        before=before,
        reps=sorted(by_rep.values(), key=lambda r: (-r.followups, r.staff_id)),
        rolling=rolling,
        compared=None,
    )
    digest.daily_amounts = await _daily_amounts(period.last)
    digest.attention = await attention_items(digest.reps, cfg, now)
    digest.campaigns = await reports(await running_campaigns(period.last))
    today = now.astimezone(cfg.tz).date()
    back = 7 if period.kind == "week" else 1
    snap = await KpiSnapshot.get_or_none(day=period.last - timedelta(days=back))
    digest.compared = snap.data if snap else None
    if keep_snapshot and period.last == today:
        await _keep(today, rolling.snapshot())
    return digest


async def _keep(day: date, data: dict[str, Any]) -> None:
    await KpiSnapshot.update_or_create(defaults={"data": data}, day=day)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def _complaint_counts(
    figures: PeriodFigures,
    before: PeriodFigures,
    now: tuple[datetime, datetime],
    prev: tuple[datetime, datetime],
) -> None:
    def window(column: str, bounds: tuple[datetime, datetime]) -> Q:
        return Q(**{f"{column}__gte": bounds[0], f"{column}__lt": bounds[1]})

    closed = Q(status=ComplaintStatus.CLOSED)
    touched = Q()
    for column in ("created_at", "first_replied_at", "resolved_at"):
        touched |= window(column, prev) | window(column, now)
    row = (
        await Complaint.filter(touched)
        .annotate(
            o=Count("id", _filter=window("created_at", now)),
            a=Count("id", _filter=window("first_replied_at", now)),
            c=Count("id", _filter=window("resolved_at", now) & closed),
            po=Count("id", _filter=window("created_at", prev)),
            pa=Count("id", _filter=window("first_replied_at", prev)),
            pc=Count("id", _filter=window("resolved_at", prev) & closed),
        )
        .first()
        .values("o", "a", "c", "po", "pa", "pc")
    )
    figures.complaints_opened = int(row["o"] or 0)
    figures.complaints_answered = int(row["a"] or 0)
    figures.complaints_closed = int(row["c"] or 0)
    before.complaints_opened = int(row["po"] or 0)
    before.complaints_answered = int(row["pa"] or 0)
    before.complaints_closed = int(row["pc"] or 0)


async def _rolling(last: date, cfg: Config, now: datetime) -> Rolling:
    r = Rolling()
    first = last - timedelta(days=ROLLING_DAYS - 1)
    start, end = bounds(first, last, cfg)
    buyers = await fetch(
        'SELECT COUNT(*) AS n FROM (SELECT "customer_id" FROM "deal" WHERE "stage" IN (?, ?) '
        'AND "closed_on" IS NOT NULL GROUP BY "customer_id" '
        'HAVING MIN("closed_on") >= ? AND MIN("closed_on") <= ?) t',
        DealStage.SIGNED.value,
        DealStage.AFTER_SALES.value,
        first,
        last,
    )
    r.converted = int(buyers[0]["n"] or 0)
    r.prospects = await Customer.filter(
        lifecycle=Lifecycle.POTENTIAL, last_contact_at__gte=start, last_contact_at__lt=end
    ).count()
    month = month_period(last)
    last_month = month.previous()
    m_now = Q(closed_on__gte=month.first, closed_on__lte=month.last)
    m_prev = Q(closed_on__gte=last_month.first, closed_on__lte=last_month.last)
    row = (
        await Deal.filter(m_now | m_prev, stage__in=SIGNED)
        .annotate(cur=Sum("amount", _filter=m_now), old=Sum("amount", _filter=m_prev))
        .first()
        .values("cur", "old")
    )
    r.amount_mtd, r.amount_last_month = Decimal(row["cur"] or 0), Decimal(row["old"] or 0)
    r.complaints = await complaint_kpis(first, last, cfg, now=min(now, end))
    r.surveys = await survey_kpis(first, last, cfg)
    row = (
        await Customer.annotate(
            active=Count("id", _filter=Q(lifecycle=Lifecycle.ACTIVE)),
            dormant=Count("id", _filter=Q(lifecycle=Lifecycle.DORMANT)),
            silent=Count("id", _filter=silent_vip_filter(now, cfg)),
        )
        .first()
        .values("active", "dormant", "silent")
    )
    r.active, r.dormant = int(row["active"] or 0), int(row["dormant"] or 0)
    r.silent_vips = int(row["silent"] or 0)
    return r


async def overdue_by_owner(today: date) -> list[dict[str, Any]]:
    """Overdue revisits (planned before ``today`` by a customer's latest follow-up) by
    the rep who is to make them — the owner, else the planner: who, n, oldest.

    PostgreSQL reads each customer's latest follow-up with one probe of the
    (customer_id, created_at, id) index (LATERAL … LIMIT 1); SQLite, which has no
    LATERAL, numbers each customer's follow-ups with a window function."""
    if dialect() == "postgres":
        latest = (
            'FROM "customer" c CROSS JOIN LATERAL (SELECT g."rep_id", g."next_revisit_on" '
            'FROM "followup" g WHERE g."customer_id" = c."id" '
            'ORDER BY g."created_at" DESC, g."id" DESC LIMIT 1) t WHERE'
        )
    else:
        latest = (
            'FROM (SELECT "customer_id", "rep_id", "next_revisit_on", ROW_NUMBER() OVER ('
            'PARTITION BY "customer_id" ORDER BY "created_at" DESC, "id" DESC) AS rn '
            'FROM "followup") t JOIN "customer" c ON c."id" = t."customer_id" WHERE t.rn = 1 AND'
        )
    return await fetch(
        'SELECT COALESCE(c."owner_id", t."rep_id") AS who, COUNT(*) AS n, '
        f'MIN(t."next_revisit_on") AS oldest {latest} '
        't."next_revisit_on" < ? AND t."rep_id" IS NOT NULL '
        'GROUP BY COALESCE(c."owner_id", t."rep_id")',
        today,
    )


async def _daily_amounts(last: date) -> list[tuple[date, Decimal]]:
    first = last - timedelta(days=CHART_DAYS - 1)
    rows = (
        await Deal.filter(stage__in=SIGNED, closed_on__gte=first, closed_on__lte=last)
        .annotate(total=Sum("amount"))
        .group_by("closed_on")
        .values_list("closed_on", "total")
    )
    totals = {_as_date(d): Decimal(t or 0) for d, t in rows}
    return [
        (first + timedelta(days=n), totals.get(first + timedelta(days=n), Decimal(0)))
        for n in range(CHART_DAYS)
    ]


def as_dict(digest: Digest) -> dict[str, Any]:
    """Plain data (for tests and the CLI's JSON)."""
    return asdict(digest)
