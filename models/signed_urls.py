"""Plain-mode signed URLs taken on by this process, committed in batches (SQLite).

The replay record (``models.messages.SignedUrl``) was an INSERT of its own for every
plain-mode callback: on SQLite a commit of its own, a fifth of 帮助's CPU (py-spy,
``docs/benchmarks.md``). Here the check is split from the write:

* the URLs this process took on wait in memory, where the check looks first — a
  second body under a URL still waiting is refused at once;
* the digest committed under the URL before (a restart, another worker) comes with
  the sender read (``models.inbound``), which reads it in the same statement;
* every :attr:`PendingUrls.delay` seconds the waiting URLs are written together, in
  one transaction.

What a crash loses is the last batch: a URL in it could be posted again with another
body — by someone who saw that URL go by in those milliseconds — until its timestamp
leaves the freshness window. Several SQLite workers likewise see each other's URLs a
batch late. PostgreSQL records the URL inside the sender read itself and needs none
of this.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime

from bot.background import Batches
from models.messages import ReplayRefused
from models.rawsql import execute_many

log = logging.getLogger("wecrm.replay")

_INSERT = (
    'INSERT INTO "signed_url" ("key", "digest", "created_at") VALUES (?, ?, ?) '
    'ON CONFLICT ("key") DO NOTHING'
)


class PendingUrls(Batches):
    task_name = "signed-urls"
    what = "signed URLs"
    log = log

    def __init__(self) -> None:
        super().__init__()
        self._waiting: dict[str, tuple[str, datetime]] = {}

    def hold(self, key: str, digest: str) -> None:
        """Take the URL on for this body; :class:`ReplayRefused` if this process took
        it on for another body and has not written it yet."""
        waiting = self._waiting.get(key)
        if waiting is None:
            self._waiting[key] = (digest, datetime.now(UTC))
            self._more()
        elif not hmac.compare_digest(waiting[0], digest):
            raise ReplayRefused(key)

    def check(self, key: str, digest: str, seen: str | None) -> None:
        """After the sender read: refuse the body when the database holds another one
        under the URL (and let go of the URL, which stays the other body's)."""
        if seen is not None and not hmac.compare_digest(seen, digest):
            if self._waiting.get(key, ("",))[0] == digest:
                del self._waiting[key]
            raise ReplayRefused(key)

    async def _write(self, *, wait: bool) -> None:
        """Write the waiting URLs in one transaction (:meth:`Batches.flush`)."""
        if not self._waiting:
            return
        batch = dict(self._waiting)
        rows: list[list[object]] = [[key, digest, at] for key, (digest, at) in batch.items()]
        async with self._transaction(wait=wait):
            await execute_many(_INSERT, rows)
        for key, entry in batch.items():
            if self._waiting.get(key) == entry:
                del self._waiting[key]

    def __len__(self) -> int:
        return len(self._waiting)
