"""Side by side, in one interleaved run (not a test): a bare aiohttp handler that checks
the signature and answers a fixed reply (the limit of this machine), and `wecrm serve`
on SQLite and on PostgreSQL with 1 and 2 workers — for 帮助 and 跟进 at the given
concurrency, three rounds. Prints the median req/s, p50, p99 and errors of each, its
ratio to the limit in the same round, and each server's memory (RSS) idle and after.

    .venv/bin/python bench/compare.py [--concurrency 32,256] [--rounds 3] [--seconds 8]
        [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_compare]

Loopback only, bounded by --seconds per level; the PostgreSQL database is a scratch one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import ensure_database  # noqa: E402
from bench.load import Level, create_reps, percentile, run_level  # noqa: E402
from bot import db  # noqa: E402

TOKEN = "bench-token"
BARE = str(ROOT / "bench" / "bare_server.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, url: str) -> Path:
    path.write_text(
        f'[database]\nurl = "{url}"\n[wechat]\ntoken = "{TOKEN}"\napp_id = "wx0000000000bench"\n'
        'encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"\nmode = "compatible"\n'
        f'[security]\ndata_key = "{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}"\n'
        '[outbox]\nenabled = false\n[log]\nformat = "text"\nlevel = "WARNING"\n',
        encoding="utf-8",
    )
    return path


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Server:
    def __init__(self, name: str, cmd: list[str], config: Path | None) -> None:
        self.name, self.cmd, self.config = name, cmd, config
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.reps: list[tuple[str, str]] = []
        self.rss: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        port = [str(self.port)] if self.config is None else ["--port", str(self.port)]
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd, *port, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let every worker bind before measuring
        self.rss.append(rss_mb(self.proc.pid))

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.rss.append(rss_mb(self.proc.pid))
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 30)


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wecrm-compare-"))
    sqlite_url = f"sqlite://{tmp / 'bench.sqlite3'}"
    await ensure_database(args.database)
    for url in (sqlite_url, args.database):
        await db.migrate(url)
    sqlite_cfg = write_config(tmp / "sqlite.toml", sqlite_url)
    pg_cfg = write_config(tmp / "pg.toml", args.database)
    wecrm = [sys.executable, "-m", "bot.cli", "--config"]
    servers = [
        Server("aiohttp, signature check, fixed reply (the limit)", [sys.executable, BARE], None),
        Server("wecrm · SQLite · 1 worker", [*wecrm, str(sqlite_cfg), "serve"], sqlite_cfg),
        Server("wecrm · PostgreSQL · 1 worker", [*wecrm, str(pg_cfg), "serve"], pg_cfg),
        Server(
            "wecrm · PostgreSQL · 2 workers",
            [*wecrm, str(pg_cfg), "serve", "--workers", "2"],
            pg_cfg,
        ),
    ]  # fmt: skip
    levels = [int(c) for c in args.concurrency.split(",")]
    per_level = 20000
    run_id = secrets.token_hex(3)
    for s in servers:
        await s.start()
        if s.config is not None:
            s.reps = await create_reps(str(s.config), args.reps, run_id + str(s.port))
        else:
            s.reps = [(f"oBare{i}", f"客户{i}") for i in range(20000)]
    results: dict[tuple[str, str, int], list[tuple[float, float, float, int]]] = {}
    try:
        for _ in range(args.rounds):
            for path in ("help", "followup"):
                for c in levels:
                    for s in servers:
                        level = Level(concurrency=c, requests=min(per_level, len(s.reps)))
                        async with aiohttp.ClientSession(
                            connector=aiohttp.TCPConnector(limit=c)
                        ) as session:
                            await run_level(
                                session, f"{s.url}/wechat", TOKEN, level, path, [],
                                s.reps, run_id + secrets.token_hex(2), args.seconds, 30.0,
                            )  # fmt: skip
                        # Each follow-up request used one rep; the next level takes new ones.
                        if path == "followup" and s.config is not None:
                            s.reps = s.reps[level.attempts :]
                        lat = sorted(level.latencies)
                        rps = level.attempts / level.elapsed if level.elapsed else 0.0
                        results.setdefault((s.name, path, c), []).append(
                            (rps, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000,
                             level.error_count)
                        )  # fmt: skip
    finally:
        for s in servers:
            await s.stop()
    print("| server · path | c | req/s | p50 ms | p99 ms | errors | × limit |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in ("help", "followup"):
        for c in levels:
            limit = statistics.median(r[0] for r in results[(servers[0].name, path, c)])
            for s in servers:
                rows = results[(s.name, path, c)]
                rps = statistics.median(r[0] for r in rows)
                p50 = statistics.median(r[1] for r in rows)
                p99 = statistics.median(r[2] for r in rows)
                errors = sum(r[3] for r in rows)
                label = "帮助" if path == "help" else "跟进"
                print(
                    f"| {s.name} · {label} | {c} | {rps:,.0f} | {p50:.0f} | {p99:.0f} | "
                    f"{errors} | {rps / limit:.3f} |"
                )
    print()
    for s in servers:
        idle = s.rss[0] if s.rss else 0
        after = s.rss[-1] if len(s.rss) > 1 else 0
        print(f"RSS {s.name}: idle {idle:.0f} MB, after load {after:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=4000, help="reps (and customers) per server")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_compare"
    )
    started = time.perf_counter()
    asyncio.run(main(parser.parse_args()))
    print(f"\n(took {time.perf_counter() - started:.0f} s)")
