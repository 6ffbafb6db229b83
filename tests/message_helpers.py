"""Message builders beyond plain text, for the sales-rep tests."""

from __future__ import annotations

from tests.wechat_client import message_xml, next_msg_id


def voice(recognition: str, sender: str) -> str:
    """A voice message with speech recognition switched on for the account."""
    return message_xml(
        "voice",
        sender,
        MediaId="media-1",
        Format="amr",
        Recognition=recognition,
        MsgId=next_msg_id(),
    )
