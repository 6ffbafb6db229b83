"""Chinese date phrases → dates: 今天, 明天, 下周三, 3天后, 月底, 下个月5号, 12月1日,
2026-12-01 … relative to *today in the configured time zone* (Asia/Shanghai by
default), never the server's clock or UTC: at 00:30 in Shanghai it is still
yesterday in UTC.

Dates here are for planning (the next revisit), so an incomplete date points to
the future: 「周三」 on a Thursday — or on a Wednesday — is next week's Wednesday,
「1月5日」 in November is next January, 「5号」 on the 20th is the 5th of next month
(:func:`parse_past_date` reads them backwards: a deal's signing day). Explicit pasts
(「昨天」, 「这周一」 on a Wednesday) are returned as such; whether a past date is
acceptable is the caller's rule.

:func:`parse_date_phrase` reads one whole phrase, :func:`parse_moment_phrase` one with
a time of day; ``bot.parsing.revisits`` finds them inside a follow-up note.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.parsing.numbers import NUM, normalize, to_int

WEEKDAY_NAMES = "一二三四五六日"
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
WEEKDAYS |= {str(i + 1): i for i in range(7)}


class InvalidDate(ValueError):
    """The text is shaped like a date but names none (「2月30日」, 「13月1日」, 「32号」).

    Raised out of :func:`parse_date_phrase` and :func:`parse_moment_phrase` with the
    phrase as the user wrote it (:attr:`phrase`), so that a reply can quote it."""

    @property
    def phrase(self) -> str:
        return str(self.args[0]) if self.args else ""


def local_today(tz: ZoneInfo) -> date:
    """Today's date where the sales team lives."""
    return datetime.now(tz).date()


def has_passed(day: date, at: time | None, tz: ZoneInfo) -> bool:
    """Whether a plan for ``day`` (at ``at``, when a time of day was said) is already
    behind us where the sales team lives: 「今天下午三点」 said at five."""
    now = datetime.now(tz)
    if day != now.date():
        return day < now.date()
    return at is not None and at < now.time().replace(second=0, microsecond=0)


def weekday_label(day: date) -> str:
    return "周" + WEEKDAY_NAMES[day.weekday()]


def describe(day: date, today: date) -> str:
    """「1月21日（周三）」, 「1月15日（明天，周四）」; the year shown when it differs."""
    text = f"{day.month}月{day.day}日"
    if day.year != today.year:
        text = f"{day.year}年{text}"
    named = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
    week = weekday_label(day)
    return f"{text}（{named}，{week}）" if named else f"{text}（{week}）"


def _make(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidDate(f"{year}-{month}-{day}") from None


def _num(text: str | None) -> int:
    value = to_int(text or "")
    if value is None:
        raise InvalidDate(text or "")
    return value


def add_months(day: date, months: int, *, clamp_day: int | None = None) -> date:
    """Same day ``months`` later, clamped to the month's end (1月31日 + 1 月 → 2月28日)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(clamp_day or day.day, last))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- the phrases -------------------------------------------------------------------

Rule = Callable[[re.Match[str], date], date]
_RULES: list[tuple[re.Pattern[str], Rule]] = []


def _rule(pattern: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES.append((re.compile(pattern), fn))
        _any_rule.cache_clear()
        return fn

    return register


@cache
def _any_rule() -> re.Pattern[str]:
    """Every rule's pattern in one: most text tried is no date (a follow-up note's
    revisit is looked for at each of its last fourteen characters), and one match
    against all of them costs what one of seventeen did."""
    return re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _rule in _RULES))


_DAY_WORDS = {
    "今天": 0, "今日": 0, "今儿": 0, "明天": 1, "明日": 1, "明儿": 1,
    "后天": 2, "大后天": 3, "昨天": -1, "昨日": -1, "前天": -2,
}  # fmt: skip


@_rule("(" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True)) + ")")
def _day_word(m: re.Match[str], today: date) -> date:
    return today + timedelta(days=_DAY_WORDS[m.group(1)])


@_rule(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
def _iso(m: re.Match[str], today: date) -> date:
    return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))


@_rule(rf"(今年|明年|后年)?({NUM})月({NUM})[日号]?")
def _month_day(m: re.Match[str], today: date) -> date:
    month, day = _num(m.group(2)), _num(m.group(3))
    if m.group(1):
        offset = {"今年": 0, "明年": 1, "后年": 2}[m.group(1)]
        return _make(today.year + offset, month, day)
    return _next_month_day(today, month, day)


@_rule(r"(\d{1,2})\s*(?:/|\.)\s*(\d{1,2})")
def _slash(m: re.Match[str], today: date) -> date:
    return _next_month_day(today, int(m.group(1)), int(m.group(2)))


def _next_month_day(today: date, month: int, day: int) -> date:
    # Check against a leap year first, so 「2月29日」 is only refused when it never comes.
    _make(2024, month, day)
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise InvalidDate(f"{month}-{day}")


@_rule(r"(下下个?|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
def _weekday(m: re.Match[str], today: date) -> date:
    target = WEEKDAYS[m.group(2)]
    prefix = (m.group(1) or "").rstrip("个")
    if not prefix:
        # 「周三」: the coming one. Said on a Wednesday it is next week's: 「周五回访」 on
        # a Friday plans the next contact, and today is 「今天」 (or 「这周五」).
        return today + timedelta(days=(target - today.weekday() - 1) % 7 + 1)
    weeks = {"这": 0, "本": 0, "下": 1, "下下": 2}[prefix]
    return _week_start(today) + timedelta(weeks=weeks, days=target)


@_rule(r"(下下个?|下个?|这个?|本)?(?:周末)")
def _weekend(m: re.Match[str], today: date) -> date:
    weeks = {"": 0, "这": 0, "本": 0, "下": 1, "下下": 2}[(m.group(1) or "").rstrip("个")]
    return _week_start(today) + timedelta(weeks=weeks, days=5)


@_rule(r"下个?(?:周|星期|礼拜)")
def _next_week(m: re.Match[str], today: date) -> date:
    return _week_start(today) + timedelta(weeks=1)


_UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7}


@_rule(rf"({NUM}|半)\s*个?\s*(天|日|周|星期|礼拜|月|年)\s*(?:后|以后|之后)")
def _after(m: re.Match[str], today: date) -> date:
    unit = m.group(2)
    if m.group(1) == "半":
        if unit == "月":
            return today + timedelta(days=15)
        if unit == "年":
            return add_months(today, 6)
        raise InvalidDate(m.group(0))
    count = _num(m.group(1))
    if count > 3660:
        raise InvalidDate(m.group(0))
    if unit == "月":
        return add_months(today, count)
    if unit == "年":
        return add_months(today, 12 * count)
    return today + timedelta(days=count * _UNIT_DAYS[unit])


@_rule(rf"过\s*({NUM}|几)\s*天")
def _in_a_few_days(m: re.Match[str], today: date) -> date:
    # 「过几天」 has no number; three days is what a rep usually means by it.
    return today + timedelta(days=3 if m.group(1) == "几" else _num(m.group(1)))


@_rule(r"(下个?月|这个?月|本月|月)(?:底|末)")
def _month_end_rule(m: re.Match[str], today: date) -> date:
    months = 1 if m.group(1).startswith("下") else 0
    return _month_end(add_months(today.replace(day=1), months))


@_rule(r"(下个?月|这个?月|本月|月)(初|中)")
def _month_start_mid(m: re.Match[str], today: date) -> date:
    months = 1 if m.group(1).startswith("下") else 0
    day = 1 if m.group(2) == "初" else 15
    candidate = add_months(today.replace(day=1), months).replace(day=day)
    if m.group(1) == "月" and candidate < today:
        # 「月初」 said after the 1st can only mean next month's start.
        candidate = add_months(candidate, 1)
    return candidate


@_rule(r"(?:今年|年)(?:底|末)")
def _year_end(m: re.Match[str], today: date) -> date:
    return date(today.year, 12, 31)


@_rule(rf"(下个?月|这个?月|本月)({NUM})[日号]")
def _month_and_day(m: re.Match[str], today: date) -> date:
    months = 1 if m.group(1).startswith("下") else 0
    first = add_months(today.replace(day=1), months)
    return _make(first.year, first.month, _num(m.group(2)))


@_rule(r"下个?月")
def _next_month(m: re.Match[str], today: date) -> date:
    return add_months(today, 1)


@_rule(rf"({NUM})[日号]")
def _day_of_month(m: re.Match[str], today: date) -> date:
    day = _num(m.group(1))
    if not 1 <= day <= 31:
        raise InvalidDate(m.group(0))
    # This month if still ahead, else the next month that has that day.
    first = today.replace(day=1)
    for months in range(3):
        month_start = add_months(first, months)
        if day <= calendar.monthrange(month_start.year, month_start.month)[1]:
            candidate = month_start.replace(day=day)
            if candidate >= today:
                return candidate
    raise InvalidDate(m.group(0))


# Holidays by name: always the next one (today included). 「春节后」 is the first
# working day after the official days off (chinese-calendar when it knows the year,
# else the usual length of the break); 「中秋前」 the day before.
_SOLAR_FESTIVALS = {"元旦": (1, 1), "五一": (5, 1), "劳动节": (5, 1), "国庆": (10, 1),
                    "国庆节": (10, 1), "圣诞": (12, 25), "圣诞节": (12, 25),
                    "情人节": (2, 14)}  # fmt: skip
_LUNAR_FESTIVALS = {"春节": (1, 1), "过年": (1, 1), "大年初一": (1, 1), "元宵": (1, 15),
                    "元宵节": (1, 15), "端午": (5, 5), "端午节": (5, 5), "七夕": (7, 7),
                    "中秋": (8, 15), "中秋节": (8, 15), "重阳": (9, 9), "重阳节": (9, 9),
                    "腊八": (12, 8), "腊八节": (12, 8), "小年": (12, 23)}  # fmt: skip
# Days off after the festival day when chinese-calendar does not know the year.
# (元旦's own break is a day or three: after it, the next weekday.)
_BREAK_DAYS = {"春节": 7, "过年": 7, "大年初一": 7, "国庆": 7, "国庆节": 7, "五一": 5, "劳动节": 5}
# 清明 is a solar term: its day moves (4 or 5 April), as lunar-python's table says.
_SOLAR_TERMS = {"清明": "清明", "清明节": "清明"}
_FESTIVAL_NAMES = sorted(
    [*_SOLAR_FESTIVALS, *_LUNAR_FESTIVALS, *_SOLAR_TERMS, "除夕"], key=len, reverse=True
)


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    from lunar_python import Lunar  # imported on first use: it is slow to load

    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _festival_day(name: str, year: int) -> date:
    if name == "除夕":
        return _lunar_to_solar(year, 1, 1) - timedelta(days=1)
    if name in _SOLAR_TERMS:
        from lunar_python import Solar

        term = Solar.fromYmd(year, 6, 1).getLunar().getJieQiTable()[_SOLAR_TERMS[name]]
        return date(term.getYear(), term.getMonth(), term.getDay())
    if name in _SOLAR_FESTIVALS:
        return date(year, *_SOLAR_FESTIVALS[name])
    return _lunar_to_solar(year, *_LUNAR_FESTIVALS[name])


def _first_workday_after_break(day: date, name: str) -> date:
    import chinese_calendar

    try:
        candidate = day + timedelta(days=1)
        while not chinese_calendar.is_workday(candidate):
            candidate += timedelta(days=1)
        return candidate
    except NotImplementedError:  # a year chinese-calendar does not know yet
        candidate = day + timedelta(days=_BREAK_DAYS.get(name, 1))
        while candidate.weekday() >= 5:
            candidate += timedelta(days=1)
        return candidate


# 「过了元旦」, 「过完中秋」: after it, as 「元旦后」 is.
@_rule("(过了|过完)?(" + "|".join(_FESTIVAL_NAMES) + r")(前|之前|以前|后|之后|以后|过后)?")
def _festival(m: re.Match[str], today: date) -> date:
    when = m.group(3) or ("后" if m.group(1) else "")
    return _around_festival(m.group(2), when, m.group(0), today)


# 「过完年」, 「过了年」, 「年后」: after 春节.
@_rule(r"(?:过完|过了)年(?:以后|之后|后)?|年后")
def _after_new_year(m: re.Match[str], today: date) -> date:
    return _around_festival("春节", "后", m.group(0), today)


def _around_festival(name: str, when: str, phrase: str, today: date) -> date:
    for year in (today.year - 1, today.year, today.year + 1):
        day = _festival_day(name, year)
        if when.endswith("前"):
            day -= timedelta(days=1)
        elif when:
            day = _first_workday_after_break(day, name)
        if day >= today:
            return day
    raise InvalidDate(phrase)


# 「腊月二十」, 「正月十五」: those months are lunar by name, 农历 or not.
@_rule(
    rf"(?:农历|阴历)(正|冬|腊|{NUM})月(初{NUM}|廿{NUM}?|卅|{NUM})[日号]?|(?:正|冬|腊)月(?:初{NUM}|廿{NUM}?|卅|{NUM})[日号]?"
)
def _lunar_phrase(m: re.Match[str], today: date) -> date:
    from bot.parsing.birthdays import InvalidBirthday, parse_birthday

    try:
        parsed = parse_birthday("农历" + m.group(0).removeprefix("农历").removeprefix("阴历"))
    except InvalidBirthday:
        raise InvalidDate(m.group(0)) from None
    if parsed is None:
        raise InvalidDate(m.group(0))
    return parsed.next_solar(today)


_PREFIX_SPACES = re.compile(r"\s+")


def parse_date_phrase(text: str, today: date) -> date | None:
    """The date ``text`` names, or None if it is not a date phrase.

    Raises :class:`InvalidDate` for date-shaped text that names no date.
    """
    phrase = _PREFIX_SPACES.sub("", normalize(text))
    phrase = phrase.removeprefix("在").removesuffix("的时候")
    if not phrase or not _any_rule().fullmatch(phrase):
        return None
    for pattern, rule in _RULES:
        match = pattern.fullmatch(phrase)
        if match:
            try:
                return rule(match, today)
            except InvalidDate:
                # The rules know the numbers they read (「2026-2-30」), not the words.
                raise InvalidDate(text.strip()) from None
    return None


_BARE_WEEKDAY = re.compile(r"(?:周|星期|礼拜)[一二三四五六日天1-7]")


def parse_past_date(text: str, today: date) -> date | None:
    """A date that has been (a report's day, a deal's signing): 「11月20日」 in December
    is this year's, not next year's as a revisit date would be. Raises
    :class:`InvalidDate` like :func:`parse_date_phrase`."""
    day = parse_date_phrase(text, today)
    if day is not None and day > today and _BARE_WEEKDAY.fullmatch(text.strip()):
        # 「周三签的」: the last Wednesday, today included.
        return day - timedelta(days=7)
    # Only a month and day without a year is read as the last one; 「明天」 stays ahead.
    month_day = (
        re.search(r"[\d一二三四五六七八九十正腊冬]\s*月|^\d{1,2}\s*[/.]\s*\d{1,2}$", text.strip())
        and "年" not in text
    )
    if day is not None and day > today and month_day:
        try:
            earlier = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day
        if (today - earlier).days < 366:
            return earlier
    return day


# --- a time of day after the date: 「下周一上午十点」, 「明早」, 「周五下午」 ---------------

# Where a part of the day without an hour puts the appointment.
_PART_OF_DAY = {"凌晨": 6, "早上": 9, "早晨": 9, "上午": 9, "中午": 12, "下午": 14,
                "傍晚": 17, "晚上": 19}  # fmt: skip
_PM = {"下午", "傍晚", "晚上"}
_DAY_AND_PART = {"明早": ("明天", "早上"), "明晚": ("明天", "晚上"), "今早": ("今天", "早上"),
                 "今晚": ("今天", "晚上"), "明儿早上": ("明天", "早上")}  # fmt: skip
_TIME_SUFFIX = re.compile(
    rf"({'|'.join(_PART_OF_DAY)})?"
    rf"(?:({NUM})\s*[点时](半|一刻|三刻|({NUM})分?)?|(\d{{1,2}})[:：](\d{{2}}))?$"
)


def parse_moment_phrase(
    text: str, today: date, now: time | None = None
) -> tuple[date, time | None] | None:
    """The date and, when said, the time of day: 「下周一上午十点」 → (next Monday, 10:00),
    「明早」 → (tomorrow, 09:00), 「周五下午」 → (Friday, 14:00), 「下周三」 → (…, None).

    Raises :class:`InvalidDate` for an impossible date or hour."""
    try:
        return _moment(text, today, now)
    except InvalidDate:
        raise InvalidDate(text.strip()) from None


@cache
def _moment_start() -> re.Pattern[str]:
    """What a date-and-time phrase must begin with — a day with its part (「明早」), a
    date (「在」 allowed before it), or a time of day — for a quick no: a follow-up
    note's revisit is looked for at each of its last fourteen characters."""
    time_of_day = rf"{'|'.join(_PART_OF_DAY)}|{NUM}\s*[点时]|\d{{1,2}}[:：]\d{{2}}"
    day_and_part = "|".join(_DAY_AND_PART)
    return re.compile(f"{day_and_part}|在?(?:{_any_rule().pattern})|{time_of_day}")


def _moment(text: str, today: date, now: time | None) -> tuple[date, time | None] | None:
    phrase = _PREFIX_SPACES.sub("", normalize(text))
    if not _moment_start().match(phrase):
        return None
    for word, (day_word, part) in _DAY_AND_PART.items():
        if phrase.startswith(word):
            phrase = day_word + part + phrase[len(word) :]
    match = _TIME_SUFFIX.search(phrase)
    if match is None or not match.group(0):
        day = parse_date_phrase(phrase, today)
        return (day, None) if day is not None else None
    head = phrase[: match.start()]
    day = parse_date_phrase(head, today) if head else None
    if head and day is None:
        return None
    part, hour_text, fraction, minute_text, h_colon, m_colon = match.groups()
    if h_colon is not None:
        hour, minute = int(h_colon), int(m_colon)
    elif hour_text is not None:
        hour = _num(hour_text)
        minute = {"半": 30, "一刻": 15, "三刻": 45}.get(fraction or "", 0)
        if minute_text is not None:
            minute = _num(minute_text)
        if part in _PM and hour < 12:
            hour += 12
    else:
        hour, minute = _PART_OF_DAY[part], 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InvalidDate(phrase)
    at = time(hour, minute)
    if day is None:
        # A bare time: today if still ahead (or if the caller does not say), else tomorrow.
        day = today if now is None or at > now else today + timedelta(days=1)
    return day, at
