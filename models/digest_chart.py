"""The digest's chart: one PNG a manager reads on a phone — follow-ups and deals per
rep for the period, and the signed amount of the last 14 days.

matplotlib is imported here only (it costs ~0.5 s at first use, so the rest of the
program never pays for it), renders with the Agg backend, and draws every label in
Noto Sans CJK SC shipped by the ``mplfonts`` package: without a CJK font matplotlib
would draw Chinese as empty boxes on a server with none installed.
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from bot.config import Config
from models.digest import Digest
from models.digest_text import digest_title
from models.staff import Staff
from models.staff_push import push_to_staff

FONT_FILE = "NotoSansCJKsc-Regular.otf"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 9.0, 100
SIZE = (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))
# pyplot keeps global state; a chart rendered in a worker thread must not meet another.
_LOCK = threading.Lock()


def font_path() -> Path:
    return Path(str(resources.files("mplfonts") / "fonts" / FONT_FILE))


@lru_cache(maxsize=1)
def _setup() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = [family]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font has no U+2212
    return family


def resolved_font() -> str:
    """The file matplotlib uses for the chart's text (checked by the tests)."""
    family = _setup()
    from matplotlib import font_manager

    return str(font_manager.findfont(font_manager.FontProperties(family=family)))


def render_png(d: Digest) -> bytes:
    """The chart of ``d`` as PNG bytes, SIZE pixels."""
    _setup()
    with _LOCK:
        return _render(d)


def _render(d: Digest) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    fig.suptitle(digest_title(d.period), fontsize=16)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.2, 1]})
    names = [r.name for r in d.reps] or ["（暂无销售）"]
    followups = [r.followups for r in d.reps] or [0]
    deals = [r.deals for r in d.reps] or [0]
    rows = range(len(names))
    top.barh([y + 0.2 for y in rows], followups, height=0.4, color="#3b82f6", label="跟进")
    top.barh([y - 0.2 for y in rows], deals, height=0.4, color="#f59e0b", label="成交笔数")
    top.set_yticks(list(rows), labels=names)
    top.set_xlim(0, max([*followups, *deals, 1]) * 1.15)
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    top.invert_yaxis()
    top.set_title("按销售：跟进与成交")
    top.legend(loc="lower right")
    for y, value in zip(rows, followups, strict=True):
        top.annotate(str(value), (value, y + 0.2), xytext=(3, 0), textcoords="offset points",
                     va="center", fontsize=9)  # fmt: skip
    days = [f"{day.month}/{day.day}" for day, _ in d.daily_amounts]
    amounts = [float(amount) / 10000 for _, amount in d.daily_amounts]
    bottom.bar(days, amounts, color="#10b981")
    bottom.set_title("近 14 天成交金额（万元）")
    bottom.tick_params(axis="x", labelrotation=45, labelsize=8)
    bottom.set_ylabel("万元")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


async def render_chart(d: Digest) -> bytes:
    """:func:`render_png` in a worker thread: drawing takes a few hundred milliseconds
    the event loop should not wait for."""
    import asyncio

    return await asyncio.to_thread(render_png, d)


async def push_chart(
    staff: Staff, d: Digest, png: bytes, key: str, cfg: Config, *, bulk: bool = False
) -> bool:
    """Queue the chart for ``staff`` as an image push (captioned with the report's title)."""
    caption = f"{digest_title(d.period)}图表"
    image = (png, f"digest-{d.period.last}.png")
    return await push_to_staff(staff, caption, key, cfg, bulk=bulk, image=image)
