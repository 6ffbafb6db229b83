"""One message from any channel to its reply: dedup, the handler chain, and the
5-second rule.

WeChat waits about 5 s for a passive reply and then retries. The handler races
``bot.reply_deadline``; if it loses, the request answers ``success`` at once, the
handler carries on in the background and its reply is queued in the outbox for
active delivery. Background work is tracked so shutdown can wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.config import Config
from bot.context import Context
from bot.dedup import Deduplicator
from bot.dispatcher import Dispatcher
from bot.incoming import Incoming, Reply
from bot.logs import new_request_id, request_id_var
from bot.metrics import Metrics
from models.outbox import enqueue, release_waiting

log = logging.getLogger("wecrm.pipeline")


class Pipeline:
    def __init__(
        self,
        config: Config,
        dispatcher: Dispatcher,
        metrics: Metrics,
        outbox_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.metrics = metrics
        # Tells the delivery worker there is something to send right now.
        self.outbox_changed = outbox_changed
        # A row still "processing" this long after its start belongs to a process
        # that died (a live one marks it late at the deadline): a retry takes over.
        self.dedup = Deduplicator(stale_after=config.bot.reply_deadline + 2.0)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def deadline(self) -> float:
        return self.config.bot.reply_deadline

    async def process(self, msg: Incoming) -> Reply:
        started = time.monotonic()
        if not await self.dedup.claim(msg):
            self.metrics.dedup_hits.labels(channel=msg.channel).inc()
            reply = await self.dedup.reply_of_first(msg.dedup_key, self.deadline)
            return reply if reply is not None else Reply.none()
        try:
            return await self._run(msg, started)
        except BaseException:
            # Whatever broke after the claim (database down, cancelled at shutdown),
            # forget the claim so WeChat's retry runs the handler instead of getting
            # "success" for a message nobody handled.
            await self.dedup.abandon(msg.dedup_key)
            raise

    async def _run(self, msg: Incoming, started: float) -> Reply:
        if msg.channel != "simulator" and await release_waiting(msg.channel, msg.sender):
            # The user's message reopened the 48-hour window for what waited on it.
            self.outbox_changed()
        rid = request_id_var.get() or new_request_id()
        ctx = Context(config=self.config, request_id=rid)
        task = asyncio.create_task(self.dispatcher.feed(msg, ctx))
        remaining = max(0.0, self.deadline - (time.monotonic() - started))
        try:
            done, _ = await asyncio.wait({task}, timeout=remaining)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            reply = task.result()
            await self.dedup.finish(msg.dedup_key, reply)
            return reply
        await self.dedup.mark_late(msg.dedup_key)
        self.metrics.late_replies.labels(channel=msg.channel).inc()
        log.warning(
            "reply missed the deadline; it goes to the outbox", extra={"key": msg.dedup_key}
        )
        self._track(self._deliver_late(msg, task), name=f"late:{msg.dedup_key}")
        return Reply.none()

    async def _deliver_late(self, msg: Incoming, task: asyncio.Task[Reply]) -> None:
        reply = await task
        await self.dedup.finish_late(msg.dedup_key, reply)
        if not reply.is_empty:
            await enqueue(
                f"late:{msg.dedup_key}",
                channel=msg.channel,
                recipient=msg.sender,
                payload={"reply": reply.to_dict(), "reason": "late"},
            )
            self.outbox_changed()

    def _track(self, coro: object, name: str) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    async def drain(self, wait: float | None = None) -> None:
        """Wait for late replies still being computed (graceful shutdown, tests)."""
        if not self._background:
            return
        _, pending = await asyncio.wait(set(self._background), timeout=wait)
        for task in pending:
            # Out of time: say which replies are lost rather than let them fail later
            # against a closed database.
            log.error("late reply abandoned at shutdown", extra={"task": task.get_name()})
            task.cancel()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("late reply failed", exc_info=task.exception())
