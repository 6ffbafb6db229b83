"""Two real ``wecrm serve`` processes sharing PostgreSQL, and graceful shutdown.

Dedup across workers is what the unique key in the database is for: WeChat's retry
may land on a different worker than the first attempt.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import create_app
from models import FollowUp, Staff
from models.staff import create_invite
from tests.conftest import make_config
from tests.live_server import ROOT, free_port, wait_healthy, write_config
from tests.live_server import post_signed as post_live
from tests.sales_helpers import customer
from tests.test_dedup_and_deadline import Gate, until
from tests.wechat_client import OPENID, parse_xml, text_xml


@pytest.fixture
async def two_servers(db: str, tmp_path: Path) -> AsyncIterator[list[str]]:
    config = write_config(tmp_path / "config.toml", db)
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(config),
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": ROOT},
        )
        procs.append(proc)
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, proc in zip(urls, procs, strict=True):
            await wait_healthy(url, proc)
        yield urls
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            _, stderr = await asyncio.wait_for(proc.communicate(), 20)
            assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-2000:]


async def post_signed(session: aiohttp.ClientSession, url: str, xml: str) -> str:
    body = await post_live(session, url, xml)
    assert body is not None
    return body


async def test_a_retry_on_another_worker_gets_the_first_reply(two_servers: list[str]) -> None:
    invite = await create_invite("rep", "赵六", "test", timedelta(hours=1))
    xml = text_xml(f"绑定 {invite.code}")
    async with aiohttp.ClientSession() as session:
        # First attempt and two retries, spread over both workers at once.
        bodies = await asyncio.gather(
            post_signed(session, two_servers[0], xml),
            post_signed(session, two_servers[1], xml),
            post_signed(session, two_servers[1], xml),
        )
    contents = {parse_xml(b.encode())["Content"] for b in bodies}
    assert len(contents) == 1
    assert "绑定成功" in contents.pop()
    assert await Staff.filter(oa_openid=OPENID).count() == 1


async def test_follow_ups_sent_to_both_workers_at_once_are_all_saved(
    two_servers: list[str],
) -> None:
    """Two processes writing one database at once — on SQLite they take turns for its
    write lock (bot.sqlite_writers) — answer and keep every follow-up."""
    reps = [
        await Staff.create(name=f"销售{i:02d}", role="rep", oa_openid=f"oRepBurst{i:020d}")
        for i in range(60)
    ]
    for i, rep in enumerate(reps):
        await customer(f"客户{i:02d}号", rep)
    connector = aiohttp.TCPConnector(limit=30)
    async with aiohttp.ClientSession(connector=connector) as session:
        bodies = await asyncio.gather(
            *(
                post_signed(
                    session,
                    two_servers[i % 2],
                    text_xml(f"跟进 客户{i:02d}号 电话聊了报价", sender=rep.oa_openid or ""),
                )
                for i, rep in enumerate(reps)
            )
        )
    replies = [parse_xml(b.encode())["Content"] for b in bodies]
    assert all("已记录跟进" in r for r in replies), replies
    assert await FollowUp.filter(content__contains="聊了报价").count() == len(reps)


async def test_graceful_shutdown_finishes_in_flight_requests(db: str) -> None:
    app = create_app(make_config(db), connect_db=False)
    gate = Gate("处理完了")
    runner = web.AppRunner(app, shutdown_timeout=10)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    gate.install_app(app)
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(
            post_signed(session, f"http://127.0.0.1:{port}", text_xml("慢"))
        )
        await gate.started.wait()
        shutdown = asyncio.create_task(runner.cleanup())
        await asyncio.sleep(0)  # let shutdown begin: the listener closes first
        gate.release.set()
        body = await request
        await shutdown
    assert parse_xml(body.encode())["Content"] == "处理完了"


async def test_serve_with_workers_shares_the_port_and_restarts_a_dead_worker(
    db: str, tmp_path: Path
) -> None:
    """`wecrm serve --workers 2`: both workers answer on one port, a message retried
    onto either gets the same answer, a killed worker is replaced, and stopping the
    supervisor stops every worker."""
    import signal

    await Staff.create(name="李明", role="rep", oa_openid=OPENID)
    config = write_config(tmp_path / "config.toml", db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = await _two_workers(config, port, asyncio.subprocess.PIPE)
    try:
        await wait_healthy(url, proc)

        first = await _both_workers(url)
        assert len(first) == 2, first  # both workers serve the one port
        xml = text_xml("帮助")  # the same MsgId each time: WeChat's retries, any worker
        conn = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=conn) as session:
            answers = [await post_live(session, url, xml) for _ in range(4)]
        assert all(a and "跟进" in parse_xml(a.encode())["Content"] for a in answers)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline:
            now = await _pids(url, 20)
            if len(now) == 2 and victim not in now:
                break
            await asyncio.sleep(0.3)
        assert len(now) == 2 and victim not in now  # replaced by a new worker
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    # The supervisor waited for its workers before exiting: none keeps serving.
    assert all(_gone(pid) for pid in (first | now) - {victim})


async def _two_workers(config: Path, port: int, output: int) -> asyncio.subprocess.Process:
    """`wecrm serve --workers 2` on ``port``."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "--config", str(config), "serve",
        "--port", str(port), "--workers", "2", stdout=output, stderr=output,
        env={**os.environ, "PYTHONPATH": ROOT},
    )  # fmt: skip


async def _pids(url: str, n: int = 40) -> set[int]:
    """The workers that answered ``n`` requests, each on a new connection."""
    seen: set[int] = set()
    conn = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=conn) as session:
        for _ in range(n):
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        seen.add((await resp.json())["pid"])
            except aiohttp.ClientConnectionError:
                # The request a worker was answering when it was killed is lost.
                continue
    return seen


async def _both_workers(url: str) -> set[int]:
    seen = await _pids(url)
    deadline = asyncio.get_running_loop().time() + 20
    while len(seen) < 2 and asyncio.get_running_loop().time() < deadline:
        # The second worker may still be starting (a busy machine): keep asking.
        await asyncio.sleep(0.2)
        seen |= await _pids(url)
    return seen


async def test_a_stuck_worker_leaves_the_waiting_connections_to_the_other(
    db: str, tmp_path: Path
) -> None:
    """The workers share one accept queue: while one cannot run (stopped here, stuck
    or dying in real life), every new connection is answered by the other. With a
    queue per worker (SO_REUSEPORT) about half of them waited on the stuck one."""
    import signal

    config = write_config(tmp_path / "config.toml", db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = await _two_workers(config, port, asyncio.subprocess.DEVNULL)
    stuck = None
    try:
        await wait_healthy(url, proc)
        workers = await _both_workers(url)
        assert len(workers) == 2, workers
        stuck = min(workers)
        os.kill(stuck, signal.SIGSTOP)
        conn = aiohttp.TCPConnector(force_close=True)
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:

            async def answered_by() -> int:
                async with session.get(f"{url}/healthz") as resp:
                    return int((await resp.json())["pid"])

            answers = await asyncio.gather(*(answered_by() for _ in range(20)))
        assert set(answers) == workers - {stuck}
    finally:
        if stuck is not None:
            os.kill(stuck, signal.SIGCONT)
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"  # exited, not yet reaped
    except OSError:
        return True


@pytest.mark.parametrize("when", ["serving", "starting"])
async def test_workers_of_a_killed_supervisor_stop_by_themselves(
    db: str, tmp_path: Path, when: str
) -> None:
    """Killed once its workers serve, or while they are still starting (they then
    learn the supervisor's pid from their environment, not from a late getppid())."""
    import signal

    config = write_config(tmp_path / "config.toml", db)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "--config", str(config), "serve",
        "--port", str(port), "--workers", "2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": ROOT},
    )  # fmt: skip
    if when == "serving":
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
    assert proc.stdout is not None
    banner = (await proc.stdout.readline()).decode()  # "wecrm supervisor …: 2 workers (a, b)"
    workers = [int(p) for p in banner.split("(")[1].rstrip(")\n").split(", ")]
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    # No orphan is left holding the port: each notices its parent is gone.
    await until(lambda: all(map(_gone, workers)), limit=20)
