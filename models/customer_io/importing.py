"""Importing a sheet: matching rows to customers, one transaction per file (a dry run
is the same run rolled back), the report, and the CLI's progress bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tortoise.transactions import in_transaction

from bot.crypto import FieldCipher
from models.audit import AuditLog
from models.customer_io.rows import no_owner, parse_row, shorten
from models.customer_io.sheet import (
    FIELD_LABELS,
    PROGRESS_EVERY,
    CustomerFileError,
    Progress,
    Sheet,
    cell_text,
    read_customer_file,
)
from models.customers import (
    Customer,
    CustomerDraft,
    create_customer,
    name_pinyin,
    phone_fields,
    update_customer,
)
from models.enums import Grade, Lifecycle
from models.staff import Staff


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
    name = shorten(cell_text(values.get("name")))
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
            report.skipped.append(Skipped(number, name, no_owner(parsed.inactive_owner_name)))
            return
        report.warnings.append(
            Warned(
                number,
                name,
                f"负责人「{shorten(parsed.inactive_owner_name)}」已停用，保留原负责人，"
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
