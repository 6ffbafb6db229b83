"""Morning briefing benchmark (not a test): N generated customers and 50 reps on
PostgreSQL, then the briefing job's work for one day — build every rep's briefing
and render it — timed, with the number of SQL statements it issued. Target: under
5 s at 100 000 customers, and a statement count that does not grow with them.

    .venv/bin/python bench/briefing.py [--sizes 10000,100000] [--reps 50]
                                       [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_briefing]

The database is created when missing; its tables are emptied and refilled for each
size, so it must be a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from bench.common import counting_statements, ensure_database  # noqa: E402
from bot import db  # noqa: E402
from models.care import build_briefings  # noqa: E402
from models.care_text import render_briefing  # noqa: E402
from tests.conftest import make_config  # noqa: E402

TODAY = date(2026, 9, 21)  # four days before 中秋: occasions and heads-ups included
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


async def fill(url: str, customers: int, reps: int, rng: random.Random) -> None:
    dsn = url.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE followup, customer, staff RESTART IDENTITY CASCADE")
        now = datetime(2026, 9, 21, tzinfo=UTC)
        await conn.executemany(
            "INSERT INTO staff (name, role, oa_openid, active, on_duty, created_at) "
            "VALUES ($1, $2, $3, true, $4, $5)",
            [(f"销售{i}", "rep", f"oRep{i:024d}", False, now) for i in range(reps)]
            + [("主管", "manager", "oMgr" + "0" * 24, True, now)],
        )
        rows = []
        for _ in range(customers):
            lunar = rng.random() < 0.3
            rows.append(
                (
                    rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    rng.choices(["vip", "normal", "potential"], [1, 4, 5])[0],
                    rng.randint(1, 12),
                    rng.randint(1, 29 if lunar else 28),
                    rng.choice([None, rng.randint(1960, 2000)]),
                    lunar,
                    rng.randint(1, reps),
                    now - timedelta(days=rng.randint(0, 120)),
                    now - timedelta(days=400),
                )
            )
        await conn.executemany(
            "INSERT INTO customer (name, name_pinyin, name_initials, company, industry, size, "
            "category, grade, lifecycle, birthday_month, birthday_day, birthday_year, "
            "birthday_lunar, owner_id, notes, last_contact_at, created_at, updated_at) "
            "VALUES ($1, '', '', '', '', '', '', $2, 'active', $3, $4, $5, $6, $7, '', $8, "
            "$9, $9)",
            rows,
        )
        followups = [
            (
                rng.randint(1, customers),
                rng.randint(1, reps),
                TODAY + timedelta(days=rng.randint(-10, 10)),
                now - timedelta(days=rng.randint(1, 30)),
            )
            for _ in range(customers // 10)
        ]
        await conn.executemany(
            "INSERT INTO followup (customer_id, rep_id, method, content, feedback, "
            "next_revisit_on, created_at) VALUES ($1, $2, 'phone', '聊了报价', '', $3, $4)",
            followups,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def one_size(url: str, customers: int, reps: int) -> str:
    await fill(url, customers, reps, random.Random(customers))
    cfg = make_config(url)
    ctx = await db.connect(url)
    try:
        with counting_statements() as counter:
            started = time.perf_counter()
            moment = datetime(2026, 9, 21, 0, 30, tzinfo=UTC)
            found = await build_briefings(TODAY, cfg, now=moment)
            texts = [
                render_briefing(b, push=True, full=False, cap=cfg.care.briefing_max_lines)
                for b in found.values()
            ]
            elapsed = time.perf_counter() - started
    finally:
        await db.close(ctx)
    longest = max(len(t) for t in texts)
    return (
        f"| {customers:,} | {reps} | {len(found)} | {elapsed:.2f} s | {counter.count} | "
        f"{longest} chars |"
    )


async def main(args: argparse.Namespace) -> None:
    await ensure_database(args.database)
    await db.migrate(args.database)
    print("| customers | reps | briefings | build + render | SQL statements | longest push |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        print(await one_size(args.database, size, args.reps), flush=True)
    if Tortoise.is_inited():
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_briefing"
    )
    asyncio.run(main(parser.parse_args()))
