"""The customer card as the chat shows it: identity, status and tier, contacts, the
history and what is open — written from ``models.customer_card.CustomerCard``, which
already applied who may see what."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.parsing.amounts import format_amount
from bot.parsing.birthdays import Birthday
from bot.parsing.dates import describe
from models.complaints import category_label
from models.customer_card import CustomerCard
from models.customers import company_beside
from models.enums import ComplaintStatus, DealStage, FollowUpMethod, Grade, Lifecycle, Tier
from models.grading_text import card_lines
from models.requests import KIND_LABEL

CARD_HEAD = "【{name}】{company}"
CARD_STATUS = "等级：{grade}{tier} · 状态：{lifecycle} · 负责人：{owner}"
CARD_PHONE = "电话：{phone}"
CARD_ADDRESS = "地址：{address}"
CARD_PROFILE = "行业：{industry} · 规模：{size} · 类别：{category}"
CARD_BIRTHDAY = "生日：{label}（下次 {next}{note}）"
CARD_REVISIT = "下次回访：{date}"
CARD_NO_REVISIT = "下次回访：未安排"
CARD_FOLLOWUPS = "最近跟进："
CARD_FOLLOWUP = "· {date} {method}（{rep}）：{content}{feedback}"
CARD_NO_FOLLOWUPS = "还没有跟进记录。"
CARD_DEALS = "进行中的商机："
CARD_DEAL = "· {product} {stage} {amount}"
CARD_SIGNED = "已成交 {count} 笔，合计 {amount}"
CARD_COMPLAINTS = "未结投诉："
CARD_COMPLAINT = "· {ticket} {status} {category}"
CARD_MASKED = "这是{owner}的客户，跟进记录和商机只有负责人和主管可以查看。"
CARD_UNOWNED_MASKED = "这位客户还没有负责人；记录一次跟进即可归入你的名下。"
UNOWNED = "未分配"
NOT_SET = "—"
CARD_CONTACTS = "联系人：{contacts}"
CARD_OWNER_CHANGE = "负责人变更：{date} {old} → {new}"
CARD_REQUESTS = "客户留言："
CARD_REQUEST = "· {date} {kind}「{words}」→ {who}"
CARD_SURVEY = "售后满意度：{score} 分（{date}）{comment}"
CARD_OPTED_OUT = "免打扰：{date}起不接收活动和推荐（「取消免打扰 {name}」恢复）"


def _opt_out_lines(card: CustomerCard, tz: ZoneInfo) -> list[str]:
    """Everyone sees it: nobody should put this customer in a campaign by hand."""
    since = card.customer.opted_out_at
    if since is None:
        return []
    local = since.astimezone(tz)
    return [CARD_OPTED_OUT.format(date=f"{local.month}月{local.day}日", name=card.customer.name)]


def render_card(card: CustomerCard, today: date, tz: ZoneInfo) -> str:
    c = card.customer
    lines = [
        CARD_HEAD.format(name=c.name, company=company_beside(c.name, c.company, "{}")),
        CARD_STATUS.format(
            grade=Grade(c.grade).label,
            tier=f" · {Tier(c.tier).label}" if c.tier else "",
            lifecycle=Lifecycle(c.lifecycle).label,
            owner=card.owner_name or UNOWNED,
        ),
        *(card_lines(card.grading) if card.grading else []),
        *_opt_out_lines(card, tz),
        CARD_PHONE.format(phone=card.phone or NOT_SET),
    ]
    if card.full and card.address:
        lines.append(CARD_ADDRESS.format(address=card.address))
    if card.full and c.contacts:
        lines.append(CARD_CONTACTS.format(contacts="、".join(c.contacts.split())))
    if c.industry or c.size or c.category:
        lines.append(
            CARD_PROFILE.format(
                industry=c.industry or NOT_SET,
                size=c.size or NOT_SET,
                category=c.category or NOT_SET,
            )
        )
    if card.birthday and card.next_birthday:
        lines.append(
            CARD_BIRTHDAY.format(
                label=card.birthday.label(),
                next=describe(card.next_birthday, today),
                note=_leap_note(card.birthday, card.next_birthday),
            )
        )
    if not card.full:
        lines.append(
            CARD_MASKED.format(owner=card.owner_name) if card.owner_name else CARD_UNOWNED_MASKED
        )
        return "\n".join(lines)
    for change in card.owner_history:
        local = change.created_at.astimezone(tz)
        lines.append(
            CARD_OWNER_CHANGE.format(
                date=f"{local.month}月{local.day}日",
                old=change.from_staff.name if change.from_staff else UNOWNED,
                new=change.to_staff.name if change.to_staff else UNOWNED,
            )
        )
    lines.append(
        CARD_REVISIT.format(date=describe(card.next_revisit, today))
        if card.next_revisit
        else CARD_NO_REVISIT
    )
    if card.followups:
        lines.append(CARD_FOLLOWUPS)
        for f in card.followups:
            local = f.created_at.astimezone(tz)
            lines.append(
                CARD_FOLLOWUP.format(
                    date=f"{local.month}月{local.day}日",
                    method=FollowUpMethod(f.method).label,
                    rep=f.rep.name if f.rep else NOT_SET,
                    content=_short(f.content),
                    feedback=f"（反馈：{_short(f.feedback, 20)}）" if f.feedback else "",
                )
            )
    else:
        lines.append(CARD_NO_FOLLOWUPS)
    if card.deals:
        lines.append(CARD_DEALS)
        for d in card.deals:
            lines.append(
                CARD_DEAL.format(
                    product=d.product or "未命名商机",
                    stage=DealStage(d.stage).label,
                    amount=format_amount(d.amount) if d.amount else "",
                ).rstrip()
            )
    if card.signed and card.signed.count:
        lines.append(
            CARD_SIGNED.format(count=card.signed.count, amount=format_amount(card.signed.amount))
        )
    if card.requests:
        lines.append(CARD_REQUESTS)
        for r in card.requests:
            local = r.created_at.astimezone(tz)
            lines.append(
                CARD_REQUEST.format(
                    date=f"{local.month}月{local.day}日",
                    kind=KIND_LABEL.get(r.kind, r.kind),
                    words=_short(r.words, 30),
                    who=r.assignee.name if r.assignee else UNOWNED,
                )
            )
    if card.survey is not None and card.survey.answered_at is not None:
        local = card.survey.answered_at.astimezone(tz)
        comment = card.survey.comment
        lines.append(
            CARD_SURVEY.format(
                score=card.survey.score,
                date=f"{local.month}月{local.day}日",
                comment=f"「{_short(comment, 30)}」" if comment else "",
            )
        )
    if card.complaints:
        lines.append(CARD_COMPLAINTS)
        for t in card.complaints:
            lines.append(
                CARD_COMPLAINT.format(
                    ticket=t.ticket_no,
                    status=ComplaintStatus(t.status).label,
                    category=category_label(t.category),
                ).rstrip()
            )
    return "\n".join(lines)


def _short(text: str, limit: int = 40) -> str:
    # One line on the card: a request's later words (phone, quantity) follow a 「／」.
    text = " ／ ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _leap_note(birthday: Birthday, next_on: date) -> str:
    # The lunar year of the next birthday: a January/February date still belongs to
    # the previous lunar year.
    for year in (next_on.year, next_on.year - 1):
        if birthday.solar_in(year) == next_on:
            note = birthday.leap_fallback_note(year)
            return f"；{note}" if note else ""
    return ""
