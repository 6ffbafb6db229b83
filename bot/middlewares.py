"""Cross-cutting work around every handler: errors, metrics and the audit trail (the
sender and their dialog state are read by the pipeline, with the message's other
bookkeeping, in one statement: models.inbound).

Each middleware is ``(call_next, msg, ctx) -> Reply``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.incoming import Incoming, Reply
from bot.metrics import Metrics
from models.audit import AuditLog
from models.deferred import insert_later

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
            seconds = self.metrics.labelled(
                self.metrics.handler_seconds, ctx.handler_name or "unrouted"
            )
            seconds.observe(time.perf_counter() - started)


async def audit(call_next: Next, msg: Incoming, ctx: Context) -> Reply:
    """Record who did what through the bot: every change of data, and whose data was
    seen (a handler names its ``audit_target``); message content stays out of the log."""
    reply = await call_next(msg, ctx)
    if ctx.handler_name and (not ctx.read_only or ctx.data.get("audit_target")):
        await insert_later(
            AuditLog,
            actor=(ctx.sender.actor or msg.user_key)[:96],
            actor_role=ctx.sender.role,
            action=ctx.handler_name[:48],
            target=str(ctx.data.get("audit_target", ""))[:96],
            detail={"kind": str(msg.kind), "message": msg.dedup_key},
            request_id=ctx.request_id,
        )
    return reply
