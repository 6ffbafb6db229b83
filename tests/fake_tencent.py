"""A fake of Tencent's HTTP APIs: a real aiohttp server on 127.0.0.1, random port.

It plays the Official Account API (``/cgi-bin/token``, customer-service and template
messages, temporary media) and the WeCom API (``/cgi-bin/gettoken``, app messages)
closely enough for the outbound code to be tested over real HTTP: access tokens are
issued, checked and expired, answers carry Tencent's errcodes, and tests can script
failures and slowness.

Use it as ``async with FakeTencent() as fake`` or through the ``fake_tencent``
fixture (register this module with ``pytest_plugins = ["tests.fake_tencent"]`` in
the root conftest), then point ``wechat.api_base`` / ``wecom.api_base`` at
``fake.base_url``.

Scripting::

    fake.fail_next("/cgi-bin/message/custom/send", 45015)   # out of the 48 h window
    fake.fail_next(OA_TOKEN, 0, http_status=502)             # a gateway error
    fake.delay_next("/cgi-bin/message/send", 30)             # hangs until the client gives up
    fake.expire_tokens()                                     # every token now answers 40001

Reference: 公众号开发文档 → 基础支持 → 获取 Access token / 全局返回码说明; 企业微信
开发者中心 → 获取 access_token / 发送应用消息.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

OA_TOKEN = "/cgi-bin/token"
WECOM_TOKEN = "/cgi-bin/gettoken"
OA_CUSTOM_SEND = "/cgi-bin/message/custom/send"
OA_TEMPLATE_SEND = "/cgi-bin/message/template/send"
OA_MEDIA_UPLOAD = "/cgi-bin/media/upload"
WECOM_SEND = "/cgi-bin/message/send"

# The defaults match tests/conftest.py's make_config (wechat.app_id / app_secret).
DEFAULT_APP_ID = "wx1234567890abcdef"
DEFAULT_APP_SECRET = "secret"
DEFAULT_CORP_ID = "ww0123456789abcdef"
DEFAULT_CORP_SECRET = "corp-secret"

# errmsg Tencent sends with the codes the outbound code cares about.
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45033: "user api freq out of limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    45047: "out of response count limit",
    47001: "data format error",
    48001: "api unauthorized",
    60111: "userid not found",
    81013: "user & party & tag all invalid",
}


@dataclass
class Call:
    """One request the fake received, recorded before it was answered."""

    method: str
    path: str
    query: dict[str, str]
    # The JSON body, or None when there was none or it was not JSON.
    json: Any = None
    # Multipart uploads: field name -> (filename, size in bytes).
    files: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass
class _Failure:
    errcode: int
    errmsg: str
    http_status: int


@dataclass
class _Token:
    kind: str  # "oa" | "wecom"
    owner: str  # appid or corpid
    expires_at: float  # time.monotonic()


class FakeTencent:
    def __init__(
        self,
        *,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        corp_id: str = DEFAULT_CORP_ID,
        corp_secret: str = DEFAULT_CORP_SECRET,
        expires_in: int = 7200,
        single_token: bool = False,
    ) -> None:
        """``single_token``: a fetch invalidates the credential's earlier tokens at once
        (Tencent keeps the old one valid for 5 minutes; this models the end of that grace,
        the reason several workers must share one token)."""
        self.oa_credentials = {app_id: app_secret}
        self.wecom_credentials = {corp_id: corp_secret}
        self.expires_in = expires_in
        self.single_token = single_token
        self.calls: list[Call] = []
        # Successful sends: (path, JSON body), in order.
        self.sent: list[tuple[str, Any]] = []
        # WeCom userids that are not members (or not in the app's visible range): an
        # app message to them answers errcode 0 with ``invaliduser``, as WeCom does.
        self.invalid_members: set[str] = set()
        self.token_fetches = 0
        self._tokens: dict[str, _Token] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._msg_ids = itertools.count(1_000_001)
        self._media_ids = itertools.count(1)
        # Set on stop(): delayed handlers wake up at once, so stopping never waits.
        self._released = asyncio.Event()
        # Set (and replaced) on every recorded call, for wait_for_calls().
        self._called = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> FakeTencent:
        app = web.Application()
        app.router.add_get(OA_TOKEN, self._oa_token)
        app.router.add_get(WECOM_TOKEN, self._wecom_token)
        app.router.add_post(OA_CUSTOM_SEND, self._oa_send)
        app.router.add_post(OA_TEMPLATE_SEND, self._oa_send)
        app.router.add_post(OA_MEDIA_UPLOAD, self._oa_media_upload)
        app.router.add_post(WECOM_SEND, self._wecom_send)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        # handler_cancellation: a client that times out and hangs up cancels the
        # delayed handler instead of leaving it sleeping.
        self._released = asyncio.Event()
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTencent:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- scripting ---------------------------------------------------------------------

    def fail_next(
        self, path: str, errcode: int, errmsg: str = "", times: int = 1, http_status: int = 200
    ) -> None:
        """The next ``times`` requests to ``path`` answer ``errcode`` (and ``http_status``)
        instead of doing their work; scripted failures queue up in order."""
        failure = _Failure(errcode, errmsg or ERRMSG.get(errcode, "fake error"), http_status)
        self._failures[path].extend([failure] * times)

    def delay_next(self, path: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests to ``path`` wait ``seconds`` before answering.
        :meth:`stop` and :meth:`release_delays` end the wait early."""
        self._delays[path].extend([seconds] * times)

    def release_delays(self, forget_queued: bool = False) -> None:
        """Wake every request that is waiting now; later delays wait again, unless
        ``forget_queued`` drops the ones not yet used."""
        if forget_queued:
            self._delays.clear()
        self._released.set()
        self._released = asyncio.Event()

    def expire_tokens(self) -> None:
        """Every token issued so far becomes invalid (40001) until a new one is fetched."""
        self._tokens.clear()

    # --- inspection -----------------------------------------------------------------

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def sent_to(self, path: str) -> list[Any]:
        return [body for p, body in self.sent if p == path]

    async def wait_for_calls(self, path: str, count: int = 1, limit: float = 5.0) -> list[Call]:
        """Until ``count`` requests to ``path`` have arrived — e.g. a delayed one, so a
        test can act while it hangs — without polling with sleeps."""
        async with asyncio.timeout(limit):
            while len(self.calls_to(path)) < count:
                await self._called.wait()
        return self.calls_to(path)

    @property
    def valid_tokens(self) -> list[str]:
        now = time.monotonic()
        return [t for t, info in self._tokens.items() if info.expires_at > now]

    # --- handlers ---------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Call:
        call = Call(request.method, request.path, dict(request.query))
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                call.files[part.name or ""] = (part.filename or "", len(data))  # type: ignore[union-attr]
        elif request.can_read_body:
            raw = await request.read()
            try:
                call.json = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, ValueError):
                call.json = None
        self.calls.append(call)
        self._called.set()
        self._called = asyncio.Event()
        return call

    async def _scripted(self, path: str) -> web.Response | None:
        """Apply a scripted delay, then a scripted failure, if any are queued for ``path``."""
        if self._delays[path]:
            seconds = self._delays[path].popleft()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), seconds)
        if self._failures[path]:
            failure = self._failures[path].popleft()
            if failure.http_status >= 400:
                return web.Response(status=failure.http_status, text="fake upstream error")
            return _error(failure.errcode, failure.errmsg, failure.http_status)
        return None

    def _issue(self, kind: str, owner: str) -> web.Response:
        self.token_fetches += 1
        if self.single_token:
            for token in [t for t, info in self._tokens.items() if info.owner == owner]:
                del self._tokens[token]
        token = f"FAKE_{kind.upper()}_{self.token_fetches}_{secrets.token_hex(8)}"
        self._tokens[token] = _Token(kind, owner, time.monotonic() + self.expires_in)
        body: dict[str, Any] = {"access_token": token, "expires_in": self.expires_in}
        if kind == "wecom":
            body = {"errcode": 0, "errmsg": "ok", **body}
        return web.json_response(body)

    async def _oa_token(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (scripted := await self._scripted(request.path)) is not None:
            return scripted
        q = request.query
        if q.get("grant_type") != "client_credential":
            return _error(40002)
        secret = self.oa_credentials.get(q.get("appid", ""))
        if secret is None:
            return _error(40013)
        if not secrets.compare_digest(q.get("secret", ""), secret):
            return _error(40125)
        return self._issue("oa", q["appid"])

    async def _wecom_token(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (scripted := await self._scripted(request.path)) is not None:
            return scripted
        q = request.query
        secret = self.wecom_credentials.get(q.get("corpid", ""))
        if secret is None:
            return _error(40013, "invalid corpid")
        if not secrets.compare_digest(q.get("corpsecret", ""), secret):
            # WeCom answers a wrong secret with 40001, unlike the Official Account.
            return _error(40001, "invalid credential")
        return self._issue("wecom", q["corpid"])

    def _token_kind(self, request: web.Request) -> str:
        info = self._tokens.get(request.query.get("access_token", ""))
        return info.kind if info is not None else "oa"

    def _check_token(self, request: web.Request, kind: str) -> web.Response | None:
        token = request.query.get("access_token", "")
        if not token:
            return _error(41001)
        info = self._tokens.get(token)
        if info is None or info.kind != kind:
            return _error(40001)
        if info.expires_at <= time.monotonic():
            return _error(42001)
        return None

    async def _send(self, request: web.Request, kind: str) -> web.Response:
        call = await self._record(request)
        if (scripted := await self._scripted(request.path)) is not None:
            return scripted
        if (rejected := self._check_token(request, kind)) is not None:
            return rejected
        if call.json is None:
            return _error(44002)
        if not isinstance(call.json, dict) or not call.json.get("touser"):
            return _error(47001)
        if kind == "wecom" and call.json["touser"] in self.invalid_members:
            return web.json_response(
                {"errcode": 0, "errmsg": "ok", "invaliduser": call.json["touser"]}
            )
        self.sent.append((request.path, call.json))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._msg_ids)})

    async def _oa_send(self, request: web.Request) -> web.Response:
        return await self._send(request, "oa")

    async def _wecom_send(self, request: web.Request) -> web.Response:
        return await self._send(request, "wecom")

    async def _oa_media_upload(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if (scripted := await self._scripted(request.path)) is not None:
            return scripted
        # One path for both platforms' 上传临时素材; the token says whose media it is.
        if (rejected := self._check_token(request, self._token_kind(request))) is not None:
            return rejected
        if "media" not in call.files:
            return _error(41005, "media data missing")
        return web.json_response(
            {
                "type": request.query.get("type", "image"),
                "media_id": f"FAKE_MEDIA_{next(self._media_ids)}",
                "created_at": int(time.time()),
            }
        )

    async def _unknown(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"errcode": 48001, "errmsg": "fake: no such endpoint"}, status=404)


def _error(errcode: int, errmsg: str = "", status: int = 200) -> web.Response:
    # Tencent answers API errors with HTTP 200 and the errcode in the body.
    return web.json_response(
        {"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")}, status=status
    )


@pytest.fixture
async def fake_tencent() -> AsyncIterator[FakeTencent]:
    """A started :class:`FakeTencent`, stopped after the test."""
    async with FakeTencent() as fake:
        yield fake
