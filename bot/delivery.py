"""Wires outbound delivery for one process: the HTTP session, one token owner per
credential, the API wrappers, and the outbox worker running in the background."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from bot.config import Config
from bot.member_limits import MemberRateLimit
from bot.metrics import Metrics
from bot.outbox_worker import OutboxWorker, Send, oa_sender, simulator_sender, wecom_sender
from bot.tokens import TokenOwner
from bot.wechat_api import (
    OfficialAccountAPI,
    TencentClient,
    WeComAPI,
    oa_token_fetcher,
    wecom_token_fetcher,
)


class Delivery:
    def __init__(self, config: Config, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.session: aiohttp.ClientSession | None = None
        self.oa: OfficialAccountAPI | None = None
        self.wecom: WeComAPI | None = None
        self.worker: OutboxWorker | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def build(self) -> OutboxWorker:
        cfg = self.config
        self.session = aiohttp.ClientSession()
        timeout = cfg.outbox.request_timeout
        # The refresh lease must outlast the fetch it protects.
        lease = max(30.0, 3 * timeout)
        senders: dict[str, Send] = {"simulator": simulator_sender}
        if cfg.wechat.app_id and cfg.wechat.app_secret:
            fetch = oa_token_fetcher(
                self.session, cfg.wechat.api_base, cfg.wechat.app_id, cfg.wechat.app_secret, timeout
            )
            owner = TokenOwner(f"oa:{cfg.wechat.app_id}", fetch, lease=lease)
            self.oa = OfficialAccountAPI(
                TencentClient(self.session, cfg.wechat.api_base, owner, timeout)
            )
            senders["oa"] = oa_sender(self.oa)
        if cfg.wecom.corp_id and cfg.wecom.secret:
            fetch = wecom_token_fetcher(
                self.session, cfg.wecom.api_base, cfg.wecom.corp_id, cfg.wecom.secret, timeout
            )
            owner = TokenOwner(
                f"wecom:{cfg.wecom.corp_id}:{cfg.wecom.agent_id}", fetch, lease=lease
            )
            self.wecom = WeComAPI(
                TencentClient(self.session, cfg.wecom.api_base, owner, timeout), cfg.wecom.agent_id
            )
            senders["wecom"] = wecom_sender(self.wecom)
        elif cfg.simulator.enabled and cfg.wecom.corp_id:
            # A demo without a WeCom app: pushes to WeCom members show in the simulator.
            senders["wecom"] = simulator_sender
        limits = {
            "wecom": MemberRateLimit(
                "wecom", cfg.wecom.per_member_per_minute, cfg.wecom.per_member_per_hour
            )
        }
        self.worker = OutboxWorker(cfg.outbox, senders, self.metrics, limits=limits)
        return self.worker

    def start(self) -> None:
        worker = self.worker or self.build()
        if self.config.outbox.enabled:
            self._task = asyncio.create_task(worker.run(self._stop))

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def close(self) -> None:
        self._stop.set()
        try:
            if self._task is not None:
                # A send still running after the budget is cancelled: its row stays
                # claimed and another worker retakes it after the lease.
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(self._task, self.config.server.shutdown_timeout)
        finally:
            if self.session is not None:
                await self.session.close()
