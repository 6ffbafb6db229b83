"""What the database allows a 跟进, for bench/compare.py: the follow-up's own work with
nothing of wecrm's machinery — no ORM, no router, no Chinese parsing beyond splitting
on spaces — on wecrm's own schema and rows, statement for statement what wecrm sends.

Per message: the signature, the XML, the sender read (staff by openid and the dedup
record by key, one statement), the customer read (by exact name, the sender's), then
the five writes wecrm makes — the follow-up, the customer's last contact, the undo
step, the audit entry and the dedup record with the reply encrypted (AES-GCM, as
wecrm seals it) — and the reply.

* ``--sqlite FILE``: statements inline on one connection in WAL mode with
  ``synchronous=NORMAL``; the writes of one turn of the loop share a COMMIT (group
  commit, as wecrm's engine), and no reply goes out before its COMMIT.
* ``--pg URL``: asyncpg, one pooled connection per message, the five writes in one
  statement (data-modifying CTEs, as wecrm on PostgreSQL): three round trips.

Anything but a 跟进 is answered with the sender read and a fixed text (帮助).

    python bench/floor_server.py (--sqlite FILE | --pg URL) PORT
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN = "bench-token"
KEY = AESGCM(hashlib.sha256(b"floor").digest())
REPLY = (
    "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[a]]></FromUserName>"
    "<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[{text}]]></Content></xml>"
)
SENDER = (
    'SELECT s."id", (SELECT "status" FROM "processed_message" WHERE "key" = {k}) '
    'FROM "staff" s WHERE s."oa_openid" = {o} AND s."active"'
)
CUSTOMER = 'SELECT "id", "last_contact_at" FROM "customer" WHERE "name" = {n} AND "owner_id" = {s}'
WRITES = (
    'INSERT INTO "followup" ("method","content","feedback","next_revisit_on",'
    '"next_revisit_time","created_at","customer_id","rep_id") VALUES ({})',
    'UPDATE "customer" SET "last_contact_at"={0},"updated_at"={1} WHERE "id"={2}',
    'INSERT INTO "undo_entry" ("kind","target_id","before","label","undone_at","created_at",'
    '"staff_id") VALUES ({})',
    'INSERT INTO "audit_log" ("actor","actor_role","action","target","detail","request_id",'
    '"created_at") VALUES ({})',
    'INSERT INTO "processed_message" ("key","channel","sender","status","reply","created_at",'
    '"updated_at","taker") VALUES ({})',
)


# The follow-up's id, where the undo step names it: known once the row is in.
REF = object()


def _marks(sql: str, values: list[Any], mark: Any) -> tuple[str, list[Any]]:
    """``sql`` with a placeholder per value (``mark(i)`` for the i-th parameter, or
    the reference for :data:`REF`) and the parameters."""
    params, marks = [], []
    for value in values:
        if value is REF:
            marks.append(mark(None))
            continue
        params.append(value)
        marks.append(mark(len(params)))
    if sql.startswith("UPDATE"):
        return sql.format(*marks), params
    return sql.format(",".join(marks)), params


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _seal(text: str) -> str:
    nonce = os.urandom(12)
    sealed = KEY.encrypt(nonce, json.dumps({"text": text}, ensure_ascii=False).encode(), None)
    return json.dumps({"sealed": "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()})


def _rows(
    msg: dict[str, str], staff_id: int, customer: tuple[Any, ...], note: str, now: datetime
) -> list[list[Any]]:
    """The values of the five writes, in order (the follow-up's id filled in later)."""
    key = f"oa:{msg['FromUserName']}:{msg['MsgId']}"
    before = json.dumps({"customer_id": customer[0], "last_contact_at": customer[1]}, default=str)
    text = f"已记录跟进：\n客户：{msg['name']}\n内容：{note}"
    return [
        ["phone", note, "", None, None, now, customer[0], staff_id],
        [now, now, customer[0]],
        ["followup", REF, before, f"跟进 {msg['name']}", None, now, staff_id],
        [f"staff:{staff_id}", "rep", "followups.followup", f"customer:{customer[0]}",
         json.dumps({"kind": "text", "message": key}), "0" * 12, now],
        [key, "oa", msg["FromUserName"], "done", _seal(text), now, now,
         f"{time.time_ns():016x}{secrets.token_hex(4)}"],
    ]  # fmt: skip


def _message(body: bytes) -> dict[str, str]:
    msg = {child.tag: child.text or "" for child in ET.fromstring(body)}
    words = msg.get("Content", "").split(" ")
    msg["command"], msg["name"] = words[0], words[1] if len(words) > 1 else ""
    msg["note"] = " ".join(words[2:])
    return msg


def _reply(msg: dict[str, str], text: str) -> web.Response:
    body = REPLY.format(to=msg["FromUserName"], now=int(datetime.now().timestamp()), text=text)
    return web.Response(text=body, content_type="application/xml")


class SQLiteFloor:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=5)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.committed: asyncio.Future[None] | None = None

    async def handle(self, msg: dict[str, str]) -> str:
        key = f"oa:{msg['FromUserName']}:{msg['MsgId']}"
        q = self.db.execute(SENDER.format(k="?", o="?"), (key, msg["FromUserName"])).fetchone()
        if q is None:
            return "请先绑定"
        if msg["command"] != "跟进":
            return "你可以发送以下命令：帮助"
        staff_id = q[0]
        customer = self.db.execute(CUSTOMER.format(n="?", s="?"), (msg["name"], staff_id))
        found = customer.fetchone()
        if found is None:
            return "没有找到"
        now = datetime.now(UTC)
        rows = _rows(msg, staff_id, found, msg["note"], now)
        if self.committed is None:
            self.db.execute("BEGIN IMMEDIATE")
            self.committed = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._commit)
        committed = self.committed
        followup_id = None
        for sql, values in zip(WRITES, rows, strict=True):
            values = [followup_id if v is REF else v for v in values]
            cursor = self.db.execute(*_marks(sql, values, lambda _: "?"))
            followup_id = followup_id or cursor.lastrowid
        await committed
        return f"已记录跟进：\n客户：{msg['name']}"

    def _commit(self) -> None:
        committed, self.committed = self.committed, None
        self.db.execute("COMMIT")
        assert committed is not None
        committed.set_result(None)


class PostgresFloor:
    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.url, min_size=4, max_size=8)

    async def handle(self, msg: dict[str, str]) -> str:
        key = f"oa:{msg['FromUserName']}:{msg['MsgId']}"
        async with self.pool.acquire() as conn:
            q = await conn.fetchrow(SENDER.format(k="$1", o="$2"), key, msg["FromUserName"])
            if q is None:
                return "请先绑定"
            if msg["command"] != "跟进":
                return "你可以发送以下命令：帮助"
            staff_id = q[0]
            found = await conn.fetchrow(CUSTOMER.format(n="$1", s="$2"), msg["name"], staff_id)
            if found is None:
                return "没有找到"
            rows = _rows(msg, staff_id, tuple(found), msg["note"], datetime.now(UTC))
            params: list[Any] = []
            parts = []
            for i, (sql, values) in enumerate(zip(WRITES, rows, strict=True)):
                start = len(params)
                part, more = _marks(
                    sql,
                    values,
                    lambda j, s=start: "(SELECT id FROM w0)" if j is None else f"${s + j}",
                )
                params += more
                parts.append(part + (" RETURNING id" if i == 0 else ""))
            chain = ", ".join(f"w{i} AS ({p})" for i, p in enumerate(parts[:-1]))
            await conn.execute(f"WITH {chain} {parts[-1]}", *params)
        return f"已记录跟进：\n客户：{msg['name']}"


FLOOR: SQLiteFloor | PostgresFloor


async def handle(request: web.Request) -> web.Response:
    q = request.query
    expected = _signature(TOKEN, q.get("timestamp", ""), q.get("nonce", ""))
    if not hmac.compare_digest(expected, q.get("signature", "")):
        return web.Response(status=403)
    msg = _message(await request.read())
    return _reply(msg, await FLOOR.handle(msg))


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _start(app: web.Application) -> None:
    if isinstance(FLOOR, PostgresFloor):
        await FLOOR.start()


if __name__ == "__main__":
    kind, where, port = sys.argv[1:4]
    FLOOR = SQLiteFloor(str(Path(where))) if kind == "--sqlite" else PostgresFloor(where)
    app = web.Application()
    app.on_startup.append(_start)
    app.router.add_post("/wechat", handle)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)
