"""The briefing as a rep reads it on a phone: grouped, counted, short — the push at
08:30 and 「待办」 in chat are the same text; 「待办 全部」 lifts the caps.

Greetings are ready to forward: personalised with the customer's name and with
what the relationship is (a VIP's long support, a prospect's first contact)."""

from __future__ import annotations

from datetime import date

from bot.parsing.dates import describe, weekday_label
from models.care import BirthdayItem, Briefing, DayAhead, RevisitPrompt, SilentItem
from models.customers import Customer, company_beside
from models.enums import Grade
from models.surveys import question_text

THANKS = {
    Grade.VIP: "感谢您一直以来的信任与支持",
    Grade.NORMAL: "感谢您对我们的支持",
    Grade.POTENTIAL: "很高兴认识您",
}
BIRTHDAY_GREETING = "{name}，生日快乐！{thanks}，祝您身体健康、事业顺利、万事如意！"
OCCASION_GREETING = "{name}，{greeting}{thanks}。"

HEAD_PUSH = "早上好，{staff}！{day}的待办："
HEAD_CHAT = "今天（{day}）的待办："
NOTHING = "今天（{day}）没有到期的回访、生日或节日，也没有久未联系的客户。"
SECTION_BIRTHDAYS = "【今天生日 {n} 位】"
GREETING_LINE = "   祝福语：{text}"
SECTION_HEADS_UP = "【VIP 生日提醒】"
HEADS_UP_LINE = "· {name}{company}：{when}，可以提前准备礼物。"
SECTION_OCCASIONS = "【节日】"
OCCASION_LINE = "· {name}：{when}{gift}"
GIFT_NOTE = "（送礼要提前安排）"
TO_GREET = "   要问候的 VIP 客户 {n} 位：{names}"
OCCASION_TEXT = "   祝福语：{text}"
SECTION_REVISITS = "【待办回访 {n} 位（逾期在前）】"
REVISIT_LINE = "{i}. {name}{company} —— {when}{last}"
REVISIT_TODAY = "今天"
REVISIT_OVERDUE = "逾期 {days} 天"
REVISIT_LAST = "；上次：{content}"
SECTION_SILENT = "【久未联系 {n} 位】"
SILENT_LINE = "· {name}{company}（{grade}）：{days} 天没有联系"
SECTION_SURVEYS = "【请回访满意度 {n} 位】"
SURVEY_LINE = "{i}. {name}{company}{product}"
SURVEY_TEXT = "   可转发给客户：{text}"
MORE = "   …还有 {n} 位，发送「待办 全部」查看。"
TAIL = "发送「查 客户」看名片，「跟进 客户 …」记录这次联系。"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日 {weekday_label(day)}"


def _clip(text: str, limit: int) -> str:
    """The first ``limit`` characters, and 「…」 when there were more."""
    return text[:limit] + ("…" if len(text) > limit else "")


def _company(c: Customer) -> str:
    return company_beside(c.name, c.company)


def _grade(c: Customer) -> Grade:
    return Grade(c.grade)


def birthday_greeting(c: Customer) -> str:
    return BIRTHDAY_GREETING.format(name=c.name, thanks=THANKS[_grade(c)])


def _last_contact(c: Customer, today: date) -> str:
    if c.last_contact_at is None:
        return "还没有联系记录"
    days = (today - c.last_contact_at.date()).days
    return "今天" if days <= 0 else f"{days} 天前"


def _capped(lines: list[str], cap: int | None) -> list[str]:
    if cap is None or len(lines) <= cap:
        return lines
    return [*lines[:cap], MORE.format(n=len(lines) - cap)]


def _birthday_line(i: int, item: BirthdayItem, tail: str) -> str:
    c = item.customer
    age = f" · {item.age} 岁" if item.age else ""
    return f"{i}. {c.name}{_company(c)} · {_grade(c).label}{age} · {tail}"


def _birthdays(items: list[BirthdayItem], today: date, cap: int | None) -> list[str]:
    lines: list[str] = []
    for i, item in enumerate(items, 1):
        last = f"上次联系：{_last_contact(item.customer, today)}"
        lines.append(_birthday_line(i, item, last))
        lines.append(GREETING_LINE.format(text=birthday_greeting(item.customer)))
    # Two lines per customer: the cap counts customers.
    if cap is not None and len(items) > cap:
        return [*lines[: 2 * cap], MORE.format(n=len(items) - cap)]
    return lines


def _silent_lines(items: list[SilentItem]) -> list[str]:
    return [
        SILENT_LINE.format(
            name=i.name,
            company=company_beside(i.name, i.company),
            grade=i.grade.label,
            days=i.days,
        )
        for i in items
    ]


def render_briefing(b: Briefing, *, push: bool, full: bool, cap: int) -> str:
    """The briefing text; ``push`` greets by name, ``full`` lists everything."""
    limit = None if full else cap
    day = day_label(b.today)
    if b.is_empty:
        return NOTHING.format(day=day)
    lines = [HEAD_PUSH.format(staff=b.staff.name, day=day) if push else HEAD_CHAT.format(day=day)]
    if b.workday_note:
        lines.append(f"（{b.workday_note}）")
    if b.birthdays:
        lines.append(SECTION_BIRTHDAYS.format(n=len(b.birthdays)))
        lines.extend(_birthdays(b.birthdays, b.today, limit))
    if b.upcoming_birthdays:
        lines.append(SECTION_HEADS_UP)
        lines.extend(
            _capped(
                [
                    HEADS_UP_LINE.format(
                        name=i.customer.name,
                        company=_company(i.customer),
                        when=describe(i.on, b.today),
                    )
                    for i in b.upcoming_birthdays
                ],
                limit,
            )
        )
    if b.occasions:
        lines.append(SECTION_OCCASIONS)
        for o in b.occasions:
            lines.append(
                OCCASION_LINE.format(
                    name=o.name, when=describe(o.day, b.today), gift=GIFT_NOTE if o.gift else ""
                )
            )
        first = b.occasions[0]
        if b.to_greet:
            shown = b.to_greet if limit is None else b.to_greet[:limit]
            names = "、".join(c.name for c in shown)
            if len(shown) < len(b.to_greet):
                names += f" 等（发送「待办 全部」看全部 {len(b.to_greet)} 位）"
            lines.append(TO_GREET.format(n=len(b.to_greet), names=names))
        lines.append(OCCASION_TEXT.format(text=first.greeting))
    if b.revisits:
        lines.append(SECTION_REVISITS.format(n=len(b.revisits)))
        revisit_lines = []
        for i, item in enumerate(b.revisits, 1):
            c, content = item.customer, item.followup.content
            revisit_lines.append(
                REVISIT_LINE.format(
                    i=i,
                    name=c.name,
                    company=_company(c),
                    when=REVISIT_OVERDUE.format(days=item.days_overdue)
                    if item.days_overdue
                    else REVISIT_TODAY,
                    last=REVISIT_LAST.format(content=_clip(content, 20)),
                )
            )
        lines.extend(_capped(revisit_lines, limit))
    if b.surveys:
        lines.append(SECTION_SURVEYS.format(n=len(b.surveys)))
        survey_lines = [
            SURVEY_LINE.format(
                i=i,
                name=s.customer.name,
                company=_company(s.customer),
                product=f" · {s.product}" if s.product else "",
            )
            for i, s in enumerate(b.surveys, 1)
        ]
        lines.extend(_capped(survey_lines, limit))
        lines.append(SURVEY_TEXT.format(text=question_text("")))
    if b.silent:
        lines.append(SECTION_SILENT.format(n=len(b.silent)))
        lines.extend(_capped(_silent_lines(b.silent), limit))
    lines.append(TAIL)
    return "\n".join(lines)


REVISIT_PROMPT = (
    "回访提醒：{at} 约了 {name}{company}。\n上次：{content}\n联系后发送「跟进 {name} …」记录结果。"
)


def render_revisit_prompt(prompt: RevisitPrompt) -> str:
    f, c = prompt.followup, prompt.customer
    content = _clip(f.content, 40)
    at = f.next_revisit_time or "今天"
    return REVISIT_PROMPT.format(at=at, name=c.name, company=_company(c), content=content)


AHEAD_HEAD = "{when}（{day}）要回访 {n} 位："
AHEAD_LINE = "{i}. {name}{company}{at}{last}"
AHEAD_NONE = "{when}（{day}）没有安排回访。"
AHEAD_BIRTHDAYS = "{when}过生日：{names}"
AHEAD_STILL_DUE = "今天还有 {n} 位到期或逾期的回访，发送「待办」查看。"


def render_day_ahead(ahead: DayAhead, when: str) -> str:
    """「明天要回访谁」: the revisits planned for that day, its birthdays, and what is
    still due before it."""
    day = day_label(ahead.day)
    lines = [
        AHEAD_HEAD.format(when=when, day=day, n=len(ahead.revisits))
        if ahead.revisits
        else AHEAD_NONE.format(when=when, day=day)
    ]
    for i, item in enumerate(ahead.revisits, 1):
        c, f = item.customer, item.followup
        lines.append(
            AHEAD_LINE.format(
                i=i,
                name=c.name,
                company=_company(c),
                at=f" · {f.next_revisit_time}" if f.next_revisit_time else "",
                last=REVISIT_LAST.format(content=_clip(f.content, 20)),
            )
        )
    if ahead.birthdays:
        names = "、".join(b.customer.name + _company(b.customer) for b in ahead.birthdays)
        lines.append(AHEAD_BIRTHDAYS.format(when=when, names=names))
    if ahead.still_due:
        lines.append(AHEAD_STILL_DUE.format(n=ahead.still_due))
    return "\n".join(lines)


BIRTHDAYS_NONE = "{span}（{days}）没有客户过生日。"
BIRTHDAYS_HEAD = "{span}（{days}）过生日的客户 {n} 位："
BIRTHDAYS_TAIL = "祝福语可以这样写：{example}"


def render_birthdays_ahead(
    span: str, first: date, last: date, items: list[BirthdayItem], today: date
) -> str:
    """「生日 本周」: the birthdays from ``first`` to ``last``, with a greeting to copy."""
    days = f"{first.month}月{first.day}日"
    if last != first:
        days += f"—{last.month}月{last.day}日"
    shown = {"span": span, "days": days}
    if not items:
        return BIRTHDAYS_NONE.format(**shown)
    lines = [BIRTHDAYS_HEAD.format(n=len(items), **shown)]
    lines.extend(
        _birthday_line(i, item, describe(item.on, today)) for i, item in enumerate(items, 1)
    )
    lines.append(BIRTHDAYS_TAIL.format(example=birthday_greeting(items[0].customer)))
    return "\n".join(lines)
