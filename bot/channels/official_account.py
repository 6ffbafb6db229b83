"""The Official Account (公众号) callback at ``/wechat``: plain, compatible and safe mode.

Turns WeChat's XML into one :class:`Incoming`, hands it to the pipeline and renders
the :class:`Reply` as a passive reply — encrypted and signed when the request was.
Accepts the same Token, AppID and EncodingAESKey an admin would give WeRoBot or wechatpy.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.channels.envelope import AesEnvelope
from bot.channels.security import (
    DoorError,
    cdata,
    check_signature,
    check_timestamp,
    parse_xml,
    read_capped,
    signed_url_key,
)
from bot.config import Config
from bot.incoming import Incoming, Kind, Reply

CHANNEL = "oa"
# Since 2018 a passive news reply to a user message may carry one article only.
MAX_PASSIVE_ARTICLES = 1
# The parsed message, kept on the request so a failure can still answer its sender.
INCOMING: web.RequestKey[Incoming] = web.RequestKey("incoming", Incoming)

Process = Callable[[Incoming], Awaitable[Reply]]

# OpenIDs are 28 characters and MsgIds 64-bit integers; the database keeps senders in
# 64-character columns. Anything longer is not from WeChat, and would fail deep in the
# pipeline instead of at the door.
MAX_ID_LENGTH = 64

# The fields each message type carries besides the common header, kept in ``extra``.
_EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("PicUrl",),
    "voice": ("Format", "MediaId16K"),
    "video": ("ThumbMediaId",),
    "shortvideo": ("ThumbMediaId",),
    "location": ("Location_X", "Location_Y", "Scale", "Label"),
    "link": ("Title", "Description", "Url"),
    "file": ("Title", "Description", "FileKey", "FileMd5", "FileTotalLen"),
    "event": (
        "Ticket",
        "Latitude",
        "Longitude",
        "Precision",
        "Status",
        "MsgID",
        "MenuId",
        "ScanCodeInfo.ScanType",
        "ScanCodeInfo.ScanResult",
    ),
}


def to_incoming(fields: dict[str, str], channel: str = CHANNEL) -> Incoming:
    """Normalize one decoded WeChat (or WeCom: the same XML) message or event."""
    msg_type = fields.get("MsgType", "").lower()
    try:
        kind = Kind(msg_type)
    except ValueError:
        kind = Kind.UNKNOWN
    incoming = Incoming(
        channel=channel,
        sender=fields.get("FromUserName", ""),
        recipient=fields.get("ToUserName", ""),
        kind=kind,
        msg_id=fields.get("MsgId", "") if kind is not Kind.EVENT else "",
        create_time=_create_time(fields.get("CreateTime", "")),
        media_id=fields.get("MediaId", ""),
        raw=fields,
    )
    if kind is Kind.TEXT:
        incoming.text = fields.get("Content", "")
    elif kind is Kind.VOICE:
        # Present only when speech recognition is switched on for the account.
        incoming.text = fields.get("Recognition", "")
    elif kind is Kind.EVENT:
        incoming.event = fields.get("Event", "").lower()
        key = fields.get("EventKey", "")
        if incoming.event == "subscribe" and key.startswith("qrscene_"):
            # Subscribed by scanning a parametric QR code: keep the scene value.
            incoming.extra["scene"] = key[len("qrscene_") :]
        elif incoming.event == "scan":
            incoming.extra["scene"] = key
        incoming.event_key = key
    elif kind is Kind.UNKNOWN:
        incoming.extra["MsgType"] = msg_type
    for name in (*_EXTRA_FIELDS.get(kind.value, ()), "AgentID"):
        if fields.get(name):
            incoming.extra[name] = fields[name]
    return incoming


def _create_time(value: str) -> int:
    """CreateTime as an int; 0 when absent or not a plausible Unix time.

    ``str.isdigit()`` alone is not enough: ``"²"`` passes it and ``int()`` refuses it,
    as it refuses strings of more than 4300 digits.
    """
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return 0


def render_reply(reply: Reply, to_user: str, from_user: str, now: int | None = None) -> str:
    """The passive-reply XML for ``reply``; ``success`` when there is nothing to say."""
    if reply.is_empty:
        return "success"
    now = int(time.time()) if now is None else now
    head = (
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
    )
    if reply.kind == "image":
        body = (
            f"<MsgType>{cdata('image')}</MsgType>"
            f"<Image><MediaId>{cdata(reply.media_id)}</MediaId></Image>"
        )
    elif reply.kind == "news":
        items = "".join(
            "<item>"
            f"<Title>{cdata(a.title)}</Title><Description>{cdata(a.description)}</Description>"
            f"<PicUrl>{cdata(a.picurl)}</PicUrl><Url>{cdata(a.url)}</Url>"
            "</item>"
            for a in reply.articles[:MAX_PASSIVE_ARTICLES]
        )
        body = (
            f"<MsgType>{cdata('news')}</MsgType>"
            f"<ArticleCount>{min(len(reply.articles), MAX_PASSIVE_ARTICLES)}</ArticleCount>"
            f"<Articles>{items}</Articles>"
        )
    else:
        body = f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(reply.text)}</Content>"
    return f"<xml>{head}{body}</xml>"


class OfficialAccountChannel:
    """GET: URL verification. POST: one message in, one passive reply out."""

    def __init__(self, config: Config, process: Process) -> None:
        self.wechat = config.wechat
        self.security = config.security
        self.body_timeout = config.server.body_timeout
        self.process = process
        self._envelope: AesEnvelope | None = None
        if self.wechat.encoding_aes_key:
            self._envelope = AesEnvelope(
                self.wechat.token, self.wechat.encoding_aes_key, self.wechat.app_id
            )

    def _check_request(self, request: web.Request) -> tuple[str, str]:
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        check_signature((self.wechat.token, timestamp, nonce), q.get("signature"))
        check_timestamp(timestamp, self.security.timestamp_window)
        return timestamp, nonce

    async def verify(self, request: web.Request) -> web.Response:
        self._check_request(request)
        echostr = request.query.get("echostr")
        if echostr is None:
            raise DoorError(400, "missing echostr")
        return web.Response(text=echostr)

    async def receive(self, request: web.Request) -> web.Response:
        timestamp, nonce = self._check_request(request)
        encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
        if not encrypted and self.wechat.mode == "safe":
            # Refused before the body is even read: nothing of it will be used.
            raise DoorError(403, "safe mode accepts encrypted messages only")
        body = await read_capped(request, self.security.max_body_bytes, self.body_timeout)
        fields = parse_xml(body)
        if encrypted:
            fields = self._decrypt(fields, timestamp, nonce, request.query.get("msg_signature"))
        incoming = to_incoming(fields)
        if not incoming.sender:
            raise DoorError(400, "missing FromUserName")
        if len(incoming.sender) > MAX_ID_LENGTH or len(incoming.msg_id) > MAX_ID_LENGTH:
            raise DoorError(400, "FromUserName or MsgId too long")
        if not encrypted:
            incoming.signed_url = signed_url_key(
                timestamp, nonce, request.query.get("signature", ""), body
            )
        request[INCOMING] = incoming
        reply = await self.process(incoming)
        xml = render_reply(reply, to_user=incoming.sender, from_user=incoming.recipient)
        if encrypted and xml != "success":
            xml = self._encrypt(xml)
        return web.Response(
            text=xml, content_type="application/xml" if xml != "success" else "text/plain"
        )

    def _decrypt(
        self, fields: dict[str, str], timestamp: str, nonce: str, msg_signature: str | None
    ) -> dict[str, str]:
        if self._envelope is None:
            raise DoorError(400, "encrypted message but no EncodingAESKey configured")
        return self._envelope.open(fields, timestamp, nonce, msg_signature)

    def _encrypt(self, xml: str) -> str:
        assert self._envelope is not None
        return self._envelope.seal(xml)

    def add_routes(self, app: web.Application, path: str = "/wechat") -> None:
        app.router.add_get(path, self.verify)
        app.router.add_post(path, self.receive)
