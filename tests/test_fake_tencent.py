"""The fake Tencent API server (tests/fake_tencent.py) behaves like the real one."""

# The ``fake_tencent`` fixture comes from tests/fake_tencent.py, a plugin of conftest.

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fake_tencent import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_CORP_ID,
    DEFAULT_CORP_SECRET,
    OA_CUSTOM_SEND,
    OA_MEDIA_UPLOAD,
    OA_TEMPLATE_SEND,
    OA_TOKEN,
    WECOM_SEND,
    WECOM_TOKEN,
    FakeTencent,
)

TEXT = {"touser": "oCustomer1", "msgtype": "text", "text": {"content": "您好，您的工单已受理"}}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get_json(session: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with session.get(url, params=params) as resp:
        assert resp.status == 200
        return await resp.json()


async def post_json(session: aiohttp.ClientSession, url: str, token: str, body: Any) -> Any:
    async with session.post(url, params={"access_token": token}, json=body) as resp:
        return await resp.json()


async def oa_token(fake: FakeTencent, http: aiohttp.ClientSession) -> str:
    body = await get_json(
        http,
        fake.base_url + OA_TOKEN,
        grant_type="client_credential",
        appid=DEFAULT_APP_ID,
        secret=DEFAULT_APP_SECRET,
    )
    return body["access_token"]


async def test_token_fetch_issues_a_new_token_each_time(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession
) -> None:
    assert fake_tencent.base_url.startswith("http://127.0.0.1:")
    url = fake_tencent.base_url + OA_TOKEN
    params = {"grant_type": "client_credential", "appid": DEFAULT_APP_ID}
    first = await get_json(http, url, **params, secret=DEFAULT_APP_SECRET)
    second = await get_json(http, url, **params, secret=DEFAULT_APP_SECRET)
    assert first["expires_in"] == 7200 and first["access_token"] != second["access_token"]
    assert fake_tencent.token_fetches == 2
    assert set(fake_tencent.valid_tokens) == {first["access_token"], second["access_token"]}

    wrong = await get_json(http, url, **params, secret="nope")
    assert wrong["errcode"] == 40125 and "access_token" not in wrong
    unknown = await get_json(http, url, grant_type="client_credential", appid="wxother", secret="x")
    assert unknown["errcode"] == 40013
    assert fake_tencent.token_fetches == 2, "failed fetches issue nothing"


async def test_send_ok_and_call_recording(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession
) -> None:
    token = await oa_token(fake_tencent, http)
    first = await post_json(http, fake_tencent.base_url + OA_CUSTOM_SEND, token, TEXT)
    template = {"touser": "oCustomer1", "template_id": "TPL1", "data": {"k": {"value": "v"}}}
    second = await post_json(http, fake_tencent.base_url + OA_TEMPLATE_SEND, token, template)
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert second["msgid"] > first["msgid"]

    call = fake_tencent.calls_to(OA_CUSTOM_SEND)[0]
    assert call.method == "POST"
    assert call.query == {"access_token": token}
    assert call.json == TEXT  # Chinese text arrives intact
    assert [c.path for c in fake_tencent.calls] == [OA_TOKEN, OA_CUSTOM_SEND, OA_TEMPLATE_SEND]
    assert fake_tencent.sent_to(OA_CUSTOM_SEND) == [TEXT]
    assert fake_tencent.sent_to(OA_TEMPLATE_SEND) == [template]


async def test_unknown_or_missing_token_is_rejected(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession
) -> None:
    url = fake_tencent.base_url + OA_CUSTOM_SEND
    assert (await post_json(http, url, "made-up", TEXT))["errcode"] == 40001
    async with http.post(url, json=TEXT) as resp:
        assert (await resp.json())["errcode"] == 41001
    assert fake_tencent.sent == []


async def test_bad_bodies(fake_tencent: FakeTencent, http: aiohttp.ClientSession) -> None:
    token = await oa_token(fake_tencent, http)
    url = fake_tencent.base_url + OA_CUSTOM_SEND
    async with http.post(url, params={"access_token": token}, data=b"") as resp:
        assert (await resp.json())["errcode"] == 44002
    assert (await post_json(http, url, token, {"msgtype": "text"}))["errcode"] == 47001
    async with http.get(fake_tencent.base_url + "/cgi-bin/nope") as resp:
        assert resp.status == 404
    assert fake_tencent.calls[-1].path == "/cgi-bin/nope"


@pytest.mark.parametrize("errcode", [40001, 42001, 45015, 45047, 43004])
async def test_scripted_failure_then_recovery(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession, errcode: int
) -> None:
    token = await oa_token(fake_tencent, http)
    url = fake_tencent.base_url + OA_CUSTOM_SEND
    fake_tencent.fail_next(OA_CUSTOM_SEND, errcode)
    failed = await post_json(http, url, token, TEXT)
    assert failed["errcode"] == errcode and failed["errmsg"]
    assert "msgid" not in failed
    assert (await post_json(http, url, token, TEXT))["errcode"] == 0
    assert len(fake_tencent.sent) == 1


async def test_scripted_failures_queue_and_count(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession
) -> None:
    token = await oa_token(fake_tencent, http)
    url = fake_tencent.base_url + OA_CUSTOM_SEND
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45047, times=2)
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45015, errmsg="out of 48h")
    codes = [(await post_json(http, url, token, TEXT))["errcode"] for _ in range(4)]
    assert codes == [45047, 45047, 45015, 0]
    assert fake_tencent.calls_to(OA_CUSTOM_SEND)[2].json == TEXT
    # Other paths are not affected by a script for one path.
    fake_tencent.fail_next(OA_TEMPLATE_SEND, 40003)
    assert (await post_json(http, url, token, TEXT))["errcode"] == 0


async def test_scripted_http_error(fake_tencent: FakeTencent, http: aiohttp.ClientSession) -> None:
    fake_tencent.fail_next(OA_TOKEN, -1, http_status=502)
    url = fake_tencent.base_url + OA_TOKEN
    params = {"grant_type": "client_credential", "appid": DEFAULT_APP_ID, "secret": "secret"}
    async with http.get(url, params=params) as resp:
        assert resp.status == 502
    assert fake_tencent.token_fetches == 0
    assert "access_token" in await get_json(http, url, **params)


async def test_expire_tokens(fake_tencent: FakeTencent, http: aiohttp.ClientSession) -> None:
    token = await oa_token(fake_tencent, http)
    url = fake_tencent.base_url + OA_CUSTOM_SEND
    fake_tencent.expire_tokens()
    assert (await post_json(http, url, token, TEXT))["errcode"] == 40001
    assert (await post_json(http, url, token, TEXT))["errcode"] == 40001, "until refetched"
    fresh = await oa_token(fake_tencent, http)
    assert (await post_json(http, url, fresh, TEXT))["errcode"] == 0
    assert fake_tencent.token_fetches == 2


async def test_tokens_expire_with_time(http: aiohttp.ClientSession) -> None:
    # expires_in=0: every token is already past its lifetime when used.
    async with FakeTencent(expires_in=0) as fake:
        token = await oa_token(fake, http)
        assert (await post_json(http, fake.base_url + OA_CUSTOM_SEND, token, TEXT))[
            "errcode"
        ] == 42001


async def test_single_token_mode_revokes_the_previous_token(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeTencent(single_token=True) as fake:
        old = await oa_token(fake, http)
        new = await oa_token(fake, http)
        url = fake.base_url + OA_CUSTOM_SEND
        assert (await post_json(http, url, old, TEXT))["errcode"] == 40001
        assert (await post_json(http, url, new, TEXT))["errcode"] == 0


async def test_wecom_token_and_app_message(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession
) -> None:
    url = fake_tencent.base_url + WECOM_TOKEN
    body = await get_json(http, url, corpid=DEFAULT_CORP_ID, corpsecret=DEFAULT_CORP_SECRET)
    assert body["errcode"] == 0 and body["expires_in"] == 7200
    token = body["access_token"]
    bad = await get_json(http, url, corpid=DEFAULT_CORP_ID, corpsecret="wrong")
    assert bad["errcode"] == 40001

    message = {"touser": "lisi", "agentid": 1000002, "msgtype": "text", "text": {"content": "待办"}}
    sent = await post_json(http, fake_tencent.base_url + WECOM_SEND, token, message)
    assert sent["errcode"] == 0 and sent["msgid"]
    assert fake_tencent.sent_to(WECOM_SEND) == [message]
    # Tokens are per platform: a WeCom token is no good for the Official Account API.
    oa = await post_json(http, fake_tencent.base_url + OA_CUSTOM_SEND, token, TEXT)
    assert oa["errcode"] == 40001


async def test_media_upload(fake_tencent: FakeTencent, http: aiohttp.ClientSession) -> None:
    token = await oa_token(fake_tencent, http)
    form = aiohttp.FormData()
    form.add_field("media", b"\x89PNG fake chart", filename="digest.png")
    url = fake_tencent.base_url + OA_MEDIA_UPLOAD
    async with http.post(url, params={"access_token": token, "type": "image"}, data=form) as r:
        body = await r.json()
    assert body["type"] == "image" and body["media_id"].startswith("FAKE_MEDIA_")
    assert fake_tencent.calls_to(OA_MEDIA_UPLOAD)[0].files == {"media": ("digest.png", 15)}


async def test_delay_lets_a_client_time_out_and_stays_fast(
    fake_tencent: FakeTencent, http: aiohttp.ClientSession
) -> None:
    token = await oa_token(fake_tencent, http)
    url = fake_tencent.base_url + OA_CUSTOM_SEND
    fake_tencent.delay_next(OA_CUSTOM_SEND, 60)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with http.post(
            url,
            params={"access_token": token},
            json=TEXT,
            timeout=aiohttp.ClientTimeout(total=0.2),
        ) as resp:
            await resp.read()
    # The delay was used up by that request: the next one answers at once.
    assert (await post_json(http, url, token, TEXT))["errcode"] == 0
    assert time.monotonic() - started < 5
    assert len(fake_tencent.calls_to(OA_CUSTOM_SEND)) == 2


async def test_delayed_request_completes_when_released(http: aiohttp.ClientSession) -> None:
    fake = await FakeTencent().start()
    try:
        token = await oa_token(fake, http)
        fake.delay_next(OA_CUSTOM_SEND, 60)
        pending = asyncio.ensure_future(
            post_json(http, fake.base_url + OA_CUSTOM_SEND, token, TEXT)
        )
        # Wait until the request has reached the fake, then let it go.
        await fake.wait_for_calls(OA_CUSTOM_SEND)
        fake.release_delays()
        assert (await asyncio.wait_for(pending, 5))["errcode"] == 0
        # A request still hanging when the fake stops does not hold up stop().
        fake.delay_next(OA_CUSTOM_SEND, 60)
        hanging = asyncio.ensure_future(
            post_json(http, fake.base_url + OA_CUSTOM_SEND, token, TEXT)
        )
        await fake.wait_for_calls(OA_CUSTOM_SEND, 2)
    finally:
        started = time.monotonic()
        await fake.stop()
    assert time.monotonic() - started < 2
    # Woken by stop(), it was answered or cut off — either way it is not left hanging.
    await asyncio.wait_for(asyncio.gather(hanging, return_exceptions=True), 5)
