"""What campaigns say: the rep's prompt with the text to forward, the preview and the
report (chat and ``wecrm campaign`` print the same), and the digest's lines."""

from __future__ import annotations

from datetime import date

from models.campaigns.marks import REACHED
from models.campaigns.prompts import Listed
from models.campaigns.report import CampaignReport, Figures
from models.campaigns.service import Preview
from models.campaigns.tables import Campaign, CampaignKind, CampaignStatus, Outcome
from models.customers import company_beside
from models.enums import Grade
from models.staff import Staff

WEEKDAYS = "一二三四五六日"


def day_text(day: date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def headline(c: Campaign) -> str:
    if c.kind == CampaignKind.EVENT and c.event_on is not None:
        return f"活动邀请「{c.title}」{day_text(c.event_on)}"
    return f"新品推荐「{c.title}」"


def forward_text(c: Campaign) -> str:
    """The words a rep forwards to each customer (they may change the greeting)."""
    note = c.note.strip()
    if note and note[-1] not in "。！？!?.":
        note += "。"
    if c.kind == CampaignKind.EVENT and c.event_on is not None:
        return (
            f"您好！诚邀您参加我们 {day_text(c.event_on)} 的{c.title}。{note}"
            "方便的话回复我一下，我给您预留位置。"
        )
    return f"您好！我们新推出了{c.title}。{note}您有兴趣的话随时联系我，我给您详细介绍。"


def _verb(c: Campaign) -> str:
    return "已邀请" if c.kind == CampaignKind.EVENT else "已推荐"


def mark_usage(c: Campaign, name: str = "张三") -> str:
    signed = f"报名回复「{name} 报名了」，" if c.kind == CampaignKind.EVENT else ""
    return (
        f"发出后回复「{_verb(c)} {name}」；客户有兴趣回复「{name} 有兴趣」，{signed}"
        f"成交回复「{name} 成交了」，不感兴趣回复「{name} 不感兴趣」。"
    )


def _listed_line(i: int, item: Listed) -> str:
    company = company_beside(item.name, item.company)
    vip = " · VIP" if item.grade == Grade.VIP.value else ""
    return f"{i}. {item.name}{company}{vip}"


def render_prompt(c: Campaign, staff: Staff, listed: list[Listed], cap: int) -> str:
    lines = [
        f"【{headline(c)}】",
        f"{staff.name}，请把下面这段话发给你的这 {len(listed)} 位客户（称呼可以改成客户的名字）：",
        "——",
        forward_text(c),
        "——",
        "客户：",
        *(_listed_line(i, item) for i, item in enumerate(listed[:cap], start=1)),
    ]
    if len(listed) > cap:
        lines.append(f"……还有 {len(listed) - cap} 位，发送「活动」查看全部。")
    lines.append(mark_usage(c, listed[0].name if listed else "张三"))
    return "\n".join(lines)


def render_rep_list(c: Campaign, listed: list[tuple[Listed, str]]) -> str:
    """A rep's 「活动」: one running campaign, their customers and what they marked."""
    lines = [f"{headline(c)}：你的 {len(listed)} 位客户"]
    for i, (item, state) in enumerate(listed, start=1):
        lines.append(f"{_listed_line(i, item)} —— {state}")
    return "\n".join(lines)


def contact_state(reached: bool, outcome: Outcome, c: Campaign) -> str:
    if outcome != Outcome.NONE:
        return outcome.label
    return _verb(c) if reached else "待发送"


def mark_followup_text(c: Campaign, said: str) -> tuple[str, str]:
    """(content, feedback) of the follow-up a mark records."""
    content = f"{_verb(c)}{headline(c)}"
    return content, "" if said == REACHED else Outcome(said).label


# --- preview and report ----------------------------------------------------------------

PREVIEW_REPS_SHOWN = 10


def render_preview(p: Preview) -> str:
    c = p.campaign
    lines = [f"{headline(c)} · 客户范围：{c.segment_label or '全部客户'}"]
    if p.customers:
        lines.append(f"{p.customers} 位客户，{len(p.reps)} 位销售")
        shares = "、".join(f"{r.name} {r.customers}" for r in p.reps[:PREVIEW_REPS_SHOWN])
        more = f" 等 {len(p.reps)} 位" if len(p.reps) > PREVIEW_REPS_SHOWN else ""
        lines.append(f"按销售：{shares}{more}")
    else:
        lines.append("没有符合条件的客户。")
    left_out = []
    if p.opted_out:
        left_out.append(f"{p.opted_out} 位已退订（免打扰）")
    if p.capped:
        left_out.append(f"{p.capped} 位近 {p.cap_days} 天已收到 {p.cap} 次活动（频次上限）")
    if left_out:
        lines.append("未包含：" + "；".join(left_out) + "。")
    if p.unowned:
        who = p.fallback.name if p.fallback else "无人"
        lines.append(f"其中 {p.unowned} 位没有负责销售，交给{who}。")
    return "\n".join(lines)


def render_report(r: CampaignReport, today: date) -> str:
    c = r.campaign
    lines = [f"活动报告 · {headline(c)}"]
    lines.append(f"客户范围：{c.segment_label or '全部客户'} · {_status(c, today)}")
    if not r.total.prompted:
        lines.append("还没有发给任何客户。")
        return "\n".join(lines)
    lines.append(f"共 {r.total.prompted} 位客户，{len(r.by_rep)} 位销售")
    lines += [f"· {name}：{figures_text(f, c)}" for name, f in r.by_rep]
    lines.append(f"合计：{figures_text(r.total, c, with_prompted=False)}")
    return "\n".join(lines)


def figures_text(f: Figures, c: Campaign, with_prompted: bool = True) -> str:
    parts = [f"{f.prompted} 位"] if with_prompted else []
    parts += [f"{_verb(c)} {f.reached}", f"有兴趣 {f.interested}"]
    if c.kind == CampaignKind.EVENT:
        parts.append(f"报名 {f.signed_up}")
    parts.append(f"成交 {f.converted}")
    return "，".join(parts)


def _status(c: Campaign, today: date) -> str:
    if c.status == CampaignStatus.DRAFT:
        return "未发送"
    if c.status == CampaignStatus.CANCELLED:
        return "已取消"
    sent = c.sent_at
    sent_text = f"{sent.month}月{sent.day}日发出" if sent else "已发出"
    if c.ends_on and c.ends_on >= today:
        return f"{sent_text}，进行中（至 {c.ends_on.month}月{c.ends_on.day}日）"
    return f"{sent_text}，已结束"


def digest_lines(found: list[CampaignReport]) -> list[str]:
    """The digest's block on running campaigns (empty when none runs)."""
    if not found:
        return []
    lines = ["进行中的活动："]
    for r in found:
        lines.append(f"· {headline(r.campaign)}：{figures_text(r.total, r.campaign)}")
    return lines
