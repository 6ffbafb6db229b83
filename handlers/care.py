"""Care in chat: 「待办」/「今天」 shows the morning briefing on demand (the same text
the scheduler pushes, capped for a phone; 「待办 全部」 lifts the caps), 「明天要回访谁」
the revisits planned for a day to come, and 「生日 本周」/「生日 本月」 lists the
birthdays ahead. The content is built by
``models.care`` and written by ``models.care_text``."""

from __future__ import annotations

import calendar
import re
from datetime import timedelta

from bot.context import Context
from bot.filters import Filter, Regex, RoleIs
from bot.incoming import Incoming
from bot.parsing.dates import InvalidDate, local_today, parse_date_phrase
from bot.router import Router
from handlers.customer_pick import staff_of
from handlers.help import STAFF_ROLES, register_help
from models.care import birthdays_between, briefing_for, day_ahead
from models.care_text import render_birthdays_ahead, render_briefing, render_day_ahead
from models.enums import Role
from models.team import team_overdue_total

router = Router("care")

TEAM_OVERDUE = "团队逾期回访共 {n} 条（发送「待办 团队」看全部）。"
TEAM_NO_OVERDUE = "团队没有逾期的回访。"

register_help(
    "待办", "今天的生日、节日、到期回访和久未联系的客户（「待办 全部」看全部）", *STAFF_ROLES
)
register_help("生日 本周", "本周（或「生日 本月」「生日 下周」）过生日的客户", *STAFF_ROLES)

SPANS = {
    "本周": "本周",
    "这周": "本周",
    "这星期": "本周",
    "下周": "下周",
    "本月": "本月",
    "这个月": "本月",
    "下个月": "下个月",
    "下月": "下个月",
    "今天": "今天",
    "明天": "明天",
}


@router.message(
    RoleIs("staff"),
    Regex(
        r"^\s*/?(?:(?:我的)?待办(?:事项)?|今天|今日|今日待办|今天待办|"
        # 「今天有什么要跟的」, 「今天要跟哪些」.
        r"(?:今天|今日)(?:有)?(?:什么|啥|哪些)(?:要跟进?的?|要联系的?|要回访的?|要做的?|安排)|"
        r"(?:今天|今日)?(?:要|该|需要)?(?:回访|联系|跟进)"
        r"(?:谁|哪些(?:客户|人)?|哪位|什么人|的客户|提醒|清单|列表)|回访提醒|到期回访|"
        r"逾期(?:的)?回访|我的逾期(?:回访)?)"
        r"\s*(全部|所有|全)?\s*[。!！?？]?\s*$"
    ),
    read_only=True,
)
async def today(msg: Incoming, ctx: Context) -> str:
    full = bool(ctx.data["match"].group(1))
    staff = staff_of(ctx)
    today = local_today(ctx.config.tz)
    briefing = await briefing_for(staff, today, ctx.config)
    text = render_briefing(briefing, push=False, full=full, cap=ctx.config.care.briefing_max_lines)
    if staff.role in (Role.MANAGER, Role.ADMIN):
        overdue = await team_overdue_total(today)
        text += "\n\n" + (TEAM_OVERDUE.format(n=overdue) if overdue else TEAM_NO_OVERDUE)
    return text


# 「明天要回访谁」, 「下周一回访哪些客户」, 「明天有什么要跟的」, 「后天的待办」: a day to
# come, then what a rep asks of it.
_DAY_ASKED = re.compile(
    r"^\s*(?P<when>\S{1,8}?)\s*(?:"
    r"(?:要|该|需要)?(?:回访|联系|跟进|跟)(?:谁|哪些(?:客户|人)?|哪位|什么人|的客户)|"
    r"(?:有)?(?:什么|啥|哪些)(?:要跟进?的?|要联系的?|要回访的?|要做的?|安排)|"
    r"的?待办(?:事项)?"
    r")\s*[。!！?？]?\s*$"
)


class AsksDayAhead(Filter):
    """``ctx.data["day"]`` and ``["when"]``: a day after today asked about."""

    async def check(self, msg: Incoming, ctx: Context) -> bool:
        asked = _DAY_ASKED.match(msg.text or "")
        if asked is None:
            return False
        today = local_today(ctx.config.tz)
        try:
            day = parse_date_phrase(asked.group("when"), today)
        except InvalidDate:
            return False
        if day is None or day <= today:
            return False  # today's list is 「待办」's
        ctx.data["day"], ctx.data["when"] = day, asked.group("when").strip()
        return True


@router.message(RoleIs("staff"), AsksDayAhead(), read_only=True)
async def day_to_come(msg: Incoming, ctx: Context) -> str:
    today = local_today(ctx.config.tz)
    ahead = await day_ahead(staff_of(ctx), ctx.data["day"], today, ctx.config.care)
    return render_day_ahead(ahead, ctx.data["when"])


@router.message(
    RoleIs("staff"),
    Regex(
        r"^\s*/?(?:生日\s*(本周|这周|这星期|下周|本月|这个月|下个月|下月|今天|明天)"
        # As asked: 「今天生日的客户有谁」, 「这周谁过生日」, 「本月有哪些客户生日」.
        r"|(本周|这周|这星期|下周|本月|这个月|下个月|下月|今天|明天)(?:有)?(?:谁|哪些客户|哪些人|哪位)?"
        r"过?生日(?:的客户|的人)?(?:有谁|有哪些|是谁|有几个)?)\s*[。!！?？]?\s*$"
    ),
    read_only=True,
)
async def birthdays_ahead(msg: Incoming, ctx: Context) -> str:
    said = ctx.data["match"]
    span = SPANS[said.group(1) or said.group(2)]
    today = local_today(ctx.config.tz)
    if span in ("今天", "明天"):
        first = last = today + timedelta(days=1 if span == "明天" else 0)
    elif span in ("本周", "下周"):
        first = today - timedelta(days=today.weekday()) + timedelta(days=7 if span == "下周" else 0)
        last = first + timedelta(days=6)
    else:
        month_start = today.replace(day=1)
        if span == "下个月":
            month_start = (month_start + timedelta(days=32)).replace(day=1)
        first = month_start
        last = month_start.replace(day=calendar.monthrange(first.year, first.month)[1])
    first = max(first, today)  # birthdays already past this week are not "ahead"
    staff = staff_of(ctx)
    items = await birthdays_between(first, last, ctx.config.care)
    if staff.role == Role.REP:
        items = [i for i in items if i.customer.owner_id == staff.id]  # type: ignore[attr-defined]
    return render_birthdays_ahead(span, first, last, items, today)
