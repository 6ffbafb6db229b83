"""WeRoBot, what people run today, for bench/compare.py: its own signature check, XML
parsing and passive reply, answering like bench/bare_server.py, under gunicorn with
two workers (``pip install werobot gunicorn``; an optional extra, not a dependency).

    python bench/werobot_server.py PORT
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

import werobot

TOKEN = "bench-token"
robot = werobot.WeRoBot(token=TOKEN)


@robot.text
def answer(message: Any) -> str:
    words = message.content.split(" ")
    name = words[1] if len(words) > 1 else ""
    if words[0] == "查":
        return f"【{name}】"
    return f"已记录跟进：\n客户：{name}"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status": "ok"}']
    return robot.wsgi(environ, start_response)


if __name__ == "__main__":
    port = sys.argv[1]
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    os.execv(
        gunicorn,
        [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "werobot_server:application"],
    )  # fmt: skip
