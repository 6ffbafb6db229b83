"""kill -9 in the middle of a burst of follow-ups, then WeChat's retries.

Shared by ``tests/test_crash_recovery.py`` (one bounded round per database) and
``bench/faults.py`` (five rounds each, printed as a table). The caller has a
Tortoise connection to the same database and a rep with one customer in it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from models import FollowUp
from tests.live_server import LiveServer, post_signed
from tests.wechat_client import next_msg_id, parse_xml, text_xml

CONFIRMED = "已记录跟进"


@dataclass
class CrashResult:
    sent: int
    answered_before_kill: int
    lost: int  # no follow-up stored for a message WeChat stopped retrying
    duplicated: int  # more than one follow-up for one message
    unconfirmed: int  # stored, but the last answer WeChat got was not the confirmation


def followup_xml(rep_openid: str, customer: str, n: int) -> str:
    return text_xml(f"跟进 {customer} 电话 报价单编号K{n:05d}已发", rep_openid, next_msg_id())


async def kill_during_burst(
    server: LiveServer,
    rep_openid: str,
    customer: str,
    messages: int = 60,
    kill_after: int = 20,
    concurrency: int = 16,
    down_for: float = 1.0,
) -> CrashResult:
    xmls = [followup_xml(rep_openid, customer, n) for n in range(messages)]
    answers: dict[int, str] = {}
    gate = asyncio.Semaphore(concurrency)
    enough = asyncio.Event()
    async with aiohttp.ClientSession() as session:

        async def first_attempt(n: int) -> None:
            async with gate:
                body = await post_signed(session, server.url, xmls[n])
                if body is not None:
                    answers[n] = body
                    if len(answers) >= kill_after:
                        enough.set()

        tasks = [asyncio.create_task(first_attempt(n)) for n in range(messages)]
        await asyncio.wait(
            [asyncio.ensure_future(enough.wait()), asyncio.ensure_future(asyncio.gather(*tasks))],
            return_when=asyncio.FIRST_COMPLETED,
        )
        server.kill()
        await asyncio.gather(*tasks)
        before_kill = len(answers)
        await server.reap()
        await asyncio.sleep(down_for)
        await server.start()
        # WeChat retries (up to three times) whatever got no answer; every message
        # is also re-sent once more, as a retry racing a lost response would be.
        final: dict[int, str | None] = {}
        for n in range(messages):
            body = None if n not in answers else answers[n]
            for _ in range(3):
                if body is not None:
                    break
                body = await post_signed(session, server.url, xmls[n])
            again = await post_signed(session, server.url, xmls[n])
            final[n] = again if again is not None else body
    counts = {n: 0 for n in range(messages)}
    for content in await FollowUp.all().values_list("content", flat=True):
        for n in counts:
            if f"K{n:05d}" in str(content):
                counts[n] += 1
    unconfirmed = sum(
        1
        for n, body in final.items()
        if counts[n] and (not body or CONFIRMED not in parse_xml(body.encode()).get("Content", ""))
    )
    return CrashResult(
        sent=messages,
        answered_before_kill=before_kill,
        lost=sum(1 for c in counts.values() if c == 0),
        duplicated=sum(1 for c in counts.values() if c > 1),
        unconfirmed=unconfirmed,
    )
