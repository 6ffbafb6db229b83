"""The simulator page in a real headless Chromium against the real app on a TCP port:
a new visitor binds with an invite code, asks for help, and sees a push arrive.

Uses Debian's /usr/bin/chromium (``make test`` installs it) through Playwright;
Playwright's own browser download does not work on a closed network.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.app import PIPELINE, create_app
from bot.incoming import Reply
from handlers.customer_inbox import NOBODY
from handlers.fallback import WELCOME
from models import ProcessedMessage, Staff
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


async def at_bottom(page: Page) -> None:
    """Wait (bounded by the page's timeout) until the thread shows its newest line."""
    await page.wait_for_function(
        "() => { const t = document.getElementById('thread');"
        " return t.scrollHeight > t.clientHeight"
        " && t.scrollTop + t.clientHeight >= t.scrollHeight - 2; }"
    )


async def test_the_thread_follows_the_newest_message(page: Page, base_url: str) -> None:
    await page.set_viewport_size({"width": 400, "height": 520})
    visitor = await open_as_visitor(page, base_url)
    thread = page.locator("#thread")
    await expect(thread.locator(".bubble.bot", has_text=WELCOME)).to_have_count(1)

    # More pushes than the screen holds, arriving by polling: the last one is in sight.
    for n in range(1, 13):
        await enqueue(
            f"test:scroll:{n}",
            channel="simulator",
            recipient=visitor,
            payload={"reply": Reply(text=f"第 {n} 条提醒\n请及时处理。").to_dict()},
        )
    pushed = thread.locator(".bubble.push")
    await expect(pushed).to_have_count(12)
    await expect(pushed.last).to_contain_text("第 12 条提醒")
    await expect(pushed.last).to_be_in_viewport()
    await expect(pushed.first).not_to_be_in_viewport()
    await at_bottom(page)

    # Scrolled back to read, a late reply still brings the newest into view.
    await thread.evaluate("t => { t.scrollTop = 0; }")
    await expect(pushed.last).not_to_be_in_viewport()
    await enqueue(
        "test:scroll:late",
        channel="simulator",
        recipient=visitor,
        payload={"reply": Reply(text="迟到的回复").to_dict(), "reason": "late"},
    )
    await expect(pushed.last).to_contain_text("迟到的回复")
    await expect(pushed.last).to_be_in_viewport()
    await at_bottom(page)

    # And a typed message's answer.
    await say(page, "帮助")
    answer = thread.locator(".bubble.bot").last
    await expect(answer).to_contain_text("绑定")
    await expect(answer).to_be_in_viewport()
    await at_bottom(page)


async def test_history_is_kept_and_the_welcome_said_once(page: Page, base_url: str) -> None:
    await Staff.create(name="李经理", role=Role.MANAGER, simulator_id="sim-mgr-1")
    visitor = await open_as_visitor(page, base_url)
    thread = page.locator("#thread")
    visible = thread.locator(".conversation:not([hidden])")
    welcome = visible.locator(".bubble.bot", has_text=WELCOME)
    await expect(welcome).to_have_count(1)

    await say(page, "帮助")
    await expect(visible.locator(".bubble.bot").last).to_contain_text("绑定")
    await enqueue(
        "test:history:push",
        channel="simulator",
        recipient=visitor,
        payload={"reply": Reply(text="一条推送").to_dict()},
    )
    await expect(visible.locator(".bubble.push")).to_have_count(1)
    before = await visible.locator(".bubble").all_inner_texts()
    assert len(before) == 4, before

    # Reloaded: the same conversation, in order; no second welcome, no push twice.
    await page.reload()
    await expect(page.locator("#identity")).to_have_value(visitor)
    await expect(visible.locator(".bubble")).to_have_count(4)
    assert await visible.locator(".bubble").all_inner_texts() == before
    await expect(visible.locator(".bubble.push")).to_have_count(1)
    await expect(visible.locator(".bubble").last).to_be_in_viewport()
    # The server recorded the subscribe event once: the reload sent no second one
    # (帮助 is answered without a record).
    handled = ProcessedMessage.filter(sender=visitor)
    assert await handled.count() == 1

    # Another identity is welcomed once as well; switching back finds the visitor's chat.
    await page.locator("#identity").select_option("sim-mgr-1")
    await expect(visible).to_have_attribute("data-identity", "sim-mgr-1")
    await expect(visible.locator(".bubble")).to_have_count(1)
    await expect(visible.locator(".bubble.bot")).to_have_text(WELCOME)
    await page.locator("#identity").select_option(visitor)
    await expect(visible.locator(".bubble")).to_have_count(4)
    await page.reload()
    await page.locator("#identity").select_option("sim-mgr-1")
    await expect(visible.locator(".bubble")).to_have_count(1)
    await page.locator("#identity").select_option(visitor)

    # 清空记录: gone for this identity, also after a reload, and no new welcome.
    await page.click("#clear-history")
    await expect(visible.locator(".bubble")).to_have_count(0)
    await page.reload()
    await expect(page.locator("#identity")).to_have_value(visitor)
    await say(page, "你好")
    await expect(visible.locator(".bubble")).to_have_count(2)
    await expect(visible.locator(".bubble.user")).to_have_text("你好")
    await expect(visible.locator(".bubble.push")).to_have_count(0)
    # The subscribe event still only once, and 你好.
    assert await handled.count() == 2


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (7, 193, 96)).save(out, format="PNG")
    return out.getvalue()


async def test_a_picture_and_a_voice_message(page: Page, base_url: str) -> None:
    await open_as_visitor(page, base_url)
    thread = page.locator("#thread")
    await expect(thread.locator(".bubble.bot", has_text=WELCOME)).to_have_count(1)

    await page.set_input_files(
        "#image-file", files=[{"name": "照片.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    sent = thread.locator(".bubble.user.image img.sent-image")
    await expect(sent).to_have_count(1)
    await expect(sent).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    await page.wait_for_function(
        "() => { const i = document.querySelector('img.sent-image');"
        " return i && i.complete && i.naturalWidth === 60; }"
    )
    await expect(thread.locator(".bubble.bot").last).to_contain_text("暂时还不能处理图片")

    # The page refuses what the server would refuse, in Chinese.
    await page.set_input_files(
        "#image-file", files=[{"name": "动图.gif", "mimeType": "image/gif", "buffer": b"GIF89a"}]
    )
    await expect(thread.locator(".bubble.error")).to_have_text("只能发送 PNG 或 JPEG 图片。")
    await expect(sent).to_have_count(1)

    # Voice: what is typed is what WeChat's speech recognition heard.
    await page.click("#voice")
    await expect(page.locator("#voice")).to_have_attribute("aria-pressed", "true")
    await say(page, "我想了解一下报价")
    voice = thread.locator(".bubble.user.voice")
    await expect(voice).to_have_count(1)
    await expect(voice).to_contain_text("语音")
    await expect(voice).to_contain_text("我想了解一下报价")
    # Heard as a lead like the same words typed; with no staff yet it is only recorded.
    await expect(thread.locator(".bubble.bot").last).to_have_text(NOBODY)

    # Kept across a reload, the picture too.
    await page.reload()
    await expect(thread.locator(".bubble.user.image img.sent-image")).to_have_count(1)
    await expect(thread.locator(".bubble.user.voice")).to_contain_text("我想了解一下报价")
    await expect(thread.locator(".bubble.error")).to_have_count(1)
