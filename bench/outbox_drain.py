"""Outbox drain benchmark (not a test): queue N rows, let the delivery worker send
them to the fake Tencent API on loopback, print rows/s and API calls per row.

    .venv/bin/python bench/outbox_drain.py [--rows 10000] [--workers 1] [--database URL]

Uses a scratch SQLite file by default (or the PostgreSQL URL given, whose tables it
empties first — never point it at real data). Target: one send call per row and
about one token fetch in all.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import db  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.delivery import Delivery  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from models import Outbox  # noqa: E402
from models.enums import OutboxStatus  # noqa: E402
from tests.fake_tencent import OA_CUSTOM_SEND, OA_TOKEN, FakeTencent  # noqa: E402

DATA_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


async def main(rows: int, workers: int, url: str) -> None:
    await db.migrate(url)
    ctx = await db.connect(url)
    try:
        await Outbox.all().delete()
        async with FakeTencent() as fake:
            cfg = load_config(
                None,
                environ={},
                overrides={
                    "database": {"url": url},
                    "wechat": {
                        "token": "bench",
                        "app_id": "wx1234567890abcdef",
                        "app_secret": "secret",
                        "api_base": fake.base_url,
                    },
                    "security": {"data_key": DATA_KEY},
                    "outbox": {"batch_size": 100},
                },
            )
            started = time.perf_counter()
            now = datetime.now(UTC)
            await Outbox.bulk_create(
                [
                    Outbox(
                        dedup_key=f"bench:{i}",
                        channel="oa",
                        recipient=f"oBench{i % 500:05d}",
                        payload={"reply": {"kind": "text", "text": f"提醒 {i}"}},
                        next_attempt_at=now,
                    )
                    for i in range(rows)
                ],
                batch_size=1000,
            )
            queued = time.perf_counter() - started
            deliveries = [Delivery(cfg, Metrics()) for _ in range(workers)]
            started = time.perf_counter()

            async def drain(d: Delivery) -> None:
                worker = d.build()
                while await worker.run_once():
                    pass

            await asyncio.gather(*(drain(d) for d in deliveries))
            elapsed = time.perf_counter() - started
            for d in deliveries:
                await d.close()
            sent = await Outbox.filter(status=OutboxStatus.SENT).count()
            sends = len(fake.calls_to(OA_CUSTOM_SEND))
            tokens = len(fake.calls_to(OA_TOKEN))
    finally:
        await db.close(ctx)
    print(f"database      {url.split('://')[0]}")
    print(f"rows queued   {rows} in {queued:.2f} s")
    print(f"workers       {workers}")
    print(f"rows sent     {sent} in {elapsed:.2f} s  ->  {sent / elapsed:.0f} rows/s")
    print(f"send calls    {sends}  ({sends / max(sent, 1):.3f} per row)")
    print(f"token calls   {tokens}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    if not 1 <= args.rows <= 100_000 or not 1 <= args.workers <= 8:
        parser.error("rows must be 1..100000 and workers 1..8")
    url = args.database or f"sqlite://{tempfile.mkdtemp()}/drain.sqlite3"
    asyncio.run(main(args.rows, args.workers, url))
