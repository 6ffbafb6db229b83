"""Campaign benchmark (not a test): 100 000 customers and 50 reps on PostgreSQL, with
a month of earlier campaign prompts for the frequency cap; then

- the preview of segments over the whole book (every customer, and VIP · 活跃),
  timed with its SQL statement count (target: under 1 s at 100 000 customers);
- the send of segments of 1 000 and 5 000 customers across the 50 reps — contacts
  recorded, one prompt per rep queued — timed with its statement count (target: under
  5 s for 5 000, and the same number of statements for both sizes).

    .venv/bin/python bench/campaigns.py [--customers 100000] [--reps 50]
                                        [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_campaigns]

The database is created when missing and its tables are emptied and refilled, so it
must be a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from bench.common import counting_statements, ensure_database  # noqa: E402
from bot import db  # noqa: E402
from models.campaigns.segments import parse_segment, vocabulary  # noqa: E402
from models.campaigns.service import create_campaign, preview, send  # noqa: E402
from models.campaigns.tables import CampaignKind  # noqa: E402
from tests.conftest import make_config  # noqa: E402

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
INDUSTRIES = ["餐饮", "零售", "制造", "医疗", "教育", "物流"]
# Industries only the send segments have: exactly these many customers each.
SEND_SIZES = {"酒店甲": 1000, "酒店乙": 5000}


async def fill(url: str, customers: int, reps: int, rng: random.Random) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(
            "TRUNCATE campaign_contact, campaign, outbox, customer, staff RESTART IDENTITY CASCADE"
        )
        await conn.executemany(
            "INSERT INTO staff (name, role, oa_openid, active, on_duty, created_at) "
            "VALUES ($1, $2, $3, true, $4, $5)",
            [(f"销售{i}", "rep", f"oRep{i:024d}", False, NOW) for i in range(reps)]
            + [("主管", "manager", "oMgr" + "0" * 24, True, NOW)],
        )
        special = [name for name, n in SEND_SIZES.items() for _ in range(n)]
        rows = []
        for i in range(customers):
            industry = special[i] if i < len(special) else rng.choice(INDUSTRIES)
            rows.append(
                (
                    f"客户{i}",
                    industry,
                    rng.choices(["vip", "normal", "potential"], [1, 4, 5])[0],
                    rng.choice(["potential", "active", "dormant"]),
                    rng.choice([None, None, None, "strategic", "key", "major"]),
                    rng.randint(1, 12),
                    rng.randint(1, 28),
                    rng.random() < 0.2,
                    # Spread evenly over the reps: 5 000 customers → 100 per rep.
                    i % reps + 1,
                    NOW if rng.random() < 0.03 else None,
                    NOW - timedelta(days=400),
                )
            )
        await conn.executemany(
            "INSERT INTO customer (name, name_pinyin, name_initials, company, industry, size, "
            "category, grade, lifecycle, tier, birthday_month, birthday_day, birthday_lunar, "
            "owner_id, opted_out_at, notes, contacts, grade_pinned, tier_pinned, "
            "birthday_leap, created_at, updated_at) "
            "VALUES ($1, '', '', '', $2, '', '', $3, $4, $5, $6, $7, $8, $9, $10, '', '', "
            "false, false, false, $11, $11)",
            rows,
        )
        # A month of earlier campaigns: two prompts for a tenth of the book (capped),
        # one for another tenth.
        await conn.execute(
            "INSERT INTO campaign (kind, title, note, segment, segment_label, status, "
            "with_briefing, sent_at, ends_on, created_at) VALUES "
            "('recommend', '旧活动1', '', '{}', '', 'sent', false, $1, $2, $1), "
            "('recommend', '旧活动2', '', '{}', '', 'sent', false, $1, $2, $1)",
            NOW - timedelta(days=10),
            (NOW + timedelta(days=20)).date(),
        )
        earlier = []
        for cid in rng.sample(range(len(special) + 1, customers + 1), customers // 5):
            earlier.append((1, cid, NOW - timedelta(days=10)))
            if cid % 2:
                earlier.append((2, cid, NOW - timedelta(days=5)))
        await conn.executemany(
            "INSERT INTO campaign_contact (campaign_id, customer_id, rep_id, prompted_at, "
            "outcome) VALUES ($1, $2, 1, $3, '')",
            earlier,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run(url: str, customers: int, reps: int) -> None:
    await fill(url, customers, reps, random.Random(16))
    cfg = make_config(url)
    ctx = await db.connect(url)
    try:
        vocab = await vocabulary()
        print("| segment | customers | opted out | capped | reps | preview | SQL statements |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for words in ("全部客户", "VIP 活跃", "大客户 餐饮"):
            segment, _ = parse_segment(words, vocab, NOW.date())
            campaign = await create_campaign(CampaignKind.RECOMMEND, words, segment)
            with counting_statements() as counter:
                started = time.perf_counter()
                found = await preview(campaign, cfg, NOW)
                elapsed = time.perf_counter() - started
            print(
                f"| {words} | {found.customers:,} | {found.opted_out:,} | {found.capped:,} | "
                f"{len(found.reps)} | {elapsed * 1000:.0f} ms | {counter.count} |",
                flush=True,
            )
        print()
        print("| send segment | customers | reps | prompts | send (job time) | SQL statements |")
        print("|---|---:|---:|---:|---:|---:|")
        for industry in SEND_SIZES:
            segment, _ = parse_segment(industry, vocab, NOW.date())
            campaign = await create_campaign(CampaignKind.RECOMMEND, industry, segment)
            with counting_statements() as counter:
                started = time.perf_counter()
                sent = await send(campaign, cfg, NOW)
                elapsed = time.perf_counter() - started
            print(
                f"| {industry} | {sent.preview.customers:,} | {len(sent.preview.reps)} | "
                f"{sent.prompts} | {elapsed:.2f} s | {counter.count} |",
                flush=True,
            )
    finally:
        await db.close(ctx)


async def main(args: argparse.Namespace) -> None:
    await ensure_database(args.database)
    await db.migrate(args.database)
    await run(args.database, args.customers, args.reps)
    if Tortoise.is_inited():
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_campaigns"
    )
    asyncio.run(main(parser.parse_args()))
