"""Shared fixtures: a real database (SQLite, and PostgreSQL when
``WECRM_TEST_DATABASE_URL`` is set), the app under test, and a WeChat-like sender.

Each test session migrates its own database once (a fresh PostgreSQL database per
session, so parallel runs never meet) and every test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from tortoise import Tortoise

from bot import db as dbmod
from bot.app import PIPELINE, create_app
from bot.config import Config, load_config
from tests.wechat_client import WeChatSender

pytest_plugins = ["tests.fake_tencent"]

PG_URL = os.environ.get("WECRM_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])

TOKEN = "test-token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ"
DATA_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'wecrm.sqlite3'}"
        asyncio.run(dbmod.migrate(url))
        yield url
        return
    base = dbmod.normalize_url(PG_URL).rpartition("/")[0]
    name = f"wecrm_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"{base}/{name}"
    try:
        asyncio.run(dbmod.migrate(url))
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_all(url: str) -> None:
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps["models"].values()]
    if dbmod.is_postgres(url):
        await conn.execute_script(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )
    else:
        for table in tables:
            await conn.execute_script(f'DELETE FROM "{table}"')


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    """Connected to the session database with every table empty."""
    ctx = await dbmod.connect(db_url, base64.b64decode(DATA_KEY))
    await truncate_all(db_url)
    try:
        yield db_url
    finally:
        await dbmod.close(ctx)


@pytest.fixture
def sqlite_only(db: str) -> str:
    """The database, for a test of SQLite's engine (``bot/sqlite_engine.py``)."""
    if dbmod.is_postgres(db):
        pytest.skip("SQLite's engine")
    return db


def make_config(db_url: str, **sections: dict[str, Any]) -> Config:
    overrides: dict[str, dict[str, Any]] = {
        "database": {"url": db_url},
        "wechat": {
            "token": TOKEN,
            "app_id": APP_ID,
            "encoding_aes_key": AES_KEY,
            "mode": "compatible",
            "app_secret": "secret",
            # Nothing in the suite may reach the real Tencent; delivery tests point
            # this at tests/fake_tencent.py.
            "api_base": "http://127.0.0.1:9",
        },
        "outbox": {"enabled": False},
        "security": {"data_key": DATA_KEY},
        "log": {"format": "text"},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(None, environ={}, overrides=overrides)


@pytest.fixture
def config(db: str) -> Config:
    return make_config(db)


AppFactory = Callable[..., Any]


@pytest.fixture
async def app_client(db: str, aiohttp_client: Any) -> AppFactory:
    """``await app_client(**config_sections)`` → a TestClient on the app under test."""

    clients: list[TestClient] = []

    async def factory(**sections: dict[str, Any]) -> TestClient:
        cfg = make_config(db, **sections)
        app = create_app(cfg, connect_db=False)
        client = await aiohttp_client(app)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.app[PIPELINE].drain(wait=5)


@pytest.fixture
async def client(app_client: AppFactory) -> TestClient:
    return await app_client()


def sender_for(client: TestClient) -> WeChatSender:
    """A WeChat stand-in for a client made with this module's test credentials."""
    return WeChatSender(client, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)


@pytest.fixture
def wechat(client: TestClient) -> WeChatSender:
    return sender_for(client)


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The guard turns any exception into a polite 200; a test using this fixture
    fails if one happened anyway."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
