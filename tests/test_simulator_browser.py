"""The simulator page in a real headless Chromium against the real app on a TCP port:
a new visitor binds with an invite code, asks for help, and sees a push arrive.

Uses Debian's /usr/bin/chromium (``make test`` installs it) through Playwright;
Playwright's own browser download does not work on a closed network.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.app import PIPELINE, create_app
from bot.incoming import Reply
from models import Staff
from models.enums import Role
from models.outbox import enqueue
from models.staff import create_invite
from tests.conftest import make_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Polling every 2 s is right for people; the tests ask for 250 ms to stay quick.
POLL = "?poll=250"
# Generous for a loaded CI machine; a passing run takes a fraction of it.
WAIT_MS = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium not installed (`make chromium` installs Debian's Chromium)",
    ),
]


@pytest.fixture
async def base_url(db: str) -> AsyncIterator[str]:
    """The app, simulator on, served on a free loopback port for the browser."""
    app = create_app(make_config(db, simulator={"enabled": True}), connect_db=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await app[PIPELINE].drain(wait=5)
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield page
    finally:
        await context.close()


async def open_as_visitor(page: Page, base_url: str) -> str:
    """Open the page, pick 新访客 and return the visitor id the page made up."""
    await page.goto(f"{base_url}/simulator{POLL}")
    await expect(page).to_have_title("客户管理助手 · 模拟器")
    identity = page.locator("#identity")
    await expect(identity.locator("option", has_text="新访客")).to_have_count(1)
    await identity.select_option(label="新访客")
    visitor = await identity.input_value()
    assert re.fullmatch(r"sim-guest-[0-9a-f]+", visitor), visitor
    return visitor


async def say(page: Page, text: str, *, enter: bool = False) -> None:
    await page.fill("#message", text)
    if enter:
        await page.press("#message", "Enter")
    else:
        await page.click("#send")


async def test_visitor_binds_with_an_invite_code(page: Page, base_url: str) -> None:
    invite = await create_invite("rep", "王五", created_by="test", ttl=timedelta(hours=1))
    visitor = await open_as_visitor(page, base_url)
    thread = page.locator("#thread")

    await say(page, f"绑定 {invite.code}")
    await expect(thread.locator(".bubble.user").last).to_have_text(f"绑定 {invite.code}")
    answer = thread.locator(".bubble.bot").last
    await expect(answer).to_contain_text("绑定成功")
    await expect(answer).to_contain_text("王五")
    await expect(page.locator("#message")).to_have_value("")

    staff = await Staff.get(simulator_id=visitor)
    assert staff.name == "王五" and staff.role == Role.REP
    # The picker catches up: the visitor is now 王五, still selected.
    identity = page.locator("#identity")
    await expect(identity.locator("option:checked")).to_have_text("新访客 · 王五（销售）")
    await expect(identity).to_have_value(visitor)

    await say(page, "帮助", enter=True)
    help_bubble = thread.locator(".bubble.bot", has_text="你可以发送以下命令")
    await expect(help_bubble).to_have_count(1)
    await expect(help_bubble).to_contain_text("帮助")
    await expect(thread.locator(".bubble.error")).to_have_count(0)


async def test_pushes_appear_and_text_stays_text(page: Page, base_url: str) -> None:
    visitor = await open_as_visitor(page, base_url)
    thread = page.locator("#thread")

    # A late reply or a reminder: an outbox row for this visitor on the simulator channel.
    markup = '<img src=x onerror="document.title=1">提醒：回访张三'
    await enqueue(
        "test:push:1",
        channel="simulator",
        recipient=visitor,
        payload={"reply": Reply(text=markup).to_dict(), "reason": "late"},
    )
    pushed = thread.locator(".bubble.push")
    await expect(pushed).to_have_count(1)
    await expect(pushed).to_contain_text("推送")
    # Shown as typed, never parsed: no <img> element, and its handler never ran.
    await expect(pushed).to_contain_text(markup)
    await expect(pushed.locator("img")).to_have_count(0)
    await expect(page).to_have_title("客户管理助手 · 模拟器")

    # Someone else's push never shows here.
    await enqueue(
        "test:push:other",
        channel="simulator",
        recipient="sim-someone-else",
        payload={"reply": Reply(text="别人的推送").to_dict()},
    )
    await enqueue(
        "test:push:2",
        channel="simulator",
        recipient=visitor,
        payload={"reply": Reply(text="第二条推送").to_dict()},
    )
    await expect(pushed).to_have_count(2)
    await expect(pushed.last).to_contain_text("第二条推送")
    await expect(thread).not_to_contain_text("别人的推送")

    # A reload keeps the same visitor (localStorage).
    await page.reload()
    await expect(page.locator("#identity")).to_have_value(visitor)


async def test_a_refused_message_shows_an_error_bubble(page: Page, base_url: str) -> None:
    await open_as_visitor(page, base_url)
    # The input stops at 2000 characters; a hand-edited page could send more.
    await page.locator("#message").evaluate("el => el.removeAttribute('maxlength')")
    await say(page, "字" * 2001)
    error = page.locator("#thread .bubble.error")
    await expect(error).to_contain_text("消息太长了")
