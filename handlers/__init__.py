"""Handlers: one module per capability. They parse and answer; the rules they apply
live in service functions next to the models."""

from __future__ import annotations

from bot.router import Router
from handlers import (
    care,
    complaints_customer,
    complaints_staff,
    contacts,
    corrections,
    customer_inbox,
    customer_pick,
    customers,
    deals,
    digest,
    fallback,
    followups,
    grading,
    help,
    staff,
    surveys,
    team,
)


def routers() -> list[Router]:
    """All routers in dispatch order; the fallback router must stay last."""
    return [
        staff.router,
        help.router,
        # A customer's 1-5 to the satisfaction survey, before the complaints' rating
        # answer: the later of the two questions takes it (handlers.surveys).
        surveys.router,
        # Before customers/followups: their Command("改") would also take "改级 TS…".
        complaints_customer.router,
        complaints_staff.router,
        # Managers: 「待办 团队」 before care's 「待办」; 「团队」「日报」「转移」.
        team.router,
        digest.router,
        # Before customers: 「生日 本周」 lists birthdays, 「生日 张三 …」 sets one.
        care.router,
        customers.router,
        customer_pick.router,
        # Before followups: its 「改」 would take 「改 成交 …」.
        corrections.router,
        contacts.router,
        followups.router,
        deals.router,
        # 「定级」 (a manager pins a grade or tier); 「改级」 is the complaints' command.
        grading.router,
        # A rep's report without 「跟进」: after every command, before the dialogs' answers.
        followups.free_router,
        # Free-text answers to the bot's questions: after every command router.
        customers.dialog_router,
        deals.dialog_router,
        # A customer's free text that is no complaint: leads, requests, small talk.
        customer_inbox.router,
        fallback.router,
    ]
