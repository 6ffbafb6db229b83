"""``wecrm migrate`` is idempotent and matches the models; the CLI's admin commands."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from bot import db as dbmod
from bot.cli import main, parse_duration
from models import InviteCode
from tests.conftest import AES_KEY, APP_ID, DATA_KEY, TOKEN


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
