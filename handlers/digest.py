"""The digest in chat for managers: 「日报」 (today, or 「日报 11月20日」 / 「日报 昨天」),
「周报」, 「月报」. The text is the answer; the chart follows as an image push (a passive
reply cannot carry a picture we have not uploaded yet). Reps get their own to-do list
instead: the team's figures are not theirs to read."""

from __future__ import annotations

import re

from bot.context import Context
from bot.filters import Command, Filter, RoleIs
from bot.incoming import Incoming
from bot.parsing.dates import InvalidDate, local_today, parse_past_date
from bot.router import Router
from bot.sqlite_engine import off_loop
from handlers.customer_pick import staff_of
from handlers.help import register_help
from models.digest import Digest, build_digest
from models.digest_chart import push_chart, render_chart
from models.digest_text import render_digest
from models.periods import (
    Period,
    day_period,
    last_month_period,
    last_week_period,
    month_period,
    week_period,
)

router = Router("digest")

register_help(
    "日报",
    "团队今天的数据和需要你处理的事（「日报 11月20日」「周报」「月报」）",
    "manager",
    "admin",
)

MANAGERS_ONLY = (
    "日报和团队数据只对主管开放。你可以发送「待办」看今天要做的事，「我的客户」看自己的客户。"
)
BAD_DATE = "没看懂日期「{text}」。可以这样发：日报、日报 昨天、日报 11月20日、周报、月报。"
FUTURE = "{day} 还没到，没有日报。"
WORDS = ("日报", "周报", "月报", "统计", "业绩", "kpi")


class AsksForFigures(Filter):
    """「今天的日报」, 「看看本周业绩」, 「这个月的数据」, 「昨天日报」: the digest asked for in
    words; ``ctx.data`` as 「日报」/「周报」/「月报」's."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        asked = _ASKS_FIGURES.match(msg.text or "")
        if asked is None or not (asked.group("when") or asked.group("kind") in _REPORTS):
            return False
        when, kind = asked.group("when") or "", asked.group("kind")
        last = when if when in _LAST_WEEK | _LAST_MONTH else ""
        if when in _WEEK | _LAST_WEEK or (kind == "周报" and when not in _MONTH | _LAST_MONTH):
            ctx.data["command"], ctx.data["args"] = "周报", last
        elif when in _MONTH | _LAST_MONTH or kind == "月报":
            ctx.data["command"], ctx.data["args"] = "月报", last
        else:
            ctx.data["command"], ctx.data["args"] = "日报", when if when in _YESTERDAY else ""
        return True


# Alone, only these name a report (「数据」 alone asks for nothing in particular).
_REPORTS = {"日报", "周报", "月报"}
_WEEK = {"本周", "这周", "这星期", "这个星期"}
_MONTH = {"本月", "这个月", "这月"}
_YESTERDAY = {"昨天", "昨日"}
# 「上周周报」, 「看下上周的周报」, 「上个月的业绩」: the whole week (month) before.
_LAST_WEEK = {"上周", "上星期", "上个星期", "上礼拜", "上个礼拜"}
_LAST_MONTH = {"上月", "上个月"}
_ASKS_FIGURES = re.compile(
    r"^\s*(?:看看|看一下|看下|发一下|发下|给我|我要看|我想看|帮我看下|帮我看看)?\s*"
    r"(?P<when>今天|今日|昨天|昨日|本周|这周|这星期|这个星期|本月|这个月|这月|"
    r"上周|上星期|上个星期|上礼拜|上个礼拜|上月|上个月)?\s*的?\s*"
    r"(?:团队)?的?\s*(?P<kind>日报|周报|月报|数据|业绩|统计|报表|战报)\s*(?:呢|吧)?\s*[?？。!！]?\s*$"
)


@router.message(RoleIs("rep"), AsksForFigures(), read_only=True)
@router.message(Command(*WORDS), RoleIs("rep"), read_only=True)
async def not_for_reps(msg: Incoming, ctx: Context) -> str:
    return MANAGERS_ONLY


@router.message(RoleIs("manager", "admin"), AsksForFigures())
@router.message(Command(*WORDS), RoleIs("manager", "admin"))
async def digest(msg: Incoming, ctx: Context) -> str:
    today = local_today(ctx.config.tz)
    word, args = ctx.data["command"], ctx.data.get("args", "").strip()
    if word == "周报":
        period = last_week_period(today) if args in _LAST_WEEK else week_period(today)
    elif word == "月报":
        period = last_month_period(today) if args in _LAST_MONTH else month_period(today)
    elif args:
        try:
            day = parse_past_date(args, today)
        except InvalidDate:
            day = None
        if day is None:
            return BAD_DATE.format(text=args[:20])
        if day > today:
            return FUTURE.format(day=f"{day.month}月{day.day}日")
        period = day_period(day)
    else:
        period = day_period(today)
    with off_loop():  # a month of the whole team's figures: not on the loop's thread
        found = await build_digest(period, ctx.config)
    text = render_digest(found)
    await _push_chart(found, period, ctx)
    return text


async def _push_chart(found: Digest, period: Period, ctx: Context) -> None:
    staff = staff_of(ctx)
    key = f"digest-chart:{staff.id}:{period.kind}:{period.first}:{period.last}:{ctx.request_id}"
    await push_chart(staff, found, await render_chart(found), key, ctx.config)
