"""Customers in and out of spreadsheets: the rules behind ``wecrm import`` and
``wecrm export`` (and any later chat command that takes a file).

One column set both ways — 姓名, 公司, 行业, 规模, 类别, 等级, 生命周期, 电话, 地址,
生日, 负责人, 备注 — so an export can be edited in Excel and imported again.

Import, row by row:

* every cell goes through the parsers the chat uses (``bot.parsing``): a row with
  any invalid cell is skipped with all its reasons, never saved half-read;
* a row is the same customer as an existing one when the phone matches (keyed hash,
  nothing decrypted), else when name and company are the same and the phones do not
  contradict each other (two people with different phones are two people);
* the second row of a file naming a customer already named by an earlier row is
  skipped as a duplicate, by the same rule, so a file never updates a customer twice;
* the whole file is one transaction: a real run is all or nothing, and a dry run is
  the same run rolled back, so its report is by construction the one a real run gives.

Reading accepts .xlsx (openpyxl) and .csv in UTF-8 (with or without BOM) or GB18030,
the encoding Chinese Excel writes "CSV" in. A file that cannot be read raises
:class:`CustomerFileError` with one line in Chinese for the user.
"""

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
from typing import Any, TextIO

from tortoise.transactions import in_transaction

from bot.crypto import FieldCipher
from bot.parsing.birthdays import Birthday, InvalidBirthday, parse_birthday
from bot.parsing.phones import parse_phone
from models.audit import AuditLog
from models.customers import (
    Customer,
    CustomerDraft,
    address_of,
    birthday_of,
    create_customer,
    name_pinyin,
    phone_fields,
    phone_of,
    update_customer,
)
from models.enums import Grade, Lifecycle
from models.staff import Staff

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
_FORMULA_START = ("=", "+", "-", "@")

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


def _check_path(path: Path) -> str:
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
    suffix = _check_path(path)
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
        if any(_text(v) for v in values.values()):
            rows.append((number, values))
    if columns is None:
        raise CustomerFileError(
            f"{path.name} 里找不到表头「姓名」：第一行应是列名，如 " + "、".join(COLUMNS.values())
        )
    return Sheet(path, rows, ignored)


def _text(value: Any) -> str:
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
    if text.startswith("'") and text[1:2] in _FORMULA_START:
        text = text[1:]
    return text


# --- validating --------------------------------------------------------------------------


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
    text = _text(value)
    if not text:
        return None
    try:
        parsed = parse_birthday(text)
    except InvalidBirthday:
        parsed = None
    if parsed is None:
        raise ValueError(
            f"生日无法识别「{_shorten(text)}」（例如 3月5日、1990-03-05、农历八月十五）"
        )
    return parsed


def _shorten(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _no_owner(name: str) -> str:
    return f"负责人不存在或已停用「{_shorten(name)}」"


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
    text = {key: _text(values.get(key)) for key in COLUMNS}
    if not text["name"]:
        reasons.append("缺少姓名")
    for key, limit in MAX_LENGTH.items():
        if len(text[key]) > limit:
            reasons.append(f"{COLUMNS[key]}过长（最多 {limit} 个字）")
    phone = None
    if text["phone"]:
        phone = parse_phone(text["phone"])
        if phone is None:
            reasons.append(f"手机号无效「{_shorten(text['phone'])}」")
    birthday = None
    try:
        birthday = _birthday(values.get("birthday"))
    except ValueError as exc:
        reasons.append(str(exc))
    grade = GRADE_WORDS.get(text["grade"].lower().replace(" ", ""))
    if text["grade"] and grade is None:
        reasons.append(f"等级无法识别「{_shorten(text['grade'])}」（可填 VIP、普通、潜在）")
    lifecycle = LIFECYCLE_WORDS.get(text["lifecycle"].lower().replace(" ", ""))
    if text["lifecycle"] and lifecycle is None:
        reasons.append(
            f"生命周期无法识别「{_shorten(text['lifecycle'])}」（可填 潜在、活跃、沉默）"
        )
    owner = None
    inactive: list[Staff] = []
    if text["owner"]:
        found = staff_by_name.get(text["owner"], [])
        if not found:
            inactive = (inactive_by_name or {}).get(text["owner"], [])
            if not inactive or reasons:
                reasons.append(_no_owner(text["owner"]))
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


# --- importing ---------------------------------------------------------------------------


@dataclass
class Skipped:
    row: int
    name: str
    reason: str


@dataclass
class Updated:
    row: int
    name: str
    fields: list[str]


@dataclass
class Warned:
    """A row imported, but with something the administrator should know."""

    row: int
    name: str
    reason: str


@dataclass
class ImportReport:
    file: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: list[Updated] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    warnings: list[Warned] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
        }


class _Rollback(Exception):
    """Raised at the end of a dry run to undo everything it wrote."""


async def staff_directory(*, active: bool = True) -> dict[str, list[Staff]]:
    """Active (or deactivated) staff by name; a list, because two people may share a
    name."""
    directory: dict[str, list[Staff]] = {}
    for member in await Staff.filter(active=active).order_by("id"):
        directory.setdefault(member.name.strip(), []).append(member)
    return directory


async def resolve_owner(name: str) -> Staff:
    """The one active staff member called ``name`` (``--owner``), or a CustomerFileError."""
    found = (await staff_directory()).get(name.strip(), [])
    if len(found) != 1:
        why = "不存在或已停用" if not found else "重名，无法确定是哪一位"
        raise CustomerFileError(f"--owner 指定的负责人「{name}」{why}")
    return found[0]


async def import_customers(
    sheet: Sheet,
    cipher: FieldCipher,
    *,
    dry_run: bool = False,
    default_owner: Staff | None = None,
    progress: Progress | None = None,
    actor: str = "cli",
) -> ImportReport:
    """Create or update a customer per row of ``sheet``; with ``dry_run`` the same work is
    done and then rolled back, so the report is exactly what a real run would say.

    ``default_owner`` (``--owner``) is given to new customers whose 负责人 cell is empty,
    and to existing ones that have no owner yet; an owned customer keeps their owner
    unless the file names another.
    """
    report = ImportReport(sheet.path.name, dry_run, ignored_headers=list(sheet.ignored_headers))
    total = len(sheet.rows)
    try:
        async with in_transaction():
            staff_by_name = await staff_directory()
            inactive_by_name = await staff_directory(active=False)
            seen = _SeenInFile()
            for done, (number, values) in enumerate(sheet.rows, start=1):
                await _import_row(
                    number,
                    values,
                    (staff_by_name, inactive_by_name),
                    seen,
                    cipher,
                    default_owner,
                    report,
                )
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                    progress(done, total)
            report.rows = total
            if dry_run:
                raise _Rollback
            await AuditLog.create(
                actor=actor,
                actor_role="admin",
                action="customer.import",
                target=sheet.path.name[:96],
                detail=report.counts(),
            )
    except _Rollback:
        pass
    return report


@dataclass
class _SeenInFile:
    """Earlier rows of the file, to spot a customer named twice."""

    by_phone: dict[str, int] = field(default_factory=dict)
    # (name, company) -> (first row, whether that row had a phone)
    by_name: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)

    def duplicate_of(self, draft: CustomerDraft) -> str | None:
        if draft.phone and draft.phone in self.by_phone:
            return f"与第 {self.by_phone[draft.phone]} 行重复（同一手机号）"
        earlier = self.by_name.get((draft.name, draft.company))
        # Same name and company is the same person unless both rows give a phone (then
        # the phones differ, or the check above caught it): the rule of _match.
        if earlier is not None and not (draft.phone and earlier[1]):
            return f"与第 {earlier[0]} 行重复（同名同公司）"
        return None

    def add(self, number: int, draft: CustomerDraft) -> None:
        if draft.phone:
            self.by_phone.setdefault(draft.phone, number)
        self.by_name.setdefault((draft.name, draft.company), (number, bool(draft.phone)))


async def _import_row(
    number: int,
    values: dict[str, Any],
    staff: tuple[dict[str, list[Staff]], dict[str, list[Staff]]],
    seen: _SeenInFile,
    cipher: FieldCipher,
    default_owner: Staff | None,
    report: ImportReport,
) -> None:
    name = _shorten(_text(values.get("name")))
    parsed = parse_row(number, values, *staff)
    if isinstance(parsed, list):
        report.skipped.append(Skipped(number, name, "；".join(parsed)))
        return
    draft = parsed.draft
    duplicate = seen.duplicate_of(draft)
    if duplicate is not None:
        report.skipped.append(Skipped(number, name, duplicate))
        return
    existing = await _match(cipher, draft)
    if isinstance(existing, str):
        report.skipped.append(Skipped(number, name, existing))
        return
    if parsed.inactive_owner_ids:
        # Deactivated staff own no new customers and are given no one else's; a file
        # exported before they left still updates the customers they own.
        if existing is None or existing.owner_id not in parsed.inactive_owner_ids:  # type: ignore[attr-defined]
            report.skipped.append(Skipped(number, name, _no_owner(parsed.inactive_owner_name)))
            return
        report.warnings.append(
            Warned(
                number,
                name,
                f"负责人「{_shorten(parsed.inactive_owner_name)}」已停用，保留原负责人，"
                "请尽快把客户转给在职同事",
            )
        )
    seen.add(number, draft)
    if existing is None:
        await create_customer(cipher, draft, parsed.owner or default_owner)
        report.created += 1
        return
    # Empty cells leave what is stored alone: update_customer always writes grade and
    # lifecycle, so give it the current ones when the file says nothing.
    if not parsed.has_grade:
        draft.grade = Grade(existing.grade)
    if not parsed.has_lifecycle:
        draft.lifecycle = Lifecycle(existing.lifecycle)
    owner = parsed.owner
    if owner is None and existing.owner_id is None:  # type: ignore[attr-defined]
        owner = default_owner
    changed = await update_customer(cipher, existing, draft, owner)
    if draft.phone and not existing.phone_enc:
        # Matched by name and company: the file brings the phone the lead lacked.
        existing.update_from_dict(phone_fields(cipher, draft.phone))
        await existing.save(update_fields=["phone_enc", "phone_hash", "phone_last4", "updated_at"])
        changed.append("phone")
    if changed:
        report.updated.append(Updated(number, name, changed))
    else:
        report.unchanged += 1


async def _match(cipher: FieldCipher, draft: CustomerDraft) -> Customer | str | None:
    """The existing customer this row is, None for a new one, or why it is unclear."""
    if draft.phone:
        found = await Customer.filter(phone_hash=cipher.phone_hash(draft.phone)).first()
        if found is not None:
            return found
    # The initials are indexed and the name is not: filtering on both finds the
    # same-name rows of a 100 000-customer table without scanning it.
    _full, initials = name_pinyin(draft.name)
    candidates = await Customer.filter(
        name_initials=initials, name=draft.name, company=draft.company
    ).order_by("id")
    if draft.phone:
        # A namesake with another phone is another person.
        candidates = [c for c in candidates if not c.phone_enc]
    if len(candidates) > 1:
        return f"已有 {len(candidates)} 位同名同公司的客户，无法确定更新哪一位"
    return candidates[0] if candidates else None


async def import_file(
    path: str | Path,
    cipher: FieldCipher,
    *,
    dry_run: bool = False,
    owner_name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Read ``path`` and import it: the whole of ``wecrm import`` but the printing."""
    sheet = read_customer_file(path)
    default_owner = await resolve_owner(owner_name) if owner_name else None
    return await import_customers(
        sheet, cipher, dry_run=dry_run, default_owner=default_owner, progress=progress
    )


def format_report(report: ImportReport, *, max_updated: int = 100) -> str:
    """The report printed at the end of an import: counts, then every skipped row."""
    mode = "试运行，没有写入任何数据" if report.dry_run else "已写入"
    lines = [
        f"导入 {report.file}（{mode}）",
        f"共 {report.rows} 行：新建 {report.created}，更新 {len(report.updated)}，"
        f"无变化 {report.unchanged}，跳过 {len(report.skipped)}",
    ]
    if report.ignored_headers:
        lines.append("未识别的列（已忽略）：" + "、".join(report.ignored_headers))
    if report.updated:
        lines.append("更新的行：")
        for item in report.updated[:max_updated]:
            labels = "、".join(FIELD_LABELS.get(f, f) for f in item.fields)
            lines.append(f"  第 {item.row} 行 {item.name}：{labels}")
        if len(report.updated) > max_updated:
            lines.append(f"  …另有 {len(report.updated) - max_updated} 行")
    if report.warnings:
        lines.append("提示：")
        for note in report.warnings:
            who = f" {note.name}" if note.name else ""
            lines.append(f"  第 {note.row} 行{who}：{note.reason}")
    if report.skipped:
        lines.append("跳过的行：")
        for item in report.skipped:
            who = f" {item.name}" if item.name else ""
            lines.append(f"  第 {item.row} 行{who}：{item.reason}")
    return "\n".join(lines)


# --- exporting ---------------------------------------------------------------------------

EXPORT_BATCH = 1000


async def export_rows(cipher: FieldCipher) -> list[list[str]]:
    """Every customer as a row of :data:`COLUMNS`, phone and address decrypted."""
    owners = {s.id: s.name for s in await Staff.all()}
    rows: list[list[str]] = []
    last_id = 0
    # Keyset pages: memory stays flat per batch and no OFFSET rescans.
    while True:
        batch = await Customer.filter(id__gt=last_id).order_by("id").limit(EXPORT_BATCH)
        if not batch:
            return rows
        for c in batch:
            birthday = birthday_of(c)
            rows.append(
                [
                    c.name,
                    c.company,
                    c.industry,
                    c.size,
                    c.category,
                    Grade(c.grade).label,
                    Lifecycle(c.lifecycle).label,
                    phone_of(c, cipher) or "",
                    address_of(c, cipher) or "",
                    birthday.label() if birthday else "",
                    owners.get(c.owner_id, "") if c.owner_id else "",  # type: ignore[attr-defined]
                    c.notes,
                ]
            )
        last_id = batch[-1].id


async def export_customers(path: str | Path, cipher: FieldCipher, *, actor: str = "cli") -> int:
    """Write every customer to ``path`` (.xlsx or .csv); the number written.

    Phone and address are decrypted: this is an administrator's tool, and the export
    is recorded in the audit log.
    """
    path = Path(path)
    suffix = _check_path(path)
    from bot.crypto import DecryptionError

    try:
        rows = await export_rows(cipher)
    except DecryptionError:
        raise CustomerFileError(
            "无法解密客户的手机号或地址：security.data_key 与写入数据时的不一致"
        ) from None
    try:
        if suffix == ".xlsx":
            _write_xlsx(path, rows)
        else:
            _write_csv(path, rows)
    except OSError as exc:
        raise CustomerFileError(f"无法写入文件 {path}：{exc.strerror or exc}") from None
    await AuditLog.create(
        actor=actor,
        actor_role="admin",
        action="customer.export",
        target=path.name[:96],
        detail={"rows": len(rows)},
    )
    return len(rows)


def _write_xlsx(path: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("客户")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in COLUMNS.values():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    phone_column = list(COLUMNS).index("phone")
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=value)
            # Text, always: openpyxl would store 「=…」 as a formula, and Excel shows a
            # phone typed as a number as 1.38E+10.
            cell.data_type = "s"
            if index == phone_column:
                cell.number_format = "@"
            cells.append(cell)
        sheet.append(cells)
    # Into memory first: a write-only workbook that fails half-way (no such directory)
    # leaves a generator that prints a traceback when collected; and no half-written file.
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    # utf-8-sig: the BOM makes Excel open the file as UTF-8 instead of the local code page.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS.values())
        for row in rows:
            writer.writerow(["'" + v if v.startswith(_FORMULA_START) else v for v in row])


def progress_printer(stream: TextIO) -> Progress:
    """A progress callback for the CLI: a redrawn bar on a terminal, a plain line per
    :data:`PROGRESS_EVERY` rows in a log; silent for files smaller than that."""
    interactive = stream.isatty()

    def show(done: int, total: int) -> None:
        if total < PROGRESS_EVERY:
            return
        percent = done * 100 // total
        if interactive:
            bar = "#" * (percent // 5)
            end = "\n" if done == total else ""
            stream.write(f"\r导入中 [{bar:<20}] {done}/{total} 行（{percent}%）{end}")
        else:
            stream.write(f"导入中：{done}/{total} 行（{percent}%）\n")
        stream.flush()

    return show
