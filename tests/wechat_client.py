"""Plays WeChat's servers: builds the XML Tencent documents for every message and
event type, signs it, encrypts it in safe/compatible mode with wechatpy (an
independent implementation of the protocol), posts it, and decrypts the reply.

Reference: 公众号开发文档 → 消息管理 → 接收普通消息 / 接收事件推送 / 被动回复用户消息
/ 消息加解密说明.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from aiohttp.test_utils import TestClient
from wechatpy.crypto import WeChatCrypto

from bot.app import PIPELINE
from bot.channels.security import parse_xml

OPENID = "oUser0000000000000000000001"
ACCOUNT = "gh_0123456789ab"

_msg_ids = iter(range(24000000000000000, 25000000000000000))


def next_msg_id() -> str:
    return str(next(_msg_ids))


def c(text: str) -> str:
    return f"<![CDATA[{text}]]>"


def message_xml(
    msg_type: str, sender: str = OPENID, create_time: int | None = None, **fields: Any
) -> str:
    """A message or event as Tencent sends it; ``fields`` become child elements."""
    create_time = int(time.time()) if create_time is None else create_time
    parts = [
        f"<ToUserName>{c(ACCOUNT)}</ToUserName>",
        f"<FromUserName>{c(sender)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{c(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        elif isinstance(value, str) and value.startswith("<"):
            parts.append(f"<{name}>{value}</{name}>")  # nested element
        else:
            parts.append(f"<{name}>{c(str(value))}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(content: str, sender: str = OPENID, msg_id: str | None = None) -> str:
    return message_xml("text", sender, Content=content, MsgId=msg_id or next_msg_id())


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class WeChatSender:
    def __init__(self, client: TestClient, token: str, app_id: str, aes_key: str) -> None:
        self.client = client
        self.token = token
        self.app_id = app_id
        self.crypto = WeChatCrypto(token, aes_key, app_id)

    def signed_query(
        self, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(5)
        return {"timestamp": ts, "nonce": nonce, "signature": sign(self.token, ts, nonce)}

    async def post(self, xml: str, aes: bool = False, **query: str):  # type: ignore[no-untyped-def]
        params = self.signed_query()
        body = xml
        if aes:
            encrypted = self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
            encrypt = parse_xml(encrypted.encode())["Encrypt"]
            body = (
                f"<xml><ToUserName>{c(ACCOUNT)}</ToUserName><Encrypt>{c(encrypt)}</Encrypt></xml>"
            )
            params["encrypt_type"] = "aes"
            params["msg_signature"] = sign(
                self.token, params["timestamp"], params["nonce"], encrypt
            )
        params.update(query)
        return await self.client.post("/wechat", params=params, data=body.encode())

    async def send(self, xml: str, aes: bool = False) -> dict[str, str] | None:
        """Post and return the decoded passive reply, or None for ``success``/empty."""
        resp = await self.post(xml, aes=aes)
        assert resp.status == 200, await resp.text()
        text = await resp.text()
        if text in ("success", ""):
            return None
        if aes:
            envelope = parse_xml(text.encode())
            # wechatpy checks our signature and decrypts, as a client library would.
            text = self.crypto.decrypt_message(
                text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        return parse_xml(text.encode())

    async def say(self, content: str, sender: str = OPENID, aes: bool = False) -> str:
        reply = await self.send(text_xml(content, sender), aes=aes)
        assert reply is not None, f"no reply to {content!r}"
        return reply.get("Content", "")

    async def audited(self) -> None:
        """Write now the audit entries of read-only replies (a card seen), which the
        app writes in batches a moment after them (``models.batched_rows``)."""
        await self.client.app[PIPELINE].batched_rows.flush()


# --- Helpers for the Official Account and door-security tests -----------------------


def strict_parse(xml: str | bytes) -> dict[str, str]:
    """Children of ``<xml>`` as the standard library's strict parser (expat) reads them:
    no stripping and no leniency, so a reply that is not well-formed XML fails here."""
    from xml.etree.ElementTree import fromstring

    root = fromstring(xml)
    assert root.tag == "xml", root.tag
    return {child.tag: child.text or "" for child in root}


def xml_text(text: str) -> str:
    """``text`` as character data escaped with entities: carries ``]]>``, ``<`` and ``&``
    without relying on CDATA (a different technique from the one under test)."""
    from xml.sax.saxutils import escape

    return escape(text)


def aes_request(
    sender: WeChatSender,
    xml: str,
    *,
    app_id: str | None = None,
    aes_key: str | None = None,
    encrypt: str | None = None,
    msg_signature: str | None = None,
    timestamp: int | None = None,
) -> tuple[dict[str, str], bytes]:
    """Query and body of an AES-mode request; every part can be overridden to tamper."""
    params = sender.signed_query(timestamp=timestamp)
    if encrypt is None:
        crypto = sender.crypto
        if app_id is not None or aes_key is not None:
            from tests.conftest import AES_KEY

            crypto = WeChatCrypto(sender.token, aes_key or AES_KEY, app_id or sender.app_id)
        envelope = crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
        encrypt = strict_parse(envelope)["Encrypt"]
    params["encrypt_type"] = "aes"
    params["msg_signature"] = (
        sign(sender.token, params["timestamp"], params["nonce"], encrypt)
        if msg_signature is None
        else msg_signature
    )
    body = f"<xml><ToUserName>{c(ACCOUNT)}</ToUserName><Encrypt>{c(encrypt)}</Encrypt></xml>"
    return params, body.encode()


class Exchange:
    """One POST to /wechat: the status, the body as received, and the passive reply
    decoded (decrypted with wechatpy, which checks our MsgSignature, in AES mode)."""

    def __init__(self, status: int, body: str, reply: dict[str, str] | None) -> None:
        self.status = status
        self.body = body
        self.reply = reply

    @property
    def content(self) -> str:
        assert self.reply is not None, f"expected a passive reply, got {self.body!r}"
        return self.reply.get("Content", "")


async def exchange(sender: WeChatSender, xml: str, aes: bool = False) -> Exchange:
    """Post ``xml`` signed (and encrypted when ``aes``) and decode what comes back."""
    resp = await sender.post(xml, aes=aes)
    body = await resp.text()
    assert "Traceback" not in body
    if resp.status != 200 or body == "success":
        return Exchange(resp.status, body, None)
    inner = body
    if aes:
        envelope = strict_parse(body)
        assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, envelope
        inner = sender.crypto.decrypt_message(
            body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
    return Exchange(resp.status, body, strict_parse(inner))
