"""Real ``wecrm serve`` processes for crash and fault tests (and ``bench/faults.py``):
start, kill -9, restart, and post WeChat-signed callbacks to them.

Everything here talks to 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import AES_KEY, APP_ID, DATA_KEY, TOKEN
from tests.wechat_client import sign

ROOT = str(Path(__file__).resolve().parents[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, db_url: str, extra: str = "") -> Path:
    path.write_text(
        f"""
[database]
url = "{db_url}"
[wechat]
token = "{TOKEN}"
app_id = "{APP_ID}"
encoding_aes_key = "{AES_KEY}"
mode = "compatible"
[security]
data_key = "{DATA_KEY}"
[log]
format = "json"
{extra}
""",
        encoding="utf-8",
    )
    return path


class LiveServer:
    """One ``wecrm serve`` process on a fixed port, restartable after a kill."""

    def __init__(self, config: Path, port: int | None = None, *args: str) -> None:
        self.config = config
        self.port = port or free_port()
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        # stderr goes to a file, not a pipe: a pipe nobody reads fills up (64 KiB of
        # logged tracebacks while the database is away) and then blocks the server.
        self.log_path = config.with_suffix(f".{self.port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, limit: float = 30) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(self.config),
            "serve",
            "--port",
            str(self.port),
            # One process: what these tests kill, hang and restart.
            "--workers",
            "1",
            *self.args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "PYTHONPATH": ROOT},
        )
        log.close()
        await wait_healthy(self.url, self.proc, limit)

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, open transactions die with the connection."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> bytes:
        """Terminate gracefully; returns what the process wrote to stderr."""
        if self.proc is None:
            return b""
        if self.proc.returncode is None:
            self.proc.terminate()
        await asyncio.wait_for(self.proc.wait(), 30)
        self.proc = None
        return self.log_path.read_bytes() if self.log_path.exists() else b""

    async def reap(self) -> None:
        """Collect a killed process."""
        if self.proc is not None:
            await asyncio.wait_for(self.proc.wait(), 10)
            self.proc = None


async def wait_healthy(url: str, proc: asyncio.subprocess.Process, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert proc.returncode is None, "server exited during start-up"
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy")


def signed_params() -> dict[str, str]:
    """A fresh timestamp and nonce, as WeChat signs each callback."""
    ts, nonce = str(int(time.time())), secrets.token_hex(5)
    return {"timestamp": ts, "nonce": nonce, "signature": sign(TOKEN, ts, nonce)}


async def post_signed(
    session: aiohttp.ClientSession, url: str, xml: str, wait: float = 5.0
) -> str | None:
    """POST like WeChat; None when no answer came within ``wait`` seconds (WeChat retries)."""
    try:
        async with session.post(
            f"{url}/wechat",
            params=signed_params(),
            data=xml.encode(),
            timeout=aiohttp.ClientTimeout(total=wait),
        ) as resp:
            if resp.status != 200:
                return None
            return await resp.text()
    except (aiohttp.ClientError, TimeoutError):
        return None
