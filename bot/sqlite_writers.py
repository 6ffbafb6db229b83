"""Processes writing one SQLite file take turns (``bot.sqlite_engine``).

SQLite's write lock has no queue: a writer that finds it taken can only try again
later, after a sleep (SQLite's busy handler, or ``InlineConnection``'s retries). A
process that writes all the time — a worker of ``wecrm serve --workers 2`` under
load, whose group commit holds the lock from one turn of its loop to the next — has
it back before the other one's next try, and the other one's messages run out of
their five seconds: two SQLite workers answered 146 follow-ups in about 4 000 with
「系统繁忙」 at c=256, and their p99 was 4.7 s (``bench/compare.py``).

So every write transaction of the engine first takes an ``flock`` on a file beside
the database (``<database>-writer``). Free, it costs two system calls per group. A
process that finds it taken waits for it on a thread of its own, which the kernel
wakes the moment the holder lets go — instead of sleeping on a schedule. And a
holder that lets go while someone waits does not barge back in: its next
transaction queues behind the waiter: its own wait begins once every process that
waited when it let go has had the lock (a waiter holds the queue file shared until
then), so writers alternate group by group — the kernel hands a freed ``flock`` to
whoever asks first, and the holder's thread could otherwise ask before the waiter's.

Writers that do not use the engine (another tool on the file) still meet SQLite's
own lock, which the engine keeps waiting for as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
from dataclasses import dataclass, field

try:
    import fcntl
except ImportError:  # Windows: no flock; SQLite's own lock alone, as before
    fcntl = None  # type: ignore[assignment]

# A waiting process says so with a shared lock on this byte-less second file, which
# the holder tests when it lets go.
_QUEUE_SUFFIX = "-writer-queue"


@dataclass
class _Wait:
    """One wait for the lock, handed to the waiting thread."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    guard: threading.Lock = field(default_factory=threading.Lock)
    behind: bool = False  # first let those who waited when this process let go have it
    acquired: bool = False  # the thread took the lock for this wait
    abandoned: bool = False  # the transaction gave up (deadline, cancelled)


class WriterLock:
    """The file lock a process holds while its write transaction is open."""

    available = fcntl is not None

    def __init__(self, database: str) -> None:
        self._fd = os.open(database + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
        # Two descriptions of the queue file: the waiting thread's mark, and the one
        # a letting-go holder tests with (one description would convert its own lock).
        self._mark_fd = os.open(database + _QUEUE_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
        self._probe_fd = os.open(database + _QUEUE_SUFFIX, os.O_RDWR)
        # The waiting thread's own description, to queue behind those marked.
        self._behind_fd = os.open(database + _QUEUE_SUFFIX, os.O_RDWR)
        self._held = False
        self._closed = False
        # The descriptors are closed on the waiting thread when it ends: a flock on one
        # after that could land on another file given the same number.
        self._files = threading.Lock()
        self._yield = False  # someone waited when this process last let go
        # Waits handed to the thread and not finished there, abandoned ones too: while
        # there are any, the lock is only taken through the thread (one description of
        # the file must not be taken from two places at once).
        self._outstanding = 0
        self._waits: queue.SimpleQueue[_Wait | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self, patience: float) -> None:
        """Hold the lock, waiting at most ``patience`` seconds for another process to
        let go (0: not at all); ``sqlite3.OperationalError`` (as SQLite's own
        "locked") after that."""
        if self._held:
            return
        if self._closed:
            raise sqlite3.OperationalError("database is closing")
        if patience <= 0 or (not self._yield and not self._outstanding):
            if not self._outstanding and self._try():
                self._held = True
                return
            if patience <= 0:
                raise sqlite3.OperationalError("database is locked: another process writes")
        loop = asyncio.get_running_loop()
        wait = _Wait(loop, loop.create_future(), behind=self._yield)
        self._yield = False
        self._outstanding += 1
        self._waiter().put(wait)
        try:
            await asyncio.wait_for(asyncio.shield(wait.future), patience)
        except BaseException as exc:
            with wait.guard:
                wait.abandoned = True
                got = wait.acquired
            if got:  # the lock came just as the wait ended: not wanted any more
                self._unlock()
            if isinstance(exc, TimeoutError):
                raise sqlite3.OperationalError(
                    "database is locked: another process kept writing"
                ) from None
            raise
        if self._closed:  # closed while it waited: its files are going
            self._unlock()
            raise sqlite3.OperationalError("database is closing")
        self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        with self._files:
            if self._fd < 0:
                return
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            # Someone waits (holds the queue file shared): next time, queue behind them.
            try:
                fcntl.flock(self._probe_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._yield = True
            else:
                fcntl.flock(self._probe_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        self._closed = True
        if self._thread is not None:
            self._waits.put(None)  # the thread closes the files after its last wait
        else:
            self._close_files()

    def _unlock(self) -> None:
        with self._files:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _close_files(self) -> None:
        with self._files:
            for fd in (self._fd, self._mark_fd, self._probe_fd, self._behind_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fd = self._mark_fd = self._probe_fd = self._behind_fd = -1

    def _try(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _waiter(self) -> queue.SimpleQueue[_Wait | None]:
        if self._thread is None:
            # A daemon of its own, not the loop's executor: a wait that never ends
            # (a process holding the lock for good) must not hold up the loop's close.
            self._thread = threading.Thread(
                target=self._wait_in_turn, name="sqlite-writer-lock", daemon=True
            )
            self._thread.start()
        return self._waits

    def _wait_in_turn(self) -> None:
        while (wait := self._waits.get()) is not None:
            error: OSError | None = None
            try:
                if wait.behind:
                    # Those marked have the lock once the queue file is free of them.
                    fcntl.flock(self._behind_fd, fcntl.LOCK_EX)
                    fcntl.flock(self._behind_fd, fcntl.LOCK_UN)
                fcntl.flock(self._mark_fd, fcntl.LOCK_SH)
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                finally:
                    fcntl.flock(self._mark_fd, fcntl.LOCK_UN)
            except OSError as exc:
                error = exc
            with wait.guard:
                if error is None and wait.abandoned:
                    self._unlock()
                wait.acquired = error is None and not wait.abandoned
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                wait.loop.call_soon_threadsafe(self._settle, wait, error)
        self._close_files()

    def _settle(self, wait: _Wait, error: OSError | None) -> None:
        self._outstanding -= 1
        if wait.abandoned or wait.future.done():
            return
        if error is None:
            wait.future.set_result(None)
        else:
            wait.future.set_exception(error)
