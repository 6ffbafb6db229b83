"""Digest benchmark (not a test): 100 000 customers, 1 000 000 follow-ups over a year,
50 reps, deals, stage moves and complaints on PostgreSQL; then one day's digest —
figures, text and chart — timed, with the number of SQL statements. Target: under 2 s.

    .venv/bin/python bench/digest.py [--customers 100000] [--followups 1000000]
        [--reps 50] [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_digest]

The database is created when missing and its tables refilled (COPY): a scratch
database. Prints cold (first run: imports matplotlib, loads the CJK font) and warm
figures, and the plan of the heaviest statement.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from bench.briefing import GIVEN, SURNAMES  # noqa: E402
from bench.common import counting_statements, ensure_database  # noqa: E402
from bot import db  # noqa: E402
from models.digest import build_digest, overdue_by_owner  # noqa: E402
from models.digest_chart import render_png  # noqa: E402
from models.digest_text import render_digest  # noqa: E402
from models.periods import day_period  # noqa: E402
from tests.conftest import make_config  # noqa: E402

TODAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)  # 18:30 in Shanghai, the digest's hour


# Values for NOT NULL columns a table has beyond what the benchmark cares about (the
# ORM fills them from model defaults; COPY does not).
_TYPE_DEFAULTS = {
    "character varying": "",
    "text": "",
    "integer": 0,
    "smallint": 0,
    "bigint": 0,
    "boolean": False,
    "numeric": Decimal(0),
}


async def copy(conn: asyncpg.Connection, table: str, columns: list[str], records: list) -> None:
    """COPY ``records`` into ``table``, filling its other required columns."""
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 "
        "AND is_nullable = 'NO' AND column_default IS NULL",
        table,
    )
    extra = [(r["column_name"], r["data_type"]) for r in rows if r["column_name"] not in columns]
    extra = [(name, kind) for name, kind in extra if name != "id"]
    fillers = tuple(
        NOW if kind.startswith("timestamp") else _TYPE_DEFAULTS[kind] for _, kind in extra
    )
    await conn.copy_records_to_table(
        table,
        columns=[*columns, *(name for name, _ in extra)],
        records=[(*record, *fillers) for record in records],
    )


async def fill(url: str, customers: int, followups: int, reps: int, rng: random.Random) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(
            "TRUNCATE deal_event, owner_change, kpi_snapshot, complaint_event, complaint, "
            "deal, followup, customer, staff RESTART IDENTITY CASCADE"
        )
        year_ago = NOW - timedelta(days=365)
        await copy(
            conn,
            "staff",
            ["name", "role", "oa_openid", "active", "on_duty", "created_at"],
            records=[
                (f"销售{i}", "rep", f"oRep{i:024d}", True, False, year_ago) for i in range(reps)
            ]
            + [("主管", "manager", "oMgr" + "0" * 24, True, True, year_ago)],
        )
        rows = []
        for _ in range(customers):
            created = year_ago + timedelta(seconds=rng.randint(0, 365 * 86400))
            last = created + timedelta(seconds=rng.randint(0, int((NOW - created).total_seconds())))
            grade = rng.choices(["vip", "normal", "potential"], [1, 4, 5])[0]
            life = rng.choices(["potential", "active", "dormant"], [4, 4, 2])[0]
            rows.append(
                (
                    rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    grade,
                    life,
                    False,
                    False,
                    rng.randint(1, reps),
                    "",
                    last,
                    created,
                    created,
                )
            )
        await copy(
            conn,
            "customer",
            [
                "name",
                "name_pinyin",
                "name_initials",
                "company",
                "industry",
                "size",
                "category",
                "grade",
                "lifecycle",
                "birthday_lunar",
                "birthday_leap",
                "owner_id",
                "notes",
                "last_contact_at",
                "created_at",
                "updated_at",
            ],
            records=rows,
        )
        methods = ["phone", "wechat", "visit", "email"]
        records = []
        for _ in range(followups):
            at = year_ago + timedelta(seconds=rng.randint(0, 365 * 86400))
            plan = at.date() + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.6 else None
            records.append(
                (
                    rng.randint(1, customers),
                    rng.randint(1, reps),
                    rng.choice(methods),
                    "聊了报价，客户考虑中",
                    "",
                    plan,
                    at,
                )
            )
        await copy(
            conn,
            "followup",
            [
                "customer_id",
                "rep_id",
                "method",
                "content",
                "feedback",
                "next_revisit_on",
                "created_at",
            ],
            records=records,
        )
        deals, events = [], []
        for i in range(customers // 2):
            closed = TODAY - timedelta(days=rng.randint(0, 364))
            signed = rng.random() < 0.7
            amount = Decimal(rng.randint(1, 200) * 1000)
            at = datetime.combine(closed, datetime.min.time(), UTC) + timedelta(hours=3)
            deals.append(
                (
                    rng.randint(1, customers),
                    rng.randint(1, reps),
                    "设备",
                    1,
                    amount,
                    closed if signed else None,
                    "signed" if signed else "quote",
                    at,
                    at,
                )
            )
            events.append(
                (i + 1, "quote" if signed else "", "signed" if signed else "quote", amount, at)
            )
        await copy(
            conn,
            "deal",
            [
                "customer_id",
                "owner_id",
                "product",
                "quantity",
                "amount",
                "closed_on",
                "stage",
                "created_at",
                "updated_at",
            ],
            records=deals,
        )
        await copy(
            conn,
            "deal_event",
            ["deal_id", "from_stage", "to_stage", "amount", "created_at"],
            records=events,
        )
        complaints = []
        for i in range(customers // 50):
            opened = NOW - timedelta(hours=rng.randint(1, 24 * 90))
            replied = opened + timedelta(hours=rng.randint(1, 30)) if rng.random() < 0.9 else None
            closed = (
                opened + timedelta(days=rng.randint(1, 9))
                if replied and rng.random() < 0.8
                else None
            )
            complaints.append(
                (
                    "medium",
                    f"TS{i:010d}",
                    rng.randint(1, customers),
                    "发货慢",
                    rng.randint(1, reps),
                    "closed" if closed else "in_progress",
                    opened + timedelta(hours=24),
                    opened + timedelta(days=7),
                    replied,
                    closed,
                    rng.randint(3, 5) if closed else None,
                    closed,
                    opened,
                    opened,
                )
            )
        await copy(
            conn,
            "complaint",
            [
                "severity",
                "ticket_no",
                "customer_id",
                "content",
                "assignee_id",
                "status",
                "first_reply_due",
                "resolve_due",
                "first_replied_at",
                "resolved_at",
                "rating",
                "rated_at",
                "created_at",
                "updated_at",
            ],
            records=complaints,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run(url: str, rounds: int) -> None:
    cfg = make_config(url)
    ctx = await db.connect(url)
    times: list[tuple[float, float, float]] = []
    try:
        with counting_statements() as counter:
            for _ in range(rounds):
                counter.count = 0
                started = time.perf_counter()
                found = await build_digest(day_period(TODAY), cfg, now=NOW, keep_snapshot=False)
                figures = time.perf_counter()
                text = render_digest(found)
                png = render_png(found)
                done = time.perf_counter()
                times.append((figures - started, done - figures, done - started))
            statements = counter.count
        started = time.perf_counter()
        await overdue_by_owner(TODAY)
        overdue_alone = time.perf_counter() - started
    finally:
        await db.close(ctx)
    cold, warm = times[0], times[1:] or times
    print(f"statements per digest: {statements}")
    print(f"cold: figures {cold[0]:.2f} s, text+chart {cold[1]:.2f} s, total {cold[2]:.2f} s")
    print(
        f"warm (median of {len(warm)}): figures {statistics.median(t[0] for t in warm):.2f} s, "
        f"text+chart {statistics.median(t[1] for t in warm):.2f} s, "
        f"total {statistics.median(t[2] for t in warm):.2f} s"
    )
    print(f"  of which overdue revisits (each customer's latest follow-up): {overdue_alone:.2f} s")
    print(f"text {len(text)} chars, chart {len(png):,} bytes")


async def main(args: argparse.Namespace) -> None:
    await ensure_database(args.database)
    await db.migrate(args.database)
    if not args.reuse:
        started = time.perf_counter()
        await fill(args.database, args.customers, args.followups, args.reps, random.Random(7))
        print(
            f"filled {args.customers:,} customers, {args.followups:,} follow-ups, "
            f"{args.reps} reps in {time.perf_counter() - started:.1f} s"
        )
    await run(args.database, args.rounds)
    if Tortoise.is_inited():
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_digest"
    )
    asyncio.run(main(parser.parse_args()))
