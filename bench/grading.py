"""Nightly grading benchmark (not a test): 100 000 customers, 50 reps, 1 000 000
follow-ups and a realistic book of signed deals on PostgreSQL, then the recompute
(``models.grading.recompute``, what the ``grade`` job and ``wecrm grade`` run), timed,
with the number of SQL statements it issued. Target: under 30 s, and a statement
count that does not grow with the customers.

    .venv/bin/python bench/grading.py [--customers 100000] [--reps 50]
        [--followups 1000000] [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_grading]

Two runs are timed: the first after loading (grades and lifecycles as imported, so a
large share of customers changes — the day grading is switched on) and the second
the next night (steady state). The data is loaded with COPY. The database is created
when missing and its tables are emptied, so it must be a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from bench.common import counting_statements, ensure_database  # noqa: E402
from bot import db  # noqa: E402
from models.grading import recompute  # noqa: E402
from tests.conftest import make_config  # noqa: E402

NIGHT = datetime(2026, 9, 21, 2, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
# A third of the customers have bought; a buyer has about six deals over two years.
BUYER_SHARE = 0.35
DEALS_PER_BUYER = 6


async def fill(url: str, customers: int, reps: int, followups: int, rng: random.Random) -> int:
    """Load the data set with COPY; the number of deals."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(
            "TRUNCATE outbox, deal, followup, customer, staff RESTART IDENTITY CASCADE"
        )
        await conn.copy_records_to_table(
            "staff",
            columns=["name", "role", "oa_openid", "active", "on_duty", "created_at"],
            records=[(f"销售{i}", "rep", f"oRep{i:024d}", True, False, NIGHT) for i in range(reps)]
            + [("主管", "manager", "oMgr" + "0" * 24, True, True, NIGHT)],
        )
        created = NIGHT - timedelta(days=900)
        await conn.copy_records_to_table(
            "customer",
            columns=[
                "name", "name_pinyin", "name_initials", "company", "industry", "size",
                "category", "grade", "lifecycle", "tier", "grade_pinned", "tier_pinned",
                "birthday_lunar", "birthday_leap", "owner_id", "notes", "created_at",
                "updated_at",
            ],
            records=[
                (
                    rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "", "", "", "", "", "",
                    rng.choices(["vip", "normal", "potential"], [1, 4, 5])[0],
                    rng.choice(["potential", "active", "dormant"]),
                    None,
                    rng.random() < 0.005,
                    rng.random() < 0.002,
                    False, False,
                    rng.randint(1, reps),
                    "",
                    created,
                    created,
                )
                for _ in range(customers)
            ],
        )  # fmt: skip
        today = NIGHT.date()
        deals = []
        for cid in range(1, customers + 1):
            if rng.random() >= BUYER_SHARE:
                continue
            for _ in range(max(1, int(rng.expovariate(1 / DEALS_PER_BUYER)))):
                amount = Decimal(int(math.exp(rng.gauss(9.5, 1.2)))).quantize(Decimal("1"))
                on = today - timedelta(days=rng.randint(0, 730))
                stage = "after_sales" if rng.random() < 0.2 else "signed"
                deals.append(
                    (cid, rng.randint(1, reps), "产品", 1, amount, on, stage, NIGHT, NIGHT)
                )
            if rng.random() < 0.3:  # an open opportunity too: not a purchase
                deals.append((cid, rng.randint(1, reps), "商机", 1, Decimal(0), None, "quote",
                              NIGHT, NIGHT))  # fmt: skip
        await conn.copy_records_to_table(
            "deal",
            columns=[
                "customer_id", "owner_id", "product", "quantity", "amount", "closed_on",
                "stage", "created_at", "updated_at",
            ],
            records=deals,
        )  # fmt: skip
        await conn.copy_records_to_table(
            "followup",
            columns=["customer_id", "rep_id", "method", "content", "feedback", "created_at"],
            records=(
                (
                    rng.randint(1, customers),
                    rng.randint(1, reps),
                    "phone",
                    "聊了报价",
                    "",
                    NIGHT - timedelta(minutes=rng.randint(60, 730 * 24 * 60)),
                )
                for _ in range(followups)
            ),
        )
        await conn.execute("VACUUM ANALYZE")
        return len(deals)
    finally:
        await conn.close()


async def timed(url: str, at: datetime) -> tuple[float, int, str]:
    cfg = make_config(url)
    ctx = await db.connect(url)
    try:
        with counting_statements() as counter:
            started = time.perf_counter()
            summary = await recompute(at, cfg)
            elapsed = time.perf_counter() - started
    finally:
        await db.close(ctx)
    return elapsed, counter.count, str(summary)


async def main(args: argparse.Namespace) -> None:
    await ensure_database(args.database)
    await db.migrate(args.database)
    started = time.perf_counter()
    deals = await fill(
        args.database, args.customers, args.reps, args.followups, random.Random(2026)
    )
    print(
        f"loaded {args.customers:,} customers, {args.reps} reps, {args.followups:,} follow-ups, "
        f"{deals:,} deals in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    print("| run | time | SQL statements | summary |")
    print("|---|---:|---:|---|")
    for label, at in (("first night", NIGHT), ("next night", NIGHT + timedelta(days=1))):
        elapsed, statements, summary = await timed(args.database, at)
        print(f"| {label} | {elapsed:.2f} s | {statements} | {summary} |", flush=True)
    if Tortoise.is_inited():
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_grading"
    )
    asyncio.run(main(parser.parse_args()))
