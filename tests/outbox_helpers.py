"""Sending what the outbox holds, now, through the delivery worker (to the fake Tencent
API the config points at): what a test runs after a job or a message queued pushes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import Config
from bot.delivery import Delivery
from bot.metrics import Metrics
from models import Outbox


async def drain(cfg: Config, workers: int = 1) -> None:
    """Make every queued row due and let ``workers`` delivery workers send them all."""
    await Outbox.filter().update(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    deliveries = [Delivery(cfg, Metrics()) for _ in range(workers)]
    built = [d.build() for d in deliveries]
    try:

        async def run(worker: Any) -> None:
            while await worker.run_once():
                pass

        await asyncio.gather(*(run(w) for w in built))
    finally:
        for d in deliveries:
            await d.close()
