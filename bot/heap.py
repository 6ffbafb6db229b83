"""Keep Python's full garbage collections short in the web server.

What a server process loads and keeps — aiohttp, Tortoise and the models, and, on
first use, pypinyin's and cn2an's dictionaries — is 80 000 to 275 000 objects that
CPython's cyclic collector walks on every full collection: 40–60 ms each, a few
times every ten seconds under load (measured with ``gc.callbacks`` during 查 at
c=32), which the requests in flight wait out. ``gc.freeze()`` moves everything alive
at that moment out of the collector's sight (CPython's advice for long-lived
processes). A module imported later — the dictionaries load on the first message
that needs them — is frozen at the next check.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from bot.background import BackgroundTask

CHECK_EVERY = 5.0  # seconds


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
    """aiohttp cleanup context running a :class:`ModuleFreezer`."""
    freezer = ModuleFreezer()
    freezer.start()
    yield
    await freezer.stop()
