"""PostgreSQL transactions that begin with their first write (bot.pg_engine): reads
before it need no BEGIN, a write begins it and a failure rolls it back whole, the last
statement may run alone, and a savepoint never stands in for the outer transaction."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, TransactionManagementError
from tortoise.transactions import in_transaction

from bot.pg_engine import LazyTransaction, plain_read, run_last
from models import Staff
from models.rawsql import dialect


@pytest.fixture
def postgres(db: str) -> None:
    if dialect() != "postgres":
        pytest.skip("PostgreSQL's transactions")


def in_db_transaction(conn: LazyTransaction) -> bool:
    return bool(conn._connection.is_in_transaction())


async def test_reads_need_no_begin_and_a_failure_after_a_write_rolls_it_back(
    postgres: None,
) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            assert isinstance(conn, LazyTransaction)
            await Staff.filter(name="李明").count()
            assert not in_db_transaction(conn)
            await Staff.create(name="李明", role="rep")
            assert in_db_transaction(conn)
            await Staff.create(name="张伟", role="rep")
            raise RuntimeError("the handler failed")
    assert await Staff.all().count() == 0


async def test_the_last_statement_runs_alone_and_nothing_may_follow_it(postgres: None) -> None:
    async with in_transaction() as conn:
        await Staff.filter(name="李明").count()
        sql = 'INSERT INTO "staff" ("name", "role", "active", "on_duty", "created_at") '
        sql += 'VALUES ($1, $2, true, false, now()) RETURNING "id"'
        (row,) = await run_last(conn, sql, ["李明", "rep"])
        assert not in_db_transaction(conn)  # committed by itself
        with pytest.raises(TransactionManagementError):
            await Staff.create(name="张伟", role="rep")
    assert [s.name for s in await Staff.all()] == ["李明"]
    assert row["id"] == (await Staff.get(name="李明")).id


async def test_a_failing_last_statement_leaves_nothing_behind(postgres: None) -> None:
    await Staff.create(name="李明", role="rep", oa_openid="oSame")
    sql = 'INSERT INTO "staff" ("name", "role", "active", "on_duty", "created_at", "oa_openid") '
    sql += "VALUES ($1, $2, true, false, now(), $3)"
    with pytest.raises(IntegrityError):
        async with in_transaction() as conn:
            await run_last(conn, sql, ["张伟", "rep", "oSame"])
    assert await Staff.all().count() == 1
    # The pool's connection is usable again.
    async with in_transaction():
        await Staff.create(name="陈静", role="manager")
    assert await Staff.all().count() == 2


async def test_after_a_write_the_last_statement_commits_with_the_transaction(
    postgres: None,
) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await Staff.create(name="李明", role="rep")
            await run_last(conn, 'UPDATE "staff" SET "name" = $1', ["李明明"])
            assert in_db_transaction(conn)
            raise RuntimeError("rolled back together")
    assert await Staff.all().count() == 0


async def test_a_savepoint_begins_the_outer_transaction_first(postgres: None) -> None:
    async with in_transaction() as conn:
        with pytest.raises(IntegrityError):
            async with in_transaction():
                await Staff.create(name="李明", role="rep", oa_openid="oSame")
                await Staff.create(name="张伟", role="rep", oa_openid="oSame")
        assert in_db_transaction(conn)
        await Staff.create(name="陈静", role="manager")
    # The savepoint took back its own writes only.
    assert [s.name for s in await Staff.all()] == ["陈静"]
    assert connections.get("default") is not conn


def test_what_counts_as_a_plain_read() -> None:
    assert plain_read('SELECT "id" FROM "staff" WHERE "id" = $1')
    assert plain_read('  select count(*) from "staff"')
    assert not plain_read('SELECT "id" FROM "outbox" FOR UPDATE SKIP LOCKED')
    assert not plain_read("SELECT pg_advisory_xact_lock(42)")
    assert not plain_read('WITH r AS (INSERT INTO "x" VALUES (1) RETURNING 1) SELECT * FROM r')
    assert not plain_read('UPDATE "staff" SET "name" = $1')


async def test_a_messages_customer_read_starts_no_parallel_workers(postgres: None) -> None:
    """A 跟进's customer read (seven name equalities) was planned with two parallel
    workers on a table without fresh statistics: 22–40 ms each instead of 0.1, and 跟进
    fell to a sixth of its rate. Here the planner is told parallel work costs nothing,
    which makes it choose them wherever it may: on the bot's connections it may not."""
    from models import Customer
    from models.rawsql import _equal_any_sql

    pool = connections.get("default")._pool  # type: ignore[attr-defined]
    sql = _equal_any_sql(Customer, "name", 7).replace("?", "$1")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0;"
            "SET LOCAL min_parallel_table_scan_size = 0;"
            "SET LOCAL min_parallel_index_scan_size = 0;"
            "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = off"
        )
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", "王强"))
        default = await conn.fetchval("SHOW max_parallel_workers_per_gather")
    assert "Gather" not in plan, plan
    assert default == "0"


def test_the_no_parallel_setting_is_no_startup_parameter() -> None:
    """PgBouncer refuses a startup parameter it does not know (``unsupported startup
    parameter``), and the bot could not connect through it: the setting is sent as a
    SET on each new connection instead."""
    from bot.db import tortoise_config

    credentials = tortoise_config("postgres://u@h:6432/wecrm")["connections"]["default"][
        "credentials"
    ]
    assert "max_parallel_workers_per_gather" not in credentials.get("server_settings", {})
    assert credentials["init"] is not None


@pytest.mark.parametrize("turns", range(6))
async def test_a_connection_let_go_goes_to_who_waited_longest(postgres: None, turns: int) -> None:
    """A message that asks for a connection just as one is let go — ``turns`` turns of
    the loop later, to meet every step of the pool's release — queues behind whoever
    waited. asyncpg's own pool gave it the connection, and under load waiting messages
    went to the back again and again: p99 of 帮助 at c=256 345 ms against a p50 of 68."""
    import asyncio

    from tests.test_dedup_and_deadline import until

    client = connections.get("default")
    pool = client._pool  # type: ignore[attr-defined]
    held = [await pool.acquire() for _ in range(client.pool_maxsize)]  # type: ignore[attr-defined]
    order: list[str] = []

    async def statement(name: str) -> None:
        conn = await pool.acquire()
        order.append(name)
        await pool.release(conn)

    waiting = asyncio.create_task(statement("waited"))
    await until(lambda: bool(pool._gate._waiters))
    loop, tasks = asyncio.get_running_loop(), [waiting]

    def later(n: int) -> None:
        if n:
            loop.call_soon(later, n - 1)
        else:
            tasks.append(asyncio.ensure_future(statement("came later")))

    tasks.append(asyncio.create_task(pool.release(held.pop())))
    later(turns)
    await asyncio.gather(*tasks)
    for conn in held:
        await pool.release(conn)
    assert order == ["waited", "came later"]
