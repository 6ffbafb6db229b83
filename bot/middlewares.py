"""Cross-cutting work around every handler: errors, metrics, sender identification,
dialog state and the audit trail. Each middleware is ``(call_next, msg, ctx) -> Reply``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.context import Context
from bot.conversation import Conversation
from bot.incoming import Incoming, Reply
from bot.metrics import Metrics
from models.audit import AuditLog
from models.customers import Customer
from models.staff import find_staff

log = logging.getLogger("wecrm.handlers")

Next = Callable[[Incoming, Context], Awaitable[Reply]]
Middleware = Callable[[Next, Incoming, Context], Awaitable[Reply]]

APOLOGY = "抱歉，系统处理这条消息时出了点问题，我们已经记录下来（编号 {rid}），请稍后再试。"


class ErrorMiddleware:
    """A failing handler becomes an apology to the user and one logged error."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, call_next: Next, msg: Incoming, ctx: Context) -> Reply:
        try:
            return await call_next(msg, ctx)
        except Exception:
            handler = ctx.handler_name or "unrouted"
            ctx.failed = True
            self.metrics.handler_errors.labels(handler=handler).inc()
            log.exception(
                "handler failed",
                extra={"handler": handler, "channel": msg.channel, "kind": str(msg.kind)},
            )
            return Reply(text=APOLOGY.format(rid=ctx.request_id))


class MetricsMiddleware:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, call_next: Next, msg: Incoming, ctx: Context) -> Reply:
        started = time.perf_counter()
        try:
            return await call_next(msg, ctx)
        finally:
            self.metrics.handler_seconds.labels(handler=ctx.handler_name or "unrouted").observe(
                time.perf_counter() - started
            )


async def identify_sender(call_next: Next, msg: Incoming, ctx: Context) -> Reply:
    """Staff (by channel id), else customer (by openid), else stranger."""
    ctx.sender.staff = await find_staff(msg.channel, msg.sender)
    # Simulator users may only act as the demo customers ("sim-…"), never as a
    # real customer whose openid they typed in.
    customer_channel = msg.channel == "oa" or (
        msg.channel == "simulator" and msg.sender.startswith("sim-")
    )
    if ctx.sender.staff is None and customer_channel:
        ctx.sender.customer = await Customer.get_or_none(openid=msg.sender)
    return await call_next(msg, ctx)


async def load_conversation(call_next: Next, msg: Incoming, ctx: Context) -> Reply:
    ttl = timedelta(minutes=ctx.config.bot.conversation_ttl_minutes)
    ctx.conversation = Conversation(msg.user_key, ttl)
    await ctx.conversation.load()
    return await call_next(msg, ctx)


async def audit(call_next: Next, msg: Incoming, ctx: Context) -> Reply:
    """Record who did what through the bot; message content stays out of the log."""
    reply = await call_next(msg, ctx)
    if ctx.handler_name:
        await AuditLog.create(
            actor=(ctx.sender.actor or msg.user_key)[:96],
            actor_role=ctx.sender.role,
            action=ctx.handler_name[:48],
            target=str(ctx.data.get("audit_target", ""))[:96],
            detail={"kind": str(msg.kind), "message": msg.dedup_key},
            request_id=ctx.request_id,
        )
    return reply
