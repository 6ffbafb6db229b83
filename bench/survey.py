"""After-sale survey benchmark (not a test): N customers with one deal each on
PostgreSQL (a tenth closed on the due day, every twentieth customer wrote within 48 h),
then the survey job's work for that day — find the due deals, create the surveys,
queue the questions — timed, with the number of SQL statements it issued, and a second
run that must find nothing. Target: a statement count that does not grow with the book
(one per customer asked on the Official Account: the outbox row).

    .venv/bin/python bench/survey.py [--sizes 10000,100000]
                                     [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_survey]

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
from models.surveys import send_surveys  # noqa: E402
from tests.conftest import make_config  # noqa: E402

TODAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
REPS = 50


async def fill(url: str, customers: int, rng: random.Random) -> None:
    """The book: one signed deal per customer, a tenth closed exactly 7 days ago and
    the others 8-400 days ago (those within the 30-day lookback are due as well)."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(
            "TRUNCATE survey, outbox, processed_message, deal, customer, staff "
            "RESTART IDENTITY CASCADE"
        )
        await conn.executemany(
            "INSERT INTO staff (name, role, oa_openid, active, on_duty, created_at) "
            "VALUES ($1, 'rep', $2, true, false, $3)",
            [(f"销售{i}", f"oRep{i:024d}", NOW) for i in range(REPS)],
        )
        await conn.executemany(
            "INSERT INTO customer (name, name_pinyin, name_initials, company, industry, size, "
            "category, grade, lifecycle, birthday_lunar, owner_id, openid, notes, created_at, "
            "updated_at) VALUES ($1, '', '', '', '', '', '', 'normal', 'active', false, $2, $3, "
            "'', $4, $4)",
            [
                (f"客户{i}", rng.randint(1, REPS), f"oCust{i:023d}", NOW)
                for i in range(1, customers + 1)
            ],
        )
        due = TODAY - timedelta(days=7)
        closed = [
            due if i % 10 == 0 else TODAY - timedelta(days=rng.randint(8, 400))
            for i in range(1, customers + 1)
        ]
        await conn.executemany(
            "INSERT INTO deal (customer_id, owner_id, product, quantity, amount, closed_on, "
            "stage, created_at, updated_at) VALUES ($1, $2, '数控机床', 1, 1000, $3, 'signed', "
            "$4, $4)",
            [(i, rng.randint(1, REPS), closed[i - 1], NOW) for i in range(1, customers + 1)],
        )
        # Half the due customers wrote yesterday.
        await conn.executemany(
            "INSERT INTO processed_message (key, channel, sender, status, created_at, "
            "updated_at) VALUES ($1, 'oa', $2, 'done', $3, $3)",
            [
                (f"oa:{i}", f"oCust{i:023d}", NOW - timedelta(hours=12))
                for i in range(20, customers + 1, 20)
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def one_size(url: str, customers: int) -> str:
    await fill(url, customers, random.Random(customers))
    cfg = make_config(url)
    ctx = await db.connect(url)
    try:
        with counting_statements() as counter:
            started = time.perf_counter()
            run = await send_surveys(TODAY, cfg, now=NOW)
            elapsed = time.perf_counter() - started
        with counting_statements() as again_counter:
            started = time.perf_counter()
            again = await send_surveys(TODAY, cfg, now=NOW + timedelta(hours=1))
            again_elapsed = time.perf_counter() - started
    finally:
        await db.close(ctx)
    assert again.asked_customers == again.via_rep == 0
    return (
        f"| {customers:,} | {run.asked_customers:,} | {run.via_rep:,} | "
        f"{elapsed:.2f} s | {counter.count} | {again_elapsed:.3f} s | {again_counter.count} |"
    )


async def main(args: argparse.Namespace) -> None:
    await ensure_database(args.database)
    await db.migrate(args.database)
    print(
        "| customers | asked on OA | via rep | first run | statements | second run | statements |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        print(await one_size(args.database, size), flush=True)
    if Tortoise.is_inited():
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_survey"
    )
    asyncio.run(main(parser.parse_args()))
