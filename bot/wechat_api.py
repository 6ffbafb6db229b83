"""Tencent's HTTP APIs on aiohttp: Official Account customer-service and template
messages, media upload, WeCom app messages.

wechatpy's client is synchronous and its ``auto_retry`` recurses without bound on a
persistent 40001, so we only borrow its crypto; calls go through :meth:`TencentClient.call`,
which retries exactly once after an invalid-token answer.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.incoming import Reply
from bot.tokens import Fetcher, TokenError, TokenOwner

# The token was rejected: invalid (40001), illegal (40014), expired (42001).
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
NETWORK_ERROR = -1
SERVER_ERROR = -2


class ApiError(Exception):
    """A call that did not succeed; ``code`` is Tencent's errcode, or -1 network, -2 HTTP 5xx."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"errcode {code}: {message}")
        self.code = code
        self.message = message


class TencentClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        tokens: TokenOwner,
        timeout: float = 10.0,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return await json_request(
            self.session, method, self.base_url + path, self.timeout, **kwargs
        )

    async def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One API call with the current token; one refetch if the token was rejected."""
        for attempt in (1, 2):
            try:
                token = await self.tokens.get()
            except TokenError as exc:
                raise ApiError(exc.code, exc.message) from None
            query = {**(params or {}), "access_token": token}
            body = await self._request(method, path, params=query, **kwargs)
            code = int(body.get("errcode", 0) or 0)
            if code in TOKEN_ERRORS and attempt == 1:
                await self.tokens.invalidate(token)
                continue
            if code:
                raise ApiError(code, str(body.get("errmsg", "")))
            return body
        raise AssertionError("unreachable")


def oa_token_fetcher(
    session: aiohttp.ClientSession, base_url: str, app_id: str, secret: str, limit: float
) -> Fetcher:
    """Official Account: ``GET /cgi-bin/token`` (公众号 获取 Access token)."""
    params = {"grant_type": "client_credential", "appid": app_id, "secret": secret}
    return _fetcher(session, f"{base_url.rstrip('/')}/cgi-bin/token", params, limit)


def wecom_token_fetcher(
    session: aiohttp.ClientSession, base_url: str, corp_id: str, secret: str, limit: float
) -> Fetcher:
    """WeCom: ``GET /cgi-bin/gettoken`` (企业微信 获取 access_token)."""
    params = {"corpid": corp_id, "corpsecret": secret}
    return _fetcher(session, f"{base_url.rstrip('/')}/cgi-bin/gettoken", params, limit)


def _fetcher(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], limit: float
) -> Fetcher:
    async def fetch() -> tuple[str, int]:
        return await _fetch_token(session, url, params, limit)

    return fetch


async def json_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    limit: aiohttp.ClientTimeout,
    **kwargs: Any,
) -> dict[str, Any]:
    """One HTTP exchange with Tencent; network trouble and 5xx become :class:`ApiError`."""
    try:
        async with session.request(method, url, timeout=limit, **kwargs) as resp:
            if resp.status >= 500:
                raise ApiError(SERVER_ERROR, f"HTTP {resp.status}")
            body = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise ApiError(NETWORK_ERROR, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(NETWORK_ERROR, "response is not a JSON object")
    return body


async def _fetch_token(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], limit: float
) -> tuple[str, int]:
    try:
        body = await json_request(
            session, "GET", url, aiohttp.ClientTimeout(total=limit), params=params
        )
    except ApiError as exc:
        raise TokenError(exc.code, exc.message) from None
    if not body.get("access_token"):
        raise TokenError(int(body.get("errcode", -1) or -1), str(body.get("errmsg", "")))
    return str(body["access_token"]), int(body.get("expires_in", 7200))


def _custom_message(to: str, reply: Reply) -> dict[str, Any]:
    if reply.kind == "image":
        return {"touser": to, "msgtype": "image", "image": {"media_id": reply.media_id}}
    if reply.kind == "news":
        # Customer-service news messages carry one article.
        a = reply.articles[0]
        article = {"title": a.title, "description": a.description, "url": a.url, "picurl": a.picurl}
        return {"touser": to, "msgtype": "news", "news": {"articles": [article]}}
    return {"touser": to, "msgtype": "text", "text": {"content": reply.text}}


class OfficialAccountAPI:
    def __init__(self, client: TencentClient) -> None:
        self.client = client

    async def send_custom(self, openid: str, reply: Reply) -> str:
        """Customer-service message; only within 48 h of the user's last message (45015)."""
        body = await self.client.call(
            "POST", "/cgi-bin/message/custom/send", json=_custom_message(openid, reply)
        )
        return str(body.get("msgid", ""))

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, Any], url: str = ""
    ) -> str:
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            payload["url"] = url
        body = await self.client.call("POST", "/cgi-bin/message/template/send", json=payload)
        return str(body.get("msgid", ""))

    async def upload_media(self, media_type: str, filename: str, content: bytes) -> str:
        """Temporary media (3 days), e.g. the digest chart; returns its media_id."""
        return await _upload(self.client, media_type, filename, content)


# WeCom textcard fields are short: title 128 bytes, description 512 bytes.
TEXTCARD_TITLE = 40
TEXTCARD_DESCRIPTION = 160
INVALID_MEMBER = 81013


class WeComAPI:
    def __init__(self, client: TencentClient, agent_id: int) -> None:
        self.client = client
        self.agent_id = agent_id

    async def send_app_message(self, userid: str, reply: Reply) -> str:
        """应用消息: text, image (an uploaded media id) or textcard (a news reply with a
        link). WeCom answers errcode 0 even when the member is unknown or outside the
        app's visible range, naming them in ``invaliduser``: that is a failure here."""
        payload: dict[str, Any] = {"touser": userid, "agentid": self.agent_id}
        if reply.kind == "image":
            payload |= {"msgtype": "image", "image": {"media_id": reply.media_id}}
        elif reply.kind == "news" and reply.articles and reply.articles[0].url:
            a = reply.articles[0]
            card = {
                "title": a.title[:TEXTCARD_TITLE],
                "description": a.description[:TEXTCARD_DESCRIPTION],
                "url": a.url,
                "btntxt": "详情",
            }
            payload |= {"msgtype": "textcard", "textcard": card}
        else:
            payload |= {"msgtype": "text", "text": {"content": reply_text(reply)}}
        body = await self.client.call("POST", "/cgi-bin/message/send", json=payload)
        if body.get("invaliduser"):
            raise ApiError(INVALID_MEMBER, f"invalid user {body['invaliduser']}")
        return str(body.get("msgid", ""))

    async def upload_media(self, media_type: str, filename: str, content: bytes) -> str:
        """上传临时素材 (3 days) on WeCom's side; returns its media_id."""
        return await _upload(self.client, media_type, filename, content)


def reply_text(reply: Reply) -> str:
    """A reply as plain text: news without a link becomes its title and description."""
    if reply.kind == "news" and reply.articles:
        a = reply.articles[0]
        return "\n".join(part for part in (a.title, a.description, a.url) if part)
    return reply.text


async def _upload(client: TencentClient, media_type: str, filename: str, content: bytes) -> str:
    form = aiohttp.FormData()
    form.add_field("media", content, filename=filename)
    body = await client.call(
        "POST", "/cgi-bin/media/upload", params={"type": media_type}, data=form
    )
    return str(body.get("media_id", ""))
