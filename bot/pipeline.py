"""One message from any channel to its reply: the sender read, the handler chain,
the dedup record and the 5-second rule.

A message whose handler may change data runs in one database transaction: its
writes, its dedup record, its reply and (when late) its outbox row commit together
or not at all. A process killed mid-handler therefore leaves
nothing half-done: the database rolls the transaction back and WeChat's retry runs
the handler as if for the first time. A committed message is never run again: its
retries read the stored reply (bot.dedup). On PostgreSQL the transaction begins with
its first write, and a message whose only write is its dedup record's statement (a
follow-up: every row of it goes there) sends that one statement and no BEGIN or
COMMIT (bot.pg_engine).

Few round trips: everything the pipeline itself needs to know about the sender
comes from one statement (models.inbound), read before any transaction; the handler
is then chosen, and a read-only one (bot.router ``read_only``) runs without a
transaction — no BEGIN and COMMIT — and writes nothing more (no dedup record; the
audit entry of a card seen goes in a batch after the reply, models.batched_rows).
Waiting outbox rows are released only when the read said there are some. The replay
record (plain mode) and that release stand on their own: they hold whatever becomes
of the message (on SQLite the replay records of many messages are written together:
``models.signed_urls``).

WeChat waits about 5 s for a passive reply and then retries. All database work runs
in a task raced against ``bot.reply_deadline``:

* the task finishes in time: its reply is the answer;
* the message is claimed — the database answered the sender read and, for a
  message that writes, its transaction is open (on SQLite: holds the write lock) —
  but the handler is slow: the request answers ``success``, the task carries on and
  queues its reply in the outbox (same transaction);
* the handler answered in time but its commit is still on its way ``COMMIT_GRACE``
  later: the request answers ``success`` and the reply is pushed once committed —
  never promised before it is durable — or, if the commit fails, an apology is;
* not claimed yet (the database hangs, is gone, or another process holds SQLite's
  write lock): the task is cancelled, its transaction rolled back, and the user is
  asked to resend.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from tortoise.transactions import in_transaction

from bot.channels.security import DoorError
from bot.config import Config
from bot.context import Context
from bot.conversation import Conversation
from bot.crypto import cipher_for
from bot.dedup import Deduplicator, Duplicate, Stored, arrival
from bot.dispatcher import Dispatcher
from bot.incoming import Incoming, Reply
from bot.logs import new_request_id, request_id_var
from bot.metrics import Metrics
from models.batched_rows import BatchedRows
from models.deferred import collecting, flush, take_plain_rows
from models.enums import ProcessingStatus
from models.inbound import Inbound, load_inbound
from models.messages import ReplayRefused
from models.outbox import enqueue, release_waiting
from models.signed_urls import PendingUrls

log = logging.getLogger("wecrm.pipeline")

# What the user sees when the database did not answer in time: better than
# WeChat's own "该公众号暂时无法提供服务", and WeChat does not retry a 200, so the
# user is the one who resends.
BUSY = "系统繁忙，请稍后再发一次。"
# A message answered late whose commit then failed: nothing of it was kept.
LOST = "抱歉，刚才那条消息没有保存成功，请再发一次。"

# After the deadline, how long a reply whose handler already finished may still
# take to commit before the request answers anyway (WeChat's limit is 5 s; the
# default deadline is 4.5 s).
COMMIT_GRACE = 0.3
# Seconds before each new try to queue a committed reply whose push failed (times
# the attempt's number).
PUSH_RETRY_DELAYS = (0.5, 2.0)


class _HandlerFailed(Exception):
    """The handler chain failed and answered with an apology: roll its writes back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__("handler failed")
        self.reply = reply


class Flight:
    """One message being handled by this process; what its retries here wait on."""

    __slots__ = (
        "_token", "arrived_ns", "claimed", "decided", "done", "late", "latest_ns",
        "pushed_once_committed", "reply",
    )  # fmt: skip

    def __init__(self) -> None:
        self.arrived_ns = time.time_ns()
        # The latest request of the message this flight answers for: a retry on this
        # worker waits on it, and gets its reply or nothing (the push is this flight's).
        self.latest_ns = self.arrived_ns
        self._token: str | None = None
        self.claimed = False  # the database answered: the message is under way
        self.decided = False  # the handler returned; passive or late is settled
        self.late = False  # the request gave up waiting: the reply goes to the outbox
        # The request gave up while the decided reply was still committing: the reply
        # is pushed once it is committed (it could not join the transaction any more).
        self.pushed_once_committed = False
        self.done = asyncio.Event()
        self.reply: Reply | None = None

    @property
    def arrived(self) -> str:
        """The request's token on the dedup record (bot.dedup.arrival), made when a
        retry first needs it."""
        if self._token is None:
            self._token = arrival(self.arrived_ns)
        return self._token

    def answering_for(self) -> str:
        """The token to read and take the dedup record with (bot.dedup.reply_of_first):
        this request's own, or that of the latest retry it answers for."""
        return self.arrived if self.latest_ns == self.arrived_ns else arrival(self.latest_ns)

    @property
    def answered_nothing(self) -> bool:
        """The request gave up waiting: whatever reply there is goes out as a push."""
        return self.late or self.pushed_once_committed


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
        cipher = cipher_for(config.data_key_bytes) if config.security.data_key else None
        self.dedup = Deduplicator(cipher)
        # Plain-mode URLs against replays, written in batches on SQLite (started by
        # the app once the database is there).
        self.signed_urls = PendingUrls()
        # A read-only reply's audit entries, written in batches (started by the app).
        self.batched_rows = BatchedRows()
        self._flights: dict[str, Flight] = {}
        self._background: set[asyncio.Task[Reply]] = set()

    @property
    def deadline(self) -> float:
        return self.config.bot.reply_deadline

    async def process(self, msg: Incoming) -> Reply:
        started = time.monotonic()
        key = msg.dedup_key
        first = self._flights.get(key)
        if first is not None:
            return await self._await_first(msg, first, started)
        flight = self._flights[key] = Flight()
        rid = request_id_var.get() or new_request_id()
        task = asyncio.create_task(self._handle(msg, flight, rid), name=f"msg:{key}")
        task.add_done_callback(lambda _: self._forget(key, flight))
        try:
            done = await _finished(task, self._left(started))
            if not done and flight.decided and not flight.late:
                # Handled in time, only the commit is still on its way.
                done = await _finished(task, COMMIT_GRACE)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done:
            return task.result()
        if flight.decided and not flight.late:
            # The reply is known but not yet committed: answering it now could tell
            # the user 「已记录」 of rows a failing COMMIT then loses. It goes out as a
            # push once committed (or an apology if the commit fails).
            flight.pushed_once_committed = True
            self.metrics.late_replies.labels(channel=msg.channel).inc()
            log.warning(
                "reply still committing at the deadline; pushed once committed", extra={"key": key}
            )
            self._track(task)
            return Reply.none()
        self._track(task)
        if flight.claimed:
            flight.late = True
            self.metrics.late_replies.labels(channel=msg.channel).inc()
            log.warning("reply missed the deadline; it goes to the outbox", extra={"key": key})
            return Reply.none()
        # The database did not even take the claim: nothing of this message may
        # happen later behind the user's back, who is told to resend.
        task.cancel()
        log.error("database did not answer in time; asked the user to resend", extra={"key": key})
        return Reply(text=BUSY)

    def _left(self, started: float) -> float:
        return max(0.0, self.deadline - (time.monotonic() - started))

    def _forget(self, key: str, flight: Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        flight.done.set()

    async def _await_first(self, msg: Incoming, first: Flight, started: float) -> Reply:
        """A retry while this process still handles the message's first request: its
        reply, or nothing when that goes out as a push — for this retry as well, the
        latest request WeChat listens to (:meth:`Flight.answering_for`)."""
        self.metrics.dedup_hits.labels(channel=msg.channel).inc()
        first.latest_ns = max(first.latest_ns, time.time_ns())
        if not first.late:
            try:
                await asyncio.wait_for(first.done.wait(), self._left(started))
            except TimeoutError:
                return Reply.none()
        if first.answered_nothing or first.reply is None:
            return Reply.none()  # the reply is (or goes) out as a push: not twice
        return first.reply

    async def _handle(self, msg: Incoming, flight: Flight, rid: str) -> Reply:
        request_id_var.set(rid)
        ctx = Context(config=self.config, request_id=rid)
        try:
            with collecting():
                reply, wake = await self._run(msg, flight, ctx)
        except ReplayRefused:
            raise DoorError(403, "signature already used for another message") from None
        except Duplicate as duplicate:
            self.metrics.dedup_hits.labels(channel=msg.channel).inc()
            reply, wake = await self._answer_retry(msg, flight, duplicate)
        except _HandlerFailed as failed:
            # Nothing of the failed handler stays; no record either, so a retry may
            # succeed where this one failed. A late apology still reaches the user.
            reply, wake = failed.reply, False
            flight.decided = True
            if flight.late:
                await self._enqueue_late(msg, reply)
                wake = True
        except Exception:
            if flight.answered_nothing:
                # Answered nothing, and nothing of the message was kept: not silence.
                await self._apologise_late(msg)
            raise
        else:
            if flight.pushed_once_committed and not reply.is_empty:
                await self._push(msg, reply, Stored(reply, ProcessingStatus.DONE, flight.arrived))
                wake = True
        if wake:
            self.outbox_changed()
        flight.reply = reply
        return reply

    async def _run(self, msg: Incoming, flight: Flight, ctx: Context) -> tuple[Reply, bool]:
        """The message: (reply, whether the outbox has news)."""
        wake = False
        inbound = await load_inbound(
            channel=msg.channel,
            sender=msg.sender,
            user_key=msg.user_key,
            message_key=msg.dedup_key,
            customer_side=msg.customer_side,
            signed_url=msg.signed_url,
            pending=self.signed_urls if self.signed_urls.running else None,
        )
        if inbound.handled is not None:
            raise Duplicate(msg.dedup_key, inbound.handled)
        if (
            inbound.waiting
            and msg.channel != "simulator"
            and await release_waiting(msg.channel, msg.sender)
        ):
            # The user's message reopened the 48-hour window for what waited on it,
            # whatever becomes of the message itself.
            wake = True
        self._know_sender(ctx, msg, inbound)
        try:
            handler = await self.dispatcher.resolve(msg, ctx)
        except Exception:
            # A filter failed: the ordinary path below meets the failure again inside
            # the error middleware, which answers with the apology.
            handler = None
        if handler is not None and handler.read_only:
            # Nothing to commit together: no BEGIN and COMMIT round trips either.
            flight.claimed = True
            reply = await self.dispatcher.feed(msg, ctx, handler)
            return reply, await self._conclude(msg, flight, ctx, reply) or wake
        async with in_transaction():
            # Claimed once the transaction is open: on SQLite that is once it holds
            # the write lock (BEGIN IMMEDIATE), so a message that would have to wait
            # for another process's lock past the deadline is not taken on.
            flight.claimed = True
            reply = await self.dispatcher.feed(msg, ctx, handler)
            return reply, await self._conclude(msg, flight, ctx, reply) or wake

    async def _conclude(self, msg: Incoming, flight: Flight, ctx: Context, reply: Reply) -> bool:
        """The message's bookkeeping after its handler; whether the outbox has news."""
        if ctx.failed:
            raise _HandlerFailed(reply)
        flight.decided, late = True, flight.late
        if late or not ctx.read_only:
            await self.dedup.record(msg, reply, late=late, arrived=flight.arrived)
        elif self.batched_rows.running and (rows := take_plain_rows()) is not None:
            self.batched_rows.add(rows)  # a read-only reply's audit entry (whose card was seen)
        else:
            await flush()
        if late and not reply.is_empty:
            await self._enqueue_late(msg, reply)
            return True
        return False

    def _know_sender(self, ctx: Context, msg: Incoming, inbound: Inbound) -> None:
        ctx.sender.staff, ctx.sender.customer = inbound.staff, inbound.customer
        ttl = timedelta(minutes=self.config.bot.conversation_ttl_minutes)
        ctx.conversation = Conversation(msg.user_key, ttl)
        ctx.conversation.resume(inbound.dialog)

    async def _enqueue_late(self, msg: Incoming, reply: Reply, prefix: str = "late") -> None:
        await enqueue(
            f"{prefix}:{msg.dedup_key}",
            channel=msg.channel,
            recipient=msg.sender,
            payload={"reply": reply.to_dict(), "reason": "late"},
        )

    async def _answer_retry(
        self, msg: Incoming, flight: Flight, duplicate: Duplicate
    ) -> tuple[Reply, bool]:
        """A request of a message another one committed: its stored reply, passively —
        or, if this request answered nothing meanwhile, as a push unless another request
        has it to deliver. Whoever changes the record's status delivers it
        (``bot.dedup``). (reply, whether the outbox has news)"""
        # The database answered: a take that waits for the write lock past the deadline
        # goes late and its reply is pushed, not 「系统繁忙」 for a message that was saved.
        flight.claimed = True
        arrived = flight.answering_for()
        try:
            stored = await self.dedup.reply_of_first(
                duplicate, arrived=arrived, take=not flight.answered_nothing
            )
        except Exception:
            if not flight.answered_nothing:
                raise
            # The take failed once the request had answered nothing (another process
            # wrote past the wait, a connection lost): the record, read again, decides.
            log.warning("could not take a stored reply; pushing it as found", exc_info=True)
            return Reply.none(), await self._push_as_found(msg, arrived)
        if stored is None or stored.reply.is_empty:
            return Reply.none(), False
        if not flight.answered_nothing:
            return stored.reply, False
        if stored.later:
            return Reply.none(), False  # a request that arrived after this one delivers it
        # Answered nothing (before the read, or while taking it: late, or past the
        # commit's grace): pushed, from the record as read or taken — unless another
        # request took it over meanwhile, which then delivers it.
        await self._push(msg, stored.reply, stored)
        return stored.reply, True

    async def _push(self, msg: Incoming, reply: Reply, seen: Stored) -> None:
        """The committed reply of a message whose request answered nothing, as a push —
        unless a retry of the message took it since the record was ``seen``."""
        await _again_on_failure(lambda: self._hand_over(msg, reply, seen))

    async def _push_as_found(self, msg: Incoming, arrived: str) -> bool:
        """:meth:`_push` of the stored reply as the record has it now, for a request that
        answered nothing and could not take it; whether it was queued."""
        pushed = False

        async def once() -> None:
            nonlocal pushed
            found = await self.dedup.reply_of_first(
                Duplicate(msg.dedup_key), arrived=arrived, take=False
            )
            if found is not None and not found.reply.is_empty and not found.later:
                pushed = await self._hand_over(msg, found.reply, found)

        await _again_on_failure(once)
        return pushed

    async def _hand_over(self, msg: Incoming, reply: Reply, seen: Stored) -> bool:
        """In one transaction: the record turned ``late`` from ``seen``
        (:meth:`Deduplicator.hand_over_to_push`) and ``reply`` queued; False, nothing
        queued, if the record changed since."""
        async with in_transaction():
            if not await self.dedup.hand_over_to_push(msg, seen):
                return False
            await self._enqueue_late(msg, reply)
            return True

    async def _apologise_late(self, msg: Incoming) -> None:
        """The user was answered nothing (late, or while the reply committed) and the
        message failed, nothing of it kept: they are told to resend, if the database
        takes even that."""
        try:
            # A key of its own: a retry of the message that then goes late itself
            # still has its reply pushed (``late:``).
            await self._enqueue_late(msg, Reply(text=LOST), prefix="lost")
        except Exception:
            log.exception("could not queue the apology for a lost message")
        else:
            self.outbox_changed()

    def _track(self, task: asyncio.Task[Reply]) -> None:
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


async def _again_on_failure(attempt: Callable[[], Awaitable[object]]) -> None:
    """``attempt`` — queueing a committed reply — tried again after each of
    :data:`PUSH_RETRY_DELAYS` when it fails (the database busy, say): the rows are
    saved, and the user is not to be left with no answer."""
    for n, delay in enumerate((*PUSH_RETRY_DELAYS, None)):
        try:
            await attempt()
            return
        except Exception:
            if delay is None:
                raise
            log.warning("could not queue a committed reply; trying again", exc_info=True)
            await asyncio.sleep(delay * (n + 1))


async def _finished(task: asyncio.Task[Reply], within: float) -> bool:
    """Whether ``task`` ends within ``within`` seconds; it runs on either way.

    ``asyncio.wait`` for one task, without its sets and its inner coroutine: 2.5 µs
    less a message (6.4 against 3.9 µs, timed on uvloop)."""
    if task.done():
        return True
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = loop.call_later(within, wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


def _log_failure(task: asyncio.Task[Reply]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("late reply failed", exc_info=task.exception())
