"""``wecrm campaign create|preview|send|report|list``: the managers' campaigns from
the command line, through the same rules as chat (``models.campaigns``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from bot.config import Config


def add_parsers(sub: Any) -> None:
    campaign = sub.add_parser("campaign", help="care campaigns: recommendations and events")
    csub = campaign.add_subparsers(dest="campaign_command", required=True)
    create = csub.add_parser("create", help="create a campaign (a draft) and print its preview")
    create.add_argument("--kind", choices=["recommend", "event"], default="recommend")
    create.add_argument("--title", required=True, help="the product or the event")
    create.add_argument("--on", help="the event's day, YYYY-MM-DD (events)")
    create.add_argument(
        "--to", required=True, help='the segment as in chat after 给, e.g. "VIP 餐饮"'
    )
    create.add_argument("--note", default="", help="words for the text reps forward")
    for name, text in (
        ("preview", "customers, reps and who is left out (opt-out, cap)"),
        ("send", "prompt each owner rep once (a second send does nothing)"),
    ):
        p = csub.add_parser(name, help=text)
        p.add_argument("id", type=int, help="campaign id (`wecrm campaign list`)")
        if name == "send":
            p.add_argument(
                "--with-briefing", action="store_true", help="with the next morning briefing"
            )
    report = csub.add_parser("report", help="reached / interested / signed up / converted per rep")
    report.add_argument("id", type=int, nargs="?", help="campaign id (default: every running one)")
    csub.add_parser("list", help="every campaign with its id and state")


def run(cfg: Config, args: argparse.Namespace, with_db: Callable[..., Any]) -> int:
    commands: dict[str, Callable[[Config, argparse.Namespace], Awaitable[int]]] = {
        "create": _create,
        "preview": _preview,
        "send": _send,
        "report": _report,
        "list": _list,
    }
    work = commands[args.campaign_command]
    return int(asyncio.run(with_db(cfg, lambda: work(cfg, args))))


def _fail(text: str) -> int:
    print(f"wecrm: {text}", file=sys.stderr)
    return 1


def _today(cfg: Config) -> date:
    return datetime.now(UTC).astimezone(cfg.tz).date()


async def _create(cfg: Config, args: argparse.Namespace) -> int:
    from models.campaigns.segments import SegmentError, parse_segment, vocabulary
    from models.campaigns.service import CampaignError, create_campaign, preview
    from models.campaigns.tables import CampaignKind
    from models.campaigns.text import render_preview

    on = None
    if args.on:
        try:
            on = date.fromisoformat(args.on)
        except ValueError:
            return _fail(f"--on expects a day such as 2026-12-20, got {args.on!r}")
    try:
        segment, rest = parse_segment(args.to, await vocabulary(), _today(cfg))
    except SegmentError as exc:
        return _fail(f"--to: no segment in {str(exc)!r} (grades, 活跃/沉默, tiers, industries…)")
    if rest:
        return _fail(f"--to: not understood: {rest!r}")
    try:
        campaign = await create_campaign(
            CampaignKind(args.kind), args.title, segment, args.note, None, on
        )
    except CampaignError as exc:
        return _fail(str(exc))
    print(f"campaign {campaign.id} created (draft)")
    print(render_preview(await preview(campaign, cfg)))
    return 0


async def _campaign(campaign_id: int) -> Any:
    from models.campaigns.tables import Campaign

    return await Campaign.get_or_none(id=campaign_id)


async def _preview(cfg: Config, args: argparse.Namespace) -> int:
    from models.campaigns.service import preview
    from models.campaigns.text import render_preview

    campaign = await _campaign(args.id)
    if campaign is None:
        return _fail(f"no campaign {args.id}")
    print(render_preview(await preview(campaign, cfg)))
    return 0


async def _send(cfg: Config, args: argparse.Namespace) -> int:
    from models.campaigns.service import CampaignError, send

    campaign = await _campaign(args.id)
    if campaign is None:
        return _fail(f"no campaign {args.id}")
    try:
        sent = await send(campaign, cfg, with_briefing=args.with_briefing)
    except CampaignError as exc:
        return _fail(str(exc))
    if sent.already_sent:
        print(f"campaign {campaign.id} was sent already: nothing queued")
        return 0
    when = sent.when.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M") if sent.when else "now"
    print(
        f"campaign {campaign.id}: {sent.preview.customers} customers, "
        f"{sent.prompts} prompt(s) queued for {when}"
    )
    return 0


async def _report(cfg: Config, args: argparse.Namespace) -> int:
    from models.campaigns.report import reports, running_campaigns
    from models.campaigns.text import render_report

    today = _today(cfg)
    if args.id is not None:
        campaign = await _campaign(args.id)
        if campaign is None:
            return _fail(f"no campaign {args.id}")
        found = [campaign]
    else:
        found = await running_campaigns(today)
        if not found:
            print("no campaign is running")
            return 0
    print("\n\n".join(render_report(r, today) for r in await reports(found)))
    return 0


async def _list(cfg: Config, args: argparse.Namespace) -> int:
    from models.campaigns.tables import Campaign
    from models.campaigns.text import headline

    for c in await Campaign.all().order_by("id"):
        print(f"{c.id:>4}  {c.status!s:<9} {headline(c)}  [{c.segment_label or '全部客户'}]")
    return 0
