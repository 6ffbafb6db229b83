"""Independent reads sent together (models.rawsql.together): on PostgreSQL one
statement for every lookup waiting at the same time, with the rows each lookup would
have read alone; on SQLite the same answers, one statement each."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from tortoise.exceptions import OperationalError

from models import Deal, FollowUp, Staff
from models.deals import open_deals, signed_total
from models.enums import DealStage, FollowUpMethod
from models.followups import recent_followups
from models.rawsql import _select_sql, dialect, fetch, result_columns, select, together
from tests.sales_helpers import customer, team
from tests.test_round_trips import statements


async def book() -> tuple[int, int, Staff]:
    rep, other, _ = await team()
    wang = await customer("王小明", rep)
    li = await customer("李雷", other)
    for content in ("聊了报价", "送了样品"):
        await FollowUp.create(customer=wang, rep=rep, method=FollowUpMethod.PHONE, content=content)
    await Deal.create(customer=wang, owner=rep, product="A", amount=Decimal("1200.50"),
                      stage=DealStage.SIGNED, closed_on=date(2026, 11, 2))  # fmt: skip
    await Deal.create(customer=wang, owner=rep, product="B", amount=Decimal("99.50"),
                      stage=DealStage.QUOTE)  # fmt: skip
    return wang.id, li.id, rep


async def lookups(wang: int, li: int, rep: Staff) -> list[object]:
    """Four lookups, one of which awaits two of its own (nested ``together``)."""

    async def both_totals() -> list[object]:
        return await together(signed_total(wang), signed_total(li))

    return await together(
        recent_followups(wang, known=rep), open_deals(wang), both_totals(), open_deals(li)
    )


async def test_reads_sent_together_answer_what_each_reads_alone(db: str) -> None:
    wang, li, rep = await book()
    alone = [
        await recent_followups(wang, known=rep),
        await open_deals(wang),
        [await signed_total(wang), await signed_total(li)],
        await open_deals(li),
    ]
    with statements() as sql:
        batched = await lookups(wang, li, rep)
    followups, deals, totals, none_open = batched
    assert [f.content for f in followups] == ["送了样品", "聊了报价"]
    assert [f.id for f in followups] == [f.id for f in alone[0]]  # type: ignore[attr-defined]
    assert [(d.product, d.amount, d.stage) for d in deals] == [
        ("B", Decimal("99.50"), DealStage.QUOTE)
    ]
    assert totals == alone[2]
    assert totals[0].amount == Decimal("1200.50") and totals[1].count == 0  # type: ignore[index]
    assert none_open == []
    # Five reads: one statement on PostgreSQL, the nested lookup's included.
    assert len(sql) == (1 if dialect() == "postgres" else 5), "\n".join(sql)


async def test_a_lookup_with_a_second_read_sends_it_in_a_second_statement(db: str) -> None:
    wang, _, rep = await book()

    async def deals_then_followups() -> tuple[list[Deal], list[FollowUp]]:
        deals = await open_deals(wang)
        return deals, await recent_followups(wang, limit=1, known=rep)

    with statements() as sql:
        (deals, latest), total = await together(deals_then_followups(), signed_total(wang))
    assert [d.product for d in deals] == ["B"] and latest[0].content == "送了样品"
    assert total.count == 1
    assert len(sql) == (2 if dialect() == "postgres" else 3), "\n".join(sql)


async def test_a_failing_read_fails_every_lookup_waiting_on_it_and_nothing_hangs(db: str) -> None:
    wang, _, _ = await book()
    with pytest.raises(OperationalError):
        await together(open_deals(wang), fetch('SELECT "id" FROM "missing" WHERE "id" = ?', 1))
    # The pool is fine afterwards.
    assert [d.product for d in await open_deals(wang)] == ["B"]


async def test_dates_and_times_come_back_typed(db: str) -> None:
    wang, _, _ = await book()
    (deals,) = await together(select(Deal, '"customer_id" = ? AND "stage" = ?', wang, "signed"))
    assert deals[0].closed_on == date(2026, 11, 2)
    assert isinstance(deals[0].created_at, datetime) and deals[0].created_at.tzinfo is not None
    assert deals[0].created_at <= datetime.now(UTC)


def test_result_columns_of_the_statements_written_here() -> None:
    sql = _select_sql(Deal, '"customer_id" = ?')
    assert result_columns(sql) == tuple(Deal._meta.fields_db_projection.values())
    assert result_columns(
        'SELECT COUNT("id") AS n, SUM(CASE WHEN "x" > ? THEN "amount" END) AS total FROM "deal"'
    ) == ("n", "total")
    # Anything else is sent on its own.
    assert result_columns('SELECT 1 FROM "deal"') is None
    assert result_columns('UPDATE "deal" SET "amount" = 1') is None
