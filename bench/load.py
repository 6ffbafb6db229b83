"""Load benchmark for the Official Account callback (not a test).

Fires signed plain-mode text messages at ``/wechat`` of a running ``wecrm serve``,
as WeChat's servers would, and prints per concurrency level: requests per second,
p50/p99 latency and the errors. Every request has its own MsgId and its own sender,
so dedup never short-circuits one and each is a full trip through the pipeline.

Paths:

- ``help``: each sender asks 「帮助」 (a stranger's help text: identify, route, reply).
- ``bind``: invite codes are created first, straight in the server's database (the
  URL from ``--config``); each request then redeems one with 「绑定 <code>」 from a new
  sender and must be answered 「绑定成功」 — a write-heavy path (invite claim, new
  staff row, audit) that shows the database's limits.
- ``card``: reps as for ``followup`` below, each asking 「查 <their customer>」 and
  answered with the whole card (customer search, card reads, the audit entry).
- ``followup``: one rep per request and a customer owned by each (「压测客户0001」, …)
  are created first, likewise straight in the server's database; each request then
  logs 「跟进 <customer> 电话 聊了报价，客户有兴趣 下周三回访」 from its rep and must be
  answered 「已记录跟进」 — the chat's everyday write (customer search, follow-up row,
  the customer's last contact, audit).

Bounded on purpose: loopback URLs only (this is not a tool to load someone else's
server), at most ``MAX_REQUESTS`` per level and ``--max-seconds`` per level.

    python bench/load.py --config config.demo.toml --path help --concurrency 1,32,256
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import os
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import aiohttp

# Run from a checkout without installing: the project root is the parent of bench/.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAX_REQUESTS = 20_000
MAX_CONCURRENCY = 1024
ACCOUNT = "gh_0123456789ab"
BIND_OK = "绑定成功"
FOLLOWUP_NOTE = "电话 聊了报价，客户有兴趣 下周三回访"
FOLLOWUP_OK = "已记录跟进"  # handlers.followups.LOGGED
CUSTOMER_PREFIX = "压测客户"


@dataclass
class Level:
    concurrency: int
    requests: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    # Requests sent and finished, answered or not.
    attempts: int = 0
    elapsed: float = 0.0
    stopped_early: bool = False

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def ensure_loopback(url: str) -> None:
    """Refuse anything but this machine: every name the host resolves to must be loopback."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SystemExit(f"load.py: expected an http:// URL, got {url!r}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise SystemExit(f"load.py: cannot resolve {parts.hostname}: {exc}") from None
    addresses = {str(info[4][0]) for info in infos}

    def loopback(address: str) -> bool:
        try:
            return ipaddress.ip_address(address).is_loopback
        except ValueError:  # e.g. a scoped link-local address: not this machine's loopback
            return False

    if not addresses or not all(loopback(a) for a in addresses):
        raise SystemExit(
            f"load.py: refusing {parts.hostname} ({', '.join(sorted(addresses))}): "
            "benchmarks run against a loopback address only"
        )


def sign(*parts: str) -> str:
    # WeChat's callback signature: sha1 of the sorted strings, concatenated.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(sender: str, content: str, msg_id: int) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def reply_content(body: str) -> str | None:
    """The text of a passive reply; None for ``success`` (answered later via the outbox)."""
    if body in {"", "success"}:
        return None
    root = ElementTree.fromstring(body)  # our own server's reply on loopback
    return root.findtext("Content") or ""


async def create_invites(config_path: str | None, count: int) -> list[str]:
    """``count`` fresh rep invite codes in the database the server uses."""
    from datetime import timedelta

    from bot import db
    from bot.config import load_config
    from models.staff import create_invite

    cfg = load_config(config_path)
    ctx = await db.connect(cfg.database.url)
    try:
        codes = []
        for i in range(count):
            invite = await create_invite(
                "rep", f"压测{i + 1}", created_by="bench", ttl=timedelta(hours=2)
            )
            codes.append(invite.code)
        return codes
    finally:
        await db.close(ctx)


async def create_reps(config_path: str | None, count: int, run_id: str) -> list[tuple[str, str]]:
    """``count`` (openid, customer name) pairs: a rep bound to that openid and a
    customer of theirs with a name no other customer has, in the server's database."""
    from tortoise.transactions import in_transaction

    from bot import db
    from bot.config import load_config
    from bot.crypto import FieldCipher
    from models.customers import Customer, CustomerDraft, create_customer
    from models.enums import Role
    from models.staff import Staff

    cfg = load_config(config_path)
    cipher = FieldCipher(cfg.data_key_bytes)
    ctx = await db.connect(cfg.database.url)
    try:
        # Numbered on from an earlier run's customers: the card lookup by name must
        # find exactly one.
        first = await Customer.filter(name__startswith=CUSTOMER_PREFIX).count() + 1
        reps = []
        async with in_transaction():
            for i in range(count):
                openid = f"oBench{run_id}r{i}"
                name = f"{CUSTOMER_PREFIX}{first + i:04d}"
                staff = await Staff.create(name=f"压测{i + 1}", role=Role.REP, oa_openid=openid)
                await create_customer(cipher, CustomerDraft(name=name), staff)
                reps.append((openid, name))
        return reps
    finally:
        await db.close(ctx)


async def run_level(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    level: Level,
    path: str,
    codes: list[str],
    reps: list[tuple[str, str]],
    run_id: str,
    max_seconds: float,
    request_timeout: float,
) -> None:
    next_index = iter(range(level.requests))
    deadline = time.perf_counter() + max_seconds
    timeout = aiohttp.ClientTimeout(total=request_timeout)
    # MsgIds unique across runs too: the server's dedup table outlives a run.
    msg_base = time.time_ns() // 1000

    async def one(i: int) -> None:
        sender = f"oBench{run_id}c{level.concurrency}n{i}"
        if path == "help":
            content = "帮助"
            if reps:  # a rep asking, as in the chat; else a stranger
                sender = reps[i % len(reps)][0]
        elif path == "bind":
            content = f"绑定 {codes[i]}"
        elif path == "card":
            sender, customer = reps[i % len(reps)]
            content = f"查 {customer}"
        else:
            sender, customer = reps[i]
            content = f"跟进 {customer} {FOLLOWUP_NOTE}"
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        params = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": sign(token, timestamp, nonce),
        }
        started = time.perf_counter()
        level.attempts += 1
        try:
            async with session.post(
                url, params=params, data=text_xml(sender, content, msg_base + i), timeout=timeout
            ) as resp:
                body = await resp.text()
                status = resp.status
        except TimeoutError:
            level.error("timeout")
            return
        except aiohttp.ClientError as exc:
            level.error(type(exc).__name__)
            return
        level.latencies.append(time.perf_counter() - started)
        if status != 200:
            level.error(f"HTTP {status}")
            return
        try:
            text = reply_content(body)
        except ElementTree.ParseError:
            level.error("bad XML")
            return
        if text is None:
            level.error("late (success, reply via outbox)")
        elif path == "bind" and BIND_OK not in text:
            level.error("bind refused: " + text[:24])
        elif path == "card" and not text.startswith(f"【{reps[i % len(reps)][1]}】"):
            level.error("card refused: " + text[:24])
        elif path == "followup" and not (
            text.startswith(FOLLOWUP_OK) and f"客户：{reps[i][1]}" in text
        ):
            level.error("follow-up refused: " + text[:24])
        elif not text:
            level.error("empty reply")

    async def worker() -> None:
        for i in next_index:
            if time.perf_counter() > deadline:
                level.stopped_early = True
                return
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(level.concurrency)))
    level.elapsed = time.perf_counter() - started


def report(level: Level) -> str:
    lat = sorted(level.latencies)
    rps = level.attempts / level.elapsed if level.elapsed else 0.0
    line = (
        f"{level.concurrency:>11} {level.attempts:>8} {rps:>9.1f} "
        f"{percentile(lat, 50) * 1000:>9.1f} {percentile(lat, 99) * 1000:>9.1f} "
        f"{(lat[-1] if lat else 0) * 1000:>9.1f} {level.error_count:>7}"
    )
    if level.errors:
        line += "  " + ", ".join(f"{k}: {v}" for k, v in sorted(level.errors.items()))
    if level.stopped_early:
        line += "  (time limit reached)"
    return line


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. 1,32,256, got {text!r}") from None
    if not levels or any(not 1 <= n <= MAX_CONCURRENCY for n in levels):
        raise argparse.ArgumentTypeError(f"concurrency levels must be 1..{MAX_CONCURRENCY}")
    return levels


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8080", help="server root (loopback only)")
    default_config = os.environ.get("WECRM_CONFIG") or (
        str(ROOT / "config.demo.toml") if (ROOT / "config.demo.toml").exists() else None
    )
    p.add_argument(
        "--config",
        default=default_config,
        help="the server's config: token and database (default $WECRM_CONFIG or config.demo.toml)",
    )
    p.add_argument("--token", help="wechat.token of the server (default: from --config)")
    p.add_argument("--path", choices=["help", "bind", "card", "followup"], default="help")
    p.add_argument("--concurrency", type=parse_levels, default=[1, 32, 256])
    p.add_argument("--requests", type=int, default=1000, help="requests per concurrency level")
    p.add_argument("--max-seconds", type=float, default=120.0, help="time limit per level")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = p.parse_args(argv)

    if not 1 <= args.requests <= MAX_REQUESTS:
        p.error(f"--requests must be 1..{MAX_REQUESTS}")
    ensure_loopback(args.url)
    token = args.token
    if not token:
        if not args.config:
            p.error("--token or --config is required")
        from bot.config import load_config

        token = load_config(args.config).wechat.token
    if args.path in {"bind", "card", "followup"} and not args.config:
        p.error(f"--path {args.path} needs --config to reach the server's database")

    levels = [Level(c, args.requests) for c in args.concurrency]
    run_id = secrets.token_hex(3)
    codes: list[str] = []
    reps: list[tuple[str, str]] = []
    total = args.requests * len(levels)
    if args.path == "bind":
        print(f"creating {total} invite codes in the server's database…", flush=True)
        codes = asyncio.run(create_invites(args.config, total))
    elif args.path in {"card", "followup"}:
        print(f"creating {total} reps and their customers in the server's database…", flush=True)
        reps = asyncio.run(create_reps(args.config, total, run_id))

    url = args.url.rstrip("/") + "/wechat"

    async def run_all() -> None:
        for n, level in enumerate(levels):
            connector = aiohttp.TCPConnector(limit=level.concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                # Each level redeems its own slice of codes (or has its own reps).
                lo, hi = n * args.requests, (n + 1) * args.requests
                await run_level(
                    session,
                    url,
                    token,
                    level,
                    args.path,
                    codes[lo:hi],
                    reps[lo:hi],
                    run_id,
                    args.max_seconds,
                    args.timeout,
                )
            print(report(level), flush=True)

    print(f"path={args.path} url={url} requests/level={args.requests}")
    print(
        f"{'concurrency':>11} {'requests':>8} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'max ms':>9} {'errors':>7}"
    )
    asyncio.run(run_all())
    return 1 if any(level.error_count for level in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
