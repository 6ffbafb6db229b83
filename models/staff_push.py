"""Pushes to staff: which channel reaches a staff member, and queueing a text for them.

Every job and service that tells a colleague something (SLA warnings, assignments,
briefings, digests, lead hand-offs) goes through ``push_to_staff`` so the choice of
channel lives in one place."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from models.outbox import enqueue
from models.staff import Staff


def text_payload(text: str) -> dict:
    """The outbox payload of a plain text message (the shape ``Reply.from_dict`` reads)."""
    return {"reply": {"kind": "text", "text": text, "media_id": "", "articles": []}}


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
) -> bool:
    """Queue ``text`` for ``staff`` once per ``key``; False when already queued or the
    person has no channel we can reach."""
    address = staff_address(staff, cfg)
    if address is None:
        return False
    return await enqueue(key, address[0], address[1], text_payload(text), when=when, bulk=bulk)
