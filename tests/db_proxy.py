"""A TCP proxy on 127.0.0.1 in front of PostgreSQL that can *hang*: while paused it
keeps every connection open and accepts new ones, but forwards nothing — what a
database server stopped with SIGSTOP, or a network black hole, looks like."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from bot.db import normalize_url


class PausableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._running = asyncio.Event()
        self._running.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def pause(self) -> None:
        self._running.clear()

    async def refuse(self) -> None:
        """The database goes away: open connections reset, new ones refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()

    async def accept(self) -> None:
        """The database is back, on the same port."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def resume(self) -> None:
        self._running.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._running.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while chunk := await src.read(65536):
                await self._running.wait()
                dst.write(chunk)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                dst.close()


@asynccontextmanager
async def hangable(db: str) -> AsyncIterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """(url the server should use, hang, recover) for the test's database."""
    if db.startswith("sqlite"):
        path = db[len("sqlite://") :]
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        def hang() -> None:
            # Another process holding the write lock: every writer waits.
            holder.execute("BEGIN EXCLUSIVE")

        def recover() -> None:
            holder.execute("ROLLBACK")

        try:
            yield db, hang, recover
        finally:
            holder.close()
        return
    parts = urlsplit(normalize_url(db))
    proxy = PausableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}127.0.0.1:{proxy.port}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc)), proxy.pause, proxy.resume
    finally:
        await proxy.close()
