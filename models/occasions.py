"""The days worth a greeting: lunar festivals (lunar-python), official holidays and
their make-up workdays (chinese-calendar, which only knows years already announced:
later years come from ``care.fallback_holidays`` with one warning in the log), and
the extra occasions the team configured (元旦, 情人节, 圣诞…). No database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from lunar_python import Solar

from bot.config import CareConfig
from bot.config_checks import parse_occasions

log = logging.getLogger("wecrm.care")

# lunar-python's names → the festivals a sales team greets customers on.
LUNAR_FESTIVALS = {
    "春节": "春节",
    "元宵节": "元宵节",
    "端午节": "端午节",
    "七夕节": "七夕",
    "中秋节": "中秋节",
    "重阳节": "重阳节",
    "腊八节": "腊八节",
    "小年": "小年",
    "除夕": "除夕",
}
# chinese-calendar's holiday names, for the official days off.
OFFICIAL_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
# The occasions worth a gift: announced festival_heads_up_days ahead.
GIFT_OCCASIONS = frozenset({"春节", "中秋节"})

GREETINGS = {
    "春节": "新春快乐！祝您和家人新的一年身体健康、万事如意、生意兴隆！",
    "除夕": "除夕快乐！辞旧迎新，祝您阖家团圆、来年顺意！",
    "元宵节": "元宵节快乐！祝您团团圆圆、事事顺心！",
    "端午节": "端午安康！祝您和家人平安健康！",
    "七夕": "七夕快乐！愿您与家人幸福美满！",
    "中秋节": "中秋快乐！花好月圆，祝您阖家团圆、幸福安康！",
    "重阳节": "重阳节快乐！祝您和家中长辈健康长寿！",
    "腊八节": "腊八节快乐！喝碗腊八粥，祝您新年顺遂！",
    "小年": "小年快乐！年味渐浓，祝您诸事顺利！",
    "元旦": "元旦快乐！新年新气象，祝您新的一年一切顺利！",
    "国庆节": "国庆快乐！祝您假期愉快、阖家幸福！",
    "劳动节": "劳动节快乐！辛苦了，祝您假期愉快！",
    "清明节": "清明时节，祝您和家人平安顺遂。",
}


@dataclass(frozen=True)
class Occasion:
    day: date
    name: str
    greeting: str

    @property
    def gift(self) -> bool:
        return self.name in GIFT_OCCASIONS


def greeting_for(name: str) -> str:
    return GREETINGS.get(name, f"{name}快乐！祝您一切顺利！")


def _lunar_festivals(day: date) -> list[str]:
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    return [LUNAR_FESTIVALS[f] for f in lunar.getFestivals() if f in LUNAR_FESTIVALS]


_warned_years: set[int] = set()


def _official_start(day: date, cfg: CareConfig) -> str | None:
    """The official holiday starting on ``day``, by name."""
    try:
        on, name = chinese_calendar.get_holiday_detail(day)
        before, _ = chinese_calendar.get_holiday_detail(day - timedelta(days=1))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "chinese-calendar has no data for %s: official holidays come from "
                "care.fallback_holidays",
                day.year,
            )
        fallback = dict(parse_occasions(cfg.fallback_holidays, with_year=True))
        return fallback.get(day.isoformat())
    if on and name and not before:
        return OFFICIAL_NAMES.get(str(name), str(name))
    return None


def workday_note(day: date) -> str:
    """「今天调休上班」 on a make-up workday, 「今天放假」 on a day off that is not a weekend."""
    try:
        workday = chinese_calendar.is_workday(day)
    except NotImplementedError:
        return ""
    if workday and day.weekday() >= 5:
        return "今天调休上班"
    if not workday and day.weekday() < 5:
        return "今天放假"
    return ""


@lru_cache(maxsize=4096)
def _occasions_on(day: date, extra: str, fallback: str) -> tuple[Occasion, ...]:
    cfg = CareConfig(extra_occasions=extra, fallback_holidays=fallback)
    names: list[str] = []
    official = _official_start(day, cfg)
    if official:
        names.append(official)
    names.extend(_lunar_festivals(day))
    names.extend(n for when, n in parse_occasions(extra, with_year=False) if when == f"{day:%m-%d}")
    seen: list[str] = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return tuple(Occasion(day, name, greeting_for(name)) for name in seen)


def occasions_on(day: date, cfg: CareConfig) -> list[Occasion]:
    return list(_occasions_on(day, cfg.extra_occasions, cfg.fallback_holidays))


def occasions_ahead(today: date, cfg: CareConfig, days: int = 3) -> list[Occasion]:
    """Today's occasions and those of the next ``days`` days — and 春节 / 中秋 as far
    as ``festival_heads_up_days`` ahead, so a gift can still be sent."""
    horizon = max(days, cfg.festival_heads_up_days)
    found: list[Occasion] = []
    for offset in range(horizon + 1):
        for occasion in occasions_on(today + timedelta(days=offset), cfg):
            if offset <= days or occasion.gift:
                found.append(occasion)
    return found
