"""The jobs, each ``async (config, moment) -> summary`` with its schedule.

``wecrm jobs run NAME [--at ISO]`` runs one by hand (tests, catching up); the
scheduler runs them on their triggers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import Config
from bot.config_checks import parse_clock

JobFunc = Callable[[Config, datetime], Awaitable[str]]

# Inbound bookkeeping older than this is only history: WeChat retries within ~15 s
# and dialogs expire within minutes.
PROCESSED_MESSAGE_DAYS = 7


async def sla(cfg: Config, at: datetime) -> str:
    from models.complaints import run_sla

    warnings, escalated = await run_sla(at, cfg)
    return f"sla: {warnings} warning(s), {escalated} ticket(s) escalated"


async def prune(cfg: Config, at: datetime) -> str:
    from models.messages import ConversationState, ProcessedMessage, SignedUrl

    messages = await ProcessedMessage.filter(
        created_at__lt=at - timedelta(days=PROCESSED_MESSAGE_DAYS)
    ).delete()
    # A signed URL is only accepted within the timestamp window (minutes): a day's
    # record is more than enough to refuse a replay.
    await SignedUrl.filter(created_at__lt=at - timedelta(days=1)).delete()
    dialogs = await ConversationState.filter(expires_at__lt=at).delete()
    return f"prune: {messages} processed message(s), {dialogs} expired dialog(s)"


async def briefing(cfg: Config, at: datetime) -> str:
    """Each staff member's morning briefing, once per local day: the outbox key is
    (job, staff, day), so a second run, a second scheduler or a catch-up after
    downtime queues nothing new. Inside quiet hours it waits for their end."""
    from models.care import after_quiet_hours, build_briefings
    from models.care_text import render_briefing
    from models.staff_push import push_to_staff

    today = at.astimezone(cfg.tz).date()
    found = await build_briefings(today, cfg, now=at)
    when = after_quiet_hours(at, cfg.care, cfg.tz)
    queued = 0
    for b in found.values():
        text = render_briefing(b, push=True, full=False, cap=cfg.care.briefing_max_lines)
        key = f"briefing:{b.staff.id}:{today.isoformat()}"
        queued += await push_to_staff(b.staff, text, key, cfg, when=when, bulk=True)
    return f"briefing {today}: {queued} queued, {len(found) - queued} already queued"


async def preview_briefing(cfg: Config, at: datetime) -> str:
    """What each staff member would get (``wecrm jobs run briefing --dry-run``)."""
    from models.care import build_briefings
    from models.care_text import render_briefing

    today = at.astimezone(cfg.tz).date()
    found = await build_briefings(today, cfg, now=at)
    if not found:
        return f"briefing {today}: nobody has anything to do"
    parts = [
        f"--- {b.staff.name} ({b.staff.role}) ---\n"
        + render_briefing(b, push=True, full=False, cap=cfg.care.briefing_max_lines)
        for b in found.values()
    ]
    return "\n\n".join(parts)


async def revisit_prompts(cfg: Config, at: datetime) -> str:
    """A prompt at the time of day a rep planned a revisit for (quiet hours respected):
    once per follow-up and time, whatever the number of runs."""
    from models.care import after_quiet_hours, revisit_prompts_due
    from models.care_text import render_revisit_prompt
    from models.staff_push import push_to_staff

    when = after_quiet_hours(at, cfg.care, cfg.tz)
    queued = 0
    for prompt in await revisit_prompts_due(at, cfg):
        f = prompt.followup
        key = f"revisit:{f.id}:{f.next_revisit_on}:{f.next_revisit_time}"
        queued += await push_to_staff(
            prompt.staff, render_revisit_prompt(prompt), key, cfg, when=when
        )
    return f"revisit prompts: {queued} queued"


async def digest(cfg: Config, at: datetime) -> str:
    """The day's digest to every active manager and admin: the text, then the chart —
    once per person and day (outbox keys), so a re-run or a second scheduler adds
    nothing."""
    from models.digest import build_digest
    from models.digest_chart import push_chart, render_chart
    from models.digest_text import render_digest
    from models.enums import Role
    from models.periods import day_period
    from models.staff import Staff
    from models.staff_push import push_to_staff

    if not cfg.digest.enabled:
        return "digest: disabled"
    today = at.astimezone(cfg.tz).date()
    found = await build_digest(day_period(today), cfg, now=at)
    text = render_digest(found)
    png = await render_chart(found)
    queued = 0
    managers = await Staff.filter(active=True, role__in=[Role.MANAGER, Role.ADMIN])
    for m in managers:
        day = today.isoformat()
        queued += await push_to_staff(m, text, f"digest:{m.id}:{day}", cfg, bulk=True)
        await push_chart(m, found, png, f"digest-chart:{m.id}:{day}", cfg, bulk=True)
    return f"digest {today}: {queued} queued, {len(managers) - queued} already queued"


async def preview_digest(cfg: Config, at: datetime) -> str:
    from models.digest import build_digest
    from models.digest_text import render_digest
    from models.periods import day_period

    today = at.astimezone(cfg.tz).date()
    return render_digest(await build_digest(day_period(today), cfg, now=at, keep_snapshot=False))


async def grade(cfg: Config, at: datetime) -> str:
    """Grade, lifecycle and 大客户 tier of every customer, recomputed; each owner is told
    once about their customers that changed (a second run finds nothing to change)."""
    from models.grading import recompute

    return str(await recompute(at, cfg))


async def preview_grade(cfg: Config, at: datetime) -> str:
    """What would change and what each person would be told (``--dry-run``)."""
    from models.grading import recompute

    return str(await recompute(at, cfg, dry_run=True))


async def survey(cfg: Config, at: datetime) -> str:
    """The day's after-sale satisfaction surveys: one per signed deal, whatever the
    number of runs (a unique survey per deal, outbox keys per customer and day)."""
    from models.surveys import send_surveys

    if not cfg.survey.enabled:
        return "survey: disabled"
    return str(await send_surveys(at.astimezone(cfg.tz).date(), cfg, now=at))


async def preview_survey(cfg: Config, at: datetime) -> str:
    """Whose deals are due for a survey (``--dry-run``)."""
    from models.surveys import due_surveys

    due = await due_surveys(at.astimezone(cfg.tz).date(), cfg)
    return f"survey: {len(due)} deal(s) of {len({d.customer_id for d in due})} customer(s) due"


def _survey_clock(cfg: Config) -> dict[str, Any]:
    hour, minute = parse_clock(cfg.survey.time)
    return {"hour": hour, "minute": minute}


def _at_clock(cfg: Config) -> dict[str, Any]:
    hour, minute = parse_clock(cfg.care.briefing_time)
    return {"hour": hour, "minute": minute}


def _digest_clock(cfg: Config) -> dict[str, Any]:
    hour, minute = parse_clock(cfg.digest.time)
    return {"hour": hour, "minute": minute}


def _grading_clock(cfg: Config) -> dict[str, Any]:
    hour, minute = parse_clock(cfg.grading.time)
    return {"hour": hour, "minute": minute}


@dataclass(frozen=True)
class Job:
    func: JobFunc
    # APScheduler trigger name and arguments (fixed, or read from the config), in
    # bot.timezone.
    trigger: str
    trigger_args: dict[str, Any] | Callable[[Config], dict[str, Any]]
    # What `wecrm jobs run NAME --dry-run` prints instead of running.
    preview: JobFunc | None = None

    def args_for(self, cfg: Config) -> dict[str, Any]:
        return self.trigger_args(cfg) if callable(self.trigger_args) else dict(self.trigger_args)


JOBS: dict[str, Job] = {
    # Often enough that a 75 % warning on a 24 h deadline is at most minutes late.
    "sla": Job(sla, "interval", {"minutes": 5}),
    "prune": Job(prune, "cron", {"hour": 3, "minute": 30}),
    "briefing": Job(briefing, "cron", _at_clock, preview_briefing),
    # Often enough that 「十点回访」 is prompted within minutes of ten.
    "revisits": Job(revisit_prompts, "interval", {"minutes": 5}),
    "digest": Job(digest, "cron", _digest_clock, preview_digest),
    # Nightly, before the briefing: the morning's silence and VIP lists use the new grades.
    "grade": Job(grade, "cron", _grading_clock, preview_grade),
    # Before the morning briefing: the surveys left to reps are in that day's briefing.
    "survey": Job(survey, "cron", _survey_clock, preview_survey),
}
