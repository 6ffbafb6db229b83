"""A rep's marks on a running campaign: 「已推荐 张三」 (passed on), 「张三 有兴趣」,
「张三 报名了」, 「张三 不感兴趣」, 「张三 成交了」. Each mark records a follow-up on the
customer (``models.followups.log_followup``: it is a contact) and the campaign's
outcome for them; the same mark twice is said once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from models.campaigns.tables import Campaign, CampaignContact, CampaignStatus, Outcome
from models.customers import Customer
from models.enums import FollowUpMethod
from models.followups import log_followup
from models.staff import Staff

# 「已推荐」 alone: passed on, no answer from the customer yet.
REACHED = "reached"


@dataclass(frozen=True)
class Marked:
    contact: CampaignContact
    campaign: Campaign
    customer: Customer
    # What the mark said (REACHED or an Outcome value) and what the contact shows now.
    said: str
    outcome: Outcome
    # False when nothing changed (the same mark again): no second follow-up.
    changed: bool


async def running_contacts(rep: Staff, today: date) -> list[CampaignContact]:
    """The rep's customers in campaigns still running, newest campaign first."""
    return (
        await CampaignContact.filter(
            rep_id=rep.id,
            campaign__status=CampaignStatus.SENT,
            campaign__ends_on__gte=today,
        )
        .order_by("-campaign__sent_at", "-campaign_id", "customer__name")
        .prefetch_related("campaign", "customer")
    )


def matching(contacts: list[CampaignContact], query: str) -> list[CampaignContact]:
    """The contacts whose customer ``query`` names: the full name, else the pinyin
    initials, else a part of the name or company; one contact per customer (the newest
    campaign's)."""
    q = query.strip().lower()
    tests = (
        lambda c: c.name.lower() == q,
        lambda c: q.isascii() and c.name_initials == q,
        lambda c: len(q) >= 2 and (q in c.name.lower() or (c.company and q in c.company.lower())),
    )
    for test in tests:
        found: dict[int, CampaignContact] = {}
        for contact in contacts:
            if test(contact.customer) and contact.customer_id not in found:  # type: ignore[attr-defined]
                found[contact.customer_id] = contact  # type: ignore[attr-defined]
        if found:
            return list(found.values())
    return []


def _next_outcome(current: Outcome, said: str) -> Outcome:
    if said == REACHED:
        return current
    new = Outcome(said)
    # A sale stays a sale; anything else is what the rep says now.
    if current == Outcome.CONVERTED and new != Outcome.CONVERTED:
        return current
    return new


async def mark(
    contact: CampaignContact, rep: Staff, said: str, today: date, now: datetime | None = None
) -> Marked:
    """Record what ``rep`` said about the contact's customer; a follow-up when it is
    news."""
    from models.campaigns.text import mark_followup_text

    now = now or datetime.now(UTC)
    campaign: Campaign = contact.campaign
    customer: Customer = contact.customer
    current = Outcome(contact.outcome)
    outcome = _next_outcome(current, said)
    changed = contact.reached_at is None or outcome != current
    if not changed:
        return Marked(contact, campaign, customer, said, outcome, False)
    contact.reached_at = contact.reached_at or now
    contact.outcome = outcome
    contact.marked_at = now
    await contact.save(update_fields=["reached_at", "outcome", "marked_at"])
    content, feedback = mark_followup_text(campaign, said)
    await log_followup(customer, rep, FollowUpMethod.WECHAT, content, feedback, None, today)
    return Marked(contact, campaign, customer, said, outcome, True)
