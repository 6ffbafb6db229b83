"""A follow-up note as a rep types or says it, after the customer's name:
「电话 聊了新品报价，客户有兴趣 下周三回访」 → method 电话, content 聊了新品报价,
feedback 客户有兴趣, next revisit next Wednesday."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.parsing.dates import InvalidDate
from bot.parsing.revisits import find_revisit, leading_moment, scan_revisit
from models.enums import FollowUpMethod

# Longest first, so 「打电话」 wins over 「电话」.
METHOD_WORDS: dict[str, FollowUpMethod] = {
    "打电话": FollowUpMethod.PHONE, "电话": FollowUpMethod.PHONE, "通话": FollowUpMethod.PHONE,
    "致电": FollowUpMethod.PHONE, "来电": FollowUpMethod.PHONE,
    "微信": FollowUpMethod.WECHAT, "企微": FollowUpMethod.WECHAT, "视频": FollowUpMethod.WECHAT,
    "拜访": FollowUpMethod.VISIT, "上门": FollowUpMethod.VISIT, "面谈": FollowUpMethod.VISIT,
    "见面": FollowUpMethod.VISIT, "到访": FollowUpMethod.VISIT, "来访": FollowUpMethod.VISIT,
    "见了": FollowUpMethod.VISIT, "见过": FollowUpMethod.VISIT, "当面": FollowUpMethod.VISIT,
    "面聊": FollowUpMethod.VISIT, "登门": FollowUpMethod.VISIT,
    "邮件": FollowUpMethod.EMAIL, "email": FollowUpMethod.EMAIL, "邮箱": FollowUpMethod.EMAIL,
    "其他": FollowUpMethod.OTHER, "其它": FollowUpMethod.OTHER,
}  # fmt: skip
_METHODS_LONGEST_FIRST = sorted(METHOD_WORDS, key=len, reverse=True)
METHOD_AT_START = re.compile(
    "^(" + "|".join(_METHODS_LONGEST_FIRST) + r")[\s,，:：]*",
    re.IGNORECASE,
)
_FEEDBACK_MARK = re.compile(r"[\s,，;；。]*(?:客户)?反馈\s*[:：]\s*")
# The clause that reports the customer's reaction: 「客户有兴趣」, 「对方嫌贵」.
_FEEDBACK_CLAUSE = re.compile(r"^(?:客户|对方|他|她|老板|采购)")
_CLAUSES = re.compile(r"[，,；;。]")


def opening_method(text: str) -> tuple[FollowUpMethod, str] | None:
    """The method a note opens with, and the note without it: 「电话 聊了报价」 and
    「电话聊了报价」 → (电话, 聊了报价). A method word glued to what follows that is a
    verb of the sentence — 了 or 过 says so: 「见了张总聊了交期」, 「拜访了采购部」 — or
    a place (「电话里问…」) is no label and stays in the note."""
    match = METHOD_AT_START.match(text)
    if match is None:
        return None
    method = METHOD_WORDS[match.group(1).lower()]
    word, end = match.group(1), match.end()
    glued = end == match.start(1) + len(word) and end < len(text)
    # 「电话里问能不能便宜点」, 「微信上说」: where it was said, not a label either.
    if glued and (word.endswith(("了", "过")) or text[end] in "了过里上中"):
        return method, text
    return method, text[end:]


# A method word after these in its clause is the plan, not this contact: 「约了上门」,
# 「约好周五见面」, 「准备下周拜访」.
_PLANNED = re.compile(r"约|准备|打算|计划")


def _method_said(text: str) -> FollowUpMethod | None:
    """How the contact went, by a method word inside the note (「聊了报价，电话里客户说…」),
    leaving out one the rep only planned."""
    for word in _METHODS_LONGEST_FIRST:
        if METHOD_WORDS[word] is FollowUpMethod.OTHER:
            continue
        at = text.find(word)
        while at >= 0:
            clause = _CLAUSES.split(text[:at])[-1]
            if not _PLANNED.search(clause):
                return METHOD_WORDS[word]
            at = text.find(word, at + 1)
    return None


@dataclass(frozen=True)
class Note:
    method: FollowUpMethod
    content: str
    feedback: str
    next_revisit: date | None
    # The words the revisit date came from, echoed back to the rep.
    revisit_phrase: str
    # The time of day of the revisit, when one was said.
    revisit_time: time | None = None


def method_of(text: str) -> FollowUpMethod | None:
    word = text.strip().lower()
    return METHOD_WORDS.get(word) or METHOD_WORDS.get(word.removesuffix("沟通"))


def parse_note(text: str, today: date) -> Note:
    """Split a note into its parts; raises ``InvalidDate`` for an impossible revisit.
    The content may come back empty: whether that is acceptable is the caller's rule."""
    text = text.strip()
    method = FollowUpMethod.OTHER
    opening = opening_method(text)
    if opening is not None:
        method, text = opening
    revisit = find_revisit(text, today) or scan_revisit(text, today)
    body = revisit.rest if revisit else text
    feedback = ""
    marked = _FEEDBACK_MARK.search(body)
    if marked:
        body, feedback = body[: marked.start()], body[marked.end() :]
    else:
        clauses = [c for c in _CLAUSES.split(body) if c.strip()]
        if len(clauses) > 1 and _FEEDBACK_CLAUSE.match(clauses[-1].strip()):
            feedback = clauses[-1].strip()
            body = body[: body.rfind(clauses[-1])]
    if method is FollowUpMethod.OTHER:
        # 「聊了报价，电话里客户说…」: a method word inside the note still tells how —
        # but not one of the revisit's: 「约了下周二上门」 was no visit (yet).
        said = body
        if revisit is not None and revisit.span is not None:
            # By position: the phrase itself leaves filler out (「下周二再上门」).
            said = body[: revisit.span[0]] + body[revisit.span[1] :]
        elif revisit is not None:
            said = body.replace(revisit.phrase, "")
        method = _method_said(said.lower()) or method
    strip = " \u3000,，;；。、"
    return Note(
        method=method,
        content=body.strip(strip),
        feedback=feedback.strip(strip),
        next_revisit=revisit.day if revisit else None,
        revisit_phrase=revisit.phrase if revisit else "",
        revisit_time=revisit.at if revisit else None,
    )


# Words of a report on a contact, besides the method words: 「刚见了李总，他说月底前定」.
_REPORT = re.compile(
    r"聊了|谈了|聊过|沟通|说了|他说|她说|对方说|客户说|答应|同意|考虑|报价|回访|再联系|"
    r"提醒我|约了|约好|去了|拜访|反馈|意向|感兴趣|没兴趣|嫌贵|定了|签了|下单|"
    # The customer came over: 「王强昨天来公司看了样品」.
    r"来(?:公司|我们|厂里|店里)|来看|过来|"
    # What someone on the customer's side said: 「王总那边说月底定」, 「采购也说」.
    r"(?:那边|这边|他们|总|经理|老板|主任|采购|老师)(?:也|还|又|都)?说"
)


def reads_like_report(text: str, today: date) -> bool:
    """A sentence that tells of a contact with a customer (a method, a report verb, or
    a revisit planned), as opposed to a question or a greeting."""
    lowered = text.lower()
    if any(word in lowered for word, m in METHOD_WORDS.items() if m is not FollowUpMethod.OTHER):
        return True
    if _REPORT.search(text):
        return True
    try:
        return scan_revisit(text, today) is not None
    except Exception:  # an impossible date phrase is still not a report
        return False


# Words telling that a contact took place: 「聊了」, 「见过」, 「刚…」, 「客户说」. Not 「过去」
# (going over to them) nor 「了解」 (to find out).
_HAPPENED = re.compile(r"了(?!解)|过(?![去来])|刚|已经|说|讲|答应|同意|反馈|嫌|觉得|兴趣|表示")
# Words that open a plan before its day: 「我准备明天…」, 「打算下周三…」.
_PLAN_OPENING = re.compile(r"^(?:我们?|准备|打算|计划|要|得|还要|还得)*")


def planned_contact(text: str, note: Note, today: date) -> tuple[date, time | None] | None:
    """「明天要去拜访李娜」, 「李娜下周三回访」, 「我准备明天过去拜访张三」: a contact to come,
    said in one clause with its day and no word of one that took place — a reminder
    to set, not a follow-up to log. Its day and time of day, else None."""
    said = text.strip().rstrip("。.!！")
    if _HAPPENED.search(said) or _CLAUSES.search(said):
        return None
    if note.next_revisit is not None:
        return note.next_revisit, note.revisit_time
    try:
        moment = leading_moment(_PLAN_OPENING.sub("", said), today)
    except InvalidDate:
        return None
    return moment if moment is not None and moment[0] >= today else None
