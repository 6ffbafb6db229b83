"""Birthdays as reps write them: 「3-5」, 「3月5日」, 「1990年3月5日」, 「农历八月十五」,
「阴历正月初八」, 「农历1988年腊月廿三」. Lunar birthdays keep their lunar month and day;
the scheduler turns them into this year's solar date with lunar-python."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from lunar_python import Lunar

from bot.parsing.numbers import NUM, normalize, to_int

_LUNAR_MARK = re.compile(r"^(?:农历|阴历|旧历)")
_SOLAR_MARK = re.compile(r"^(?:公历|阳历|新历)")
_YEAR = r"(?:(\d{4})\s*[年\-/.]\s*)?"
_SOLAR = re.compile(rf"^{_YEAR}(\d{{1,2}})\s*[-/.月]\s*(\d{{1,2}})\s*[日号]?$")
_CN_SOLAR = re.compile(rf"^{_YEAR}({NUM})月({NUM})[日号]?$")
_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12}
_LUNAR = re.compile(rf"^{_YEAR}闰?(正|冬|腊|{NUM})月\s*(初{NUM}|廿{NUM}?|卅|{NUM})[日号]?$")


class InvalidBirthday(ValueError):
    """Birthday-shaped text naming no date (「2月30日」, 「农历十三月一」)."""


@dataclass(frozen=True)
class Birthday:
    month: int
    day: int
    year: int | None = None
    lunar: bool = False
    # Born in a leap month (闰四月): celebrated in the leap month in years that have
    # it, in the ordinary month of the same name in the (many) years that do not.
    leap: bool = False

    def label(self) -> str:
        """「农历八月十五」 or 「3月5日」, with the year when known."""
        year = f"{self.year}年" if self.year else ""
        if self.lunar:
            leap = "闰" if self.leap else ""
            return f"农历{year}{leap}{lunar_month_name(self.month)}{lunar_day_name(self.day)}"
        return f"{year}{self.month}月{self.day}日"

    def leap_fallback_note(self, year: int) -> str:
        """Said on the card when ``year`` has no such leap month."""
        if not (self.lunar and self.leap) or has_leap_month(year, self.month):
            return ""
        name = lunar_month_name(self.month)
        return f"{year}年没有闰{name}，按{name}{lunar_day_name(self.day)}过"

    def next_solar(self, today: date) -> date:
        """The next solar date this birthday falls on, today included."""
        # From last year: 腊月 of last year's lunar year falls in this January/February.
        for year in range(today.year - 1, today.year + 9):
            candidate = self.solar_in(year)
            if candidate is not None and candidate >= today:
                return candidate
        raise InvalidBirthday(self.label())  # never: every month/day recurs within 8 years

    def solar_in(self, year: int) -> date | None:
        """The solar date in ``year`` (lunar: of the lunar year starting in it), or
        None when that year lacks the day (2月29日, 农历三十 of a short month)."""
        if not self.lunar:
            try:
                return date(year, self.month, self.day)
            except ValueError:
                return None
        month = -self.month if self.leap and has_leap_month(year, self.month) else self.month
        solar = lunar_to_solar(year, month, self.day)
        if solar is None and self.day == 30:
            # A 30th in a short lunar month is celebrated on the 29th.
            return lunar_to_solar(year, month, 29)
        return solar


@lru_cache(maxsize=512)
def has_leap_month(year: int, month: int) -> bool:
    from lunar_python import LunarYear

    return bool(LunarYear.fromYear(year).getLeapMonth() == month)


@lru_cache(maxsize=8192)
def lunar_to_solar(year: int, month: int, day: int) -> date | None:
    """The solar date of a lunar date, None when that lunar month is short of the day.
    Cached: lunar-python recomputes the whole lunar year (~8 ms) on every call."""
    try:
        solar = Lunar.fromYmd(year, month, day).getSolar()
    except Exception:  # lunar-python raises a bare Exception for a missing day
        return None
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


_CN = "〇一二三四五六七八九十"


def lunar_month_name(month: int) -> str:
    return {1: "正月", 11: "冬月", 12: "腊月"}.get(month) or f"{_CN[month]}月"


def lunar_day_name(day: int) -> str:
    if day <= 10:
        return "初" + _CN[day]
    if day < 20:
        return "十" + _CN[day - 10]
    if day == 20:
        return "二十"
    if day < 30:
        return "廿" + _CN[day - 20]
    return "三十"


def _lunar_day(text: str) -> int | None:
    if text.startswith("初"):
        return to_int(text[1:])
    if text.startswith("廿"):
        rest = to_int(text[1:]) if len(text) > 1 else 0
        return None if rest is None else 20 + rest
    if text == "卅":
        return 30
    return to_int(text)


def parse_birthday(text: str) -> Birthday | None:
    """The birthday ``text`` names, None if it does not look like one.

    Raises :class:`InvalidBirthday` when it looks like one but cannot be.
    """
    phrase = re.sub(r"\s+", "", normalize(text)).removeprefix("生日").lstrip(":：")
    lunar = bool(_LUNAR_MARK.match(phrase))
    phrase = _SOLAR_MARK.sub("", _LUNAR_MARK.sub("", phrase))
    if lunar:
        match = _LUNAR.match(phrase) or _SOLAR.match(phrase)
        if not match:
            return None
        year = int(match.group(1)) if match.group(1) else None
        month = _LUNAR_MONTHS.get(match.group(2)) or to_int(match.group(2))
        day = _lunar_day(match.group(3))
        leap = "闰" in phrase[: match.start(2)]
        return _lunar(year, month, day, text, leap)
    match = _SOLAR.match(phrase) or _CN_SOLAR.match(phrase)
    if not match:
        return None
    year = int(match.group(1)) if match.group(1) else None
    month, day = to_int(match.group(2)), to_int(match.group(3))
    if month is None or day is None:
        raise InvalidBirthday(text)
    try:
        date(year or 2024, month, day)  # 2024: a leap year, so 2月29日 passes
    except ValueError:
        raise InvalidBirthday(text) from None
    if year is not None and not 1900 <= year <= date.today().year:
        raise InvalidBirthday(text)
    return Birthday(month, day, year, lunar=False)


def _lunar(
    year: int | None, month: int | None, day: int | None, text: str, leap: bool = False
) -> Birthday:
    if month is None or day is None or not (1 <= month <= 12 and 1 <= day <= 30):
        raise InvalidBirthday(text)
    if year is not None:
        if not 1900 <= year <= date.today().year:
            raise InvalidBirthday(text)
        if leap and not has_leap_month(year, month):
            raise InvalidBirthday(text)  # 「1990年闰三月」: that year had no such month
        if lunar_to_solar(year, -month if leap else month, day) is None:
            raise InvalidBirthday(text)  # that lunar month had 29 days that year
    return Birthday(month, day, year, lunar=True, leap=leap)
