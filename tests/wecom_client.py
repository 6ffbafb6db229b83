"""Plays WeCom's servers for ``/wecom``: builds the decrypted XML of every message and
event type as the WeCom documentation shows it, encrypts and signs it with wechatpy's
``wechatpy.enterprise`` (an independent implementation of the protocol), posts it and
decrypts the passive reply.

Reference: 企业微信开发者中心 → 应用管理 → 接收消息与事件 (消息格式 / 事件格式) and
→ 加解密方案说明 (WXBizMsgCrypt).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.security import parse_xml
from tests.wechat_client import c, sign

CORP_ID = "ww0123456789abcdef"  # the fake Tencent API's default corp
AGENT_ID = 1000002
WECOM_TOKEN = "wecom-token"
WECOM_AES_KEY = "6MGF2TPmyfAGQPkZe7FDSVd4BBwbJDL2aJGi4efyjCk"
USERID = "zhangsan"

_msg_ids = iter(range(7000000000000000000, 7100000000000000000))


def wecom_section(**extra: Any) -> dict[str, Any]:
    return {
        "corp_id": CORP_ID,
        "agent_id": AGENT_ID,
        "token": WECOM_TOKEN,
        "encoding_aes_key": WECOM_AES_KEY,
        **extra,
    }


def wecom_xml(
    msg_type: str,
    userid: str = USERID,
    *,
    corp_id: str = CORP_ID,
    agent_id: int = AGENT_ID,
    create_time: int | None = None,
    **fields: Any,
) -> str:
    """A decrypted WeCom message or event: ToUserName is the CorpID, FromUserName the
    member's userid, AgentID the app."""
    create_time = int(time.time()) if create_time is None else create_time
    parts = [
        f"<ToUserName>{c(corp_id)}</ToUserName>",
        f"<FromUserName>{c(userid)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{c(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        parts.append(f"<{name}>{value if isinstance(value, int) else c(str(value))}</{name}>")
    parts.append(f"<AgentID>{agent_id}</AgentID>")
    return "<xml>" + "".join(parts) + "</xml>"


def wecom_text(content: str, userid: str = USERID, msg_id: str | None = None) -> str:
    return wecom_xml("text", userid, Content=content, MsgId=msg_id or str(next(_msg_ids)))


class WeComSender:
    def __init__(
        self,
        client: TestClient,
        token: str = WECOM_TOKEN,
        aes_key: str = WECOM_AES_KEY,
        corp_id: str = CORP_ID,
    ) -> None:
        self.client = client
        self.token = token
        self.corp_id = corp_id
        self.aes_key = aes_key
        self.crypto = WeChatCrypto(token, aes_key, corp_id)

    def envelope(
        self, xml: str, *, corp_id: str | None = None, timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Query and body of a callback; ``corp_id`` encrypts for another company."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(5)
        crypto = self.crypto
        if corp_id is not None:
            crypto = WeChatCrypto(self.token, self.aes_key, corp_id)
        encrypted = crypto.encrypt_message(xml, nonce, ts)
        encrypt = parse_xml(encrypted.encode())["Encrypt"]
        params = {"msg_signature": sign(self.token, ts, nonce, encrypt), "timestamp": ts}
        params["nonce"] = nonce
        body = (
            f"<xml><ToUserName>{c(self.corp_id)}</ToUserName><Encrypt>{c(encrypt)}</Encrypt>"
            f"<AgentID>{c(str(AGENT_ID))}</AgentID></xml>"
        )
        return params, body.encode()

    async def post(self, xml: str, **kwargs: Any) -> ClientResponse:
        params, body = self.envelope(xml, **kwargs)
        return await self.client.post("/wecom", params=params, data=body)

    async def send(self, xml: str) -> dict[str, str] | None:
        """Post and return the decrypted passive reply, or None for an empty 200."""
        resp = await self.post(xml)
        text = await resp.text()
        assert resp.status == 200, text
        if not text:
            return None
        envelope = parse_xml(text.encode())
        # wechatpy checks our signature and decrypts, as WeCom would.
        plain = self.crypto.decrypt_message(
            text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
        return parse_xml(plain.encode())

    async def say(self, content: str, userid: str = USERID) -> str:
        reply = await self.send(wecom_text(content, userid))
        assert reply is not None, f"no reply to {content!r}"
        assert reply["ToUserName"] == userid and reply["FromUserName"] == self.corp_id
        return reply.get("Content", "")
