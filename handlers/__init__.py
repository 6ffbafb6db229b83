"""Handlers: one module per capability. They parse and answer; the rules they apply
live in service functions next to the models."""

from __future__ import annotations

from bot.router import Router
from handlers import (
    campaign_marks,
    campaigns,
    care,
    complaints_customer,
    complaints_register,
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
    optout,
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
        # A customer's 「退订」 (after complaints: an angry one is a ticket first, before
        # customer_inbox: 「别联系我」 is no lead); staff's 「免打扰 张三」.
        optout.router,
        # 「李娜投诉说…」, 「投诉 李娜 设备漏水」: a rep writing down a customer's
        # complaint, before staff's 「投诉 TS…」 (it takes no ticket number).
        complaints_register.router,
        complaints_staff.router,
        # Managers: 「待办 团队」 before care's 「待办」; 「团队」「日报」「转移」.
        team.router,
        digest.router,
        # Managers' 「推荐」「活动」「活动报告」「名单」 (a rep's 「推荐了张三」 is a mark, below).
        campaigns.router,
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
        # 「已推荐 张三」「张三 有兴趣」: after every command, before the free report.
        campaign_marks.router,
        # A rep's report without 「跟进」: after every command, before the dialogs' answers.
        followups.free_router,
        # Free-text answers to the bot's questions: after every command router.
        customers.dialog_router,
        deals.dialog_router,
        campaigns.dialog_router,
        # A customer's free text that is no complaint: leads, requests, small talk.
        customer_inbox.router,
        fallback.router,
    ]
