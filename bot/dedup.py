"""Dedup of WeChat's retries: the first request of a message does the work, retries
get its reply.

The claim is a row insert under a unique key, so it holds across worker processes
sharing the database. A retry arriving while the first request still runs waits
for the cached reply: on a local event when the first runs in this process, by
polling the row when it runs in another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from bot.incoming import Incoming, Reply
from models.enums import ProcessingStatus
from models.messages import ProcessedMessage


class Deduplicator:
    def __init__(self, poll_interval: float = 0.05, stale_after: float = 6.5) -> None:
        self.poll_interval = poll_interval
        self.stale_after = timedelta(seconds=stale_after)
        self._local: dict[str, asyncio.Event] = {}

    async def claim(self, incoming: Incoming) -> bool:
        """True if this request is the first for the message and must run the handler."""
        key = incoming.dedup_key
        try:
            await ProcessedMessage.create(
                key=key[:191], channel=incoming.channel, sender=incoming.sender[:64]
            )
        except IntegrityError:
            if not await self._take_over(key):
                return False
        self._local[key] = asyncio.Event()
        return True

    async def _take_over(self, key: str) -> bool:
        """Claim a row whose first request died mid-way (still processing, too old)."""
        now = datetime.now(UTC)
        taken = await ProcessedMessage.filter(
            key=key[:191], status=ProcessingStatus.PROCESSING, updated_at__lt=now - self.stale_after
        ).update(updated_at=now)
        return taken == 1

    async def abandon(self, key: str) -> None:
        """Give the message back: the next retry will run the handler."""
        self._release(key)
        try:
            await ProcessedMessage.filter(
                key=key[:191], status=ProcessingStatus.PROCESSING
            ).delete()
        except Exception:  # the database may be the reason we are here
            logging.getLogger("wecrm.dedup").warning("could not release %s", key, exc_info=True)

    async def finish(self, key: str, reply: Reply) -> None:
        await ProcessedMessage.filter(key=key[:191]).update(
            status=ProcessingStatus.DONE, reply=reply.to_dict()
        )
        self._release(key)

    async def mark_late(self, key: str) -> None:
        """The reply missed the passive window: retries answer ``success`` from now on."""
        await ProcessedMessage.filter(key=key[:191]).update(status=ProcessingStatus.LATE)
        self._release(key)

    async def finish_late(self, key: str, reply: Reply) -> None:
        """Keep the late reply for the record; its status stays LATE."""
        await ProcessedMessage.filter(key=key[:191]).update(reply=reply.to_dict())

    def _release(self, key: str) -> None:
        event = self._local.pop(key, None)
        if event is not None:
            event.set()

    async def reply_of_first(self, key: str, wait: float) -> Reply | None:
        """The first request's reply, waiting up to ``wait`` seconds for it; None if none comes."""
        deadline = time.monotonic() + wait
        event = self._local.get(key)
        if event is not None:
            try:
                await asyncio.wait_for(event.wait(), wait)
            except TimeoutError:
                return None
        while True:
            row = await ProcessedMessage.get_or_none(key=key[:191])
            if row is None or row.status == ProcessingStatus.LATE:
                return None
            if row.status == ProcessingStatus.DONE:
                return Reply.from_dict(row.reply or {})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(self.poll_interval, remaining))
