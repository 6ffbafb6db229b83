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


@dataclass(frozen=True)
class Job:
    func: JobFunc
    # APScheduler trigger name and arguments, in bot.timezone.
    trigger: str
    trigger_args: dict[str, Any]


JOBS: dict[str, Job] = {
    # Often enough that a 75 % warning on a 24 h deadline is at most minutes late.
    "sla": Job(sla, "interval", {"minutes": 5}),
    "prune": Job(prune, "cron", {"hour": 3, "minute": 30}),
}
