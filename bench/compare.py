"""Side by side, in one interleaved run (not a test): a bare aiohttp handler that checks
the signature and answers a fixed reply (the limit of this machine), WeRoBot under
gunicorn when installed (what people run today), and `wecrm serve` on SQLite and on
PostgreSQL with 1 and N workers — for 帮助, 查 and 跟进 from a rep at each concurrency,
three rounds — and, on 跟进 only, its floor: the same statements on the same schema sent
by hand from a bare aiohttp handler (bench/floor_server.py), what each database allows
the follow-up before any of wecrm's machinery. Prints the median req/s, p50, p99 and
errors of each, its ratio to the limit in the same round, the SQL statements each path
costs, each server's memory (RSS) idle and after load (and, with --soak N, every N/10
帮助 after the rounds), and how long `wecrm outbox` takes to start and answer.

    .venv/bin/python bench/compare.py [--concurrency 32,256] [--rounds 3] [--seconds 5]
        [--workers 2] [--soak 100000]
        [--database postgres://postgres@127.0.0.1:5432/wecrm_bench_compare]

Loopback only, bounded by --seconds per level (and --soak requests); the PostgreSQL
database is a scratch one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import ensure_database, machine_quiet  # noqa: E402
from bench.load import Level, create_reps, percentile, run_level  # noqa: E402
from bot import db  # noqa: E402

TOKEN = "bench-token"
BARE = str(ROOT / "bench" / "bare_server.py")
FLOOR = str(ROOT / "bench" / "floor_server.py")
WEROBOT = str(ROOT / "bench" / "werobot_server.py")


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
    def __init__(
        self, name: str, cmd: list[str], config: Path | None, paths: set[str] | None = None
    ) -> None:
        """``config``: the wecrm configuration whose database the server's reps are
        made in; ``paths``: the only ones it is measured on (default all)."""
        self.name, self.cmd, self.config, self.paths = name, cmd, config, paths
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.reps: list[tuple[str, str]] = []
        self.rss: list[float] = []
        self.most_used = 0  # the most reps a level of 跟进 took

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        wecrm = "bot.cli" in self.cmd
        port = ["--port", str(self.port)] if wecrm else [str(self.port)]
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


PATHS = {"help": "帮助", "card": "查", "followup": "跟进"}


def werobot_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("werobot", "gunicorn"))


async def statements_per_message(config: Path) -> dict[str, int]:
    """SQL statements each path costs, counted in-process on the server's database, as
    the bench sends them (plain-mode callbacks: the replay record included)."""
    from aiohttp.test_utils import TestClient, TestServer

    from bench.common import counting_statements
    from bot.app import PIPELINE, create_app
    from bot.config import load_config
    from tests.wechat_client import WeChatSender

    cfg = load_config(str(config))
    (rep, customer), *_ = await create_reps(str(config), 1, secrets.token_hex(3) + "s")
    client = TestClient(TestServer(create_app(cfg, run_worker=False)))
    await client.start_server()
    # On SQLite the replay records of many messages are written together every 10 ms
    # (models.signed_urls), and so are a card's audit entries (models.batched_rows):
    # those shared batches are no statement of one message's (the card's entry was
    # counted with the follow-up after it).
    client.app[PIPELINE].signed_urls.delay = 3600.0
    client.app[PIPELINE].batched_rows.delay = 3600.0
    counts = {}
    try:
        wechat = WeChatSender(
            client, cfg.wechat.token, cfg.wechat.app_id, cfg.wechat.encoding_aes_key
        )
        await wechat.say("帮助", sender=rep)  # the pool's first connection is no statement
        for path, word in PATHS.items():
            text = word if path == "help" else f"{word} {customer} 电话 聊了报价 下周三回访"
            if path == "card":
                text = f"{word} {customer}"
            with counting_statements() as counter:
                await wechat.say(text, sender=rep)
            counts[path] = counter.count
    finally:
        await client.close()
    return counts


def cli_start_seconds(config: Path, runs: int = 5) -> float:
    """Median wall time of `wecrm outbox` (a typical operator command)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "--config", str(config), "outbox"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def soak(server: Server, requests: int, concurrency: int = 32) -> list[float]:
    """RSS of ``server`` every tenth of ``requests`` 帮助 messages."""
    samples = [rss_mb(server.proc.pid)] if server.proc else []
    step = max(1, requests // 10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        for _ in range(10):
            level = Level(concurrency=concurrency, requests=step)
            await run_level(
                session, f"{server.url}/wechat", TOKEN, level, "help", [], server.reps,
                secrets.token_hex(4), 600.0, 30.0,
            )  # fmt: skip
            assert server.proc is not None
            samples.append(rss_mb(server.proc.pid))
    return samples


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
        Server(
            "aiohttp + one SQLite write per message",
            [sys.executable, BARE, "--sqlite", str(tmp / "bare.sqlite3")],
            None,
        ),
    ]
    if werobot_available():
        servers.append(Server("WeRoBot under gunicorn, 2 workers", [sys.executable, WEROBOT], None))
    else:
        print("WeRoBot: not installed (`.venv/bin/pip install werobot gunicorn` to compare)")
    servers += [
        Server("wecrm · SQLite · 1 worker", [*wecrm, str(sqlite_cfg), "serve"], sqlite_cfg),
        Server(
            f"wecrm · SQLite · {args.workers} workers",
            [*wecrm, str(sqlite_cfg), "serve", "--workers", str(args.workers)],
            sqlite_cfg,
        ),
        Server(
            "wecrm · PostgreSQL · 1 worker",
            [*wecrm, str(pg_cfg), "serve", "--workers", "1"],
            pg_cfg,
        ),
        Server(
            f"wecrm · PostgreSQL · {args.workers} workers",
            [*wecrm, str(pg_cfg), "serve", "--workers", str(args.workers)],
            pg_cfg,
        ),
        # What the database allows a 跟进 without wecrm's machinery, on its schema.
        Server(
            "floor: 跟进's statements by hand · SQLite",
            [sys.executable, FLOOR, "--sqlite", str(tmp / "bench.sqlite3")],
            sqlite_cfg, {"followup"},
        ),
        Server(
            "floor: 跟进's statements by hand · PostgreSQL",
            [sys.executable, FLOOR, "--pg", args.database], pg_cfg, {"followup"},
        ),
    ]  # fmt: skip
    if args.servers:
        # The limit stays: every ratio is taken against it.
        wanted = args.servers.split(",")
        servers = servers[:1] + [s for s in servers[1:] if any(w in s.name for w in wanted)]
    paths = {p: PATHS[p] for p in args.paths.split(",")}
    levels = [int(c) for c in args.concurrency.split(",")]
    per_level = 20000
    run_id = secrets.token_hex(3)
    statements = {
        "SQLite": await statements_per_message(sqlite_cfg),
        "PostgreSQL": await statements_per_message(pg_cfg),
    }
    for s in servers:
        await s.start()
        if s.config is not None:
            s.reps = await create_reps(str(s.config), args.reps, run_id + str(s.port))
        else:
            s.reps = [(f"oBare{i}", f"客户{i}") for i in range(20000)]
    soak_server = next((s for s in servers if s.config and "SQLite" in s.name), None)
    results: dict[tuple[str, str, int], list[tuple[float, float, float, int]]] = {}
    limits: dict[tuple[str, int], list[float]] = {}
    # What went wrong, by kind (a late reply, a refusal, a timeout): printed after the table.
    error_kinds: dict[tuple[str, str, int, str], int] = {}
    not_quiet = 0  # levels that began with the cores still busy after 15 s
    try:
        for _ in range(args.rounds):
            for path in paths:
                for c in levels:
                    for s in servers:
                        if s.paths is not None and path not in s.paths:
                            continue
                        # The floor has no rate limit or dedup to meet: its reps may
                        # log follow-up after follow-up (it would need ~100 000 else).
                        consumes = path == "followup" and "floor" not in s.name
                        # Enough for this level: twice what a level of this server
                        # has used so far (10 a connection before the first).
                        need = max(c * 10, 2 * s.most_used)
                        if consumes and len(s.reps) < need and s.config is not None:
                            # Each follow-up uses a rep of its own: a level left with a few
                            # would report a figure of a few requests, or 0. Topped up off
                            # the clock rather than ending a run of a quarter of an hour.
                            more = min(per_level, need * 2) - len(s.reps)
                            print(f"{s.name}: {more} more reps for 跟进 (raise --reps to avoid)")
                            s.reps += await create_reps(
                                str(s.config), more, run_id + str(s.port) + secrets.token_hex(4)
                            )
                        # What the previous server left running (PostgreSQL's checkpoint
                        # after its writes) must not count against this one.
                        if await machine_quiet() >= 0.1:
                            not_quiet += 1
                        level = Level(concurrency=c, requests=min(per_level, len(s.reps)))
                        async with aiohttp.ClientSession(
                            connector=aiohttp.TCPConnector(limit=c)
                        ) as session:
                            await run_level(
                                session, f"{s.url}/wechat", TOKEN, level, path, [],
                                s.reps, run_id + secrets.token_hex(2), args.seconds, 30.0,
                            )  # fmt: skip
                        # Each follow-up request used one rep; the next level takes new ones.
                        if consumes and s.config is not None:
                            s.reps = s.reps[level.attempts :]
                            s.most_used = max(s.most_used, level.attempts)
                        lat = sorted(level.latencies)
                        rps = level.attempts / level.elapsed if level.elapsed else 0.0
                        results.setdefault((s.name, path, c), []).append(
                            (rps, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000,
                             level.error_count)
                        )  # fmt: skip
                        for kind, n in level.errors.items():
                            error_kinds[(s.name, path, c, kind)] = (
                                error_kinds.get((s.name, path, c, kind), 0) + n
                            )
                    # The ratio is taken in the same round: the machine's state then.
                    limits.setdefault((path, c), []).append(
                        results[(servers[0].name, path, c)][-1][0]
                    )
        soaked = await soak(soak_server, args.soak) if args.soak and soak_server else []
    finally:
        for s in servers:
            await s.stop()
    print("| server · path | c | req/s | p50 ms | p99 ms | errors | × limit | statements |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path, label in paths.items():
        for c in levels:
            for s in servers:
                if (s.name, path, c) not in results:
                    continue
                rows = results[(s.name, path, c)]
                rps = statistics.median(r[0] for r in rows)
                p50 = statistics.median(r[1] for r in rows)
                p99 = statistics.median(r[2] for r in rows)
                errors = sum(r[3] for r in rows)
                ratio = statistics.median(
                    r[0] / limit for r, limit in zip(rows, limits[(path, c)], strict=True)
                )
                db_name = "SQLite" if "SQLite" in s.name else "PostgreSQL"
                wecrm = s.config is not None and "floor" not in s.name
                count = statements[db_name][path] if wecrm else ""
                print(
                    f"| {s.name} · {label} | {c} | {rps:,.0f} | {p50:.0f} | {p99:.0f} | "
                    f"{errors} | {ratio:.3f} | {count} |"
                )
    print()
    if not_quiet:
        print(f"{not_quiet} levels began on a machine still busy (≥ 10 % of its cores) after 15 s")
    for (name, path, c, kind), n in sorted(error_kinds.items()):
        print(f"errors of {name} · {PATHS[path]} at c={c}: {n} × {kind}")
    for s in servers:
        idle = s.rss[0] if s.rss else 0
        after = s.rss[-1] if len(s.rss) > 1 else 0
        print(f"RSS {s.name}: idle {idle:.0f} MB, after load {after:.0f} MB")
    if soaked and soak_server:
        print(
            f"RSS of {soak_server.name} every {args.soak // 10:,} 帮助 after the rounds: "
            + ", ".join(f"{mb:.0f}" for mb in soaked)
            + " MB"
        )
    print(f"`wecrm outbox` (median of 5): {cli_start_seconds(sqlite_cfg):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=10000, help="reps (and customers) per server")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--soak", type=int, default=0, help="then N 帮助 to the SQLite server, RSS sampled"
    )
    parser.add_argument("--paths", default=",".join(PATHS), help="of " + ",".join(PATHS))
    parser.add_argument(
        "--servers", default="", help="only the servers whose name holds one of these (A/B)"
    )
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/wecrm_bench_compare"
    )
    started = time.perf_counter()
    asyncio.run(main(parser.parse_args()))
    print(f"\n(took {time.perf_counter() - started:.0f} s)")
