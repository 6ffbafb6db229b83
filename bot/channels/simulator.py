"""The local chat simulator at ``/simulator``: a phone-like web page that talks to
the same pipeline (dedup, router, handlers) as WeChat, for demos and browser tests.

The page picks an identity — a staff member with ``Staff.simulator_id``, a customer
whose openid starts with ``sim-``, or a fresh visitor — and posts to a small JSON API
under ``/simulator/api/``: text and voice (with its recognition text) to ``send``, a
picture to ``image``, the ``subscribe`` event to ``event``. Each becomes the
:class:`Incoming` the Official Account would produce and runs through the same
pipeline. Late replies and pushes are outbox rows with channel ``simulator``; the
page polls for them. The chat history lives in the browser only.

There is no login: whoever reaches the page can speak as any identity. That is the
point for a demo and the reason the simulator is off unless ``[simulator] enabled``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from importlib import resources
from typing import Any

from aiohttp import web

from bot.channels.security import DoorError, read_capped
from bot.incoming import Incoming, Kind, Reply
from bot.logs import request_id_var
from bot.pipeline import Pipeline
from models.customers import Customer
from models.enums import Role
from models.outbox import Outbox
from models.staff import Staff

CHANNEL = "simulator"
# "wecom:<userid>" speaks as that member on the WeCom channel (the demo shows a rep
# on WeCom beside a customer on the Official Account); pushes to them show here.
WECOM_PREFIX = "wecom:"
# Customers whose openid carries this prefix are simulator personas (seed/demo data);
# real openids never start with it, so real customers are never offered.
CUSTOMER_PREFIX = "sim-"
MAX_TEXT = 2000
# Pictures are checked and dropped: nothing is stored, the Incoming carries a made-up
# media id ("sim-media-…") as WeChat's carries the id of a file on its servers.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
MEDIA_PREFIX = "sim-media-"
# A picture of the cap on a slow link still arrives well inside this.
IMAGE_WAIT = 15.0
# The events a phone produces by itself; a menu click or a QR scan needs a real account.
EVENTS = ("subscribe", "unsubscribe")
# Identities end up in Staff.simulator_id and Outbox.recipient (both 64 chars) and
# in dedup keys; a tight alphabet keeps them out of trouble everywhere they go.
ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Enough for any realistic backlog; the page asks again with the last id it saw.
PUSH_PAGE = 50
# A demo database has a handful of personas; the cap keeps the picker usable.
MAX_CUSTOMERS = 200

# The page, its script and style: one directory, no build step, no CDN.
_ASSETS = {
    "simulator.html": "text/html",
    "simulator.js": "text/javascript",
    "simulator.css": "text/css",
}
# No inline script or style is needed, so none is allowed: if reply text ever
# reached the DOM as markup, the browser would still refuse to run it.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Edited assets should show up on reload during a demo.
    "Cache-Control": "no-cache",
}

E_NOT_JSON = "请求格式不正确：需要 JSON 对象。"
E_TOO_LARGE = "请求太大了。"
E_NO_IDENTITY = "请先选择身份。"
E_BAD_IDENTITY = "身份标识不合法：只能包含字母、数字和 _ . : -，最长 64 个字符。"
E_NO_TEXT = "消息不能为空。"
E_TEXT_TOO_LONG = f"消息太长了，最多 {MAX_TEXT} 个字。"
E_BAD_MSG_ID = "消息编号不合法：只能包含字母、数字和 _ . : -，最长 64 个字符。"
E_BAD_AFTER = "参数 after 必须是非负整数。"
E_BUSY = "系统繁忙，请稍后再发一次。"
E_BAD_KIND = "消息类型不正确：只能是 text（文字）或 voice（语音）。"
E_NO_EVENT = "请指定事件，例如 subscribe（关注）。"
E_BAD_EVENT = "不支持的事件：只能是 subscribe（关注）或 unsubscribe（取消关注）。"
E_IMAGE_TYPE = "只能发送 PNG 或 JPEG 图片。"
E_IMAGE_EMPTY = "图片是空的，请重新选择。"
E_IMAGE_TOO_LARGE = f"图片太大了，最大 {MAX_IMAGE_BYTES // (1024 * 1024)} MB。"
E_IMAGE_CORRUPT = "图片内容与格式不符：不是有效的 PNG 或 JPEG 文件。"
E_IMAGE_SLOW = "图片上传超时，请重试。"

log = logging.getLogger("wecrm.simulator")


class BadRequest(Exception):
    """Input the page (or a hand-written request) got wrong: a 400 with a Chinese message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def valid_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def _identity(value: object) -> str:
    if value is None or value == "":
        raise BadRequest(E_NO_IDENTITY)
    if not valid_id(value):
        raise BadRequest(E_BAD_IDENTITY)
    assert isinstance(value, str)
    return value


def _msg_id(value: object) -> str:
    # The page sends its own id so a repeated request is recognised by dedup like a
    # WeChat retry; without one every request is a new message.
    if value is None or value == "":
        return secrets.token_hex(12)
    if not valid_id(value):
        raise BadRequest(E_BAD_MSG_ID)
    assert isinstance(value, str)
    return value


def _load_assets() -> dict[str, bytes]:
    # importlib.resources works from a wheel as well as from a source checkout.
    folder = resources.files("bot") / "static"
    return {name: (folder / name).read_bytes() for name in _ASSETS}


class SimulatorChannel:
    """The page, its assets and the JSON API, all under ``/simulator``."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        # Read once: a missing asset is a packaging error and should stop start-up.
        self.assets = _load_assets()

    def add_routes(self, app: web.Application, path: str = "/simulator") -> None:
        log.warning(
            "simulator enabled: anyone who can reach %s can chat as any simulator identity",
            path,
        )
        app.router.add_get(path, self.page)
        app.router.add_get(f"{path}/", self.to_page)
        app.router.add_get(path + "/static/{name}", self.asset)
        app.router.add_get(f"{path}/api/identities", self.identities)
        app.router.add_post(f"{path}/api/send", self.send)
        app.router.add_post(f"{path}/api/image", self.image)
        app.router.add_post(f"{path}/api/event", self.event)
        app.router.add_get(f"{path}/api/pushes", self.pushes)

    # --- the page -------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        return self._asset_response("simulator.html")

    async def to_page(self, request: web.Request) -> web.Response:
        # The page uses relative URLs, which only resolve from /simulator itself.
        raise web.HTTPFound(request.path.rstrip("/"))

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.assets or name == "simulator.html":
            raise web.HTTPNotFound()
        return self._asset_response(name)

    def _asset_response(self, name: str) -> web.Response:
        return web.Response(
            body=self.assets[name],
            content_type=_ASSETS[name],
            charset="utf-8",
            headers=_SECURITY_HEADERS,
        )

    # --- the API --------------------------------------------------------------------

    async def identities(self, request: web.Request) -> web.Response:
        """Staff with a simulator id, then ``sim-`` customers; the page adds 新访客 itself."""
        out: list[dict[str, str]] = []
        staff = await Staff.filter(simulator_id__isnull=False, active=True).order_by("id")
        for member in staff:
            # Bound through the API, an id is always valid; seeded data might not be.
            if valid_id(member.simulator_id):
                label = f"{member.name}（{Role(member.role).label}）"
                out.append({"id": member.simulator_id, "label": label, "role": str(member.role)})
        customers = (
            await Customer.filter(openid__startswith=CUSTOMER_PREFIX)
            .order_by("id")
            .limit(MAX_CUSTOMERS)
        )
        wecom = await Staff.filter(wecom_userid__isnull=False, active=True).order_by("id")
        for member in wecom:
            identity = WECOM_PREFIX + (member.wecom_userid or "")
            if valid_id(identity):
                label = f"{member.name}（{Role(member.role).label} · 企业微信）"
                out.append({"id": identity, "label": label, "role": str(member.role)})
        taken = {item["id"] for item in out}
        for customer in customers:
            openid = customer.openid or ""
            # SQLite's LIKE ignores case; the prefix is meant literally.
            if openid.startswith(CUSTOMER_PREFIX) and valid_id(openid) and openid not in taken:
                out.append({"id": openid, "label": f"{customer.name}（客户）", "role": "customer"})
        return web.json_response(out)

    async def send(self, request: web.Request) -> web.Response:
        """One typed message — or a voice message with its recognition text — through
        the pipeline; the reply comes back in the response."""
        try:
            body = await self._json_object(request)
            identity = _identity(body.get("identity"))
            kind = body.get("kind", "text")
            if kind not in (Kind.TEXT.value, Kind.VOICE.value):
                raise BadRequest(E_BAD_KIND)
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise BadRequest(E_NO_TEXT)
            if len(text) > MAX_TEXT:
                raise BadRequest(E_TEXT_TOO_LONG)
            msg_id = _msg_id(body.get("msg_id"))
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        # A voice message's text is WeChat's Recognition: what the user said.
        incoming = _incoming(identity, Kind(kind), msg_id, text=text)
        if incoming.kind is Kind.VOICE:
            incoming.media_id = _media_id()
            incoming.extra["Format"] = "amr"
        return await self._run(request, incoming)

    async def image(self, request: web.Request) -> web.Response:
        """A picture as the raw request body (``Content-Type`` image/png or image/jpeg),
        identity and optional msg_id in the query. Checked, then forgotten: the
        pipeline sees an image message with a made-up media id."""
        try:
            identity = _identity(request.query.get("identity"))
            msg_id = _msg_id(request.query.get("msg_id"))
            mime = request.content_type.lower()
            if mime not in IMAGE_TYPES:
                raise BadRequest(E_IMAGE_TYPE)
            try:
                data = await read_capped(request, MAX_IMAGE_BYTES, IMAGE_WAIT)
            except DoorError as exc:
                if exc.status == 413:
                    raise BadRequest(E_IMAGE_TOO_LARGE, status=413) from None
                raise BadRequest(E_IMAGE_SLOW, status=exc.status) from None
            if not data:
                raise BadRequest(E_IMAGE_EMPTY)
            if not data.startswith(IMAGE_TYPES[mime]):
                raise BadRequest(E_IMAGE_CORRUPT)
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        return await self._run(
            request, _incoming(identity, Kind.IMAGE, msg_id, media_id=_media_id())
        )

    async def event(self, request: web.Request) -> web.Response:
        """An event as the Official Account would post it (``subscribe`` when the page
        first opens for an identity, which the bot answers with its welcome)."""
        try:
            body = await self._json_object(request)
            identity = _identity(body.get("identity"))
            event = body.get("event")
            if event is None or event == "":
                raise BadRequest(E_NO_EVENT)
            if not isinstance(event, str) or event.lower() not in EVENTS:
                raise BadRequest(E_BAD_EVENT)
            # WeChat's events carry no MsgId and are deduplicated by sender, time and
            # event; a msg_id from the page makes a resent request one event as well.
            raw_id = body.get("msg_id")
            msg_id = "" if raw_id is None or raw_id == "" else _msg_id(raw_id)
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        return await self._run(
            request, _incoming(identity, Kind.EVENT, msg_id, event=event.lower())
        )

    async def _run(self, request: web.Request, incoming: Incoming) -> web.Response:
        try:
            reply = await self.pipeline.process(incoming)
        except Exception:
            # Usually the database: say so in Chinese, in JSON, like the rest of the API.
            log.exception("simulator message failed")
            return web.json_response(
                {"error": E_BUSY, "request_id": request_id_var.get()}, status=503
            )
        return web.json_response({"reply": reply.to_dict()})

    async def pushes(self, request: web.Request) -> web.Response:
        """Outbox rows for one identity after a given id, oldest first."""
        try:
            identity = _identity(request.query.get("identity"))
            after_raw = request.query.get("after", "0") or "0"
            if not after_raw.isascii() or not after_raw.isdigit() or len(after_raw) > 18:
                raise BadRequest(E_BAD_AFTER)
            after = int(after_raw)
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        channel, recipient = _channel_and_sender(identity)
        rows = (
            await Outbox.filter(channel=channel, recipient=recipient, id__gt=after)
            .order_by("id")
            .limit(PUSH_PAGE)
        )
        return web.json_response([{"id": row.id, "reply": _push_reply(row)} for row in rows])

    async def _json_object(self, request: web.Request) -> dict[str, Any]:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest(E_TOO_LARGE, status=413) from None
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest(E_NOT_JSON) from None
        if not isinstance(body, dict):
            raise BadRequest(E_NOT_JSON)
        return body


def _media_id() -> str:
    return MEDIA_PREFIX + secrets.token_hex(12)


def _incoming(identity: str, kind: Kind, msg_id: str, **fields: Any) -> Incoming:
    """What the page sent, as the channel of ``identity`` would have delivered it."""
    channel, sender = _channel_and_sender(identity)
    return Incoming(
        channel=channel,
        sender=sender,
        kind=kind,
        msg_id=msg_id,
        create_time=int(time.time()),
        **fields,
    )


def _channel_and_sender(identity: str) -> tuple[str, str]:
    if identity.startswith(WECOM_PREFIX) and len(identity) > len(WECOM_PREFIX):
        return "wecom", identity[len(WECOM_PREFIX) :]
    return CHANNEL, identity


# Pushed images travel with their file (bot.outbox_worker.upload_parts); the page
# shows them inline, as a phone would.
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _push_reply(row: Outbox) -> dict[str, Any]:
    """The row's reply as a Reply dict; an unreadable payload becomes ``none`` so the
    page still advances past it instead of asking for it forever."""
    payload = row.payload
    data = payload.get("reply") if isinstance(payload, dict) else None
    if isinstance(data, dict):
        try:
            reply = Reply.from_dict(data).to_dict()
        except (TypeError, ValueError):
            pass
        else:
            upload = payload.get("upload")
            if isinstance(upload, dict) and reply["kind"] == "image":
                name = str(upload.get("filename", ""))
                mime = _IMAGE_TYPES.get(name[name.rfind(".") :].lower(), "")
                if mime:
                    reply["image_url"] = f"data:{mime};base64,{upload.get('content_b64', '')}"
            return reply
    log.warning("outbox row has no readable reply", extra={"outbox_id": row.id})
    return Reply.none().to_dict()
