"""Outbox rows: every message we push rather than answer passively."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from models.enums import OutboxStatus


class Outbox(Model):
    id = fields.IntField(primary_key=True)
    # Deterministic, e.g. "birthday:<customer>:<date>" or "late:<message key>":
    # enqueueing the same key twice is a no-op.
    dedup_key = fields.CharField(max_length=191, unique=True)
    channel = fields.CharField(max_length=16)
    recipient = fields.CharField(max_length=64)
    payload = fields.JSONField()
    status = fields.CharEnumField(OutboxStatus, max_length=24, default=OutboxStatus.PENDING)
    attempts = fields.SmallIntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    platform_msg_id = fields.CharField(max_length=64, null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox"
        indexes = (("status", "next_attempt_at"), ("channel", "recipient", "status"))


async def enqueue(
    dedup_key: str,
    channel: str,
    recipient: str,
    payload: dict,
    when: datetime | None = None,
) -> bool:
    """Queue a message once: False if a row with this key already exists."""
    try:
        await Outbox.create(
            dedup_key=dedup_key[:191],
            channel=channel,
            recipient=recipient,
            payload=payload,
            next_attempt_at=when or datetime.now(UTC),
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
    return {"counts": counts, "oldest_pending": oldest, "errors": errors}


async def oldest_pending() -> datetime | None:
    """When the oldest message still waiting to be sent was queued."""
    return await (
        Outbox.filter(status=OutboxStatus.PENDING)
        .order_by("created_at")
        .first()
        .values_list("created_at", flat=True)
    )
