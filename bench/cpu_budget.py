"""Where a message's CPU goes, server by server (not a test): the profile behind the
ratios of bench/compare.py. Each server — the bare aiohttp handler (the limit), the
same with one SQLite write, the follow-up's floor (its statements by hand), `wecrm
serve` on SQLite and on PostgreSQL — takes each path from reps at one concurrency,
in turn, for a few rounds; the CPU time its processes, the local PostgreSQL server's
processes and this load client spent is read from /proc around each round and divided
by the messages answered.

Then the budget of each of issue #14's throughput targets: at ``ratio ×`` the limit's
req/s in the same round, how many µs a message may cost in all (the machine's cores
busy all the time) and in one process (one worker's core), against what it costs.

    .venv/bin/python bench/cpu_budget.py [--paths help,card,followup] [--concurrency 32]
        [--rounds 3] [--seconds 5] [--workers 1] [--databases SQLite,PostgreSQL]

Loopback only, bounded by --seconds per round; the PostgreSQL database is a scratch one
(PostgreSQL's figure is every ``postgres`` process of the machine: keep it otherwise
idle).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import ensure_database, machine_quiet  # noqa: E402
from bench.compare import BARE, FLOOR, PATHS, TOKEN, Server, write_config  # noqa: E402
from bench.load import Level, create_reps, run_level  # noqa: E402
from bot import db  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
CPU_COLUMNS = ("server_us", "postgres_us", "client_us", "total_us")
# Issue #14's throughput targets: (database, path) → ratio to the limit.
TARGETS = {
    ("SQLite", "help"): 0.5,
    ("SQLite", "followup"): 0.25,
    ("PostgreSQL", "help"): 0.3,
    ("PostgreSQL", "followup"): 0.12,
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants (a supervisor's workers)."""
    total = 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(stat[11]) + int(stat[12])) / TICKS
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(cpu_seconds(int(child)) for child in children)


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process of this machine (its backends, WAL writer, …)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().startswith("postgres"):
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(stat[11]) + int(stat[12])) / TICKS
        except OSError:
            continue
    return total


@dataclass
class Round:
    rps: float
    server_us: float
    postgres_us: float
    client_us: float
    errors: int

    @property
    def total_us(self) -> float:
        return self.server_us + self.postgres_us + self.client_us


@dataclass
class Measured:
    server: Server
    database: str  # "" for the limit and the bare SQLite write
    rounds: dict[str, list[Round]] = field(default_factory=dict)


async def measure(entry: Measured, path: str, c: int, seconds: float) -> Round:
    server = entry.server
    assert server.proc is not None
    requests = min(len(server.reps), 20000) if path == "followup" else 10**6
    level = Level(concurrency=c, requests=requests)
    await machine_quiet()  # what the previous server left running is not this one's
    before = (cpu_seconds(server.proc.pid), postgres_cpu_seconds(), time.process_time())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        await run_level(
            session, f"{server.url}/wechat", TOKEN, level, path, [], server.reps,
            secrets.token_hex(3), seconds, 30.0,
        )  # fmt: skip
    after = (cpu_seconds(server.proc.pid), postgres_cpu_seconds(), time.process_time())
    if path == "followup" and server.config is not None and "floor" not in server.name:
        server.reps = server.reps[level.attempts :]  # each follow-up took a rep of its own
    answered = max(1, level.attempts - level.error_count)
    per = [1e6 * (b - a) / answered for a, b in zip(before, after, strict=True)]
    rps = level.attempts / level.elapsed if level.elapsed else 0.0
    return Round(rps, per[0], per[1], per[2], level.error_count)


def median(rounds: list[Round], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in rounds)


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wecrm-budget-"))
    wanted = args.databases.split(",")
    wecrm = [sys.executable, "-m", "bot.cli", "--config"]
    workers = ["serve", "--workers", str(args.workers)]
    py = sys.executable
    entries = [
        Measured(Server("aiohttp, signature check, fixed reply (the limit)", [py, BARE], None), ""),
        Measured(
            Server(
                "aiohttp + one SQLite write", [py, BARE, "--sqlite", str(tmp / "b.sqlite3")], None
            ),
            "",
        ),
    ]
    databases = {}
    if "SQLite" in wanted:
        databases["SQLite"] = (
            f"sqlite://{tmp / 'bench.sqlite3'}",
            ["--sqlite", str(tmp / "bench.sqlite3")],
        )
    if "PostgreSQL" in wanted:
        await ensure_database(args.database)
        databases["PostgreSQL"] = (args.database, ["--pg", args.database])
    for name, (url, floor_args) in databases.items():
        await db.migrate(url)
        cfg = write_config(tmp / f"{name}.toml", url)
        serve = [*wecrm, str(cfg), *workers]
        entries += [
            Measured(Server(f"wecrm · {name} · {args.workers} worker(s)", serve, cfg), name),
            Measured(Server(f"floor · {name}", [py, FLOOR, *floor_args], cfg, {"followup"}), name),
        ]
    paths = args.paths.split(",")
    run_id = secrets.token_hex(3)
    try:
        for entry in entries:
            s = entry.server
            await s.start()
            if s.proc is None or s.proc.returncode is not None:
                raise SystemExit(f"{s.name} did not start: {' '.join(s.cmd)}")
            if s.config is None:
                s.reps = [(f"oBare{i}", f"客户{i}") for i in range(20000)]
            else:
                # 跟进 takes a rep a message: enough for every round at a generous rate.
                s.reps = await create_reps(str(s.config), args.reps, run_id + str(s.port))
        # Unmeasured first: pools filled, pinyin tables and statement caches loaded.
        for path in paths:
            for entry in entries:
                if entry.server.paths is None or path in entry.server.paths:
                    await measure(entry, path, args.concurrency, 1.0)
        for _ in range(args.rounds):
            for path in paths:
                for entry in entries:
                    if entry.server.paths is None or path in entry.server.paths:
                        result = await measure(entry, path, args.concurrency, args.seconds)
                        entry.rounds.setdefault(path, []).append(result)
    finally:
        for entry in entries:
            await entry.server.stop()
    report(entries, paths, args)


def report(entries: list[Measured], paths: list[str], args: argparse.Namespace) -> None:
    rounds = f"median of {args.rounds} rounds of {args.seconds:g} s"
    print(f"c={args.concurrency}, {rounds}; CPU µs a message")
    print("| server · path | req/s | server | PostgreSQL | client | total | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in paths:
        for e in entries:
            rounds = e.rounds.get(path)
            if not rounds:
                continue
            rps, *cpu = (median(rounds, a) for a in ("rps", *CPU_COLUMNS))
            errors = sum(r.errors for r in rounds)
            figures = " | ".join(f"{us:.0f}" for us in cpu)
            print(f"| {e.server.name} · {PATHS[path]} | {rps:,.0f} | {figures} | {errors} |")
    cores = os.cpu_count() or 1
    limit = entries[0].rounds
    print(f"\nBudgets at issue #14's targets ({cores} cores; the limit's req/s of each round):")
    for (database, path), ratio in TARGETS.items():
        wecrm = next(
            (e for e in entries if e.database == database and "wecrm" in e.server.name), None
        )
        if wecrm is None or path not in wecrm.rounds or path not in limit:
            continue
        need = ratio * statistics.median(r.rps for r in limit[path])
        rounds = wecrm.rounds[path]
        total, server, got = (median(rounds, a) for a in ("total_us", "server_us", "rps"))
        print(
            f"- {database} {PATHS[path]} ≥ {ratio}× = {need:,.0f} req/s: at most "
            f"{cores * 1e6 / need:.0f} µs a message in all (measured {total:.0f}), "
            f"{args.workers * 1e6 / need:.0f} in wecrm's {args.workers} process(es) "
            f"(measured {server:.0f}); got {got:,.0f} req/s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS), help="of " + ",".join(PATHS))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="wecrm's workers")
    parser.add_argument("--reps", type=int, default=40000, help="reps (customers) per wecrm server")
    parser.add_argument("--databases", default="SQLite,PostgreSQL")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_budget"
    )
    started = time.perf_counter()
    asyncio.run(main(parser.parse_args()))
    print(f"\n(took {time.perf_counter() - started:.0f} s)")
