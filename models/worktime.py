"""The working-time calendar behind SLA deadlines in working-hours mode.

Which days are worked comes from chinese-calendar (official holidays and the
weekend days worked in exchange, 调休), falling back to plain Monday–Friday for
years it has no data for yet; the company's own extra days off and days worked
from config apply on top. Within a workday only ``start``–``end`` counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

# A deadline further away than this many calendar days means the calendar has no
# working time at all (misconfiguration); stop instead of looping forever.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo
    start: time = time(9, 0)
    end: time = time(18, 0)
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def is_workday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            # chinese-calendar ships each year's official schedule once the State
            # Council publishes it; until then weekends are all we know.
            return day.weekday() < 5

    def add(self, moment: datetime, amount: timedelta) -> datetime:
        """``moment`` plus ``amount`` of working time, as an aware UTC datetime."""
        cursor = moment.astimezone(self.tz)
        remaining = amount
        for _ in range(_MAX_DAYS):
            day = cursor.date()
            day_start = datetime.combine(day, self.start, self.tz)
            day_end = datetime.combine(day, self.end, self.tz)
            if not self.is_workday(day) or cursor >= day_end:
                cursor = datetime.combine(day + timedelta(days=1), self.start, self.tz)
                continue
            cursor = max(cursor, day_start)
            available = day_end - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(UTC)
            remaining -= available
            cursor = datetime.combine(day + timedelta(days=1), self.start, self.tz)
        raise ValueError("no working time in the calendar")
