"""Dedup of WeChat's retries: the first request of a message does the work, retries
get its reply.

The claim is a row insert under a unique key, so it holds across worker processes
sharing the database. A retry arriving while the first request still runs waits
for the cached reply: on a local event when the first runs in this process, by
polling the row when it runs in another.
"""

from __future__ import annotations

import asyncio
import time

from tortoise.exceptions import IntegrityError

from bot.incoming import Incoming, Reply
from models.enums import ProcessingStatus
from models.messages import ProcessedMessage


class Deduplicator:
    def __init__(self, poll_interval: float = 0.05) -> None:
        self.poll_interval = poll_interval
        self._local: dict[str, asyncio.Event] = {}

    async def claim(self, incoming: Incoming) -> bool:
        """True if this request is the first for the message and must run the handler."""
        key = incoming.dedup_key
        try:
            await ProcessedMessage.create(
                key=key[:191], channel=incoming.channel, sender=incoming.sender[:64]
            )
        except IntegrityError:
            return False
        self._local[key] = asyncio.Event()
        return True

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
