"""帮助 through the real webhook, plain and AES."""

from __future__ import annotations

import pytest

from tests.wechat_client import OPENID, WeChatSender


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_stranger_asks_for_help(wechat: WeChatSender, aes: bool) -> None:
    reply = await wechat.say("帮助", aes=aes)
    assert "绑定" in reply


async def test_reply_addresses_the_sender(wechat: WeChatSender) -> None:
    from tests.wechat_client import text_xml

    reply = await wechat.send(text_xml("帮助"))
    assert reply is not None
    assert reply["ToUserName"] == OPENID
    assert reply["MsgType"] == "text"
