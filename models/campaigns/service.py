"""Creating, previewing and sending a campaign.

Preview and send select the customers with the same SQL (``_selection``): the
segment, minus customers who opted out, minus those the frequency cap leaves out. The
preview counts them per owner in one aggregate; the send copies them into
``campaign_contact`` with one ``INSERT … SELECT`` and queues one prompt per rep — a
statement count that depends on the number of reps, not of customers. A campaign is
sent once: the status moves from draft to sent in a conditional update, and each
rep's prompt has the outbox key ``campaign:<id>:<staff>``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from bot.config import Config
from bot.config_checks import parse_clock
from models.campaigns.segments import Segment, segment_sql
from models.campaigns.tables import Campaign, CampaignContact, CampaignKind, CampaignStatus
from models.care import after_quiet_hours
from models.enums import Role
from models.rawsql import execute as sql_execute
from models.rawsql import fetch
from models.staff import Staff

MANAGING = (Role.MANAGER, Role.ADMIN)


class CampaignError(ValueError):
    """A campaign that cannot be created or sent; the message is for the user."""


@dataclass
class RepShare:
    staff_id: int | None
    name: str
    customers: int


@dataclass
class Preview:
    campaign: Campaign
    customers: int = 0
    reps: list[RepShare] = field(default_factory=list)
    opted_out: int = 0
    capped: int = 0
    # Customers without an active owner: their prompt goes to ``fallback``.
    unowned: int = 0
    fallback: Staff | None = None
    cap: int = 0
    cap_days: int = 0


@dataclass
class Sent:
    preview: Preview
    # Prompts queued now (0 when the campaign had been sent already).
    prompts: int = 0
    already_sent: bool = False
    when: datetime | None = None


async def create_campaign(
    kind: CampaignKind,
    title: str,
    segment: Segment,
    note: str = "",
    created_by: Staff | None = None,
    event_on: date | None = None,
) -> Campaign:
    if kind is CampaignKind.EVENT and event_on is None:
        raise CampaignError("活动需要日期，例如：活动 12月20日 答谢会 给 活跃 …")
    return await Campaign.create(
        kind=kind,
        title=title.strip()[:64],
        event_on=event_on,
        note=note.strip()[:500],
        segment=segment.as_dict(),
        segment_label=segment.label[:255],
        created_by=created_by,
    )


async def fallback_rep(campaign: Campaign) -> Staff | None:
    """Who is prompted about customers without an active owner: the manager who
    started the campaign, else the manager on duty, else the first manager or admin."""
    if campaign.created_by_id is not None:  # type: ignore[attr-defined]
        creator = await Staff.get_or_none(id=campaign.created_by_id, active=True)  # type: ignore[attr-defined]
        if creator is not None:
            return creator
    return (
        await Staff.filter(active=True, role__in=MANAGING)
        .order_by("-on_duty", "role", "id")
        .first()
    )


@dataclass(frozen=True)
class _Selection:
    """The customers a campaign selects, as SQL over ``customer c`` (with ``staff s``
    its owner, ``k.n`` its campaign prompts within the cap window): ``source`` is the
    FROM … WHERE of the segment, ``capped`` the condition the frequency cap excludes."""

    source: str
    source_params: list[Any]
    capped: str
    capped_params: list[Any]


def _selection(campaign: Campaign, cfg: Config, now: datetime) -> _Selection:
    today = now.astimezone(cfg.tz).date()
    where, params = segment_sql(Segment.from_dict(campaign.segment), today)
    cap = cfg.campaigns.max_contacts_per_month
    since = now - timedelta(days=cfg.campaigns.cap_window_days)
    source = (
        "FROM customer c LEFT JOIN staff s ON s.id = c.owner_id "
        "LEFT JOIN (SELECT customer_id, COUNT(*) AS n FROM campaign_contact "
        "WHERE prompted_at >= ? GROUP BY customer_id) k ON k.customer_id = c.id "
        f"WHERE {where}"
    )
    if not cap:
        return _Selection(source, [since, *params], "1 = 0", [])
    return _Selection(source, [since, *params], "k.n >= ?", [cap])


async def preview(campaign: Campaign, cfg: Config, now: datetime | None = None) -> Preview:
    """How many customers and reps the campaign would prompt, and how many the opt-out
    and the frequency cap leave out — one aggregate over the segment."""
    now = now or datetime.now(UTC)
    sel = _selection(campaign, cfg, now)
    rows = await fetch(
        "SELECT c.owner_id AS owner_id, "
        "SUM(CASE WHEN c.opted_out_at IS NOT NULL THEN 1 ELSE 0 END) AS opted_out, "
        f"SUM(CASE WHEN c.opted_out_at IS NULL AND {sel.capped} THEN 1 ELSE 0 END) AS capped, "
        "SUM(CASE WHEN c.opted_out_at IS NULL AND (k.n IS NULL OR NOT "
        f"({sel.capped})) THEN 1 ELSE 0 END) AS eligible "
        f"{sel.source} GROUP BY c.owner_id",
        *sel.capped_params,
        *sel.capped_params,
        *sel.source_params,
    )
    return await _shares(campaign, rows, cfg)


async def _shares(campaign: Campaign, rows: list[dict[str, Any]], cfg: Config) -> Preview:
    found = Preview(
        campaign,
        cap=cfg.campaigns.max_contacts_per_month,
        cap_days=cfg.campaigns.cap_window_days,
    )
    owners = {r["owner_id"] for r in rows if r["owner_id"] is not None}
    active = {s.id: s for s in await Staff.filter(id__in=owners, active=True)} if owners else {}
    by_rep: dict[int | None, int] = defaultdict(int)
    for r in rows:
        found.opted_out += int(r["opted_out"] or 0)
        found.capped += int(r["capped"] or 0)
        eligible = int(r["eligible"] or 0)
        if not eligible:
            continue
        if r["owner_id"] in active:
            by_rep[r["owner_id"]] += eligible
        else:
            found.unowned += eligible
    if found.unowned:
        found.fallback = await fallback_rep(campaign)
        if found.fallback is not None:
            active[found.fallback.id] = found.fallback
        by_rep[found.fallback.id if found.fallback else None] += found.unowned
    found.customers = sum(by_rep.values())
    found.reps = sorted(
        (
            RepShare(sid, active[sid].name if sid in active else "无人负责", n)
            for sid, n in by_rep.items()
        ),
        key=lambda r: (-r.customers, r.name),
    )
    return found


def next_briefing(now: datetime, cfg: Config) -> datetime:
    """The moment of the next morning briefing (today's if it is still to come)."""
    local = now.astimezone(cfg.tz)
    at = time(*parse_clock(cfg.care.briefing_time))
    day = local.date() if local.time() < at else local.date() + timedelta(days=1)
    return datetime.combine(day, at, tzinfo=cfg.tz).astimezone(UTC)


def ends_on(campaign: Campaign, sent_day: date, cfg: Config) -> date:
    if campaign.kind == CampaignKind.EVENT and campaign.event_on is not None:
        return campaign.event_on + timedelta(days=cfg.campaigns.event_days_after)
    return sent_day + timedelta(days=cfg.campaigns.run_days)


async def send(
    campaign: Campaign,
    cfg: Config,
    now: datetime | None = None,
    *,
    with_briefing: bool = False,
) -> Sent:
    """Select the customers (as the preview did), record one contact each and queue
    each rep's prompt — once: a campaign sent already queues nothing."""
    from models.campaigns.prompts import queue_prompts

    now = now or datetime.now(UTC)
    if campaign.status == CampaignStatus.CANCELLED:
        raise CampaignError("这个活动已经取消了。")
    async with in_transaction():
        before = await preview(campaign, cfg, now)
        claimed = await Campaign.filter(id=campaign.id, status=CampaignStatus.DRAFT).update(
            status=CampaignStatus.SENT,
            sent_at=now,
            with_briefing=with_briefing,
            ends_on=ends_on(campaign, now.astimezone(cfg.tz).date(), cfg),
        )
        if not claimed:
            return Sent(before, already_sent=True)
        await campaign.refresh_from_db()
        await _record_contacts(campaign, before, cfg, now)
        when = next_briefing(now, cfg) if with_briefing else now
        when = after_quiet_hours(when, cfg.care, cfg.tz)
        prompts = await queue_prompts(campaign, cfg, when)
    return Sent(before, prompts=prompts, when=when)


async def _record_contacts(campaign: Campaign, found: Preview, cfg: Config, now: datetime) -> int:
    sel = _selection(campaign, cfg, now)
    fallback = found.fallback.id if found.fallback else None
    return await sql_execute(
        "INSERT INTO campaign_contact (campaign_id, customer_id, rep_id, prompted_at, outcome) "
        f"SELECT ?, c.id, CASE WHEN s.active THEN c.owner_id ELSE ? END, ?, '' {sel.source} "
        f"AND c.opted_out_at IS NULL AND (k.n IS NULL OR NOT ({sel.capped})) "
        "ON CONFLICT (campaign_id, customer_id) DO NOTHING",
        campaign.id,
        fallback,
        now,
        *sel.source_params,
        *sel.capped_params,
    )


async def contacts_of(campaign: Campaign) -> list[CampaignContact]:
    return await CampaignContact.filter(campaign_id=campaign.id).order_by("id")


async def cancel(campaign: Campaign) -> bool:
    """A draft the manager said no to; False when it was sent already."""
    return bool(
        await Campaign.filter(id=campaign.id, status=CampaignStatus.DRAFT).update(
            status=CampaignStatus.CANCELLED
        )
    )
