"""The spreadsheet side of import and export: the column set and its header variants,
the words for grades and lifecycles, and reading .xlsx / .csv into a :class:`Sheet`."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from models.enums import Grade, Lifecycle

# --- columns -----------------------------------------------------------------------------

# Field -> header written on export; the order is the column order.
COLUMNS: dict[str, str] = {
    "name": "姓名",
    "company": "公司",
    "industry": "行业",
    "size": "规模",
    "category": "类别",
    "grade": "等级",
    "lifecycle": "生命周期",
    "phone": "电话",
    "address": "地址",
    "birthday": "生日",
    "owner": "负责人",
    "notes": "备注",
}

# Headers people actually use for the same column (after normalisation, see _header_key).
_HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "客户姓名", "客户名", "客户名称", "名字", "联系人", "联系人姓名", "name"),
    "company": ("公司", "公司名称", "公司名", "单位", "单位名称", "企业", "企业名称", "company"),
    "industry": ("行业", "所属行业", "行业类别", "industry"),
    "size": ("规模", "公司规模", "企业规模", "人数", "员工人数", "人员规模", "size"),
    "category": ("类别", "客户类别", "类型", "客户类型", "分类", "客户分类", "category"),
    "grade": ("等级", "客户等级", "级别", "客户级别", "grade", "level"),
    "lifecycle": ("生命周期", "客户状态", "状态", "生命周期阶段", "lifecycle", "status"),
    "phone": (
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "电话号码",
        "联系电话",
        "联系方式",
        "phone",
        "mobile",
        "tel",
    ),
    "address": ("地址", "联系地址", "公司地址", "通讯地址", "详细地址", "address"),
    "birthday": ("生日", "出生日期", "出生年月日", "生日日期", "birthday", "birth"),
    "owner": ("负责人", "销售", "业务员", "所属销售", "跟进人", "客户经理", "归属人", "owner"),
    "notes": ("备注", "说明", "备注信息", "notes", "note", "remark", "remarks"),
}
_HEADERS: dict[str, str] = {
    variant: key for key, variants in _HEADER_VARIANTS.items() for variant in variants
}

# The database column widths (models.customers.Customer): longer text is refused with a
# reason rather than silently cut, so nothing is lost without the report saying so.
MAX_LENGTH = {"name": 64, "company": 128, "industry": 64, "size": 32, "category": 64}

GRADE_WORDS: dict[str, Grade] = {
    "vip": Grade.VIP, "重要": Grade.VIP, "重点": Grade.VIP, "大客户": Grade.VIP,
    "重要客户": Grade.VIP, "vip客户": Grade.VIP,
    "普通": Grade.NORMAL, "一般": Grade.NORMAL, "普通客户": Grade.NORMAL, "normal": Grade.NORMAL,
    "潜在": Grade.POTENTIAL, "意向": Grade.POTENTIAL, "潜在客户": Grade.POTENTIAL,
    "意向客户": Grade.POTENTIAL, "potential": Grade.POTENTIAL,
}  # fmt: skip
LIFECYCLE_WORDS: dict[str, Lifecycle] = {
    "潜在": Lifecycle.POTENTIAL, "意向": Lifecycle.POTENTIAL, "potential": Lifecycle.POTENTIAL,
    "活跃": Lifecycle.ACTIVE, "合作中": Lifecycle.ACTIVE, "成交": Lifecycle.ACTIVE,
    "active": Lifecycle.ACTIVE,
    "沉默": Lifecycle.DORMANT, "沉睡": Lifecycle.DORMANT, "休眠": Lifecycle.DORMANT,
    "不活跃": Lifecycle.DORMANT, "dormant": Lifecycle.DORMANT,
}  # fmt: skip

# Field -> label used in the report's "updated: 公司、等级" lists.
FIELD_LABELS = {**COLUMNS, "notes": "备注"}

# Excel runs a cell starting with one of these as a formula. Export prefixes such text
# with an apostrophe in CSV (the usual defence against formula injection) and import
# takes it off again, so the round trip is exact.
FORMULA_START = ("=", "+", "-", "@")

SUPPORTED = (".xlsx", ".csv")
PROGRESS_EVERY = 1000
# The header is looked for in the first rows: some sheets start with a title line.
HEADER_SEARCH_ROWS = 10

Progress = Callable[[int, int], None]


class CustomerFileError(Exception):
    """The file as a whole cannot be read or written; the message is for the user."""


# --- reading -----------------------------------------------------------------------------


@dataclass
class Sheet:
    """The rows of a customer file: (spreadsheet row number, field -> raw cell)."""

    path: Path
    rows: list[tuple[int, dict[str, Any]]]
    ignored_headers: list[str] = field(default_factory=list)


def _header_key(text: Any) -> str:
    # 「 手机号码* 」, 「姓名（必填）」, 「Phone」 all name their column.
    value = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    value = re.sub(r"[(（\[【].*?[)）\]】]", "", value)
    return re.sub(r"[\s*:：]", "", value)


def check_path(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        shown = suffix or "无扩展名"
        raise CustomerFileError(
            f"不支持的文件类型（{shown}）：请使用 .xlsx 或 .csv（.xls 请先在 Excel 里另存为 .xlsx）"
        )
    return suffix


def read_customer_file(path: str | Path) -> Sheet:
    """The customer rows of ``path`` (.xlsx or .csv), blank rows left out.

    Raises :class:`CustomerFileError` for a missing, unreadable, corrupt or headerless file.
    """
    path = Path(path)
    suffix = check_path(path)
    if not path.exists():
        raise CustomerFileError(f"找不到文件：{path}")
    if not path.is_file():
        raise CustomerFileError(f"不是文件：{path}")
    try:
        raw_rows = _xlsx_rows(path) if suffix == ".xlsx" else _csv_rows(path)
        return _to_sheet(path, raw_rows)
    except OSError as exc:
        raise CustomerFileError(f"无法读取文件 {path}：{exc.strerror or exc}") from None


def _xlsx_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # read_only streams the sheet, so a 100 000-row file does not need it all in
        # memory as cell objects; data_only reads a formula's cached value, not its text.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, EOFError) as exc:
        raise CustomerFileError(
            f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 格式"
        ) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise CustomerFileError(f"Excel 文件 {path.name} 里没有工作表")
        try:
            yield from sheet.iter_rows(values_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
            # A truncated file can open and then fail on the sheet's XML.
            raise CustomerFileError(
                f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 格式"
            ) from exc
        except Exception as exc:  # lxml/ElementTree parse errors have no common base
            if type(exc).__name__ in {"ParseError", "XMLSyntaxError"}:
                raise CustomerFileError(
                    f"无法读取 Excel 文件 {path.name}：文件已损坏或不是 .xlsx 格式"
                ) from exc
            raise
    finally:
        workbook.close()


def decode_csv(data: bytes) -> str:
    """UTF-8 (Excel's 「CSV UTF-8」 adds a BOM) or GB18030, a superset of the GBK that
    Chinese Excel writes plain 「CSV」 in; anything else is refused, not guessed."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CustomerFileError("无法识别 CSV 文件的编码：请保存为 UTF-8 或 GBK/GB18030 编码")


def _csv_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    text = decode_csv(path.read_bytes())
    if "\x00" in text:
        raise CustomerFileError(f"{path.name} 不是文本格式的 CSV 文件（含有二进制内容）")
    try:
        # csv.Sniffer guesses wrong on one-column files; Chinese exports use commas, and
        # tab-separated text is common when copied out of Excel.
        first_line = text.split("\n", 1)[0]
        delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
        yield from (tuple(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise CustomerFileError(f"CSV 文件 {path.name} 格式有误：{exc}") from None


def _to_sheet(path: Path, raw_rows: Iterator[tuple[Any, ...]]) -> Sheet:
    columns: dict[int, str] | None = None
    ignored: list[str] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(raw_rows, start=1):
        if columns is None:
            if number > HEADER_SEARCH_ROWS:
                break
            keys = [_HEADERS.get(_header_key(cell)) for cell in raw]
            if "name" not in keys:
                continue
            columns = {}
            for index, (cell, key) in enumerate(zip(raw, keys, strict=True)):
                if key is not None and key not in columns.values():
                    columns[index] = key
                elif _header_key(cell):
                    ignored.append(str(cell).strip())
            continue
        values = {key: raw[index] for index, key in columns.items() if index < len(raw)}
        if any(cell_text(v) for v in values.values()):
            rows.append((number, values))
    if columns is None:
        raise CustomerFileError(
            f"{path.name} 里找不到表头「姓名」：第一行应是列名，如 " + "、".join(COLUMNS.values())
        )
    return Sheet(path, rows, ignored)


def cell_text(value: Any) -> str:
    """A cell as trimmed text: Excel gives 13800138000 back as int or float."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        text = text[1:]
    return text
