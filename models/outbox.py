"""Outbox rows: every message we push rather than answer passively."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.enums import OutboxStatus
from models.sealed import SealedJSONField


class Outbox(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    # Deterministic, e.g. "birthday:<customer>:<date>" or "late:<message key>":
    # enqueueing the same key twice is a no-op.
    dedup_key = fields.CharField(max_length=191, unique=True)
    channel = fields.CharField(max_length=16)
    recipient = fields.CharField(max_length=64)
    payload = SealedJSONField()
    status = fields.CharEnumField(OutboxStatus, max_length=24, default=OutboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    platform_msg_id = fields.CharField(max_length=64, null=True)
    # How it went out: custom (customer-service message), template, app (WeCom).
    via = fields.CharField(max_length=16, default="", db_default="")
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox"
        indexes = (("status", "next_attempt_at"), ("channel", "recipient", "status"))


# Bulk pushes (reminders, digests) avoid the first minutes of the hour, when every
# scheduled sender on the platform fires and WeCom's frequency limits bite.
BULK_QUIET_MINUTES = 3
BULK_SPREAD_SECONDS = 600


def bulk_send_time(when: datetime, dedup_key: str) -> datetime:
    """``when``, or a moment off the hour mark that is stable for the same key."""
    if when.minute >= BULK_QUIET_MINUTES:
        return when
    digest = hashlib.sha256(dedup_key.encode("utf-8")).digest()
    offset = int.from_bytes(digest[:4], "big") % BULK_SPREAD_SECONDS
    mark = when.replace(minute=0, second=0, microsecond=0)
    return mark + timedelta(minutes=BULK_QUIET_MINUTES, seconds=offset)


async def enqueue(
    dedup_key: str,
    channel: str,
    recipient: str,
    payload: dict,
    when: datetime | None = None,
    bulk: bool = False,
) -> bool:
    """Queue a message once: False if a row with this key already exists.

    ``bulk``: one of many scheduled pushes, spread off the hour mark."""
    when = when or datetime.now(UTC)
    if bulk:
        when = bulk_send_time(when, dedup_key)
    try:
        # A savepoint inside a message's transaction: on PostgreSQL a failed
        # INSERT would otherwise poison the whole transaction.
        async with in_transaction():
            await Outbox.create(
                dedup_key=dedup_key[:191],
                channel=channel,
                recipient=recipient,
                payload=payload,
                next_attempt_at=when,
            )
    except IntegrityError:
        return False
    return True


async def release_waiting(channel: str, recipient: str) -> int:
    """The user wrote again: what waited for the 48-hour window can go out now."""
    return await Outbox.filter(
        channel=channel, recipient=recipient, status=OutboxStatus.WAITING_FOR_USER
    ).update(status=OutboxStatus.PENDING, next_attempt_at=datetime.now(UTC))


async def retry_failed() -> int:
    """Operator action: give every failed row a fresh set of attempts."""
    return await Outbox.filter(status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=datetime.now(UTC)
    )


async def outbox_report(error_limit: int = 10) -> dict[str, Any]:
    """Counts by status, the oldest pending row and the latest errors, for operators."""
    counts = {status.value: 0 for status in OutboxStatus}
    for status in OutboxStatus:
        counts[status.value] = await Outbox.filter(status=status).count()
    oldest = await oldest_pending()
    errors = (
        await Outbox.exclude(last_error="")
        .exclude(status=OutboxStatus.SENT)
        .order_by("-id")
        .limit(error_limit)
        .values("id", "channel", "recipient", "status", "attempts", "last_error")
    )
    since = datetime.now(UTC) - timedelta(days=1)
    ways = await Outbox.filter(status=OutboxStatus.SENT, sent_at__gte=since).values_list(
        "channel", "via"
    )
    by_way: dict[str, int] = {}
    for channel, via in ways:
        name = f"{channel}:{via or '?'}"
        by_way[name] = by_way.get(name, 0) + 1
    return {"counts": counts, "oldest_pending": oldest, "errors": errors, "sent_by_way": by_way}


async def oldest_pending() -> datetime | None:
    """When the oldest message still waiting to be sent was queued."""
    return await (
        Outbox.filter(status=OutboxStatus.PENDING)
        .order_by("created_at")
        .first()
        .values_list("created_at", flat=True)
    )
