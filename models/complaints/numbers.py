"""Ticket numbers: drawn per local day, parsed as typed."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.functions import Length

from models.complaints.tables import Complaint

# Ticket numbers as typed: TS202611250007, ts20261125-0007, "TS 20261125 0007".
# Four digits of daily sequence, five or more on a day past 9 999 tickets.
TICKET_RE = re.compile(r"TS\s*-?\s*(\d{8})\s*-?\s*(\d{4,6})(?!\d)", re.IGNORECASE)


def parse_ticket_no(text: str) -> str | None:
    match = TICKET_RE.search(text)
    return f"TS{match.group(1)}{match.group(2)}".upper() if match else None


def ticket_no(created: datetime, seq: int, tz: ZoneInfo) -> str:
    """``TS`` + local date + 4-digit daily sequence, e.g. TS202611250007: letters and
    digits only, so it survives being typed on a phone."""
    return f"TS{created.astimezone(tz):%Y%m%d}{seq:04d}"


async def next_ticket_no(now: datetime, tz: ZoneInfo) -> str:
    prefix = ticket_no(now, 0, tz)[:-4]
    # Past 9 999 a day the sequence grows a digit: order by length first, or
    # "…10000" would sort before "…9999" as text.
    last = (
        await Complaint.filter(ticket_no__startswith=prefix)
        .annotate(width=Length("ticket_no"))
        .order_by("-width", "-ticket_no")
        .first()
        .values_list("ticket_no", flat=True)
    )
    tail = str(last)[len(prefix) :] if last else ""
    seq = int(tail) + 1 if tail.isdigit() else 1
    return ticket_no(now, seq, tz)
