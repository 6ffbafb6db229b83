"""SLA targets per severity, the work calendar and the deadlines of a ticket."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import ComplaintsConfig
from bot.config_checks import parse_clock, parse_date_list
from models.complaints.tables import Complaint
from models.enums import Severity
from models.worktime import WorkCalendar


def sla_targets(severity: Severity | str, cfg: ComplaintsConfig) -> tuple[float, float]:
    """(first reply hours, resolve days) for a severity: its own keys, else the defaults."""
    name = Severity(severity).value
    first = getattr(cfg, f"first_reply_hours_{name}") or cfg.first_reply_hours
    resolve = getattr(cfg, f"resolve_days_{name}") or cfg.resolve_days
    return first, resolve


def work_calendar(cfg: ComplaintsConfig, tz: ZoneInfo) -> WorkCalendar:
    (sh, sm), (eh, em) = parse_clock(cfg.workday_start), parse_clock(cfg.workday_end)
    return WorkCalendar(
        tz=tz,
        start=time(sh, sm),
        end=time(eh, em),
        extra_holidays=parse_date_list(cfg.extra_holidays),
        extra_workdays=parse_date_list(cfg.extra_workdays),
    )


def add_sla_time(start: datetime, hours: float, cfg: ComplaintsConfig, tz: ZoneInfo) -> datetime:
    if not cfg.working_hours:
        return start + timedelta(hours=hours)
    return work_calendar(cfg, tz).add(start, timedelta(hours=hours))


def compute_deadlines(
    start: datetime, severity: Severity | str, cfg: ComplaintsConfig, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """(first reply due, resolve due) for a ticket received at ``start``.

    Calendar hours by default. In working-hours mode only working time counts, and
    a resolve day is one working day (workday_end - workday_start)."""
    first_hours, resolve_days = sla_targets(severity, cfg)
    if cfg.working_hours:
        day_hours = work_calendar(cfg, tz).day_length.total_seconds() / 3600
    else:
        day_hours = 24.0
    return (
        add_sla_time(start, first_hours, cfg, tz),
        add_sla_time(start, resolve_days * day_hours, cfg, tz),
    )


def next_due(c: Complaint) -> datetime:
    """The deadline that matters now: the first reply until it happened, then resolving."""
    return c.first_reply_due if c.first_replied_at is None else c.resolve_due
