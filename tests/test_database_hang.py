"""A database that hangs (not refuses): every request is still answered inside
WeChat's 5 seconds, nothing is written twice, ``/healthz`` says 503 within a
second, and service comes back without a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from bot.pipeline import BUSY
from models import FollowUp
from tests.crash_scenario import CONFIRMED, followup_xml
from tests.db_proxy import hangable
from tests.live_server import LiveServer, post_signed, write_config
from tests.sales_helpers import REP_A, customer, team
from tests.wechat_client import parse_xml

WECHAT_LIMIT = 5.0


async def timed(coro: object) -> tuple[float, object]:
    started = time.monotonic()
    result = await coro  # type: ignore[misc]
    return time.monotonic() - started, result


async def test_a_hanging_database_keeps_the_5_second_rule(db: str, tmp_path: Path) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep)
    async with hangable(db) as (url, hang, recover):
        server = LiveServer(write_config(tmp_path / "config.toml", url), None, "--no-scheduler")
        await server.start()
        try:
            async with aiohttp.ClientSession() as session:
                ok = await post_signed(session, server.url, followup_xml(REP_A, "周杰", 0))
                assert ok is not None and CONFIRMED in ok
                hang()
                xmls = [followup_xml(REP_A, "周杰", n) for n in range(1, 9)]
                answers = await asyncio.gather(
                    *(timed(post_signed(session, server.url, x, wait=10)) for x in xmls)
                )
                health_time, health_status = await timed(_health(session, server.url))
                recover()
                await _until_healthy(session, server.url)
                after = await post_signed(session, server.url, followup_xml(REP_A, "周杰", 99))
        finally:
            stderr = await server.stop()  # graceful: late replies are finished first
    assert health_status == 503 and health_time < 1.5
    for elapsed, body in answers:
        assert body is not None and elapsed < WECHAT_LIMIT, (elapsed, body)
    assert after is not None and CONFIRMED in after  # recovered without a restart
    contents = [str(c) for c in await FollowUp.all().values_list("content", flat=True)]
    for n, (_, body) in enumerate(answers, start=1):
        stored = sum(f"K{n:05d}" in c for c in contents)
        said = parse_xml(body.encode())["Content"] if body and body != "success" else ""
        if said == BUSY:
            assert stored == 0  # the user was told to resend: nothing happened behind their back
        else:
            assert stored == 1, (n, body)  # confirmed, or "success" and queued late
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-2000:]


async def _health(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        return resp.status


async def _until_healthy(session: aiohttp.ClientSession, url: str, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while await _health(session, url) != 200:
        assert time.monotonic() < deadline, "no recovery"
        await asyncio.sleep(0.1)
