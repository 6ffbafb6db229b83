"""What the customer and staff sides of the complaints chat share: the rating dialog
the customer enters when a ticket is closed, ticket numbers at the head of a command's
arguments, and the audit target.

The handlers are ``handlers.complaints_customer`` and ``handlers.complaints_staff``;
the rules they apply are in ``models.complaints``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import Config
from bot.context import Context
from bot.conversation import Conversation
from bot.filters import Filter
from bot.incoming import Incoming
from bot.parsing.ratings import normalized
from models import complaints as rules
from models.complaints import (
    Complaint,
)
from models.complaints.classification import CATEGORY_CHOICES, parse_category
from models.customers import Customer

# The customer's dialog after closing: a 1-5 rating (or 未解决).
RATE_STATE = "complaints:rate"


async def await_rating(c: Complaint, customer: Customer, cfg: Config) -> None:
    """The ticket was closed and the customer asked to rate it: their next 1-5 (or
    未解决) answers that request, for as long as the ticket may be reopened."""
    ttl = timedelta(days=max(1, cfg.complaints.reopen_days))
    # When it was asked: a satisfaction survey asked later takes the next 1-5 first
    # (handlers.surveys).
    asked = datetime.now(UTC).isoformat()
    await Conversation(f"{c.channel}:{customer.openid}", ttl).set(
        RATE_STATE, {"ticket": c.ticket_no, "asked_at": asked}
    )


def split_ticket(args: str) -> tuple[str | None, str]:
    """``"TS20261125-0001 已补发"`` -> ("TS202611250001", "已补发")."""
    match = rules.TICKET_RE.match(args.strip())
    if not match:
        return None, args.strip()
    rest = args.strip()[match.end() :]
    return f"TS{match.group(1)}{match.group(2)}".upper(), rest.strip(" \u3000,，:：")


# 「投诉 全部」: staff asking for their list of tickets.
LIST_WORDS = {"全部", "所有", "列表", "全部投诉", "未结", "待处理"}


def target(ctx: Context, c: Complaint) -> None:
    ctx.data["audit_target"] = f"complaint:{c.id}"


# The numbered categories a complaint's category question offers (the customer's, or
# the rep's who wrote it down): 「1 质量　2 物流　3 服务　4 价格　5 其他」.
CATEGORY_MENU = "　".join(f"{i} {c.label}" for i, c in enumerate(CATEGORY_CHOICES, 1))


class CategoryAnswer(Filter):
    """``1``-``5`` or a category word: ``ctx.data["category"]``."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        category = parse_category(normalized(msg.text))
        if category is not None:
            ctx.data["category"] = category
        return category is not None
