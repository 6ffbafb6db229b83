"""Dates inside a rep's words: the revisit in a follow-up note (「…客户有兴趣 下周三回访」,
「下次回访：周五」), one said anywhere in speech (「…记得28号提醒我」), and a date that
opens a text (「12月20日 答谢会」). The phrases themselves are read by
``bot.parsing.dates``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.parsing.dates import InvalidDate, parse_moment_phrase

# --- the revisit inside a follow-up note --------------------------------------------

# 「下周三回访」, 「明天再联系」, 「周五上门」: the date comes before the action, maybe
# with how in between: 「明天电话回访」, 「下周三微信联系」, 「后天上门回访」.
_WILL = r"(?:再|要|去|需要|准备|记得)?"
_HOW = r"(?:打个?电话|电话|致电|微信|企微|视频|上门|当面|见面)"
_AFTER_DATE = re.compile(
    # 「正月十五以后回访」, 「下周左右联系」: on (or about) that day.
    rf"(?:以后|之后|左右)?{_WILL}(?:{_HOW}\s*{_WILL})*"
    r"(?:回访|复访|联系|跟进|沟通|拜访|上门|见面|约见|打电话|电话|致电|再约|再谈)"
    r"(?:一下|一次|客户|他|她|对方)?[。.!！]?$"
)
# 「下次回访：周五」, 「回访时间 2026-12-01」: the date comes after the word.
_BEFORE_DATE = re.compile(r"(?:下次|下回)?(?:回访|跟进|联系)(?:时间|日期)?\s*[:：为在是]?\s*")
_MAX_PHRASE = 14
_OWN_AFTER = re.compile(r"以后|之后")


@dataclass(frozen=True)
class FoundDate:
    day: date
    # The note with the date (and its 「回访」 words) taken out.
    rest: str
    phrase: str
    # The time of day, when one was said (「明天下午三点回访」).
    at: time | None = None
    # Where the revisit's words stand in ``rest``, when ``rest`` is the whole text
    # (:func:`scan_revisit`): the phrase leaves out filler (「下周二再上门」 → 下周二上门).
    span: tuple[int, int] | None = None


Moment = tuple[date, time | None]


def _longest_date_suffix(text: str, today: date) -> tuple[Moment, int] | None:
    """The longest date phrase (maybe with a time of day) ending ``text``:
    ((date, time), start index)."""
    for start in range(max(0, len(text) - _MAX_PHRASE), len(text)):
        piece = text[start:]
        if not piece.strip() or piece[0] in " ，,；;":
            continue
        found = parse_moment_phrase(piece, today)
        if found is not None:
            return found, start
    return None


def _longest_date_prefix(text: str, today: date) -> tuple[Moment, int] | None:
    for end in range(min(len(text), _MAX_PHRASE), 0, -1):
        found = parse_moment_phrase(text[:end], today)
        if found is not None:
            return found, end
    return None


def leading_moment(text: str, today: date) -> Moment | None:
    """The date (and time of day) said at the start of ``text``: 「明天下午去…」.
    Raises :class:`InvalidDate` like :func:`parse_date_phrase`."""
    found = _longest_date_prefix(text.strip(), today)
    return found[0] if found else None


def leading_date(text: str, today: date) -> tuple[date, str] | None:
    """The longest date phrase (a time of day after it is allowed) at the start of
    ``text`` and what follows: 「12月20日 答谢会」 → (12-20, "答谢会"). Raises
    :class:`InvalidDate` like :func:`parse_date_phrase`."""
    found = _longest_date_prefix(text.strip(), today)
    if found is None:
        return None
    (day, _time), end = found
    return day, text.strip()[end:].strip()


# --- a revisit anywhere in speech: 「…记得28号提醒我」, 「下下周一再约个时间过去演示」 ----

# Words that plan a next contact; a date right before (or right after) one is the
# revisit. 「了」/「过」 after the word reports a past contact instead.
_PLAN = re.compile(
    r"(回访|复访|再联系|联系他|联系她|联系客户|提醒我|提醒一下|提醒|再跟进|再跟|再约|约个?时间|"
    r"约一下|再谈|再去|再过去|过去演示|演示|再见面|见面|上门|拜访|"
    # A reply promised either way (「答应明天十点前给答复」, 「他说下周二给回复」): the
    # rep follows up then.
    r"给(?:他|她|客户|对方|我)?个?(?:答复|回复|回话|消息)|答复|回复|"
    # 「元旦以后再说」, 「下午三点再打给他」.
    r"再说|再打给?(?:他|她|客户|对方)?|再打个?电话|去见|去找|"
    # The customer coming over: 「下周三上午十点来公司看样品」, 「明天过来」.
    r"来(?:公司|我们(?:这|公司)|厂里|店里|看)|过来)(?![了过])"
    # An appointment made: 「后天下午三点约了周杰」, 「约好了周五下午见」.
    r"|约了|约好了?|见(?=$|[，,。.!！])"
)
# Filler between the date and the word: 「下周一 再 约」, 「28号 记得 提醒我」.
_FILLER_BEFORE = re.compile(
    r"(?:的时候|之前|以前|前后|前|左右|再|要|去|记得|准备|需要|还要|还得|得)*$"
)
# One at a time: 「下」 is filler in 「再联系下 周五」 but the date's own in 「提醒我下周四」.
_FILLER_AFTER = re.compile(r"一下|在|于|到|是|下|我")
_WINDOW = 16


def _date_after_filler(after: str, today: date) -> tuple[int, tuple[Moment, int] | None]:
    """(filler characters skipped, the date phrase after them): filler is skipped a
    word at a time, and the first place a date starts wins."""
    at = 0
    while True:
        found = _longest_date_prefix(after[at:], today)
        filler = _FILLER_AFTER.match(after, at)
        if found is not None or filler is None:
            return at, found
        at = filler.end()


def scan_revisit(text: str, today: date) -> FoundDate | None:
    """The revisit planned anywhere in free speech: the last date tied to a word that
    plans a contact (回访, 再联系, 提醒我, 再跟, 约…). The text is kept whole (it is
    the report); dates that are not tied to such a word (「他说月底前定」) are content.
    Past dates and impossible ones are skipped."""
    found: FoundDate | None = None
    for word in _PLAN.finditer(text):
        said = text[max(0, word.start() - _WINDOW) : word.start()]
        before = said[: _FILLER_BEFORE.search(said).start()]  # type: ignore[union-attr]
        moment: Moment | None = None
        phrase = ""
        try:
            # 「春节前再去一趟」: 「前」 belongs to the date when the date takes it.
            suffix = _longest_date_suffix(said, today) if before != said else None
            if suffix is not None:
                before = said
            else:
                suffix = _longest_date_suffix(before, today)
            if suffix is not None:
                moment, start = suffix
                phrase = before[start:] + word.group(0)
                span = (word.start() - len(said) + start, word.end())
            else:
                after = text[word.end() : word.end() + _WINDOW]
                skipped, prefix = _date_after_filler(after, today)
                after = after[skipped:]
                if prefix is not None:
                    moment, end = prefix
                    phrase = word.group(0) + after[:end]
                    span = (word.start(), word.end() + skipped + end)
        except InvalidDate:
            continue
        if moment is not None and moment[0] >= today:
            found = FoundDate(moment[0], text, phrase, moment[1], span)
    return found


def _clean(text: str) -> str:
    return text.strip(" \u3000,，;；。、")


# 「…客户说」 left hanging once 「国庆节后再联系」 is cut out: the revisit was what
# someone said or promised, so the note keeps the whole sentence.
_SAID = re.compile(r"(?:说|讲|表示|答应|承诺|约好|约了|定了|让我|要我|要求|希望|打算)$")


_REMIND = re.compile(r"(?:提醒我|提醒一下|提醒|记得)+$")


def _rest(before: str, text: str) -> str:
    """The note without its revisit words, unless that leaves a verb hanging."""
    # 「…提醒我下周四再联系」: asking to be reminded is part of the revisit, not the note.
    rest = _clean(_REMIND.sub("", _clean(before)))
    return _clean(text) if _SAID.search(rest) else rest


def find_revisit(note: str, today: date) -> FoundDate | None:
    """The next revisit date named at the end of a follow-up note, if any.

    Recognised: 「…下周三回访」, 「…下次回访：周五」, or a date standing alone as the
    last part of the note (「…，下周三」). A date elsewhere in the note is content
    (「客户说3月5日到货」), not the revisit. Raises :class:`InvalidDate` if the
    revisit names an impossible date.
    """
    # Not NFKC-normalized: the rest is kept as the rep wrote it (「，」 stays 「，」).
    text = note.strip().rstrip("。.!！")
    action = _AFTER_DATE.search(text)
    if action:
        head = text[: action.start()].rstrip()
        # 「元旦以后再联系」, 「3天以后回访」: a date that owns the 以后 the action took
        # (a holiday's is the first workday after it) is read with it.
        owned = _OWN_AFTER.match(text, action.start())
        found = owned and _longest_date_suffix(text[: owned.end()], today)
        found = found or _longest_date_suffix(head, today)
        if found:
            (day, at), start = found
            return FoundDate(day, _rest(head[:start], text), text[start:].strip(), at)
    for marker in _BEFORE_DATE.finditer(text):
        tail = text[marker.end() :]
        prefix = _longest_date_prefix(tail, today)
        if prefix and not _clean(tail[prefix[1] :]):
            (day, at), _end = prefix
            return FoundDate(day, _rest(text[: marker.start()], text), text[marker.start() :], at)
    # A trailing date standing alone after a separator: 「聊了报价，下周三」; or the whole
    # note (「回访 周杰 明天上午十点」: when is all there is to say).
    parts = re.split(r"[\s,，;；]+", text)
    if parts[-1]:
        alone = parse_moment_phrase(parts[-1], today)
        if alone is not None:
            cut = text.rstrip().rfind(parts[-1])
            return FoundDate(alone[0], _rest(text[:cut], text), parts[-1], alone[1])
    return None
