"""The digest as a short Chinese text that reads well on a phone: what needs the
manager first, then the period against the one before, the team by rep, and the
rolling 30-day KPIs with their change since the day (week) before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from models.campaigns.text import digest_lines
from models.digest import Digest, PeriodFigures, RepFigures
from models.periods import Period

TITLE = {"day": "销售日报", "week": "销售周报", "month": "销售月报"}
VERSUS = {"day": "较前一天", "week": "较上周同期", "month": "较上月同期"}
# A whole week or month (「上周周报」) is compared with the whole one before it.
VERSUS_WHOLE = {"day": "较前一天", "week": "较前一周", "month": "较前一个月"}
SNAPSHOT_VERSUS = {"day": "较昨天", "week": "较上周", "month": "较昨天"}
WEEKDAYS = "一二三四五六日"


def money(amount: Decimal | float | int) -> str:
    return f"¥{Decimal(amount):,.0f}"


def day_label(period: Period) -> str:
    # The year only when it is not this one: 「日报 12月5日」 asked on 4 December is
    # last year's, and must say so.
    year = "" if period.first.year == date.today().year else f"{period.first.year}年"
    if period.kind == "day":
        d = period.first
        return f"{year}{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"
    a, b = period.first, period.last
    return f"{year}{a.month}月{a.day}日—{b.month}月{b.day}日"


def change(now: float | Decimal | None, before: float | Decimal | None, fmt: str = "{}") -> str:
    """↑3 / ↓¥2,000 / 持平; empty when there is nothing to compare with."""
    if now is None or before is None:
        return ""
    delta = Decimal(str(now)) - Decimal(str(before))
    if delta == 0:
        return " 持平"
    arrow = "↑" if delta > 0 else "↓"
    return f" {arrow}{fmt.format(abs(delta))}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def digest_title(period: Period) -> str:
    return f"{TITLE[period.kind]} · {day_label(period)}"


def render_digest(d: Digest) -> str:
    lines = [f"📊 {digest_title(d.period)}"]
    if d.attention:
        lines.append("需要你今天处理：")
        lines += [f"{i}. {a.text}" for i, a in enumerate(d.attention, start=1)]
    lines.append("")
    versus = VERSUS_WHOLE if d.period.whole else VERSUS
    lines += _period_lines(d.figures, d.before, versus[d.period.kind])
    if d.reps:
        lines.append("")
        lines.append("按销售：")
        lines += [_rep_line(r) for r in d.reps]
    if d.campaigns:
        lines.append("")
        lines += digest_lines(d.campaigns)
    lines.append("")
    lines += _rolling_lines(d)
    return "\n".join(lines)


def _period_lines(f: PeriodFigures, b: PeriodFigures, versus: str) -> list[str]:
    head = "当日" if versus == VERSUS["day"] else "本期"
    surveys = (
        [f"· 售后回访满意度 {f.survey_avg:.1f} 分（{f.survey_answers} 人回复）"]
        if f.survey_answers and f.survey_avg is not None
        else []
    )
    return [
        f"{head}（{versus}）",
        f"· 跟进 {f.followups} 次{change(f.followups, b.followups)}",
        f"· 新客户 {f.new_customers} 位{change(f.new_customers, b.new_customers)}",
        f"· 成交 {f.deals} 笔{change(f.deals, b.deals)}，"
        f"金额 {money(f.amount)}{change(f.amount, b.amount, '¥{:,.0f}')}",
        f"· 阶段推进 {f.stage_moves} 次{change(f.stage_moves, b.stage_moves)}",
        f"· 投诉：新 {f.complaints_opened} · 已回复 {f.complaints_answered}"
        f" · 已结案 {f.complaints_closed}",
        *surveys,
    ]


def _rep_line(r: RepFigures) -> str:
    parts = [f"跟进 {r.followups}"]
    if r.deals:
        parts.append(f"成交 {r.deals} 笔 {money(r.amount)}")
    if r.overdue:
        parts.append(f"逾期回访 {r.overdue}")
    return f"· {r.name}：" + "，".join(parts)


def _rolling_lines(d: Digest) -> list[str]:
    r = d.rolling
    was: dict[str, Any] = d.compared or {}
    versus = SNAPSHOT_VERSUS[d.period.kind]

    def vs(key: str, now: float | int | None, fmt: str = "{}") -> str:
        text = change(now, was.get(key), fmt)
        return f"{text}（{versus}）" if text else ""

    lines = ["近 30 天"]
    conv = r.conversion
    lines.append(
        f"· 转化率（潜在→成交）{_share(conv)}（{r.converted}/{r.converted + r.prospects}）"
        f"{_pp(conv, was, versus, 'conversion')}"
    )
    growth = ""
    if r.amount_last_month:
        pct = (r.amount_mtd - r.amount_last_month) / r.amount_last_month * 100
        growth = f"（{'+' if pct >= 0 else ''}{pct:.1f}%）"
    lines.append(f"· 本月成交 {money(r.amount_mtd)}，上月同期 {money(r.amount_last_month)}{growth}")
    c = r.complaints
    if c is not None and c.opened:
        first = "—" if c.avg_first_reply_hours is None else f"{c.avg_first_reply_hours:.1f} 小时"
        fix = "—" if c.avg_resolution_hours is None else f"{c.avg_resolution_hours:.1f} 小时"
        breaches = c.first_reply_breaches + c.resolve_breaches
        lines.append(
            f"· 投诉 {c.opened} 件：首次回复平均 {first}，解决平均 {fix}，"
            f"超时 {breaches} 件{vs('breaches', breaches)}"
        )
    else:
        lines.append("· 投诉：近 30 天没有新投诉")
    if c is not None and c.rated:
        csat = vs("csat", c.csat_avg, "{:.1f}")
        lines.append(f"· 投诉处理满意度 {c.csat_avg:.1f} 分（{c.rated} 人评价）{csat}")
    s = r.surveys
    if s is not None and s.answered and s.avg_score is not None:
        avg = vs("survey_avg", s.avg_score, "{:.1f}")
        lines.append(
            f"· 售后回访满意度 {s.avg_score:.1f} 分（{s.answered} 人回复，{s.low} 人不满意）{avg}"
        )
    retention = _pp(r.retention, was, versus, "retention")
    lines.append(f"· 留存率（活跃/已分级）{_share(r.retention)}{retention}")
    lines.append(f"· 沉默 VIP {r.silent_vips} 位{vs('silent_vips', r.silent_vips)}")
    lines.append(f"· 逾期回访 共 {r.overdue} 条{vs('overdue', r.overdue)}")
    return lines


def _pp(now: float | None, was: dict[str, Any], versus: str, key: str) -> str:
    """A share's change in percentage points."""
    before = was.get(key)
    if now is None or before is None:
        return ""
    delta = (now - before) * 100
    if abs(delta) < 0.05:
        return f" 持平（{versus}）"
    return f" {'↑' if delta > 0 else '↓'}{abs(delta):.1f} 个百分点（{versus}）"
