"""The outbox delivery worker: claims due rows, sends them, records the outcome.

Claims are conditional UPDATEs (``… WHERE id = ? AND status = 'pending'``): of
several workers over one table exactly one changes a row, on PostgreSQL and SQLite
alike (SQLite has no ``SELECT … FOR UPDATE``). A row whose worker died between
sending and marking stays ``sending`` until its lease runs out, then it is retaken
— delivery is at least once, never lost.

Platform rules live here as outcomes, not surprises: 45015 (outside the 48-hour
customer-service window) parks the row as ``waiting_for_user`` until the user
writes again; 40003/43004 (invalid or unsubscribed user) parks it as ``failed``
and marks the customer unreachable; quota errors (45047, 45009) back off longer;
everything else retries with exponential backoff and jitter, up to
``outbox.max_attempts``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F

from bot.config import OutboxConfig
from bot.incoming import Reply
from bot.member_limits import Deferred, MemberRateLimit
from bot.metrics import Metrics
from bot.wechat_api import ApiError, OfficialAccountAPI, WeComAPI
from models.customers import Customer
from models.enums import OutboxStatus
from models.messages import ProcessedMessage
from models.outbox import Outbox

log = logging.getLogger("wecrm.outbox")

OUT_OF_WINDOW = frozenset({45015})
# Official Account: invalid openid, unsubscribed. WeCom: no such member (60111), or
# none of the recipients is valid or visible to the app (81013, also sent as
# ``invaliduser`` beside errcode 0 — see WeComAPI).
INVALID_USER = frozenset({40003, 43004, 60111, 81013})
# Quotas and frequency: 45009 daily/API limit, 45011 too frequent, 45033 too many
# concurrent calls, 45047 customer-service message count.
QUOTA = frozenset({45047, 45009, 45011, 45033})
QUOTA_MIN_DELAY = timedelta(minutes=15)


# Sends one row's payload to its recipient; returns the platform's message id and
# the way it went (custom, template, app).
Send = Callable[[str, dict[str, Any]], Awaitable[tuple[str, str]]]

# Customer-service messages reach a user only this long after their last message.
SERVICE_WINDOW = timedelta(hours=48)


def payload_reply(payload: dict[str, Any]) -> Reply:
    return Reply.from_dict(payload.get("reply") or {"text": payload.get("text", "")})


def oa_sender(api: OfficialAccountAPI) -> Send:
    """Customer-service message, or a template message: when the payload is one, or
    when it carries a template fallback (staff pushes) and the person is outside the
    48-hour window — known from their last message, or learnt from a 45015."""

    async def template(recipient: str, spec: dict[str, Any]) -> tuple[str, str]:
        msg_id = await api.send_template(
            recipient, spec["template_id"], spec.get("data", {}), spec.get("url", "")
        )
        return msg_id, "template"

    async def send(recipient: str, payload: dict[str, Any]) -> tuple[str, str]:
        if payload.get("template"):
            return await template(recipient, payload["template"])
        fallback = payload.get("template_fallback")
        if fallback and not await user_wrote_since(
            "oa", recipient, datetime.now(UTC) - SERVICE_WINDOW
        ):
            return await template(recipient, fallback)
        reply = payload_reply(payload)
        try:
            if upload := payload.get("upload"):
                reply.media_id = await api.upload_media(*upload_parts(upload))
            return await api.send_custom(recipient, reply), "custom"
        except ApiError as exc:
            if fallback and exc.code in OUT_OF_WINDOW:
                return await template(recipient, fallback)
            raise

    return send


def wecom_sender(api: WeComAPI) -> Send:
    """App messages; an image push carries its file and is uploaded first (WeCom's
    media ids are its own, and temporary)."""

    async def send(recipient: str, payload: dict[str, Any]) -> tuple[str, str]:
        reply = payload_reply(payload)
        if upload := payload.get("upload"):
            reply.media_id = await api.upload_media(*upload_parts(upload))
        return await api.send_app_message(recipient, reply), "app"

    return send


def upload_parts(upload: dict[str, Any]) -> tuple[str, str, bytes]:
    """(media type, file name, bytes) of a payload's ``upload`` (base64 content)."""
    content = base64.b64decode(upload["content_b64"])
    return upload.get("type", "image"), upload.get("filename", "image.png"), content


async def simulator_sender(recipient: str, payload: dict[str, Any]) -> tuple[str, str]:
    # The simulator page polls the outbox itself; nothing to call.
    return "", "simulator"


class _Claim:
    """Outcome updates for one claimed row, matched on this claim's token."""

    def __init__(self, row: Outbox) -> None:
        self.row = row

    async def update(self, **fields: Any) -> bool:
        changed = await Outbox.filter(
            id=self.row.id, claimed_by=self.row.claimed_by, status=OutboxStatus.SENDING
        ).update(**fields)
        if not changed:
            log.warning(
                "outcome dropped: the row was retaken by another worker",
                extra={"outbox_id": self.row.id, "fields": sorted(fields)},
            )
        return bool(changed)


async def user_wrote_since(channel: str, user: str, moment: datetime) -> bool:
    return await ProcessedMessage.filter(
        channel=channel, sender=user, created_at__gte=moment
    ).exists()


def retry_delay(attempt: int, config: OutboxConfig, rng: random.Random) -> timedelta:
    """base * 3^(attempt-1), capped, ±20 % jitter so retries of a burst spread out."""
    delay = min(config.base_delay_seconds * 3 ** (attempt - 1), config.max_delay_seconds)
    return timedelta(seconds=delay * rng.uniform(0.8, 1.2))


class OutboxWorker:
    def __init__(
        self,
        config: OutboxConfig,
        senders: dict[str, Send],
        metrics: Metrics | None = None,
        rng: random.Random | None = None,
        limits: dict[str, MemberRateLimit] | None = None,
    ) -> None:
        self.config = config
        self.senders = senders
        # Per-recipient limits by channel, checked before each send.
        self.limits = limits or {}
        self.metrics = metrics
        self.rng = rng or random.Random()
        self.worker_id = f"w-{secrets.token_hex(4)}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def claim(self, now: datetime) -> list[Outbox]:
        """Rows this worker now owns: due pending rows, and rows whose claim went stale."""
        stale = now - timedelta(seconds=self.config.lease_seconds)
        batch = self.config.batch_size
        due = (
            await Outbox.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .limit(batch)
            .values_list("id", flat=True)
        )
        lost = (
            await Outbox.filter(status=OutboxStatus.SENDING, claimed_at__lt=stale)
            .order_by("id")
            .limit(batch)
            .values_list("id", flat=True)
        )
        claimed: list[int] = []
        # Each claim carries its own token: if this worker is slow and another one
        # retakes the row, our late outcome matches nothing instead of overwriting.
        token = f"{self.worker_id}:{secrets.token_hex(4)}"
        for row_id in due:
            if await Outbox.filter(id=row_id, status=OutboxStatus.PENDING).update(
                status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now
            ):
                claimed.append(row_id)
        for row_id in lost:
            # The lost attempt counts, so a row that kills its worker every time
            # still ends as failed after max_attempts.
            if await Outbox.filter(
                id=row_id, status=OutboxStatus.SENDING, claimed_at__lt=stale
            ).update(claimed_by=token, claimed_at=now, attempts=F("attempts") + 1):
                log.warning("retaking a row whose worker vanished", extra={"outbox_id": row_id})
                claimed.append(row_id)
        return await Outbox.filter(id__in=claimed).order_by("id") if claimed else []

    async def run_once(self) -> int:
        """One round: claim what is due and send it. Returns the number of rows handled."""
        rows = await self.claim(datetime.now(UTC))
        # Sends of one batch overlap (each waits on Tencent, not on the others), but
        # only max_in_flight at a time: each row is marked sent as soon as its own
        # call returns, so a kill can repeat at most that many sends.
        gate = asyncio.Semaphore(max(1, self.config.max_in_flight))

        async def one(row: Outbox) -> None:
            async with gate:
                await self._deliver_safely(row)

        await asyncio.gather(*(one(row) for row in rows))
        return len(rows)

    async def _deliver_safely(self, row: Outbox) -> None:
        # One row's database trouble must not abandon the rest of the batch; the row
        # stays claimed and is retaken when its lease runs out.
        try:
            await self._deliver(row)
        except Exception:
            log.exception("delivery bookkeeping failed", extra={"outbox_id": row.id})

    async def _deliver(self, row: Outbox) -> None:
        mine = _Claim(row)
        send = self.senders.get(row.channel)
        now = datetime.now(UTC)
        if row.attempts >= self.config.max_attempts:
            await mine.update(status=OutboxStatus.FAILED, last_error="worker lost too often")
            return
        if send is None:
            await mine.update(
                status=OutboxStatus.FAILED, last_error=f"channel {row.channel} is not configured"
            )
            self._count_failure(row.channel, "not_configured")
            return
        if (
            row.channel == "oa"
            and await Customer.filter(openid=row.recipient, unreachable_at__isnull=False).exists()
        ):
            await mine.update(
                status=OutboxStatus.FAILED, last_error="recipient unsubscribed (not sent)"
            )
            self._count_failure(row.channel, "unreachable")
            return
        try:
            if (limit := self.limits.get(row.channel)) is not None:
                await limit.check(row, now)
            msg_id, via = await send(row.recipient, row.payload)
        except Deferred as exc:
            await mine.update(
                status=OutboxStatus.PENDING,
                next_attempt_at=exc.until,
                last_error=exc.reason,
                claimed_by=None,
            )
            return
        except ApiError as exc:
            await self._failed(row, mine, exc, now)
            return
        except Exception as exc:  # a bug in a sender must not stop the worker
            log.exception("sender crashed", extra={"outbox_id": row.id})
            await self._failed(row, mine, ApiError(-3, f"{type(exc).__name__}: {exc}"), now)
            return
        recorded = await mine.update(
            status=OutboxStatus.SENT,
            sent_at=datetime.now(UTC),
            platform_msg_id=msg_id or None,
            via=via,
            attempts=row.attempts + 1,
            last_error="",
        )
        if recorded and self.metrics:
            self.metrics.outbox_sent.labels(channel=row.channel).inc()

    async def _failed(self, row: Outbox, mine: _Claim, exc: ApiError, now: datetime) -> None:
        attempts = row.attempts + 1
        error = f"{exc.code} {exc.message}"[:500]
        self._count_failure(row.channel, str(exc.code))
        if exc.code in OUT_OF_WINDOW:
            # Not an error of ours: the user has not written for 48 h. Their next
            # message reopens the window (release_waiting) — unless it came while
            # this send was in flight, when release_waiting could not see the row.
            if await user_wrote_since(row.channel, row.recipient, row.claimed_at or now):
                await mine.update(
                    status=OutboxStatus.PENDING,
                    next_attempt_at=now,
                    last_error=error,
                    attempts=attempts,
                    claimed_by=None,
                )
                return
            await mine.update(
                status=OutboxStatus.WAITING_FOR_USER,
                last_error=error,
                attempts=attempts,
                claimed_by=None,
            )
            return
        if exc.code in INVALID_USER:
            updated = await mine.update(
                status=OutboxStatus.FAILED, last_error=error, attempts=attempts
            )
            if updated and row.channel == "oa":
                await Customer.filter(openid=row.recipient).update(unreachable_at=now)
            return
        if attempts >= self.config.max_attempts:
            log.error("giving up on a message", extra={"outbox_id": row.id, "error": error})
            await mine.update(status=OutboxStatus.FAILED, last_error=error, attempts=attempts)
            return
        delay = retry_delay(attempts, self.config, self.rng)
        if exc.code in QUOTA:
            delay = max(delay, QUOTA_MIN_DELAY)
        await mine.update(
            status=OutboxStatus.PENDING,
            next_attempt_at=now + delay,
            last_error=error,
            attempts=attempts,
            claimed_by=None,
        )

    def _count_failure(self, channel: str, code: str) -> None:
        if self.metrics:
            self.metrics.outbox_failures.labels(channel=channel, code=code).inc()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; wakes early when new work is announced."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # database hiccup: log, wait, carry on
                log.exception("outbox round failed")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self.config.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
