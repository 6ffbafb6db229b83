"""``wecrm migrate`` is idempotent and matches the models; the CLI's admin commands."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from bot import db as dbmod
from bot.cli import main, parse_duration
from models import InviteCode
from tests.conftest import AES_KEY, APP_ID, DATA_KEY, TOKEN


def test_every_index_the_models_declare_is_in_the_database(db_url: str) -> None:
    """A migration that rebuilds a table on SQLite (Tortoise's AlterField) loses the
    table's indexes, which the autodetector's comparison of states does not see."""

    async def run() -> tuple[set[tuple[str, tuple[str, ...]]], set[tuple[str, tuple[str, ...]]]]:
        ctx = await dbmod.connect(db_url)
        try:
            declared = set()
            for model in Tortoise.apps["models"].values():
                meta = model._meta
                for index in meta.indexes:
                    names = index if isinstance(index, tuple | list) else index.fields
                    columns = tuple(meta.fields_db_projection.get(n, n) for n in names)
                    declared.add((meta.db_table, columns))
            conn = Tortoise.get_connection("default")
            found = set()
            if dbmod.is_postgres(db_url):
                rows = await conn.execute_query_dict(
                    "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                )
                for row in rows:
                    inside = row["indexdef"].rsplit("(", 1)[1].split(")")[0]
                    columns = tuple(c.strip().strip('"') for c in inside.split(","))
                    found.add((row["tablename"], columns))
            else:
                for table in {t for t, _ in declared}:
                    for index in await conn.execute_query_dict(f'PRAGMA index_list("{table}")'):
                        info = await conn.execute_query_dict(
                            f'PRAGMA index_info("{index["name"]}")'
                        )
                        found.add((table, tuple(i["name"] for i in info)))
            return declared, found
        finally:
            await dbmod.close(ctx)

    declared, found = asyncio.run(run())
    assert declared, "no declared index found: the check would pass on anything"
    assert declared <= found, sorted(declared - found)


def test_migrate_twice_changes_nothing(db_url: str) -> None:
    async def run() -> list[str]:
        await dbmod.migrate(db_url)  # second time: the session already migrated once
        ctx = await dbmod.connect(db_url)
        try:
            conn = Tortoise.get_connection("default")
            rows = await conn.execute_query_dict("SELECT name FROM tortoise_migrations")
            detector = MigrationAutodetector(ctx.apps, dbmod.tortoise_config(db_url)["apps"])
            assert await detector.changes() == [], "models changed without a migration"
            return [r["name"] for r in rows]
        finally:
            await dbmod.close(ctx)

    names = asyncio.run(run())
    assert names == sorted(set(names)), "a migration was recorded twice"
    assert "0001_initial" in names


def test_replay_records_commit_without_waiting_for_the_disk(db_url: str) -> None:
    """PostgreSQL: ``signed_url`` is UNLOGGED (migration 0018), so the commit of a
    帮助, whose only write is its replay record, does not wait for the WAL's fsync; the
    record still refuses a second body (tests/test_door_security.py)."""
    if not dbmod.is_postgres(db_url):
        pytest.skip("SQLite has no unlogged tables; its records are batched instead")

    async def persistence() -> dict[str, str]:
        ctx = await dbmod.connect(db_url)
        try:
            rows = await Tortoise.get_connection("default").execute_query_dict(
                "SELECT relname, relpersistence::text AS relpersistence FROM pg_class "
                "WHERE relname IN ('signed_url', 'processed_message', 'followup')"
            )
            return {r["relname"]: r["relpersistence"] for r in rows}
        finally:
            await dbmod.close(ctx)

    # Unlogged: the replay guard only. A follow-up and its dedup record must survive
    # a crash of the database.
    assert asyncio.run(persistence()) == {
        "signed_url": "u",
        "processed_message": "p",
        "followup": "p",
    }


def write_config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[wechat]\ntoken = "{TOKEN}"\napp_id = "{APP_ID}"\n'
        f'encoding_aes_key = "{AES_KEY}"\nmode = "safe"\n[security]\ndata_key = "{DATA_KEY}"\n',
        encoding="utf-8",
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_cli_migrate_and_invite(db_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db_url))
    assert run_cli("--config", config, "migrate").returncode == 0
    result = run_cli(
        "--config", config, "staff", "invite", "--role", "rep", "--name", "王五", "--expires", "2h"
    )
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip()
    assert len(code) == 8 and code.isalnum()
    assert f"绑定 {code}" in result.stderr and "王五（销售）" in result.stderr

    async def stored() -> InviteCode:
        ctx = await dbmod.connect(db_url)
        try:
            return await InviteCode.get(code=code)
        finally:
            await dbmod.close(ctx)

    invite = asyncio.run(stored())
    assert invite.role == "rep" and invite.used_at is None
    delta = invite.expires_at - invite.created_at
    assert 7100 < delta.total_seconds() < 7300


def test_cli_config_error_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[wechat]\ntoken = "t"\nmode = "weird"\n', encoding="utf-8")
    result = run_cli("--config", str(bad), "migrate")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "wechat.mode" in result.stderr and "Traceback" not in result.stderr


def test_cli_on_a_database_never_migrated_says_so_in_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "fresh.toml"
    cfg.write_text(
        f'[database]\nurl = "sqlite://{tmp_path / "fresh.sqlite3"}"\n'
        f'[wechat]\ntoken = "{TOKEN}"\napp_id = "{APP_ID}"\n'
        f'[security]\ndata_key = "{DATA_KEY}"\n',
        encoding="utf-8",
    )
    result = run_cli("--config", str(cfg), "outbox")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "wecrm migrate" in result.stderr and "Traceback" not in result.stderr


def test_cli_rejects_a_bad_duration(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["staff", "invite", "--role", "rep", "--name", "x", "--expires", "soon"])
    assert "72h" in capsys.readouterr().err
    assert parse_duration("30m").total_seconds() == 1800
    assert parse_duration("7d").days == 7


CLI = [sys.executable, "-m", "bot.cli"]


def test_serve_on_a_taken_port_says_so_in_one_line(db_url: str, tmp_path: Path) -> None:
    """`make run` beside something already on the port: a sentence on how to pick
    another one and exit code 1, not an OSError traceback."""
    config = str(write_config(tmp_path, db_url))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "--config", config, "serve", "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[1],
        )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"端口 {port} 已被占用" in result.stderr
    assert f"PORT={port + 10} make run" in result.stderr
    assert "[server] port" in result.stderr and "already in use" in result.stderr
    assert "wecrm listening" not in result.stdout


async def _upgrade_from_0005(url: str) -> dict[str, object]:
    from tortoise.migrations.api.migrate import migrate as tortoise_migrate

    from models import Customer
    from models.rawsql import execute

    try:
        await tortoise_migrate(config=dbmod.tortoise_config(url), target="models.0005_reliability")
    finally:
        await dbmod.close()
    then = datetime(2026, 1, 1, tzinfo=UTC)
    ctx = await dbmod.connect(url)
    try:
        await execute(
            'INSERT INTO "customer" ("name", "name_pinyin", "name_initials", "company", '
            '"industry", "size", "category", "grade", "lifecycle", "birthday_lunar", "notes", '
            '"created_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            "周杰", "zhoujie", "zj", "", "", "", "", "vip", "active", False, "", then, then,
        )  # fmt: skip
        await execute(
            'INSERT INTO "outbox" ("dedup_key", "channel", "recipient", "payload", "status", '
            '"attempts", "next_attempt_at", "last_error", "created_at") '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "k1", "oa", "o1", "{}", "sent", 1, then, "", then,
        )  # fmt: skip
    finally:
        await dbmod.close(ctx)
    await dbmod.migrate(url)
    ctx = await dbmod.connect(url)
    try:
        c = await Customer.get(name="周杰")
        return {"leap": c.birthday_leap, "contacts": c.contacts, "pinned": c.grade_pinned}
    finally:
        await dbmod.close(ctx)


def test_upgrade_keeps_existing_rows(tmp_path: Path) -> None:
    """A live database already holds customers and pushes: it upgrades from an earlier
    release's schema (0005) to today's, because every column added since has a default
    in the database itself, not only in the ORM."""
    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    expected = {"leap": False, "contacts": "", "pinned": False}
    assert asyncio.run(_upgrade_from_0005(url)) == expected
    pg = os.environ.get("WECRM_TEST_DATABASE_URL", "")
    if pg:
        import asyncpg

        async def fresh() -> str:
            base = pg.rpartition("/")[0]
            admin = await asyncpg.connect(
                base.replace("postgres://", "postgresql://", 1) + "/postgres"
            )
            try:
                await admin.execute('DROP DATABASE IF EXISTS "wecrm_upgrade_test"')
                await admin.execute('CREATE DATABASE "wecrm_upgrade_test"')
            finally:
                await admin.close()
            return base + "/wecrm_upgrade_test"

        assert asyncio.run(_upgrade_from_0005(asyncio.run(fresh()))) == expected
