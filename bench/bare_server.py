"""The limit for bench/compare.py: an aiohttp handler that checks WeChat's signature and
answers a fixed passive reply (naming the customer of a 「查」 or 「跟进」, as wecrm's would), and
nothing else — what this machine can do with aiohttp before any bot work.

    python bench/bare_server.py PORT
"""

from __future__ import annotations

import hashlib
import hmac
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
    words = body.split(b"<Content><![CDATA[")[-1].split(b"]]>")[0].split(b" ")
    name = words[1].decode() if len(words) > 1 else ""
    # As wecrm's card and follow-up replies begin, so the client's checks pass.
    text = f"【{name}】" if words[0] == "查".encode() else f"已记录跟进：\n客户：{name}"
    return web.Response(text=REPLY.format(text=text), content_type="application/xml")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/wechat", handle)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
