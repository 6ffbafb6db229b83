"""``wecrm serve --workers N``: N worker processes sharing one port, started, watched
and restarted by a small supervisor.

The supervisor opens the listening sockets and each worker — an ordinary ``wecrm
serve``, one process, one event loop — inherits them (``--listen-fds``): one accept
queue, from which whichever worker is free takes the next connection. A worker that
dies loses only the requests it was answering; the connections still waiting stay in
the queue for the others (with SO_REUSEPORT, used before, each worker had its own queue
and the kernel reset what waited in a dead worker's).

What must hold across workers already holds across processes: dedup, the replay
guard, the outbox claims and the token live in the database, the member limits are
counted there, and on PostgreSQL the scheduler's advisory lock keeps one scheduler
active among them. On SQLite (no such lock) only the first worker runs the scheduler.
A worker that dies is started again (at most ``MAX_RESTARTS`` a minute, so a worker
that cannot start does not spin); SIGTERM / SIGINT stop them all gracefully. A worker
whose supervisor vanished (kill -9) notices and shuts down by itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
POLL = 0.2


# The supervisor's pid, in each worker's environment.
SUPERVISOR_ENV = "WECRM_SUPERVISOR_PID"


def worker_command(argv: list[str], index: int, scheduler: bool, fds: list[int]) -> list[str]:
    """The command line of worker ``index``: this serve command as one worker."""
    args = [a for a in argv if a not in ("--no-scheduler",)]
    cleaned: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--workers":
            skip = True
            continue
        if a.startswith("--workers="):
            continue
        cleaned.append(a)
    extra = ["--workers", "1", "--listen-fds", ",".join(map(str, fds)), "--supervised"]
    if not scheduler:
        extra.append("--no-scheduler")
    return [sys.executable, "-m", "bot.cli", *cleaned, *extra]


def supervise(
    argv: list[str],
    workers: int,
    scheduler_everywhere: bool,
    grace: float,
    sockets: list[socket.socket],
) -> int:
    """Run ``workers`` copies of this serve command on ``sockets`` until told to stop."""
    fds = [sock.fileno() for sock in sockets]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int) -> subprocess.Popen[bytes]:
        scheduler = scheduler_everywhere or index == 0
        # The worker learns its supervisor's pid from here, not from getppid() once it
        # is up: a supervisor killed while the worker still starts would otherwise be
        # mistaken for init, and the orphan would serve on.
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
        return subprocess.Popen(worker_command(argv, index, scheduler, fds), env=env, pass_fds=fds)

    procs = [start(i) for i in range(workers)]
    print(
        f"wecrm supervisor {os.getpid()}: {workers} workers "
        f"({', '.join(str(p.pid) for p in procs)})",
        flush=True,
    )
    restarts: deque[float] = deque()
    while not stopping:
        time.sleep(POLL)
        for i, proc in enumerate(procs):
            if stopping or proc.poll() is None:
                continue
            now = time.monotonic()
            while restarts and restarts[0] < now - RESTART_WINDOW:
                restarts.popleft()
            if len(restarts) >= MAX_RESTARTS:
                print(
                    f"wecrm supervisor: worker {proc.pid} exited with {proc.returncode}; "
                    f"{MAX_RESTARTS} restarts within a minute, giving up",
                    file=sys.stderr,
                    flush=True,
                )
                stopping = True
                break
            restarts.append(now)
            procs[i] = start(i)
            print(
                f"wecrm supervisor: worker {proc.pid} exited with {proc.returncode}; "
                f"started {procs[i].pid}",
                file=sys.stderr,
                flush=True,
            )
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace + 5
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


async def watch_parent(app: object) -> AsyncIterator[None]:
    """aiohttp cleanup context for a worker: stop gracefully when the supervisor is
    gone (this process's parent changes), instead of serving on as an orphan."""
    import asyncio
    import contextlib

    parent = int(os.environ.get(SUPERVISOR_ENV) or os.getppid())

    async def watch() -> None:
        while True:
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            await asyncio.sleep(1)

    task = asyncio.create_task(watch())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
