"""A message's bookkeeping rows written without model instances (``models.deferred``
``plain_row``) are the rows the ORM itself would write: same columns, same defaults,
same conversions, and a row may name another one written with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from models import AuditLog, FollowUp
from models.deferred import collecting, flush, id_of, insert_later, plain_row, save_later
from models.enums import FollowUpMethod, ProcessingStatus
from models.messages import ProcessedMessage
from models.rawsql import fetch
from models.undo import UndoEntry
from tests.sales_helpers import customer, team


async def stored(table: str, key: str, value: Any) -> dict[str, Any]:
    (row,) = await fetch(f'SELECT * FROM "{table}" WHERE "{key}" = ?', value)
    return dict(row)


def same_but_ids_and_times(plain: dict[str, Any], orm: dict[str, Any], *differ: str) -> None:
    skip = {"id", "created_at", "updated_at", *differ}
    assert {k: v for k, v in plain.items() if k not in skip} == {
        k: v for k, v in orm.items() if k not in skip
    }


async def test_plain_rows_are_what_the_orm_writes(db: str) -> None:
    rep, _, _ = await team()
    card = await customer("王强", rep)
    async with in_transaction():
        with collecting():
            followup = FollowUp(
                customer=card, rep=rep, method=FollowUpMethod.PHONE, content="聊了报价"
            )
            await save_later(followup)
            await insert_later(AuditLog, actor="staff:1", actor_role="rep", action="跟进")
            await insert_later(
                UndoEntry,
                staff_id=rep.pk,
                kind="followup",
                target_id=id_of(followup),  # unknown until the rows are written
                before={"customer_id": card.pk},
                label="跟进 王强（电话）",
            )
            await flush(
                last=plain_row(
                    ProcessedMessage,
                    key="m1",
                    channel="oa",
                    sender="o1",
                    status=ProcessingStatus.DONE,
                    reply={"text": "已记录"},
                )
            )
    await AuditLog.create(actor="staff:2", actor_role="rep", action="跟进")
    await UndoEntry.create(
        staff=rep,
        kind="followup",
        target_id=followup.pk,
        before={"customer_id": card.pk},
        label="跟进 王强（电话）",
    )
    await ProcessedMessage.create(
        key="m2", channel="oa", sender="o1", status=ProcessingStatus.DONE, reply={"text": "已记录"}
    )

    plain_audit = await stored("audit_log", "actor", "staff:1")
    same_but_ids_and_times(plain_audit, await stored("audit_log", "actor", "staff:2"), "actor")
    plain_undo, orm_undo = await UndoEntry.all().order_by("id").values()
    assert plain_undo["target_id"] == followup.pk  # the follow-up's id, learnt at the write
    same_but_ids_and_times(plain_undo, orm_undo)
    plain_done = await stored("processed_message", "key", "m1")
    same_but_ids_and_times(plain_done, await stored("processed_message", "key", "m2"), "key")

    # The time stamps are the ORM's too: read back as aware times, a moment apart.
    first, second = await AuditLog.all().order_by("id")
    assert timedelta(0) <= second.created_at - first.created_at < timedelta(minutes=1)
    done = await ProcessedMessage.get(key="m1")
    assert done.status is ProcessingStatus.DONE and done.reply == {"text": "已记录"}
    assert done.updated_at >= done.created_at


async def test_outside_a_message_a_plain_row_is_saved_at_once(db: str) -> None:
    await insert_later(AuditLog, actor="cli", actor_role="admin", action="导入")
    entry = await AuditLog.get(actor="cli")
    assert (entry.target, entry.detail, entry.request_id) == ("", {}, "")
