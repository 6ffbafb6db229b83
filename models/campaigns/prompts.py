"""Each rep's prompt about a campaign: their customers in it, with a text ready to
forward. Queued once per rep and campaign (outbox key ``campaign:<id>:<staff>``);
the contacts are read in one query and the reps in another, so the statement count
follows the number of reps, not of customers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from models.campaigns.tables import Campaign
from models.staff import Staff
from models.staff_push import push_to_staff


@dataclass(frozen=True)
class Listed:
    """A customer as a prompt lists them: plain values, a campaign may hold thousands."""

    name: str
    company: str
    grade: str


async def customers_by_rep(
    campaign: Campaign, rep_id: int | None = None
) -> dict[int, list[Listed]]:
    """rep id → the campaign's customers they were prompted about, by name."""
    from models.campaigns.tables import CampaignContact

    query = CampaignContact.filter(campaign_id=campaign.id, rep_id__isnull=False)
    if rep_id is not None:
        query = query.filter(rep_id=rep_id)
    rows = await query.order_by("customer__name", "customer_id").values_list(
        "rep_id", "customer__name", "customer__company", "customer__grade"
    )
    found: dict[int, list[Listed]] = defaultdict(list)
    for rep, name, company, grade in rows:
        found[rep].append(Listed(name, company or "", str(grade)))
    return found


async def queue_prompts(campaign: Campaign, cfg: Config, when: datetime) -> int:
    from models.campaigns.text import render_prompt

    lists = await customers_by_rep(campaign)
    if not lists:
        return 0
    reps = {s.id: s for s in await Staff.filter(id__in=list(lists))}
    queued = 0
    for rep_id, listed in lists.items():
        staff = reps.get(rep_id)
        if staff is None:
            continue
        text = render_prompt(campaign, staff, listed, cfg.campaigns.prompt_max_lines)
        key = f"campaign:{campaign.id}:{rep_id}"
        queued += await push_to_staff(staff, text, key, cfg, when=when, bulk=True)
    return queued
