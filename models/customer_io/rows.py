"""One spreadsheet row checked cell by cell with the chat's parsers: a
:class:`ParsedRow` to store, or the reasons it is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.parsing.birthdays import Birthday, InvalidBirthday, parse_birthday
from bot.parsing.phones import parse_phone
from models.customer_io.sheet import COLUMNS, GRADE_WORDS, LIFECYCLE_WORDS, MAX_LENGTH, cell_text
from models.customers import (
    CustomerDraft,
)
from models.enums import Grade, Lifecycle
from models.staff import Staff


@dataclass
class ParsedRow:
    """One row that passed validation: what to store, and what the file left empty."""

    number: int
    draft: CustomerDraft
    owner: Staff | None
    has_grade: bool
    has_lifecycle: bool
    # The 负责人 cell names only deactivated staff (an export made before they left):
    # their ids, and the name as written. Fine for a customer one of them still owns.
    inactive_owner_ids: tuple[int, ...] = ()
    inactive_owner_name: str = ""


def _birthday(value: Any) -> Birthday | None:
    # An Excel date cell: the year is real when it is a birth date, not 1900 filler.
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        year = value.year if 1900 < value.year <= date.today().year else None
        return Birthday(value.month, value.day, year)
    text = cell_text(value)
    if not text:
        return None
    try:
        parsed = parse_birthday(text)
    except InvalidBirthday:
        parsed = None
    if parsed is None:
        raise ValueError(
            f"生日无法识别「{shorten(text)}」（例如 3月5日、1990-03-05、农历八月十五）"
        )
    return parsed


def shorten(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def no_owner(name: str) -> str:
    return f"负责人不存在或已停用「{shorten(name)}」"


def parse_row(
    number: int,
    values: dict[str, Any],
    staff_by_name: dict[str, list[Staff]],
    inactive_by_name: dict[str, list[Staff]] | None = None,
) -> ParsedRow | list[str]:
    """The row as a draft, or the reasons (Chinese) it cannot be imported.

    A 负责人 found only among ``inactive_by_name`` is not a reason by itself: the row
    carries their ids, and the import decides (see :func:`_import_row`)."""
    reasons: list[str] = []
    text = {key: cell_text(values.get(key)) for key in COLUMNS}
    if not text["name"]:
        reasons.append("缺少姓名")
    for key, limit in MAX_LENGTH.items():
        if len(text[key]) > limit:
            reasons.append(f"{COLUMNS[key]}过长（最多 {limit} 个字）")
    phone = None
    if text["phone"]:
        phone = parse_phone(text["phone"])
        if phone is None:
            reasons.append(f"手机号无效「{shorten(text['phone'])}」")
    birthday = None
    try:
        birthday = _birthday(values.get("birthday"))
    except ValueError as exc:
        reasons.append(str(exc))
    grade = GRADE_WORDS.get(text["grade"].lower().replace(" ", ""))
    if text["grade"] and grade is None:
        reasons.append(f"等级无法识别「{shorten(text['grade'])}」（可填 VIP、普通、潜在）")
    lifecycle = LIFECYCLE_WORDS.get(text["lifecycle"].lower().replace(" ", ""))
    if text["lifecycle"] and lifecycle is None:
        reasons.append(f"生命周期无法识别「{shorten(text['lifecycle'])}」（可填 潜在、活跃、沉默）")
    owner = None
    inactive: list[Staff] = []
    if text["owner"]:
        found = staff_by_name.get(text["owner"], [])
        if not found:
            inactive = (inactive_by_name or {}).get(text["owner"], [])
            if not inactive or reasons:
                reasons.append(no_owner(text["owner"]))
        elif len(found) > 1:
            reasons.append(f"负责人重名「{text['owner']}」，无法确定是哪一位")
        else:
            owner = found[0]
    if reasons:
        return reasons
    draft = CustomerDraft(
        name=text["name"],
        phone=phone,
        company=text["company"],
        industry=text["industry"],
        size=text["size"],
        category=text["category"],
        grade=grade or Grade.POTENTIAL,
        lifecycle=lifecycle or Lifecycle.POTENTIAL,
        birthday=birthday,
        address=text["address"] or None,
        notes=text["notes"],
    )
    return ParsedRow(
        number,
        draft,
        owner,
        grade is not None,
        lifecycle is not None,
        tuple(s.id for s in inactive),
        text["owner"] if inactive else "",
    )
