"""Python's cyclic garbage collector in the web server: fewer, shorter collections.

What a server process loads and keeps — aiohttp, Tortoise and the models, and, on
first use, pypinyin's and cn2an's dictionaries — is 80 000 to 275 000 objects that
CPython's cyclic collector walks on every full collection: 40–60 ms each, a few
times every ten seconds under load (measured with ``gc.callbacks`` during 查 at
c=32), which the requests in flight wait out. ``gc.freeze()`` moves everything alive
at that moment out of the collector's sight (CPython's advice for long-lived
processes). A module imported later — the dictionaries load on the first message
that needs them — is frozen at the next check.

The youngest generation is collected less often too. Its collection runs whenever
700 more container objects were made than freed (CPython's default), and under load
that count swings by thousands with the messages in flight (their tasks, requests,
rows) without any of them being garbage: a message's objects are freed by reference
counting, and ``gc.DEBUG_SAVEALL`` over 1 000 follow-ups found no cycle left behind.
Each such collection walks the messages in flight and moves them on to the older
generations, whose collections walk them again. With 10 000, 帮助 at c=256 on
SQLite spent 0.05 s in the collector over a run instead of 0.34 (``gc.callbacks``),
and 148–165 µs of CPU a message instead of 154–180 (one process, the threshold
switched between rounds, five pairs); a follow-up, whose collections walk more,
cost the same either way (704–738 µs at c=32).
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from bot.background import BackgroundTask

CHECK_EVERY = 5.0  # seconds
YOUNG_THRESHOLD = 10_000  # allocations net of frees between young collections


def freeze() -> None:
    """Collect what is garbage now, then freeze the rest."""
    gc.collect()
    gc.freeze()


class ModuleFreezer(BackgroundTask):
    """Freezes once started, and again whenever modules were imported since
    (``sys.modules`` grew)."""

    task_name = "gc-freeze"

    async def _run(self) -> None:
        frozen_at = len(sys.modules)
        freeze()
        while True:
            await asyncio.sleep(CHECK_EVERY)
            if len(sys.modules) != frozen_at:
                frozen_at = len(sys.modules)
                freeze()


async def freeze_loaded_modules(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context running a :class:`ModuleFreezer`, with the young
    generation's threshold raised while the server runs."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *thresholds[1:])
    freezer = ModuleFreezer()
    freezer.start()
    try:
        yield
    finally:
        await freezer.stop()
        gc.set_threshold(*thresholds)
