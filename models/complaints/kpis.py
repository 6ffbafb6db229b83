"""Complaint KPIs for the digest: reply and resolution times, breaches, CSAT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.config import Config
from models.complaints.tables import ACTIVE, Complaint
from models.enums import ComplaintStatus


@dataclass(frozen=True)
class ComplaintKpis:
    opened: int
    first_replied: int
    # Averages in hours; None when nothing to average.
    avg_first_reply_hours: float | None
    resolved: int
    avg_resolution_hours: float | None
    first_reply_breaches: int
    resolve_breaches: int
    rated: int
    csat_avg: float | None
    # Share of the tickets opened in the range that got a first reply.
    first_reply_rate: float | None
    # Share of the tickets closed in the range whose customer answered the rating request.
    rating_response_rate: float | None

    @property
    def breaches(self) -> int:
        return self.first_reply_breaches + self.resolve_breaches


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def complaint_kpis(
    first_day: date, last_day: date, cfg: Config, now: datetime | None = None
) -> ComplaintKpis:
    """Complaint KPIs for local days ``first_day`` … ``last_day`` (inclusive)."""
    now = now or datetime.now(UTC)
    start = datetime.combine(first_day, time(0), cfg.tz)
    end = datetime.combine(last_day + timedelta(days=1), time(0), cfg.tz)
    opened = await Complaint.filter(created_at__gte=start, created_at__lt=end)
    replied = [c for c in opened if c.first_replied_at is not None]
    closed = await Complaint.filter(
        status=ComplaintStatus.CLOSED, resolved_at__gte=start, resolved_at__lt=end
    )
    rated = await Complaint.filter(rated_at__gte=start, rated_at__lt=end, rating__isnull=False)
    hours = 3600.0
    return ComplaintKpis(
        opened=len(opened),
        first_replied=len(replied),
        avg_first_reply_hours=_avg(
            [(c.first_replied_at - c.created_at).total_seconds() / hours for c in replied]  # type: ignore[operator]
        ),
        resolved=len(closed),
        avg_resolution_hours=_avg(
            [(c.resolved_at - c.created_at).total_seconds() / hours for c in closed]  # type: ignore[operator]
        ),
        first_reply_breaches=sum(
            1 for c in opened if (c.first_replied_at or now) > c.first_reply_due
        ),
        resolve_breaches=sum(
            1
            for c in opened
            if (c.resolved_at or (now if c.status in ACTIVE else c.resolve_due)) > c.resolve_due
        ),
        rated=len(rated),
        csat_avg=_avg([float(c.rating) for c in rated if c.rating is not None]),
        first_reply_rate=_ratio(len(replied), len(opened)),
        rating_response_rate=_ratio(sum(1 for c in closed if c.rating is not None), len(closed)),
    )
