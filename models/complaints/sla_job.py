"""The SLA job: warnings before a deadline, escalations after it, each pushed once."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from models.audit import AuditLog
from models.complaints.people import managers, record
from models.complaints.tables import ACTIVE, Complaint
from models.complaints.text import N_BREACH, N_WARN, duration, fmt_time
from models.staff_push import push_to_staff


def _stages(c: Complaint) -> list[tuple[str, datetime, datetime]]:
    """(stage, clock start, deadline) of the deadlines still running on a ticket."""
    stages = []
    if c.first_replied_at is None:
        stages.append(("first_reply", c.created_at, c.first_reply_due))
    stages.append(("resolve", c.reopened_at or c.created_at, c.resolve_due))
    return stages


def _stage_key(kind: str, stage: str, c: Complaint) -> str:
    # A reopened ticket has a new resolve deadline, and a new warning is due for it.
    suffix = f":r{c.reopened_count}" if stage == "resolve" and c.reopened_count else ""
    return f"sla:{kind}:{stage}:{c.ticket_no}{suffix}"


async def sla_warnings(now: datetime, cfg: Config) -> int:
    """Warn the assignee once per ticket and stage when ``warn_fraction`` of the time
    to a deadline has passed. Returns the number of warnings queued."""
    sent = 0
    rows = await Complaint.filter(status__in=ACTIVE, assignee_id__isnull=False).prefetch_related(
        "assignee"
    )
    for c in rows:
        for stage, start, due in _stages(c):
            warn_at = start + (due - start) * cfg.complaints.warn_fraction
            if not (warn_at <= now < due):
                continue
            text = N_WARN[stage].format(
                no=c.ticket_no, due=fmt_time(due, cfg.tz), left=duration(due - now)
            )
            if await push_to_staff(c.assignee, text, _stage_key("warn", stage, c), cfg):
                await record(c, "system", "sla_warning", f"{stage}：{fmt_time(due, cfg.tz)}")
                sent += 1
    return sent


async def sla_breaches(now: datetime, cfg: Config) -> int:
    """Escalate to the managers (and tell the assignee) once per ticket and stage when
    a deadline has passed. Returns the number of tickets newly escalated."""
    escalated = 0
    rows = await Complaint.filter(status__in=ACTIVE).prefetch_related("assignee")
    people = await managers()
    for c in rows:
        for stage, _start, due in _stages(c):
            if now < due:
                continue
            text = N_BREACH[stage].format(
                no=c.ticket_no,
                due=fmt_time(due, cfg.tz),
                assignee=c.assignee.name if c.assignee else "未指派",
            )
            recipients = list(people)
            if c.assignee is not None and all(p.id != c.assignee.id for p in recipients):
                recipients.append(c.assignee)
            new = False
            for person in recipients:
                key = f"{_stage_key('breach', stage, c)}:{person.id}"
                new = await push_to_staff(person, text, key, cfg) or new
            if new:
                c.escalation_level += 1
                c.escalated_at = c.escalated_at or now
                await c.save(update_fields=["escalation_level", "escalated_at", "updated_at"])
                await record(c, "system", "breached", f"{stage}：{fmt_time(due, cfg.tz)}")
                # Handlers are audited by the middleware; the job audits itself.
                await AuditLog.create(
                    actor="system",
                    actor_role="system",
                    action="complaints.sla_breach",
                    target=f"complaint:{c.id}",
                    detail={"stage": stage, "ticket": c.ticket_no},
                )
                escalated += 1
    return escalated


async def run_sla(now: datetime, cfg: Config) -> tuple[int, int]:
    """The SLA job: (warnings queued, tickets escalated). Safe to run any number of times."""
    return await sla_warnings(now, cfg), await sla_breaches(now, cfg)
