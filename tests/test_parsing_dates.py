"""Chinese date phrases against a frozen today in Asia/Shanghai (table-driven)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.parsing.dates import InvalidDate, local_today, parse_date_phrase
from bot.parsing.followups import parse_note
from bot.parsing.revisits import find_revisit

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-01-14 00:30 in Shanghai is still 2026-01-13 in UTC: the local date must win.
FROZEN = datetime(2026, 1, 13, 16, 30, tzinfo=UTC)
TODAY = date(2026, 1, 14)  # a Wednesday

PHRASES = [
    ("今天", date(2026, 1, 14)),
    ("今日", date(2026, 1, 14)),
    ("明天", date(2026, 1, 15)),
    ("明儿", date(2026, 1, 15)),
    ("后天", date(2026, 1, 16)),
    ("大后天", date(2026, 1, 17)),
    ("昨天", date(2026, 1, 13)),
    ("周三", date(2026, 1, 21)),  # said on a Wednesday: the next one; today is 「今天」
    ("这周三", date(2026, 1, 14)),
    ("周二", date(2026, 1, 20)),
    ("周五", date(2026, 1, 16)),
    ("星期日", date(2026, 1, 18)),
    ("礼拜天", date(2026, 1, 18)),
    ("这周一", date(2026, 1, 12)),
    ("本周五", date(2026, 1, 16)),
    ("下周三", date(2026, 1, 21)),
    ("下个星期一", date(2026, 1, 19)),
    ("下礼拜五", date(2026, 1, 23)),
    ("下下周五", date(2026, 1, 30)),
    ("周末", date(2026, 1, 17)),
    ("下周末", date(2026, 1, 24)),
    ("下周", date(2026, 1, 19)),
    ("3天后", date(2026, 1, 17)),
    ("三天后", date(2026, 1, 17)),
    ("10天以后", date(2026, 1, 24)),
    ("两周后", date(2026, 1, 28)),
    ("1个月后", date(2026, 2, 14)),
    ("一个月之后", date(2026, 2, 14)),
    ("半个月后", date(2026, 1, 29)),
    ("半年后", date(2026, 7, 14)),
    ("1年后", date(2027, 1, 14)),
    ("过两天", date(2026, 1, 16)),
    ("过几天", date(2026, 1, 17)),
    ("月底", date(2026, 1, 31)),
    ("这个月底", date(2026, 1, 31)),
    ("下个月底", date(2026, 2, 28)),
    ("下月初", date(2026, 2, 1)),
    ("月初", date(2026, 2, 1)),
    ("月中", date(2026, 1, 15)),
    ("年底", date(2026, 12, 31)),
    ("下个月5号", date(2026, 2, 5)),
    ("下月5日", date(2026, 2, 5)),
    ("下个月十五号", date(2026, 2, 15)),
    ("本月20号", date(2026, 1, 20)),
    ("20号", date(2026, 1, 20)),
    ("5号", date(2026, 2, 5)),
    ("12月1日", date(2026, 12, 1)),
    ("12月1号", date(2026, 12, 1)),
    ("十二月一日", date(2026, 12, 1)),
    ("1月5日", date(2027, 1, 5)),
    ("2月29日", date(2028, 2, 29)),
    ("明年3月1日", date(2027, 3, 1)),
    ("12/1", date(2026, 12, 1)),
    ("2026-12-01", date(2026, 12, 1)),
    ("2026/12/1", date(2026, 12, 1)),
    ("2026.12.01", date(2026, 12, 1)),
    ("2026年12月1日", date(2026, 12, 1)),
    ("２０２６－１２－０１", date(2026, 12, 1)),
    ("下周三。", date(2026, 1, 21)),
    ("下 周三", date(2026, 1, 21)),
    ("下个月", date(2026, 2, 14)),
]


@time_machine.travel(FROZEN, tick=False)
@pytest.mark.parametrize(("phrase", "expected"), PHRASES, ids=[p for p, _ in PHRASES])
def test_phrase(phrase: str, expected: date) -> None:
    today = local_today(SHANGHAI)
    assert today == TODAY
    assert parse_date_phrase(phrase, today) == expected


def test_table_is_big_enough() -> None:
    assert len(PHRASES) >= 40


@pytest.mark.parametrize("phrase", ["2月30日", "13月1日", "32号", "2026-02-30", "0号", "4月31日"])
def test_impossible_dates_are_refused(phrase: str) -> None:
    with pytest.raises(InvalidDate) as refused:
        parse_date_phrase(f" {phrase}", TODAY)
    # The words as written, for the reply to quote.
    assert refused.value.phrase == phrase


@pytest.mark.parametrize("phrase", ["", "随便", "报价", "中", "底", "周", "三", "5000"])
def test_non_dates_are_none(phrase: str) -> None:
    assert parse_date_phrase(phrase, TODAY) is None


def test_month_arithmetic_clamps_to_month_end() -> None:
    assert parse_date_phrase("1个月后", date(2026, 1, 31)) == date(2026, 2, 28)
    assert parse_date_phrase("31号", date(2026, 2, 10)) == date(2026, 3, 31)


@pytest.mark.parametrize(
    ("note", "day", "rest"),
    [
        ("聊了新品报价，客户有兴趣 下周三回访", date(2026, 1, 21), "聊了新品报价，客户有兴趣"),
        ("聊了报价，下次回访：周五", date(2026, 1, 16), "聊了报价"),
        ("聊了报价 明天再联系一下", date(2026, 1, 15), "聊了报价"),
        ("送了样品，下周三", date(2026, 1, 21), "送了样品"),
        ("发了合同3天后跟进", date(2026, 1, 17), "发了合同"),
        ("聊了报价。下周三回访。", date(2026, 1, 21), "聊了报价"),
        # A way of contacting between the date and the action word.
        ("安装完成 明天电话回访", date(2026, 1, 15), "安装完成"),
        ("聊了报价 下周三电话联系", date(2026, 1, 21), "聊了报价"),
        ("聊了报价，明天打电话回访", date(2026, 1, 15), "聊了报价"),
        ("安装完成 后天上门回访", date(2026, 1, 16), "安装完成"),
        ("发了资料 下周三微信联系一下", date(2026, 1, 21), "发了资料"),
        ("看了样品 明天再打个电话回访", date(2026, 1, 15), "看了样品"),
    ],
)
def test_revisit_found_in_note(note: str, day: date, rest: str) -> None:
    found = find_revisit(note, TODAY)
    assert found is not None
    assert (found.day, found.rest) == (day, rest)


@pytest.mark.parametrize("note", ["客户说3月5日到货", "聊了报价", "客户考虑中 回访", "月底前要货"])
def test_no_revisit_in_note(note: str) -> None:
    assert find_revisit(note, TODAY) is None


def test_impossible_revisit_raises() -> None:
    with pytest.raises(InvalidDate) as refused:
        find_revisit("送样品 2月30日回访", TODAY)
    assert refused.value.phrase == "2月30日"
    with pytest.raises(InvalidDate) as refused:
        find_revisit("送样品明天下午25点回访", TODAY)
    assert refused.value.phrase == "明天下午25点"


@pytest.mark.parametrize(
    ("note", "day"),
    [
        # Lunar months by name, 农历 or not; holidays said every way reps say them.
        ("电话聊了交期腊月二十回访", date(2027, 1, 27)),
        ("电话聊了交期正月十五以后回访", date(2027, 2, 20)),
        ("电话聊了交期清明节后回访", date(2027, 4, 6)),
        ("电话聊了交期过完年回访", date(2027, 2, 15)),  # 春节 + the break, a Monday
        ("电话聊了交期过了元旦再联系", date(2027, 1, 4)),  # not a week: 元旦's break is short
        ("他说元旦以后再说", date(2027, 1, 4)),
        # It was 元旦 itself: 「以后再联系」 took the 以后 from the holiday (「元旦后」 was right).
        ("聊了报价客户说元旦以后再联系", date(2027, 1, 4)),
        ("电话聊了交期国庆节以后回访", date(2027, 10, 8)),
        ("电话聊了交期3天以后回访", date(2026, 12, 7)),
        # 「前」 belongs to 春节 here: the day before, not 春节 itself.
        ("上门拜访谈了合作春节前再去一趟", date(2027, 2, 5)),
    ],
)
def test_holidays_and_lunar_days_in_speech(note: str, day: date) -> None:
    found = parse_note(note, date(2026, 12, 4))
    assert found.next_revisit == day, (note, found)
    assert "过了" not in found.content  # no half of a date left in the content
