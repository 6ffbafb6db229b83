"""Exporting every customer to .xlsx or .csv, in the column set import reads back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bot.crypto import FieldCipher
from models.audit import AuditLog
from models.customer_io.sheet import COLUMNS, FORMULA_START, CustomerFileError, check_path
from models.customers import (
    Customer,
    address_of,
    birthday_of,
    phone_of,
)
from models.enums import Grade, Lifecycle
from models.staff import Staff

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
    suffix = check_path(path)
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
            writer.writerow(["'" + v if v.startswith(FORMULA_START) else v for v in row])
