"""WeCom's per-member limits for app messages (30 a minute, 1000 an hour per member and
app), counted in the outbox table so every worker of every process sees the same count.

WeCom does not answer an app message over the limit with an error: it silently drops
it. So the count must be right before sending, across workers. A row may go if the
messages already sent to that member within the window, plus the rows claimed for
them within the window with a smaller id (being sent right now, by any worker), are
fewer than the limit. The id order makes concurrent workers agree without a lock; a
row turned away by it is deferred to the moment the window has room, not failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import Q

from models.enums import OutboxStatus
from models.outbox import Outbox


class Deferred(Exception):
    """Not now, and not a failure: try again at ``until`` without counting an attempt."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class MemberRateLimit:
    def __init__(self, channel: str, per_minute: int, per_hour: int) -> None:
        self.channel = channel
        self.limits = ((timedelta(minutes=1), per_minute), (timedelta(hours=1), per_hour))

    async def check(self, row: Outbox, now: datetime) -> None:
        """Raise :class:`Deferred` when ``row`` would exceed a limit for its recipient."""
        for window, limit in self.limits:
            since = now - window
            mine = Outbox.filter(channel=self.channel, recipient=row.recipient)
            used = await mine.filter(
                Q(status=OutboxStatus.SENT, sent_at__gte=since)
                | Q(status=OutboxStatus.SENDING, claimed_at__gte=since, id__lt=row.id)
            ).count()
            if used >= limit:
                oldest = (
                    await mine.filter(status=OutboxStatus.SENT, sent_at__gte=since)
                    .order_by("sent_at")
                    .first()
                    .values_list("sent_at", flat=True)
                )
                until = (oldest or now) + window  # type: ignore[operator]
                raise Deferred(until, f"WeCom limit {limit} per {window} for this member")
