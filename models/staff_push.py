"""Pushes to staff: which channel reaches a staff member, and queueing a text for them.

Every job and service that tells a colleague something (SLA warnings, assignments,
briefings, digests, lead hand-offs) goes through ``push_to_staff`` so the choice of
channel lives in one place: WeCom app message when the person is bound there and the
app is configured; else the Official Account — customer-service message inside the
48-hour window, the staff template message outside it (when one is configured),
otherwise the push waits for the person's next message."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from bot.config import Config
from models.outbox import enqueue
from models.staff import Staff


def text_payload(text: str) -> dict[str, Any]:
    """The outbox payload of a plain text message (the shape ``Reply.from_dict`` reads)."""
    return {"reply": {"kind": "text", "text": text, "media_id": "", "articles": []}}


def image_payload(content: bytes, filename: str, caption: str) -> dict[str, Any]:
    """An image push: the file travels with the row and each channel's sender uploads
    it there (media ids are per platform and temporary); ``caption`` is what a template
    message or a text-only view shows instead."""
    return {
        "reply": {"kind": "image", "text": caption, "media_id": "", "articles": []},
        "upload": {
            "type": "image",
            "filename": filename,
            "content_b64": base64.b64encode(content).decode("ascii"),
        },
    }


def staff_address(staff: Staff, cfg: Config) -> tuple[str, str] | None:
    """Where a staff member gets pushes: WeCom when the app is configured, else the
    first channel we know them by."""
    if staff.wecom_userid and cfg.wecom.corp_id:
        return "wecom", staff.wecom_userid
    for channel, column in (("oa", "oa_openid"), ("wecom", "wecom_userid")):
        if getattr(staff, column):
            return channel, getattr(staff, column)
    if staff.simulator_id:
        return "simulator", staff.simulator_id
    return None


async def push_to_staff(
    staff: Staff,
    text: str,
    key: str,
    cfg: Config,
    *,
    when: datetime | None = None,
    bulk: bool = False,
    image: tuple[bytes, str] | None = None,
) -> bool:
    """Queue ``text`` for ``staff`` once per ``key``; False when already queued or the
    person has no channel we can reach. With ``image`` (content, file name) the push is
    that picture and ``text`` its caption."""
    address = staff_address(staff, cfg)
    if address is None:
        return False
    payload = text_payload(text) if image is None else image_payload(*image, text)
    if address[0] == "oa" and cfg.wechat.staff_template_id:
        payload["template_fallback"] = staff_template(text, cfg, when)
    return await enqueue(key, address[0], address[1], payload, when=when, bulk=bulk)


# Template fields are short; the whole text is one reply (「待办」) or one tap away.
TEMPLATE_FIELD_MAX = 180


def staff_template(text: str, cfg: Config, when: datetime | None = None) -> dict[str, Any]:
    """A 工作提醒-style template message carrying a push for a staff member who is
    outside the 48-hour window: the first line as title, the rest shortened."""
    lines = [line for line in text.splitlines() if line.strip()]
    title = lines[0] if lines else text
    rest = "\n".join(lines[1:])
    if len(rest) > TEMPLATE_FIELD_MAX:
        rest = rest[: TEMPLATE_FIELD_MAX - 1] + "…"
    moment = (when or datetime.now(UTC)).astimezone(cfg.tz)
    return {
        "template_id": cfg.wechat.staff_template_id,
        "url": cfg.wechat.staff_template_url,
        "data": {
            "first": {"value": title},
            "keyword1": {"value": rest or title},
            "keyword2": {"value": f"{moment:%Y-%m-%d %H:%M}"},
            "remark": {"value": "回复「待办」查看完整内容。"},
        },
    }
