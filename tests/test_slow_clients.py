"""Slow senders cannot hold connections: request headers and bodies have read
timeouts well inside WeChat's 5 seconds (a real ``wecrm serve`` process)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlencode

from tests.live_server import LiveServer, signed_params, write_config

TIMEOUTS = "[server]\nheader_timeout = 1.0\nbody_timeout = 1.0\n"


async def slow_headers(port: int) -> float:
    """Seconds until the server hangs up on a request whose headers never end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(b"POST /wechat HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()
    async with asyncio.timeout(10):
        while await reader.read(1024):
            pass
    writer.close()
    return time.monotonic() - started


async def slow_body(port: int) -> tuple[float, bytes]:
    """Seconds until the server answers a request whose body stops half-way."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    query = urlencode(signed_params())
    writer.write(
        f"POST /wechat?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<xml>".encode()
    )
    await writer.drain()
    started = time.monotonic()
    async with asyncio.timeout(10):
        status_line = await reader.readline()
    writer.close()
    return time.monotonic() - started, status_line


async def test_slow_headers_and_bodies_are_cut_off(db: str, tmp_path: Path) -> None:
    server = LiveServer(write_config(tmp_path / "c.toml", db, TIMEOUTS), None, "--no-scheduler")
    await server.start()
    try:
        headers = await asyncio.gather(*(slow_headers(server.port) for _ in range(20)))
        bodies = await asyncio.gather(*(slow_body(server.port) for _ in range(20)))
    finally:
        stderr = await server.stop()
    assert max(headers) < 3.0, headers
    assert all(line.startswith(b"HTTP/1.1 408") for _, line in bodies), bodies[0]
    assert max(t for t, _ in bodies) < 3.0
    assert b"Traceback" not in stderr
