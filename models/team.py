"""The team at a glance for managers (「团队」): per rep their customers, follow-ups this
week, overdue revisits, open complaints and deals this month — five grouped queries
whatever the size of the team — and who is who by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tortoise.functions import Count, Sum

from models.complaints import ACTIVE, Complaint
from models.customers import Customer
from models.deals import Deal
from models.digest import SIGNED, overdue_by_owner
from models.enums import FollowUpMethod, Role
from models.followups import DueRevisit, FollowUp, due_revisits
from models.staff import Staff


@dataclass
class TeamLine:
    staff: Staff
    customers: int = 0
    followups_week: int = 0
    overdue: int = 0
    open_complaints: int = 0
    deals_month: int = 0
    amount_month: Decimal = Decimal(0)


async def team_lines(today: date, tz: ZoneInfo) -> list[TeamLine]:
    """Every active rep, plus anyone else who owns customers or has overdue revisits."""
    staff = {s.id: s for s in await Staff.filter(active=True).order_by("id")}
    lines = {i: TeamLine(s) for i, s in staff.items() if s.role == Role.REP}

    def line(staff_id: int | None) -> TeamLine | None:
        if staff_id not in staff:
            return None
        return lines.setdefault(staff_id, TeamLine(staff[staff_id]))  # type: ignore[index]

    for owner_id, n in (
        await Customer.filter(owner_id__in=list(staff))
        .annotate(n=Count("id"))
        .group_by("owner_id")
        .values_list("owner_id", "n")
    ):
        if (t := line(owner_id)) is not None:
            t.customers = n
    monday = today - timedelta(days=today.weekday())
    week_start = datetime.combine(monday, time(0), tz).astimezone(UTC)
    for rep_id, n in (
        await FollowUp.filter(created_at__gte=week_start, rep_id__in=list(staff))
        .exclude(method=FollowUpMethod.PLAN)
        .annotate(n=Count("id"))
        .group_by("rep_id")
        .values_list("rep_id", "n")
    ):
        if (t := line(rep_id)) is not None:
            t.followups_week = n
    for row in await overdue_by_owner(today):
        if (t := line(row["who"])) is not None:
            t.overdue = int(row["n"])
    for assignee_id, n in (
        await Complaint.filter(status__in=ACTIVE, assignee_id__in=list(staff))
        .annotate(n=Count("id"))
        .group_by("assignee_id")
        .values_list("assignee_id", "n")
    ):
        if (t := line(assignee_id)) is not None:
            t.open_complaints = n
    for owner_id, n, amount in (
        await Deal.filter(
            stage__in=SIGNED, closed_on__gte=today.replace(day=1), closed_on__lte=today
        )
        .annotate(n=Count("id"), amount=Sum("amount"))
        .group_by("owner_id")
        .values_list("owner_id", "n", "amount")
    ):
        if (t := line(owner_id)) is not None:
            t.deals_month, t.amount_month = n, Decimal(amount or 0)
    return sorted(lines.values(), key=lambda t: (-t.overdue, t.staff.id))


async def overdue_of(rep: Staff, today: date) -> list[DueRevisit]:
    """The rep's overdue revisits (due before today), most overdue first."""
    return [d for d in await due_revisits(rep.id, today) if d.days_overdue > 0]


async def team_overdue_total(today: date) -> int:
    return sum(int(row["n"]) for row in await overdue_by_owner(today))


async def staff_named(name: str) -> Staff | None:
    """The staff member called ``name``: an active one first, else someone who left
    (their customers may still need a new owner)."""
    return await Staff.filter(name=name.strip()).order_by("-active", "-id").first()
