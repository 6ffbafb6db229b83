"""The limit for bench/compare.py: an aiohttp handler that checks WeChat's signature and
answers a fixed passive reply (naming the customer of a 「查」 or 「跟进」, as wecrm's would), and
nothing else — what this machine can do with aiohttp before any bot work.

With ``--sqlite FILE`` each message also writes one row (its MsgId) to a SQLite file in
WAL mode with ``synchronous=NORMAL``, autocommit, on the loop's thread: the issue's
"aiohttp + one SQLite write per message" row, what the embedded database allows a
message before any bot work, measured in the same run as everything else.

    python bench/bare_server.py [--sqlite FILE] PORT
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import sys

from aiohttp import web

TOKEN = "bench-token"
REPLY = (
    "<xml><ToUserName><![CDATA[u]]></ToUserName><FromUserName><![CDATA[a]]></FromUserName>"
    "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[{text}]]></Content></xml>"
)


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


async def handle(request: web.Request) -> web.Response:
    q = request.query
    expected = _signature(TOKEN, q.get("timestamp", ""), q.get("nonce", ""))
    if not hmac.compare_digest(expected, q.get("signature", "")):
        return web.Response(status=403)
    body = await request.read()
    if DB is not None:
        msg_id = body.split(b"<MsgId>")[-1].split(b"</MsgId>")[0]
        DB.execute("INSERT INTO message (msg_id) VALUES (?)", (msg_id.decode(),))
    words = body.split(b"<Content><![CDATA[")[-1].split(b"]]>")[0].split(b" ")
    name = words[1].decode() if len(words) > 1 else ""
    # As wecrm's card and follow-up replies begin, so the client's checks pass.
    text = f"【{name}】" if words[0] == "查".encode() else f"已记录跟进：\n客户：{name}"
    return web.Response(text=REPLY.format(text=text), content_type="application/xml")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


DB: sqlite3.Connection | None = None

if __name__ == "__main__":
    if sys.argv[1] == "--sqlite":
        DB = sqlite3.connect(sys.argv[2], isolation_level=None)
        DB.execute("PRAGMA journal_mode=WAL")
        DB.execute("PRAGMA synchronous=NORMAL")
        DB.execute("CREATE TABLE IF NOT EXISTS message (msg_id TEXT PRIMARY KEY)")
    app = web.Application()
    app.router.add_post("/wechat", handle)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[-1]), print=None, access_log=None)
