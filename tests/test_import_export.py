"""``wecrm import`` / ``wecrm export``: spreadsheets of customers in and out.

Good and bad rows (xlsx, UTF-8 csv, GB18030 csv), dry runs that write nothing yet
report the same, update versus create, export → import round trips, encryption at
rest after an import, and files that cannot be read at all.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from tortoise import Tortoise

from bot.parsing.birthdays import Birthday
from models import AuditLog, Customer, Staff
from models.customer_io.exporting import export_customers
from models.customer_io.importing import ImportReport, format_report, import_file
from models.customer_io.sheet import COLUMNS, CustomerFileError, read_customer_file
from models.customers import CustomerDraft, address_of, create_customer, phone_of
from models.enums import Grade, Lifecycle
from tests.sales_helpers import CIPHER, team
from tests.test_migrations_and_cli import run_cli, write_config

HEADER = ["姓名", "公司", "行业", "规模", "类别", "等级", "生命周期", "电话", "地址", "生日",
          "负责人", "备注"]  # fmt: skip

# Row 2 onwards (row 1 is the header). Good rows, then one bad row per kind of problem;
# the comment gives the spreadsheet row number.
MIXED_ROWS = [
    ["张三", "华东精密机械有限公司", "制造业", "200-1000人", "企业客户", "VIP", "活跃",
     "138 0013 8000", "上海市中山路1号", "1990年3月5日", "李明", "偏好微信"],  # 2 ok
    ["李娜", "苏州禾丰食品有限公司", "食品加工", "", "", "普通", "沉默",
     "+86 139-0013-9000", "", "农历八月十五", "张伟", ""],  # 3 ok
    ["王强", "", "", "", "个人客户", "", "", "", "", "", "", "只留了名字"],  # 4 ok
    ["赵敏", "成都蜀味餐饮", "", "", "", "", "", "1380013", "", "", "", ""],  # 5 bad phone
    ["", "某公司", "", "", "", "", "", "13700137000", "", "", "", ""],  # 6 no name
    ["孙丽", "", "", "", "", "", "", "13600136000", "", "", "王老五", ""],  # 7 unknown owner
    ["周杰", "", "", "", "", "超级", "", "", "", "", "", ""],  # 8 bad grade
    ["吴刚", "", "", "", "", "", "失联", "", "", "", "", ""],  # 9 bad lifecycle
    ["郑晓燕", "", "", "", "", "", "", "", "", "2月30日", "", ""],  # 10 bad birthday
    ["张三丰", "", "", "", "", "", "", "13800138000", "", "", "", ""],  # 11 dup phone
    ["王强", "", "", "", "", "普通", "", "", "", "", "", ""],  # 12 dup name of 4
    ["", "", "", "", "", "", "", "", "", "", "", ""],  # 13 blank: ignored
    ["冯磊", "青岛蓝海水产", "", "", "", "潜在", "潜在", "13512345678", "", "3-5",
     "李明", ""],  # 14 ok
]  # fmt: skip

EXPECTED_SKIPS = {
    5: "手机号无效「1380013」",
    6: "缺少姓名",
    7: "负责人不存在或已停用「王老五」",
    8: "等级无法识别「超级」",
    9: "生命周期无法识别「失联」",
    10: "生日无法识别「2月30日」",
    11: "与第 2 行重复（同一手机号）",
    12: "与第 4 行重复（同名同公司）",
}


def write_file(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    """``rows`` under ``header`` as .xlsx, or as .csv in the encoding the name says
    (``x.gb18030.csv`` → GB18030, else UTF-8 with BOM as Excel writes it)."""
    if path.suffix == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        workbook.save(path)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = "gb18030" if path.name.endswith(".gb18030.csv") else "utf-8-sig"
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def skips(report: ImportReport) -> dict[int, str]:
    return {s.row: s.reason for s in report.skipped}


@pytest.mark.parametrize("filename", ["mixed.xlsx", "mixed.csv", "mixed.gb18030.csv"])
async def test_good_and_bad_rows(db: str, tmp_path: Path, filename: str) -> None:
    li_ming, zhang_wei, _manager = await team()
    path = write_file(tmp_path / filename, MIXED_ROWS)
    if filename.endswith("gb18030.csv"):
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")  # really not UTF-8

    report = await import_file(path, CIPHER)

    assert report.counts() == {
        "rows": 12,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "skipped": 8,
    }
    found = skips(report)
    assert sorted(found) == sorted(EXPECTED_SKIPS)
    for row, reason in EXPECTED_SKIPS.items():
        assert found[row].startswith(reason), (row, found[row])
    assert "等级无法识别「超级」（可填 VIP、普通、潜在）" in found[8]

    zhang = await Customer.get(name="张三")
    assert (zhang.company, zhang.industry, zhang.size) == (
        "华东精密机械有限公司",
        "制造业",
        "200-1000人",
    )
    assert (zhang.grade, zhang.lifecycle) == (Grade.VIP, Lifecycle.ACTIVE)
    assert zhang.owner_id == li_ming.id  # type: ignore[attr-defined]
    assert phone_of(zhang, CIPHER) == "13800138000"
    assert address_of(zhang, CIPHER) == "上海市中山路1号"
    assert (zhang.birthday_year, zhang.birthday_month, zhang.birthday_day) == (1990, 3, 5)
    assert (zhang.name_pinyin, zhang.name_initials) == ("zhangsan", "zs")
    li = await Customer.get(name="李娜")
    assert phone_of(li, CIPHER) == "13900139000" and li.phone_last4 == "9000"
    assert (li.birthday_month, li.birthday_day, li.birthday_lunar) == (8, 15, True)
    assert (li.grade, li.lifecycle) == (Grade.NORMAL, Lifecycle.DORMANT)
    assert li.owner_id == zhang_wei.id  # type: ignore[attr-defined]
    wang = await Customer.get(name="王强")
    assert wang.grade == Grade.POTENTIAL and wang.phone_enc is None and wang.owner_id is None  # type: ignore[attr-defined]
    assert wang.notes == "只留了名字" and wang.category == "个人客户"
    assert await Customer.all().count() == 4

    text = format_report(report)
    assert f"导入 {path.name}（已写入）" in text
    assert "共 12 行：新建 4，更新 0，无变化 0，跳过 8" in text
    assert "  第 5 行 赵敏：手机号无效「1380013」" in text
    assert "  第 6 行：缺少姓名" in text
    audit = await AuditLog.get(action="customer.import")
    assert audit.detail["created"] == 4 and audit.target == path.name


async def test_dry_run_writes_nothing_and_reports_the_same(db: str, tmp_path: Path) -> None:
    await team()
    path = write_file(tmp_path / "mixed.xlsx", MIXED_ROWS)
    # An existing customer, so the dry run also has an update to report.
    existing = await create_customer(
        CIPHER, CustomerDraft(name="李娜", phone="13900139000", company="旧公司"), None
    )

    dry = await import_file(path, CIPHER, dry_run=True)

    assert await Customer.all().count() == 1
    again = await Customer.get(id=existing.id)
    assert again.company == "旧公司" and again.grade == Grade.POTENTIAL
    assert not await AuditLog.filter(action="customer.import").exists()
    assert "试运行，没有写入任何数据" in format_report(dry)

    real = await import_file(path, CIPHER)

    assert (
        dry.counts()
        == real.counts()
        == {
            "rows": 12,
            "created": 3,
            "updated": 1,
            "unchanged": 0,
            "skipped": 8,
        }
    )
    assert dry.skipped == real.skipped and dry.updated == real.updated
    assert format_report(dry).splitlines()[1:] == format_report(real).splitlines()[1:]
    assert (await Customer.get(id=existing.id)).company == "苏州禾丰食品有限公司"


async def test_update_versus_create(db: str, tmp_path: Path) -> None:
    li_ming, zhang_wei, _ = await team()
    default = await Staff.create(name="刘洋", role="rep")
    by_phone = await create_customer(
        CIPHER,
        CustomerDraft(name="张三", phone="13800138000", company="华东精密", grade=Grade.VIP),
        li_ming,
    )
    lead = await create_customer(CIPHER, CustomerDraft(name="李娜", company="禾丰食品"), None)
    namesake = await create_customer(
        CIPHER, CustomerDraft(name="王伟", phone="13700137000", company="恒通物流"), zhang_wei
    )
    twin_a = await create_customer(CIPHER, CustomerDraft(name="陈静", company="某某"), None)
    await create_customer(CIPHER, CustomerDraft(name="陈静", company="某某"), None)
    rows = [
        # Same phone, other spelling and name: that customer; empty 等级 keeps VIP,
        # the owned customer keeps their owner despite --owner.
        ["张三", "华东精密机械有限公司", "", "", "", "", "活跃", "+86 13800138000", "", "", "", ""],
        # Same name and company, no phone on file: updated, the phone filled in.
        ["李娜", "禾丰食品", "", "", "", "VIP", "", "13900139000", "", "", "", ""],
        # Same name and company but another phone: another person.
        ["王伟", "恒通物流", "", "", "", "", "", "13600136000", "", "", "", ""],
        # Two customers fit: which one is unclear.
        ["陈静", "某某", "", "", "", "普通", "", "", "", "", "", ""],
        # Brand new.
        ["何晓峰", "湘江电子", "", "", "", "", "", "", "", "", "", ""],
        # Matches by phone but nothing differs.
        ["王伟", "恒通物流", "", "", "", "潜在", "潜在", "13700137000", "", "", "张伟", ""],
    ]
    path = write_file(tmp_path / "update.csv", rows)

    report = await import_file(path, CIPHER, owner_name="刘洋")

    assert report.counts() == {
        "rows": 6,
        "created": 2,
        "updated": 2,
        "unchanged": 1,
        "skipped": 1,
    }
    assert skips(report) == {5: "已有 2 位同名同公司的客户，无法确定更新哪一位"}
    assert {u.row: u.fields for u in report.updated} == {
        2: ["company", "lifecycle"],
        3: ["grade", "owner", "phone"],
    }
    zhang = await Customer.get(id=by_phone.id)
    assert zhang.company == "华东精密机械有限公司"
    assert (zhang.grade, zhang.lifecycle) == (Grade.VIP, Lifecycle.ACTIVE)
    assert zhang.owner_id == li_ming.id and zhang.name == "张三"  # type: ignore[attr-defined]
    li = await Customer.get(id=lead.id)
    assert li.grade == Grade.VIP and phone_of(li, CIPHER) == "13900139000"
    assert li.phone_hash == CIPHER.phone_hash("13900139000") and li.phone_last4 == "9000"
    assert li.owner_id == default.id  # type: ignore[attr-defined]
    wangs = await Customer.filter(name="王伟").order_by("id")
    assert [phone_of(w, CIPHER) for w in wangs] == ["13700137000", "13600136000"]
    assert wangs[0].id == namesake.id and wangs[1].owner_id == default.id  # type: ignore[attr-defined]
    assert (await Customer.get(id=twin_a.id)).grade == Grade.POTENTIAL
    assert (await Customer.get(name="何晓峰")).owner_id == default.id  # type: ignore[attr-defined]
    text = format_report(report)
    assert "  第 3 行 李娜：等级、负责人、电话" in text


async def _sample_customers() -> None:
    li_ming, zhang_wei, _ = await team()
    await create_customer(
        CIPHER,
        CustomerDraft(
            name="张三",
            phone="13800138000",
            company="华东精密机械有限公司",
            industry="制造业",
            size="200-1000人",
            category="企业客户",
            grade=Grade.VIP,
            lifecycle=Lifecycle.ACTIVE,
            birthday=Birthday(3, 5, 1990),
            address="上海市中山路1号",
            notes='=HYPERLINK("http://x")',
        ),
        li_ming,
    )
    await create_customer(
        CIPHER,
        CustomerDraft(
            name="李娜",
            phone="01012345678",
            company="禾丰食品",
            grade=Grade.NORMAL,
            lifecycle=Lifecycle.DORMANT,
            birthday=Birthday(12, 23, None, lunar=True),
            notes="-5% 折扣",
        ),
        zhang_wei,
    )
    await create_customer(CIPHER, CustomerDraft(name="王强", birthday=Birthday(2, 29)), None)


async def _snapshot() -> list[tuple[Any, ...]]:
    owners = {s.id: s.name for s in await Staff.all()}
    return [
        (
            c.name, c.company, c.industry, c.size, c.category, c.grade, c.lifecycle,
            phone_of(c, CIPHER), address_of(c, CIPHER), c.birthday_month, c.birthday_day,
            c.birthday_year, c.birthday_lunar, owners.get(c.owner_id), c.notes,  # type: ignore[attr-defined]
            c.phone_hash, c.phone_last4, c.name_pinyin, c.name_initials,
        )
        for c in await Customer.all().order_by("name")
    ]  # fmt: skip


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_export_then_import_round_trips(db: str, tmp_path: Path, suffix: str) -> None:
    await _sample_customers()
    before = await _snapshot()
    path = tmp_path / f"customers{suffix}"
    config = str(write_config(tmp_path, db))

    result = run_cli("--config", config, "export", str(path))

    assert result.returncode == 0, result.stderr
    assert "已导出 3 位客户" in result.stdout
    sheet = read_customer_file(path)
    assert [n for n, _ in sheet.rows] == [2, 3, 4] and not sheet.ignored_headers
    if suffix == ".xlsx":
        ws = load_workbook(path).active
        assert [c.value for c in ws[1]] == list(COLUMNS.values())
        assert ws["H2"].value == "13800138000" and ws["H2"].data_type == "s"
        assert ws["L2"].value.startswith("=") and ws["L2"].data_type == "s"  # not a formula
    else:
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
        lines = raw.decode("utf-8-sig").splitlines()
        assert lines[0] == ",".join(COLUMNS.values())
        assert "'=HYPERLINK" in lines[1] and "13800138000" in lines[1]
        assert "农历腊月廿三" in raw.decode("utf-8-sig")

    # Into the same database: everything already there, nothing changes.
    same = await import_file(path, CIPHER)
    assert same.counts() == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3, "skipped": 0}

    # Into an empty one (staff kept): the same customers come back.
    await Customer.all().delete()
    fresh = await import_file(path, CIPHER)
    assert fresh.counts()["created"] == 3 and not fresh.skipped
    assert await _snapshot() == before


async def test_raw_columns_hold_no_phone_after_import(db: str, tmp_path: Path) -> None:
    await team()
    await import_file(write_file(tmp_path / "mixed.csv", MIXED_ROWS), CIPHER)
    conn = Tortoise.get_connection("default")
    rows = await conn.execute_query_dict('SELECT * FROM "customer"')
    assert len(rows) == 4
    # Timestamps left out: their microseconds may spell 「0013」 by chance.
    dump = repr([{k: v for k, v in r.items() if not k.endswith("_at")} for r in rows])
    for number in ("13800138000", "13900139000", "13512345678", "0013", "中山路"):
        assert number not in dump
    zhang = next(r for r in rows if r["name"] == "张三")
    assert zhang["phone_enc"].startswith("v1:") and zhang["address_enc"].startswith("v1:")
    assert zhang["phone_hash"] == CIPHER.phone_hash("13800138000")
    assert zhang["phone_last4"] == "8000"


async def test_header_variants_title_row_and_excel_cells(db: str, tmp_path: Path) -> None:
    await team()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2026年客户名单"])  # a title line above the header
    sheet.append(
        ["客户名称", "手机号码", "客户等级", "状态", "出生日期", "所属销售", "公司名称*", "微信"]
    )
    sheet.append(
        ["张三", 13800138000, "vip", "活跃", datetime(1990, 3, 5), "李明", "华东", "zs123"]
    )
    sheet.append(["李娜", 13900139000.0, "重要客户", "休眠", date(1985, 12, 1), "", "", ""])
    sheet.append(["王强", "＋８６ １３７００１３７０００", "一般", "", "1988/7/9", "", "", ""])
    path = tmp_path / "variants.xlsx"
    workbook.save(path)

    report = await import_file(path, CIPHER)

    assert report.counts()["created"] == 3 and not report.skipped
    assert report.ignored_headers == ["微信"]
    assert "未识别的列（已忽略）：微信" in format_report(report)
    zhang = await Customer.get(name="张三")
    assert phone_of(zhang, CIPHER) == "13800138000" and zhang.company == "华东"
    assert (zhang.grade, zhang.lifecycle) == (Grade.VIP, Lifecycle.ACTIVE)
    assert (zhang.birthday_year, zhang.birthday_month, zhang.birthday_day) == (1990, 3, 5)
    li = await Customer.get(name="李娜")
    assert phone_of(li, CIPHER) == "13900139000" and li.lifecycle == Lifecycle.DORMANT
    assert li.grade == Grade.VIP and li.birthday_month == 12
    wang = await Customer.get(name="王强")
    assert phone_of(wang, CIPHER) == "13700137000" and wang.grade == Grade.NORMAL
    assert (wang.birthday_year, wang.birthday_month, wang.birthday_day) == (1988, 7, 9)


async def test_too_long_cells_are_refused_not_cut(db: str, tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "long.csv",
        [["张" * 65, "", "", "", "", "", "", "", "", "", "", ""],
         ["李娜", "公" * 129, "", "", "", "", "", "", "", "", "", ""]],
    )  # fmt: skip
    report = await import_file(path, CIPHER)
    assert skips(report) == {2: "姓名过长（最多 64 个字）", 3: "公司过长（最多 128 个字）"}
    assert not await Customer.exists()


# --- the CLI ------------------------------------------------------------------------------


async def test_cli_import_dry_run_then_real(db: str, tmp_path: Path) -> None:
    await team()
    config = str(write_config(tmp_path, db))
    path = write_file(tmp_path / "mixed.gb18030.csv", MIXED_ROWS)

    dry = run_cli("--config", config, "import", str(path), "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "试运行，没有写入任何数据" in dry.stdout
    assert "共 12 行：新建 4，更新 0，无变化 0，跳过 8" in dry.stdout
    assert "第 11 行 张三丰：与第 2 行重复（同一手机号）" in dry.stdout
    assert not await Customer.exists()

    real = run_cli("--config", config, "import", str(path), "--owner", "张伟")

    assert real.returncode == 0, real.stderr
    assert dry.stdout.splitlines()[1:] == real.stdout.splitlines()[1:]
    assert await Customer.all().count() == 4
    # --owner only fills the rows without 负责人.
    assert (await Customer.get(name="王强").prefetch_related("owner")).owner.name == "张伟"
    assert (await Customer.get(name="张三").prefetch_related("owner")).owner.name == "李明"


async def test_cli_progress_on_large_files(db: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db))
    rows = [[f"客户{i:04d}", "", "", "", "", "", "", f"1380000{i:04d}"] for i in range(1500)]
    path = write_file(tmp_path / "large.csv", rows, HEADER[:8])

    result = run_cli("--config", config, "import", str(path), "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "导入中：1000/1500 行（66%）" in result.stderr
    assert "导入中：1500/1500 行（100%）" in result.stderr
    assert "新建 1500" in result.stdout

    quiet = run_cli("--config", config, "import", str(path), "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert await Customer.all().count() == 1500


def _truncated_xlsx(tmp_path: Path) -> Path:
    good = write_file(tmp_path / "good.xlsx", MIXED_ROWS)
    data = good.read_bytes()
    bad = tmp_path / "truncated.xlsx"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def _xlsx_with_broken_sheet(tmp_path: Path) -> Path:
    good = write_file(tmp_path / "good2.xlsx", MIXED_ROWS)
    bad = tmp_path / "broken_sheet.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    return bad


BAD_FILES = {
    "missing": (lambda p: p / "nope.xlsx", "找不到文件"),
    "xls": (lambda p: _write(p / "old.xls", b"\xd0\xcf\x11\xe0"), "不支持的文件类型（.xls）"),
    "txt": (lambda p: _write(p / "notes.txt", "姓名\n张三\n".encode()), "不支持的文件类型"),
    "directory": (lambda p: _mkdir(p / "dir.csv"), "不是文件"),
    "garbage xlsx": (lambda p: _write(p / "garbage.xlsx", b"not a zip"), "文件已损坏"),
    "truncated xlsx": (_truncated_xlsx, "文件已损坏"),
    "broken sheet xml": (_xlsx_with_broken_sheet, "文件已损坏"),
    "csv in neither encoding": (
        lambda p: _write(p / "latin.csv", "姓名\n".encode() + b"\x80\xff\xfe\n"),
        "无法识别 CSV 文件的编码",
    ),
    "binary csv": (lambda p: _write(p / "bin.csv", b"\x00\x01\x02" * 50), "二进制"),
    "no header": (
        lambda p: _write(p / "noheader.csv", "张三,13800138000\n".encode()),
        "表头「姓名」",
    ),
    "empty csv": (lambda p: _write(p / "empty.csv", b""), "表头「姓名」"),
}  # fmt: skip


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_are_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    make, message = BAD_FILES[kind]
    path = make(tmp_path)
    with pytest.raises(CustomerFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_customer_file(path)


@pytest.mark.parametrize("kind", ["missing", "garbage xlsx", "csv in neither encoding", "xls"])
def test_cli_bad_file_exit_1_without_traceback(db_url: str, tmp_path: Path, kind: str) -> None:
    make, message = BAD_FILES[kind]
    config = str(write_config(tmp_path, db_url))
    result = run_cli("--config", config, "import", str(make(tmp_path)))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith("wecrm: ") and "Traceback" not in result.stderr


def test_cli_unknown_owner_and_unwritable_export(db_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db_url))
    path = write_file(tmp_path / "ok.csv", MIXED_ROWS[:1])
    result = run_cli("--config", config, "import", str(path), "--owner", "不存在的人")
    assert result.returncode == 1
    assert result.stderr == "wecrm: --owner 指定的负责人「不存在的人」不存在或已停用\n"

    result = run_cli("--config", config, "export", str(tmp_path / "no" / "such" / "dir.xlsx"))
    assert result.returncode == 1 and "无法写入文件" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1

    result = run_cli("--config", config, "export", str(tmp_path / "out.json"))
    assert result.returncode == 1 and "不支持的文件类型（.json）" in result.stderr


async def test_reimport_after_the_owner_left(db: str, tmp_path: Path) -> None:
    await _sample_customers()
    path = tmp_path / "customers.csv"
    await export_customers(path, CIPHER)
    li_ming = await Staff.get(name="李明")
    li_ming.active = False
    await li_ming.save()
    before = await _snapshot()

    # The same customers, still 李明's: kept as they are, with a warning, not skipped.
    again = await import_file(path, CIPHER)
    assert again.counts() == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3, "skipped": 0}
    assert [(w.row, w.name) for w in again.warnings] == [(2, "张三")]
    assert "李明" in again.warnings[0].reason and "已停用" in again.warnings[0].reason
    assert "第 2 行 张三" in format_report(again).split("提示：")[1]
    assert await _snapshot() == before

    # Someone else's customer cannot be handed to the departed rep: skipped.
    zhang = await Customer.get(name="张三")
    zhang.owner = await Staff.get(name="张伟")
    await zhang.save()
    moved = await import_file(path, CIPHER)
    assert skips(moved) == {2: "负责人不存在或已停用「李明」"} and not moved.warnings
    assert (await Customer.get(name="张三")).owner_id == zhang.owner_id  # type: ignore[attr-defined]

    # A new customer for an inactive owner is still skipped with the reason.
    await Customer.all().delete()
    fresh = await import_file(path, CIPHER)
    assert skips(fresh) == {2: "负责人不存在或已停用「李明」"} and not fresh.warnings
    assert fresh.counts()["created"] == 2
