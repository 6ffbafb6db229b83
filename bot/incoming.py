"""The normalized message every channel produces, and the reply every channel renders.

Channels (Official Account, WeCom, simulator) turn their wire format into one
:class:`Incoming`; handlers answer with a :class:`Reply`. Both are plain data so a
reply can be cached for WeChat's retries and queued in the outbox.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    SHORTVIDEO = "shortvideo"
    LOCATION = "location"
    LINK = "link"
    FILE = "file"
    EVENT = "event"
    UNKNOWN = "unknown"


@dataclass
class Incoming:
    channel: str  # "oa" | "wecom" | "simulator"
    sender: str  # openid / userid / simulator identity
    kind: Kind
    recipient: str = ""  # our account id (ToUserName)
    msg_id: str = ""
    create_time: int = 0
    # Text typed by the user, or the speech recognition of a voice message.
    text: str = ""
    media_id: str = ""
    # Lower-cased event name ("subscribe", "click", …) and its key.
    event: str = ""
    event_key: str = ""
    # Everything else the channel sent (location, link title, file name, …).
    extra: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict, repr=False)
    # Plain-mode callbacks: (key of the signed URL, digest of the body), checked
    # against replays inside the message's transaction.
    signed_url: tuple[str, str] | None = None

    @property
    def dedup_key(self) -> str:
        """What makes a retry of this message recognisable as the same message."""
        if self.msg_id:
            return f"{self.channel}:{self.sender}:{self.msg_id}"
        return f"{self.channel}:{self.sender}:{self.create_time}:{self.event}"

    @property
    def customer_side(self) -> bool:
        """Whether the sender may be a customer: customers write from the Official
        Account; the simulator's customer personas carry a "sim-" id (a simulator user
        must never act as a real customer whose openid they typed in)."""
        return self.channel == "oa" or (
            self.channel == "simulator" and self.sender.startswith("sim-")
        )

    @property
    def user_key(self) -> str:
        """Who is talking, across messages: for conversation state and audit."""
        return f"{self.channel}:{self.sender}"


@dataclass
class Article:
    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


@dataclass
class Reply:
    """What to answer. ``kind="none"`` means: acknowledge and say nothing."""

    kind: str = "text"
    text: str = ""
    media_id: str = ""
    articles: list[Article] = field(default_factory=list)

    @classmethod
    def none(cls) -> Reply:
        return cls(kind="none")

    @property
    def is_empty(self) -> bool:
        # WeChat refuses a news reply without articles or an image without media,
        # and the user would see "该公众号暂时无法提供服务": treat them as nothing.
        return (
            self.kind == "none"
            or (self.kind == "text" and not self.text)
            or (self.kind == "news" and not self.articles)
            or (self.kind == "image" and not self.media_id)
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        articles = [Article(**a) for a in data.get("articles", [])]
        return cls(
            kind=data.get("kind", "text"),
            text=data.get("text", ""),
            media_id=data.get("media_id", ""),
            articles=articles,
        )
