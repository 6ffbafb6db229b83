"""The aiohttp application factory: routes, the HTTP middleware that guards every
request, and startup/cleanup hooks for the database and background work."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from bot import db
from bot.channels.official_account import INCOMING, OfficialAccountChannel, render_reply
from bot.channels.security import DoorError
from bot.config import Config
from bot.delivery import Delivery
from bot.dispatcher import Dispatcher
from bot.incoming import Reply
from bot.logs import new_request_id, request_id_var
from bot.metrics import Metrics
from bot.middlewares import (
    ErrorMiddleware,
    MetricsMiddleware,
    audit,
)
from bot.pipeline import BUSY, Pipeline
from handlers import routers
from models.enums import OutboxStatus
from models.outbox import Outbox, oldest_pending
from scheduler.runner import SchedulerService

log = logging.getLogger("wecrm.http")

CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline", Pipeline)
DELIVERY: web.AppKey[Delivery] = web.AppKey("delivery", Delivery)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_dispatcher(metrics: Metrics) -> Dispatcher:
    dp = Dispatcher(
        [
            ErrorMiddleware(metrics),
            MetricsMiddleware(metrics),
            audit,
        ]
    )
    for router in routers():
        dp.include_router(router)
    return dp


def _channel_of(request: web.Request) -> str:
    path = request.path
    for prefix, name in (("/wechat", "oa"), ("/wecom", "wecom"), ("/simulator", "simulator")):
        if path.startswith(prefix):
            return name
    return "other"


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, metrics, and the rule that nothing escapes as a 500 or a traceback."""
    metrics = request.app[METRICS]
    channel = _channel_of(request)
    rid = request.headers.get("X-Request-Id", "")[:32] or new_request_id()
    token = request_id_var.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        try:
            response = await handler(request)
        except DoorError as exc:
            log.info("refused at the door", extra={"status": exc.status, "reason": exc.reason})
            response = web.Response(status=exc.status, text=exc.reason)
        except web.HTTPException as exc:
            # 404/405 from routing: aiohttp wants these raised, not returned.
            status = exc.status
            exc.headers["X-Request-Id"] = rid
            raise
        except Exception:
            log.exception("request failed", extra={"path": request.path})
            response = _failure_response(request, channel)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    finally:
        metrics.labelled(metrics.requests, channel, str(status)).inc()
        metrics.labelled(metrics.latency, channel).observe(time.perf_counter() - started)
        request_id_var.reset(token)


def _failure_response(request: web.Request, channel: str) -> web.Response:
    if channel == "oa":
        incoming = request.get(INCOMING)
        if incoming is not None and request.query.get("encrypt_type", "").lower() != "aes":
            xml = render_reply(Reply(text=BUSY), incoming.sender, incoming.recipient)
            return web.Response(text=xml, content_type="application/xml")
        return web.Response(text="success")
    if channel == "wecom":
        # WeCom reads an empty 200 as "no reply"; it must not retry into the same fault.
        return web.Response(text="")
    return web.json_response(
        {"error": "系统繁忙，请稍后再试", "request_id": request_id_var.get()}, status=503
    )


# A load balancer or WeChat-facing proxy must learn within a second that the
# database hangs, not after the database's own timeouts.
HEALTH_TIMEOUT = 1.0


async def healthz(request: web.Request) -> web.Response:
    try:
        await db.ping(request.app[CONFIG].database.url, HEALTH_TIMEOUT)
    except Exception as exc:
        return web.json_response({"status": "down", "database": type(exc).__name__}, status=503)
    # The worker's pid tells which of several workers answered.
    return web.json_response({"status": "ok", "database": "ok", "pid": os.getpid()})


async def metrics_view(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    try:
        backlog = await Outbox.filter(
            status__in=[OutboxStatus.PENDING, OutboxStatus.WAITING_FOR_USER]
        ).count()
        metrics.outbox_backlog.set(backlog)
        oldest = await oldest_pending()
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        metrics.outbox_oldest_pending.set(age)
    except Exception:
        log.warning("outbox backlog unavailable", exc_info=True)
    return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")


def create_app(
    config: Config,
    *,
    connect_db: bool = True,
    run_worker: bool = True,
    run_scheduler: bool = False,
) -> web.Application:
    if config.wechat.mode == "plain":
        log.warning(
            "wechat.mode is plain: WeChat does not sign message bodies in this mode; "
            "switch the console and the config to safe (安全模式)"
        )
    app = web.Application(middlewares=[guard], client_max_size=config.security.max_body_bytes)
    metrics = Metrics()
    delivery = Delivery(config, metrics)
    pipeline = Pipeline(config, build_dispatcher(metrics), metrics, delivery.wake)
    app[CONFIG] = config
    app[METRICS] = metrics
    app[PIPELINE] = pipeline
    app[DELIVERY] = delivery

    OfficialAccountChannel(config, pipeline.process).add_routes(app)
    if config.wecom.token:
        from bot.channels.wecom import WeComChannel

        WeComChannel(config, pipeline.process).add_routes(app)
    if config.simulator.enabled:
        from bot.channels.simulator import SimulatorChannel

        SimulatorChannel(pipeline).add_routes(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)

    async def database(app: web.Application):  # type: ignore[no-untyped-def]
        ctx = (
            await db.connect(config.database.url, config.data_key_bytes or None)
            if connect_db
            else None
        )
        if config.database.url.startswith("sqlite"):
            pipeline.signed_urls.start()
        pipeline.batched_rows.start()
        delivery.build()
        if run_worker:
            delivery.start()
        scheduler = SchedulerService(config) if run_scheduler else None
        if scheduler is not None:
            await scheduler.start()
        yield
        if scheduler is not None:
            await scheduler.stop()
        # In-flight requests are done (aiohttp waited for them): their audit entries
        # are written before anything else may take the rest of the grace period.
        try:
            await pipeline.batched_rows.flush(wait=True)
        except Exception:
            log.error("audit entries not written at shutdown; trying again later", exc_info=True)
        # Late replies may still be computing: give them the shutdown budget, then
        # stop delivery.
        try:
            await pipeline.drain(wait=config.server.shutdown_timeout)
            await delivery.close()
        finally:
            await pipeline.batched_rows.stop()
            await pipeline.signed_urls.stop()
            if connect_db:
                await db.close(ctx)

    app.cleanup_ctx.append(database)
    return app
