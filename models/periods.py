"""Report periods for the digest: a local day, the week so far, the month so far, and
the period each is compared with (the day before, the same weekdays of last week, the
same days of last month)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.config import Config


@dataclass(frozen=True)
class Period:
    kind: str  # "day" | "week" | "month"
    first: date
    last: date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def whole(self) -> bool:
        """A week from Monday to Sunday or a month to its last day, not one so far."""
        if self.kind == "week":
            return self.days == 7
        if self.kind == "month":
            return (self.last + timedelta(days=1)).day == 1
        return True

    def previous(self) -> Period:
        """The day before; the same weekdays of last week; the same days of last month."""
        if self.kind == "month":
            first = (self.first - timedelta(days=1)).replace(day=1)
            last = first + timedelta(days=self.days - 1)
            # A short previous month ends at its own end (31 March → 28 February).
            month_end = self.first - timedelta(days=1)
            return Period("month", first, min(last, month_end))
        step = timedelta(days=7 if self.kind == "week" else 1)
        return Period(self.kind, self.first - step, self.last - step)


def compared_period(period: Period) -> Period:
    """What the digest of ``period`` is compared with: :meth:`Period.previous`, but the
    whole month before a whole month (November against all of October's 31 days)."""
    if period.kind == "month" and period.whole:
        return last_month_period(period.first)
    return period.previous()


def day_period(day: date) -> Period:
    return Period("day", day, day)


def week_period(today: date) -> Period:
    return Period("week", today - timedelta(days=today.weekday()), today)


def month_period(today: date) -> Period:
    return Period("month", today.replace(day=1), today)


def last_week_period(today: date) -> Period:
    """Last week, Monday to Sunday, whole."""
    monday = today - timedelta(days=today.weekday() + 7)
    return Period("week", monday, monday + timedelta(days=6))


def last_month_period(today: date) -> Period:
    """Last month, whole."""
    last = today.replace(day=1) - timedelta(days=1)
    return Period("month", last.replace(day=1), last)


def bounds(first: date, last: date, cfg: Config) -> tuple[datetime, datetime]:
    """The UTC instants of a run of local days: [first 00:00, the day after last 00:00)."""
    start = datetime.combine(first, time(0), cfg.tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), cfg.tz).astimezone(UTC)
    return start, end
