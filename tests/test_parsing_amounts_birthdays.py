"""Amounts, quantities, birthdays, phones and follow-up notes as reps write them."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.parsing.amounts import (
    InvalidAmount,
    format_amount,
    parse_amount,
    parse_quantity,
    unglue,
)
from bot.parsing.birthdays import Birthday, InvalidBirthday, parse_birthday
from bot.parsing.followups import parse_note
from bot.parsing.phones import mask_phone, parse_phone
from models.enums import FollowUpMethod

TODAY = date(2026, 1, 14)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5000", "5000"),
        ("5千", "5000"),
        ("1.2万", "12000"),
        ("五千", "5000"),
        ("一万二", "12000"),
        ("3万5千", "35000"),
        ("¥5,000元", "5000"),
        ("５０００", "5000"),
        ("5000块", "5000"),
        ("5k", "5000"),
        ("2w", "20000"),
        ("99.5", "99.50"),
        ("两千五百元", "2500"),
    ],
)
def test_amounts(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["0", "-5", "1.234", "1000000000000", "零"])
def test_impossible_amounts(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text)


@pytest.mark.parametrize("text", ["产品A", "abc", "10件", "", "1e5"])
def test_not_amounts(text: str) -> None:
    assert parse_amount(text) is None


@given(st.integers(min_value=1, max_value=10**11))
def test_any_whole_amount_round_trips(n: int) -> None:
    assert parse_amount(str(n)) == Decimal(n)
    assert parse_amount(f"{n:,}") == Decimal(n)


def test_quantities() -> None:
    assert parse_quantity("10件") == (10, "件")
    assert parse_quantity("十台") == (10, "台")
    assert parse_quantity("x3") == (3, "")
    assert parse_quantity("10") is None  # a bare number is the amount, not a count
    assert parse_quantity("0件") is None


def test_format_amount() -> None:
    assert format_amount(Decimal("12000")) == "¥12,000"
    assert format_amount(Decimal("99.5")) == "¥99.50"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-5", Birthday(3, 5)),
        ("3月5日", Birthday(3, 5)),
        ("3/5", Birthday(3, 5)),
        ("1990年3月5日", Birthday(3, 5, 1990)),
        ("1990-03-05", Birthday(3, 5, 1990)),
        ("生日3月5号", Birthday(3, 5)),
        ("农历八月十五", Birthday(8, 15, lunar=True)),
        ("阴历正月初八", Birthday(1, 8, lunar=True)),
        ("农历1988年腊月廿三", Birthday(12, 23, 1988, lunar=True)),
        ("农历8-15", Birthday(8, 15, lunar=True)),
        ("2月29日", Birthday(2, 29)),
    ],
)
def test_birthdays(text: str, expected: Birthday) -> None:
    assert parse_birthday(text) == expected


@pytest.mark.parametrize(
    "text", ["2月30日", "13月1日", "农历十三月初一", "1990-02-29", "2990年3月5日"]
)
def test_impossible_birthdays(text: str) -> None:
    with pytest.raises(InvalidBirthday):
        parse_birthday(text)


def test_lunar_birthday_next_solar_date() -> None:
    # 中秋 2026 is 25 September; 腊月廿三 of the lunar year 2025 falls on 10 February 2026.
    assert Birthday(8, 15, lunar=True).next_solar(TODAY) == date(2026, 9, 25)
    assert Birthday(12, 23, lunar=True).next_solar(TODAY) == date(2026, 2, 10)
    assert Birthday(8, 15, lunar=True).label() == "农历八月十五"


def test_phones() -> None:
    assert parse_phone("138 0013 8000") == "13800138000"
    assert parse_phone("+86 138-0013-8000") == "13800138000"
    assert parse_phone("021-12345678") == "02112345678"
    assert parse_phone("12345") is None
    assert parse_phone("2380013800") is None
    assert mask_phone("13800138000") == "138****8000"


def test_followup_note() -> None:
    note = parse_note("电话 聊了新品报价，客户有兴趣 下周三回访", TODAY)
    assert note.method is FollowUpMethod.PHONE
    assert (note.content, note.feedback) == ("聊了新品报价", "客户有兴趣")
    assert note.next_revisit == date(2026, 1, 21)
    marked = parse_note("拜访 参观工厂 反馈：很满意 下次回访：周五", TODAY)
    assert (marked.method, marked.content, marked.feedback) == (
        FollowUpMethod.VISIT,
        "参观工厂",
        "很满意",
    )
    assert marked.next_revisit == date(2026, 1, 16)
    plain = parse_note("聊了报价", TODAY)
    assert (plain.method, plain.next_revisit) == (FollowUpMethod.OTHER, None)


def test_a_promised_answer_is_the_revisit() -> None:
    # 2026-01-14 is a Wednesday.
    promised = parse_note("刚才电话安抚了客户答应明天上午十点前给答复", TODAY)
    assert (promised.next_revisit, promised.revisit_time) == (date(2026, 1, 15), time(10, 0))
    theirs = parse_note("电话 聊了报价 他说下周二给答复", TODAY)
    assert theirs.next_revisit == date(2026, 1, 20)
    # An answer already given, or one the customer gave, plans nothing.
    for done in ("已经答复客户了", "客户回复说价格太高"):
        assert parse_note(done, TODAY).next_revisit is None, done


def test_a_revisit_someone_said_stays_in_the_note() -> None:
    # Cutting 「国庆节后再联系」 out would leave 「…客户说」 hanging.
    said = parse_note("电话聊了报价客户说国庆节后再联系", TODAY)
    assert said.content == "聊了报价客户说国庆节后再联系"
    assert said.next_revisit == date(2026, 10, 8)
    # Said in a clause of its own, it is the customer's feedback.
    clause = parse_note("电话 聊了报价，客户说下周三再联系", TODAY)
    assert (clause.content, clause.feedback) == ("聊了报价", "客户说下周三再联系")
    # The rep's own plan is still cut out of the content.
    assert parse_note("电话 聊了报价 下周三回访", TODAY).content == "聊了报价"


@pytest.mark.parametrize(
    ("token", "pieces"),
    [
        ("3台每台1.5万呼吸机", ["3台", "每台1.5万", "呼吸机"]),
        ("合同金额12万元11月28日签的", ["合同金额", "12万元", "11月28日签的"]),
        ("呼吸机3台单价1.5万", ["呼吸机", "3台", "单价1.5万"]),
        ("呼吸机120000", ["呼吸机", "120000"]),
        ("昨天签的呼吸机5万", ["昨天签的", "呼吸机", "5万"]),
        # A figure after 万 or 千 is the next place down (3万5 = 35 000), unless it
        # counts something.
        ("5台每台2万3", ["5台", "每台2万3"]),
        ("5台每台3千5", ["5台", "每台3千5"]),
        ("1万2包装机", ["1万2", "包装机"]),
        ("12万5台", ["12万", "5台"]),
        ("¥35000", ["¥35000"]),
        # In characters, as speech recognition writes it.
        ("三万五食品包装生产线", ["三万五", "食品包装生产线"]),
        ("一百二十万跨境物流服务", ["一百二十万", "跨境物流服务"]),
        ("十台每台一万五", ["十台", "每台一万五"]),
        ("十二万元十一月二十八号签的", ["十二万元", "十一月二十八号签的"]),
        ("三件套", ["三件套"]),
        ("千岛湖", ["千岛湖"]),
        # Figures inside a model name or too short to be an amount stay put.
        ("5G路由器", ["5G路由器"]),
        ("监护仪M8", ["监护仪M8"]),
        ("3号楼空调", ["3号楼空调"]),
        ("1.5万", ["1.5万"]),
        ("5kg", ["5kg"]),
    ],
)
def test_glued_words_and_figures_come_apart(token: str, pieces: list[str]) -> None:
    assert unglue(token) == pieces


@pytest.mark.parametrize(
    "note",
    [
        "约了下周二上门",
        # The plan's own filler (再, 要, 记得) once kept 上门 in the words that tell how
        # this contact went: stored as a visit that had not taken place.
        "约了下周二再上门，带样品",
        "约好下周二要上门",
        "跟他说好了下周二记得上门",
        # The date after the plan (a path of its own), and two plans in one note.
        "聊了报价，约了上门 下周二",
        "约了周五上门，下周二再上门",
    ],
)
def test_a_visit_planned_is_not_how_this_contact_went(note: str) -> None:
    parsed = parse_note(note, TODAY)
    assert parsed.next_revisit == date(2026, 1, 20), note
    assert parsed.method is FollowUpMethod.OTHER, note


def test_a_visit_made_stays_a_visit_with_the_next_one_planned() -> None:
    parsed = parse_note("见了张总 下周三再上门", TODAY)
    assert (parsed.method, parsed.next_revisit) == (FollowUpMethod.VISIT, date(2026, 1, 21))
    called = parse_note("微信聊了交期，下周二再上门", TODAY)
    assert called.method is FollowUpMethod.WECHAT
    # A visit made, then one planned in the next clause.
    made = parse_note("刚见了王总，准备下周二拜访", TODAY)
    assert (made.method, made.next_revisit) == (FollowUpMethod.VISIT, date(2026, 1, 20))
    assert parse_note("打电话约了上门", TODAY).method is FollowUpMethod.PHONE


@pytest.mark.parametrize(
    ("note", "day"),
    [
        # The date after the plan word lost its 「下」 to the filler: this Thursday.
        ("聊了报价，提醒我下周四", date(2026, 1, 22)),
        ("联系他下周五", date(2026, 1, 23)),
        ("聊了报价，提醒我周四", date(2026, 1, 15)),
    ],
)
def test_next_week_said_after_the_plan_is_next_week(note: str, day: date) -> None:
    assert parse_note(note, TODAY).next_revisit == day


def test_asking_to_be_reminded_is_part_of_the_revisit_not_the_note() -> None:
    # The note read 「聊了报价客户有兴趣提醒我」.
    said = parse_note("电话聊了报价客户有兴趣提醒我下周四再联系", TODAY)
    assert (said.content, said.next_revisit) == ("聊了报价客户有兴趣", date(2026, 1, 22))
    # What the customer asked for stays their words.
    asked = parse_note("客户要求提醒下周四再联系", TODAY)
    assert asked.content == "客户要求提醒下周四再联系"
