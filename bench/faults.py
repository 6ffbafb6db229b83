"""Fault benchmark (not a test): real ``wecrm serve`` processes on loopback, hurt on
purpose, and a table of what was lost or repeated.

    .venv/bin/python bench/faults.py [--runs 5] [--messages 400] [--hang 20]
                                     [--postgres postgres://postgres@127.0.0.1:5432/test]

Scenarios, on a scratch SQLite file and (when reachable) a scratch PostgreSQL
database created and dropped here:

* kill -9 during a burst of follow-ups (concurrency 32), restart after 1.5 s,
  WeChat-style retries of everything unanswered plus one more retry of every
  message: lost, duplicated, stored-but-unconfirmed;
* the database hangs (paused TCP proxy / held SQLite write lock) — and, on
  PostgreSQL, refuses connections (proxy closed) — for N seconds
  while follow-ups keep arriving (4 per second): the slowest answer, how many
  were told 系统繁忙, duplicates, /healthz during the hang, recovery time;
* PostgreSQL only: the scheduler lock holder's session is terminated: seconds
  until the standby runs the schedule, and whether both ever ran at once.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from bot import db  # noqa: E402
from bot.pipeline import BUSY  # noqa: E402
from models import FollowUp  # noqa: E402
from scheduler.runner import SchedulerService  # noqa: E402
from tests.conftest import DATA_KEY, make_config  # noqa: E402
from tests.crash_scenario import followup_xml, kill_during_burst  # noqa: E402
from tests.db_proxy import PausableProxy, hangable  # noqa: E402
from tests.live_server import LiveServer, post_signed, write_config  # noqa: E402
from tests.sales_helpers import REP_A, customer, team  # noqa: E402
from tests.wechat_client import parse_xml  # noqa: E402

LIMIT = aiohttp.ClientTimeout(total=10)


async def fresh(url: str) -> None:
    """Empty tables, one rep and one customer."""
    conn = Tortoise.get_connection("default")
    for model in Tortoise.apps["models"].values():
        await conn.execute_script(f'DELETE FROM "{model._meta.db_table}"')
    rep, _, _ = await team()
    await customer("周杰", rep)


async def crash_runs(url: str, tmp: Path, runs: int, messages: int) -> list[str]:
    lines = []
    for run in range(1, runs + 1):
        await fresh(url)
        server = LiveServer(write_config(tmp / f"crash{run}.toml", url), None, "--no-scheduler")
        await server.start()
        try:
            started = time.monotonic()
            r = await kill_during_burst(
                server,
                REP_A,
                "周杰",
                messages=messages,
                kill_after=messages // 3,
                concurrency=32,
                down_for=1.5,
            )
        finally:
            await server.stop()
        lines.append(
            f"| kill -9 mid-burst, run {run} | {r.sent} | {r.answered_before_kill} | "
            f"{r.lost} | {r.duplicated} | {r.unconfirmed} | {time.monotonic() - started:.1f} s |"
        )
    return lines


async def hang_run(url: str, tmp: Path, seconds: float) -> str:
    async with hangable(url) as (server_url, hang, recover):

        async def hurt() -> None:
            hang()

        async def heal() -> None:
            recover()

        return await fault_run(url, server_url, tmp, seconds, "hangs", hurt, heal)


async def refuse_run(url: str, tmp: Path, seconds: float) -> str:
    """PostgreSQL goes away (connections reset, new ones refused), then comes back."""
    parts = urlsplit(url)
    proxy = PausableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    user = f"{parts.username}@" if parts.username else ""
    server_url = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    try:
        return await fault_run(
            url, server_url, tmp, seconds, "refuses connections", proxy.refuse, proxy.accept
        )
    finally:
        await proxy.close()


async def fault_run(
    url: str,
    server_url: str,
    tmp: Path,
    seconds: float,
    label: str,
    hurt: Callable[[], Awaitable[None]],
    heal: Callable[[], Awaitable[None]],
) -> str:
    """Follow-ups at 4 per second while the database is hurt for ``seconds``."""
    await fresh(url)
    server = LiveServer(write_config(tmp / "fault.toml", server_url), None, "--no-scheduler")
    await server.start()
    answers: list[tuple[int, float, str | None]] = []
    try:
        async with aiohttp.ClientSession() as session:

            async def one(n: int) -> None:
                t0 = time.monotonic()
                xml = followup_xml(REP_A, "周杰", n)
                body = await post_signed(session, server.url, xml, wait=30)
                answers.append((n, time.monotonic() - t0, body))

            await hurt()
            tasks = []
            for n in range(int(seconds * 4)):
                tasks.append(asyncio.create_task(one(n)))
                await asyncio.sleep(0.25)
            t0 = time.monotonic()
            try:
                async with session.get(f"{server.url}/healthz", timeout=LIMIT) as resp:
                    health = (resp.status, time.monotonic() - t0)
            except TimeoutError:
                health = (0, time.monotonic() - t0)  # no answer at all: a failure
            await heal()
            healed_at = time.monotonic()
            await asyncio.gather(*tasks)
            while time.monotonic() - healed_at < 60:
                with contextlib.suppress(TimeoutError):
                    async with session.get(f"{server.url}/healthz", timeout=LIMIT) as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            recovery = time.monotonic() - healed_at
    finally:
        await server.stop()
    contents = [str(c) for c in await FollowUp.all().values_list("content", flat=True)]
    busy = dup = lost = 0
    for n, _, body in answers:
        stored = sum(f"K{n:05d}" in c for c in contents)
        said = parse_xml(body.encode()).get("Content", "") if body and body != "success" else ""
        busy += said == BUSY
        dup += stored > 1
        lost += stored == 0 and said != BUSY
    slowest = max(t for _, t, _ in answers)
    return (
        f"| database {label} {seconds:.0f} s | {len(answers)} | slowest answer {slowest:.2f} s | "
        f"told 系统繁忙 {busy} | lost {lost} | duplicated {dup} | /healthz {health[0]} in "
        f"{health[1]:.2f} s, 200 again {recovery:.2f} s after |"
    )


async def lock_run(url: str) -> str:
    config = make_config(url)
    first, second = SchedulerService(config, poll=3.0), SchedulerService(config, poll=3.0)
    admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    overlap = 0.0
    try:
        await first.start()
        await second.start()
        assert first.lock._conn is not None
        await admin.execute("SELECT pg_terminate_backend($1)", first.lock._conn.get_server_pid())
        t0 = time.monotonic()
        while not (second.active and not first.active):
            if first.active and second.active:
                overlap += 0.01
            await asyncio.sleep(0.01)
            assert time.monotonic() - t0 < 30
        failover = time.monotonic() - t0
        old_runs = await first.still_holder()
    finally:
        await admin.close()
        await first.stop()
        await second.stop()
    return (
        f"| lock session terminated | failover {failover:.2f} s (poll 3 s) | "
        f"both schedulers up for {overlap:.2f} s, the old one running nothing "
        f"(it checks its lock before each run: {old_runs}) |"
    )


def postgres_up(url: str) -> bool:
    host = url.split("@")[-1].split("/")[0]
    name, _, port = host.partition(":")
    with contextlib.suppress(OSError), socket.create_connection((name, int(port or 5432)), 2):
        return True
    return False


async def one_backend(url: str, tmp: Path, args: argparse.Namespace) -> list[str]:
    await db.migrate(url)
    ctx = await db.connect(url, base64.b64decode(DATA_KEY))
    try:
        lines = await crash_runs(url, tmp, args.runs, args.messages)
        lines.append(await hang_run(url, tmp, args.hang))
        if db.is_postgres(url):
            lines.append(await refuse_run(url, tmp, args.hang))
            lines.append(await lock_run(url))
        return lines
    finally:
        await db.close(ctx)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        backends = [("SQLite", f"sqlite://{tmp / 'faults.sqlite3'}", None)]
        if args.postgres and postgres_up(args.postgres):
            name = f"wecrm_faults_{secrets.token_hex(3)}"
            admin_url = args.postgres.replace("postgres://", "postgresql://", 1)
            conn = await asyncpg.connect(admin_url)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            backends.append(("PostgreSQL", f"{args.postgres.rpartition('/')[0]}/{name}", name))
        for label, url, pg_name in backends:
            print(f"\n## {label}\n")
            print(
                "| scenario | messages | answered before kill | lost | duplicated "
                "| stored, unconfirmed | time |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|")
            try:
                for line in await one_backend(url, tmp, args):
                    print(line, flush=True)
            finally:
                if pg_name:
                    conn = await asyncpg.connect(admin_url)
                    await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
                    await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--hang", type=float, default=20.0)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
