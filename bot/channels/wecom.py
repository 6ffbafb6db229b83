"""The WeCom (企业微信) self-built app callback at ``/wecom``: staff talk to the bot here.

WeCom always encrypts: ``GET`` verifies the URL by decrypting ``echostr`` (WeCom
waits about a second, so that path touches no database), ``POST`` carries one
encrypted message or event. The door's rules are the Official Account's — signature
in constant time, timestamp window, size cap before parsing, defused XML, never a
500 — plus the CorpID inside the decrypted payload (another company's message is
403) and, when configured, the app's AgentID.

The decrypted XML has the Official Account's shape (ToUserName = CorpID,
FromUserName = the member's userid), so it becomes the same :class:`Incoming`.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.envelope import AesEnvelope
from bot.channels.official_account import (
    INCOMING,
    MAX_ID_LENGTH,
    Process,
    render_reply,
    to_incoming,
)
from bot.channels.security import DoorError, check_timestamp, parse_xml, read_capped
from bot.config import Config

CHANNEL = "wecom"


class WeComChannel:
    """GET: URL verification. POST: one encrypted message in, one encrypted reply out."""

    def __init__(self, config: Config, process: Process) -> None:
        self.wecom = config.wecom
        self.security = config.security
        self.body_timeout = config.server.body_timeout
        self.process = process
        self.envelope = AesEnvelope(
            self.wecom.token,
            self.wecom.encoding_aes_key,
            self.wecom.corp_id,
            work=True,
            wrong_receiver_status=403,
        )

    def _query(self, request: web.Request) -> tuple[str, str, str | None]:
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        check_timestamp(timestamp, self.security.timestamp_window)
        return timestamp, nonce, q.get("msg_signature")

    async def verify(self, request: web.Request) -> web.Response:
        """回调 URL 验证: answer the decrypted ``echostr`` (from memory, within WeCom's second)."""
        timestamp, nonce, msg_signature = self._query(request)
        echostr = request.query.get("echostr")
        if not echostr:
            raise DoorError(400, "missing echostr")
        plain = self.envelope.decrypt(echostr, timestamp, nonce, msg_signature)
        return web.Response(text=plain)

    async def receive(self, request: web.Request) -> web.Response:
        timestamp, nonce, msg_signature = self._query(request)
        if not msg_signature:
            # Refused before the body is read: nothing of it could be trusted.
            raise DoorError(403, "missing signature")
        body = await read_capped(request, self.security.max_body_bytes, self.body_timeout)
        fields = self.envelope.open(parse_xml(body), timestamp, nonce, msg_signature)
        self._check_receiver(fields)
        incoming = to_incoming(fields, CHANNEL)
        if not incoming.sender:
            raise DoorError(400, "missing FromUserName")
        if len(incoming.sender) > MAX_ID_LENGTH or len(incoming.msg_id) > MAX_ID_LENGTH:
            raise DoorError(400, "FromUserName or MsgId too long")
        request[INCOMING] = incoming
        reply = await self.process(incoming)
        xml = render_reply(reply, to_user=incoming.sender, from_user=incoming.recipient)
        if xml == "success":
            # WeCom's "nothing to say" is an empty 200.
            return web.Response(text="")
        return web.Response(text=self.envelope.seal(xml), content_type="application/xml")

    def _check_receiver(self, fields: dict[str, str]) -> None:
        # The ciphertext already names our CorpID (PrpCrypto checked it); the payload
        # must agree, and a message for another app of the company is not ours either.
        if fields.get("ToUserName", "") != self.wecom.corp_id:
            raise DoorError(403, "message for another CorpID")
        agent = fields.get("AgentID", "")
        if self.wecom.agent_id and agent and agent != str(self.wecom.agent_id):
            raise DoorError(403, "message for another app")

    def add_routes(self, app: web.Application, path: str = "/wecom") -> None:
        app.router.add_get(path, self.verify)
        app.router.add_post(path, self.receive)
