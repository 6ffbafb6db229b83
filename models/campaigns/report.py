"""What came of a campaign: per rep, the customers prompted, reached (the rep marked
it passed on), interested, signed up (events) and converted — one grouped query with
conditional counts, for one campaign (「活动报告」, ``wecrm campaign report``) or for
every campaign still running (the digest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tortoise.expressions import Q
from tortoise.functions import Count

from models.campaigns.tables import Campaign, CampaignContact, CampaignStatus, Outcome
from models.staff import Staff

# 「有兴趣」 counts whoever got at least that far; a conversion is never undone by a
# later, lesser mark (models.campaigns.marks).
INTERESTED = (Outcome.INTERESTED, Outcome.SIGNED_UP, Outcome.CONVERTED)
SIGNED_UP = (Outcome.SIGNED_UP, Outcome.CONVERTED)


@dataclass
class Figures:
    prompted: int = 0
    reached: int = 0
    interested: int = 0
    signed_up: int = 0
    converted: int = 0
    declined: int = 0

    def add(self, other: Figures) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class CampaignReport:
    campaign: Campaign
    total: Figures = field(default_factory=Figures)
    # (rep name, figures), most customers first.
    by_rep: list[tuple[str, Figures]] = field(default_factory=list)


async def running_campaigns(today: date) -> list[Campaign]:
    return await Campaign.filter(status=CampaignStatus.SENT, ends_on__gte=today).order_by(
        "-sent_at", "-id"
    )


async def reports(campaigns: list[Campaign]) -> list[CampaignReport]:
    """The figures of ``campaigns`` by rep, in one query whatever their number."""
    if not campaigns:
        return []
    rows = (
        await CampaignContact.filter(campaign_id__in=[c.id for c in campaigns])
        .annotate(
            prompted=Count("id"),
            reached=Count("id", _filter=Q(reached_at__isnull=False)),
            interested=Count("id", _filter=Q(outcome__in=list(INTERESTED))),
            signed_up=Count("id", _filter=Q(outcome__in=list(SIGNED_UP))),
            converted=Count("id", _filter=Q(outcome=Outcome.CONVERTED)),
            declined=Count("id", _filter=Q(outcome=Outcome.DECLINED)),
        )
        .group_by("campaign_id", "rep_id")
        .values(
            "campaign_id",
            "rep_id",
            "prompted",
            "reached",
            "interested",
            "signed_up",
            "converted",
            "declined",
        )
    )
    rep_ids = {r["rep_id"] for r in rows if r["rep_id"] is not None}
    names = dict(await Staff.filter(id__in=rep_ids).values_list("id", "name")) if rep_ids else {}
    found = {c.id: CampaignReport(c) for c in campaigns}
    for r in rows:
        figures = Figures(
            *(int(r[k]) for k in ("prompted", "reached", "interested", "signed_up", "converted"))
        )
        figures.declined = int(r["declined"])
        report = found[r["campaign_id"]]
        report.total.add(figures)
        report.by_rep.append((names.get(r["rep_id"], "无人负责"), figures))
    for report in found.values():
        report.by_rep.sort(key=lambda item: (-item[1].prompted, item[0]))
    return [found[c.id] for c in campaigns]


async def campaign_report(campaign: Campaign) -> CampaignReport:
    return (await reports([campaign]))[0]
