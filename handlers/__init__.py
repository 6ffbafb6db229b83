"""Handlers: one module per capability. They parse and answer; the rules they apply
live in service functions next to the models."""

from __future__ import annotations

from bot.router import Router
from handlers import (
    care,
    complaints,
    customer_pick,
    customers,
    deals,
    fallback,
    followups,
    grading,
    help,
    staff,
)


def routers() -> list[Router]:
    """All routers in dispatch order; the fallback router must stay last."""
    return [
        staff.router,
        help.router,
        # Before customers/followups: their Command("改") would also take "改级 TS…".
        complaints.router,
        # Before customers: 「生日 本周」 lists birthdays, 「生日 张三 …」 sets one.
        care.router,
        customers.router,
        customer_pick.router,
        followups.router,
        deals.router,
        # 「定级」 (a manager pins a grade or tier); 「改级」 is the complaints' command.
        grading.router,
        # Free-text answers to the bot's questions: after every command router.
        customers.dialog_router,
        deals.dialog_router,
        fallback.router,
    ]
