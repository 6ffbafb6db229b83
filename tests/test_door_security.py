"""Security at the door of ``/wechat``: signature, replay window, body cap, hostile
XML and tampered AES messages — each turned away with its status, never a 500.

Every test here also checks that nothing was logged at ERROR: the app's guard turns
an unexpected exception into a polite 200, so a status alone would hide a crash.
Timestamps are crafted or frozen with time-machine; nothing sleeps for a clock.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.channels import official_account
from bot.channels.security import (
    DoorError,
    check_signature,
    check_timestamp,
    parse_xml,
    signed_url_key,
)
from handlers.fallback import NOT_UNDERSTOOD
from tests.conftest import TOKEN, AppFactory, sender_for
from tests.wechat_client import (
    OPENID,
    WeChatSender,
    aes_request,
    exchange,
    next_msg_id,
    sign,
    text_xml,
)

# The guard turns any crash into a quiet 200: fail loudly if one happened.
pytestmark = pytest.mark.usefixtures("no_errors_logged")

DEFAULT_CAP = 64 * 1024
NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


async def status_of(resp: ClientResponse) -> int:
    """The status, after checking the body gives nothing away."""
    body = await resp.text()
    assert "Traceback" not in body and 'File "' not in body, body
    assert resp.status < 500, body
    return resp.status


async def post(
    sender: WeChatSender, body: bytes | Any, params: dict[str, str] | None = None
) -> ClientResponse:
    query = sender.signed_query() if params is None else params
    return await sender.client.post("/wechat", params=query, data=body)


def padded_text_xml(size: int) -> bytes:
    """A valid text message of exactly ``size`` bytes (whitespace between elements)."""
    xml = text_xml("你好").encode()
    head, sep, tail = xml.partition(b"<MsgType>")
    padding = size - len(xml)
    assert padding >= 0
    return head + b" " * padding + sep + tail


# ---------------------------------------------------------------------------------
# Signature
# ---------------------------------------------------------------------------------


async def test_a_good_request_passes(wechat: WeChatSender) -> None:
    assert (await exchange(wechat, text_xml("你好"))).content == NOT_UNDERSTOOD


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_missing_signature(wechat: WeChatSender, aes: bool) -> None:
    params = wechat.signed_query()
    del params["signature"]
    assert await status_of(await post(wechat, text_xml("你好").encode(), params)) == 403
    params["signature"] = ""
    assert await status_of(await post(wechat, text_xml("你好").encode(), params)) == 403


@pytest.mark.parametrize(
    "bad",
    [
        "0" * 40,
        "not-a-signature",
        "é" * 40,
        "upper",  # the right signature in upper case: WeChat sends lower-case hex
        "other-token",
    ],
)
async def test_wrong_signature(wechat: WeChatSender, bad: str) -> None:
    params = wechat.signed_query()
    if bad == "upper":
        params["signature"] = params["signature"].upper()
    elif bad == "other-token":
        params["signature"] = sign("another-token", params["timestamp"], params["nonce"])
    else:
        params["signature"] = bad
    assert await status_of(await post(wechat, text_xml("你好").encode(), params)) == 403


async def test_signature_does_not_carry_over_to_another_nonce(wechat: WeChatSender) -> None:
    params = wechat.signed_query()
    params["nonce"] = params["nonce"] + "0"
    assert await status_of(await post(wechat, text_xml("你好").encode(), params)) == 403


def test_check_signature_unit() -> None:
    check_signature(("t", "1", "n"), sign("t", "1", "n"))
    for given in (None, "", sign("t", "1", "x"), "Ω"):
        with pytest.raises(DoorError) as err:
            check_signature(("t", "1", "n"), given)
        assert err.value.status == 403


# ---------------------------------------------------------------------------------
# Timestamp freshness (replays)
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status"),
    [(0, 200), (-300, 200), (300, 200), (-301, 403), (301, 403), (-86400, 403), (86400, 403)],
)
async def test_default_window_is_300_seconds(
    wechat: WeChatSender, offset: int, status: int
) -> None:
    with time_machine.travel(NOW, tick=False):
        params = wechat.signed_query(timestamp=int(NOW.timestamp()) + offset)
        resp = await post(wechat, text_xml("你好").encode(), params)
        assert await status_of(resp) == status


@pytest.mark.parametrize(("offset", "status"), [(-60, 200), (60, 200), (-61, 403), (61, 403)])
async def test_configured_window(app_client: AppFactory, offset: int, status: int) -> None:
    sender = sender_for(await app_client(security={"timestamp_window": 60}))
    with time_machine.travel(NOW, tick=False):
        params = sender.signed_query(timestamp=int(NOW.timestamp()) + offset)
        resp = await post(sender, text_xml("你好").encode(), params)
        assert await status_of(resp) == status


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_captured_request_replayed_later_is_refused(wechat: WeChatSender, aes: bool) -> None:
    xml = text_xml("你好")
    with time_machine.travel(NOW, tick=False) as traveller:
        if aes:
            params, body = aes_request(wechat, xml)
        else:
            params, body = wechat.signed_query(), xml.encode()
        assert await status_of(await post(wechat, body, params)) == 200
        traveller.shift(299)  # WeChat's own retries come within seconds: still fine
        assert await status_of(await post(wechat, body, params)) == 200
        traveller.shift(2)
        assert await status_of(await post(wechat, body, params)) == 403


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "-1", "1.5", "1e9", "²", "１７４０", "9" * 13, " 1740000000"]
)
async def test_malformed_timestamp(wechat: WeChatSender, timestamp: str) -> None:
    # Signed with the odd timestamp, so only the freshness check can refuse it.
    nonce = "n0nce"
    params = {"timestamp": timestamp, "nonce": nonce, "signature": sign(TOKEN, timestamp, nonce)}
    assert await status_of(await post(wechat, text_xml("你好").encode(), params)) == 403


def test_check_timestamp_unit() -> None:
    check_timestamp("1000", 300, now=1300)
    check_timestamp("1300", 300, now=1000)
    for ts in ("699", "1301", None, "", "x", "²"):
        with pytest.raises(DoorError) as err:
            check_timestamp(ts, 300, now=1000)
        assert err.value.status == 403


# ---------------------------------------------------------------------------------
# Body size cap, enforced before parsing
# ---------------------------------------------------------------------------------


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the bodies the channel handed to the XML parser."""
    calls: list[int] = []

    def spy(body: bytes) -> dict[str, str]:
        calls.append(len(body))
        return parse_xml(body)

    monkeypatch.setattr(official_account, "parse_xml", spy)
    return calls


async def chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    """A streamed body: aiohttp sends it chunked, with no Content-Length. Each chunk is
    handed over separately, so the server sees the body arrive in pieces."""
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await asyncio.sleep(0)


def was_chunked(resp: ClientResponse) -> bool:
    headers = resp.request_info.headers
    return headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in headers


async def test_default_cap_accepts_64_kib(wechat: WeChatSender, parse_calls: list[int]) -> None:
    resp = await post(wechat, padded_text_xml(DEFAULT_CAP))
    assert await status_of(resp) == 200
    assert parse_calls == [DEFAULT_CAP]


async def test_default_cap_refuses_one_byte_more(
    wechat: WeChatSender, parse_calls: list[int]
) -> None:
    resp = await post(wechat, padded_text_xml(DEFAULT_CAP + 1))
    assert await status_of(resp) == 413
    assert parse_calls == []


async def test_oversize_garbage_is_413_not_400(
    wechat: WeChatSender, parse_calls: list[int]
) -> None:
    # Not even XML: refused for its size, so the parser never saw it.
    resp = await post(wechat, b"<" * (DEFAULT_CAP + 1))
    assert await status_of(resp) == 413
    assert parse_calls == []


async def test_oversize_chunked(wechat: WeChatSender, parse_calls: list[int]) -> None:
    resp = await post(wechat, chunks(padded_text_xml(DEFAULT_CAP + 1)))
    assert was_chunked(resp)
    assert await status_of(resp) == 413
    assert parse_calls == []


async def test_much_larger_chunked_stops_reading(
    wechat: WeChatSender, parse_calls: list[int]
) -> None:
    resp = await post(wechat, chunks(b"A" * (DEFAULT_CAP * 16), size=65536))
    assert was_chunked(resp)
    assert await status_of(resp) == 413
    assert parse_calls == []


async def test_chunked_within_cap_is_read_whole(
    wechat: WeChatSender, parse_calls: list[int]
) -> None:
    """A body arriving in pieces is read to its end, not cut at the first piece."""
    body = padded_text_xml(20_000)
    resp = await post(wechat, chunks(body, size=1000))
    assert was_chunked(resp)
    assert await status_of(resp) == 200
    assert "帮助" in await resp.text()
    assert parse_calls == [len(body)]


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_configured_cap(app_client: AppFactory, parse_calls: list[int], aes: bool) -> None:
    cap = 1024
    sender = sender_for(await app_client(security={"max_body_bytes": cap}))
    small = await exchange(sender, text_xml("你好"), aes=aes)
    assert small.status == 200 and small.content == NOT_UNDERSTOOD
    parse_calls.clear()
    big = text_xml("你好" * 400)  # ~2.4 KB
    if aes:
        params, body = aes_request(sender, big)
    else:
        params, body = sender.signed_query(), big.encode()
    assert len(body) > cap
    assert await status_of(await post(sender, body, params)) == 413
    assert await status_of(await post(sender, chunks(body, size=256), params)) == 413
    assert parse_calls == []


async def test_configured_cap_boundary(app_client: AppFactory) -> None:
    sender = sender_for(await app_client(security={"max_body_bytes": 1024}))
    assert await status_of(await post(sender, padded_text_xml(1024))) == 200
    assert await status_of(await post(sender, padded_text_xml(1025))) == 413


# ---------------------------------------------------------------------------------
# Hostile or broken XML
# ---------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>oUser</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content>
<MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>oUser</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>
<MsgId>2</MsgId></xml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><FromUserName>oUser</FromUserName><MsgType>text</MsgType><Content>x</Content></xml>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % pe SYSTEM "http://127.0.0.1:9/x.dtd"> %pe;]>
<xml><FromUserName>oUser</FromUserName><MsgType>text</MsgType><Content>x</Content></xml>"""

QUADRATIC = (
    b'<!DOCTYPE xml [<!ENTITY a "'
    + b"A" * 8000
    + b'">]><xml><FromUserName>oUser</FromUserName><MsgType>text</MsgType><Content>'
    + b"&a;" * 4000
    + b"</Content></xml>"
)

BARE_DOCTYPE = b"<!DOCTYPE xml><xml><FromUserName>oUser</FromUserName></xml>"

# A DTD after a comment or a processing instruction is still in the prolog.
AFTER_COMMENT = (
    b'<?xml version="1.0"?><!-- <xml> --><!DOCTYPE xml [<!ENTITY a "A">]>'
    b"<xml><FromUserName>oUser</FromUserName><Content>&a;</Content></xml>"
)
AFTER_PI = (
    b'<?pi x?><!DOCTYPE xml [<!ENTITY a "A">]>'
    b"<xml><FromUserName>oUser</FromUserName><Content>&a;</Content></xml>"
)

DTD_BODIES = {
    "billion-laughs": BILLION_LAUGHS,
    "external-entity": EXTERNAL_ENTITY,
    "external-dtd": EXTERNAL_DTD,
    "parameter-entity": PARAMETER_ENTITY,
    "quadratic-blowup": QUADRATIC,
    "bare-doctype": BARE_DOCTYPE,
    "after-comment": AFTER_COMMENT,
    "after-pi": AFTER_PI,
}


@pytest.mark.parametrize("body", list(DTD_BODIES.values()), ids=list(DTD_BODIES))
@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_dtd_and_entities_refused(wechat: WeChatSender, body: bytes, aes: bool) -> None:
    if aes:  # the same document, hidden inside a correctly encrypted envelope
        params, body = aes_request(wechat, body.decode())
    else:
        params = wechat.signed_query()
    started = time.perf_counter()
    resp = await post(wechat, body, params)
    assert await status_of(resp) == 400
    text = await resp.text()
    assert len(text) < 200 and "lol" not in text and "root:" not in text
    assert time.perf_counter() - started < 2  # refused, not expanded


@pytest.mark.parametrize("body", list(DTD_BODIES.values()), ids=list(DTD_BODIES))
def test_parse_xml_refuses_dtd(body: bytes) -> None:
    with pytest.raises(DoorError) as err:
        parse_xml(body)
    assert err.value.status == 400


async def test_markup_said_in_a_message_is_not_refused(wechat: WeChatSender) -> None:
    """What a user writes is CDATA: a customer pasting 「<!DOCTYPE html>」 or 「&lol;」
    is a message like any other, not an attack."""
    said = "网页打不开，报错 <!DOCTYPE html> <!ENTITY x> &lol; 怎么办"
    assert parse_xml(text_xml(said).encode())["Content"] == said
    assert await status_of(await post(wechat, text_xml(said).encode())) == 200


@pytest.mark.parametrize(
    "prolog",
    ["", '<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff", "\n  ", "<?xml version='1.0'?>"],
    ids=["none", "declaration", "bom", "whitespace", "single-quotes"],
)
def test_parse_xml_accepts_what_precedes_a_root_legitimately(prolog: str) -> None:
    root = "<xml><FromUserName>oUser</FromUserName><Content>你好</Content></xml>"
    body = (prolog + root).encode()
    assert parse_xml(body) == {"FromUserName": "oUser", "Content": "你好"}


MALFORMED = {
    "empty": b"",
    "whitespace": b" \n\t ",
    "not-xml": b"hello",
    "json": b'{"MsgType": "text"}',
    "unclosed": b"<xml><FromUserName>oUser</FromUserName>",
    "mismatched": b"<xml><Content>x</MsgType></xml>",
    "two-roots": b"<xml></xml><xml></xml>",
    "wrong-root": b"<message><FromUserName>oUser</FromUserName></message>",
    "broken-cdata": b"<xml><Content><![CDATA[x]></Content></xml>",
    "control-char": b"<xml><FromUserName>oUser</FromUserName><Content>a\x01b</Content></xml>",
    "char-ref-control": b"<xml><FromUserName>oUser</FromUserName><Content>&#1;</Content></xml>",
    "undefined-entity": b"<xml><Content>&nbsp;</Content></xml>",
    "nul": b"<xml>\x00</xml>",
    "bad-encoding-decl": b'<?xml version="1.0" encoding="klingon"?><xml></xml>',
    "utf16-decl": b'<?xml version="1.0" encoding="utf-16"?><xml></xml>',
    "no-sender": b"<xml><MsgType>text</MsgType><Content>x</Content></xml>",
    "truncated": text_xml("你好").encode()[:-10],
}

NOT_UTF8 = {
    "gbk": text_xml("你好，我要投诉").encode("gbk"),
    "latin1-bytes": b"<xml><FromUserName>\xff\xfe</FromUserName></xml>",
    "utf16": text_xml("你好").encode("utf-16"),
    "lone-continuation": b"<xml><Content>\x80</Content></xml>",
}


@pytest.mark.parametrize(
    "body", list(MALFORMED.values()) + list(NOT_UTF8.values()), ids=[*MALFORMED, *NOT_UTF8]
)
@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_malformed_or_not_utf8_is_400(wechat: WeChatSender, body: bytes, aes: bool) -> None:
    if aes:
        # The broken document as the decrypted payload of a valid envelope.
        encrypt = parse_xml(wechat.crypto.encrypt_message(body, "n", "1").encode())["Encrypt"]
        params, body = aes_request(wechat, "", encrypt=encrypt)
    else:
        params = wechat.signed_query()
    assert await status_of(await post(wechat, body, params)) == 400


# ---------------------------------------------------------------------------------
# AES: tampered, undecryptable, or not meant for us
# ---------------------------------------------------------------------------------


async def test_aes_good_request(wechat: WeChatSender) -> None:
    params, body = aes_request(wechat, text_xml("你好"))
    resp = await post(wechat, body, params)
    assert await status_of(resp) == 200
    assert NOT_UNDERSTOOD not in await resp.text()  # encrypted on the wire


@pytest.mark.parametrize("bad", ["missing", "empty", "zeros", "other-encrypt", "other-token"])
async def test_aes_bad_msg_signature(wechat: WeChatSender, bad: str) -> None:
    params, body = aes_request(wechat, text_xml("你好"))
    if bad == "missing":
        del params["msg_signature"]
    elif bad == "empty":
        params["msg_signature"] = ""
    elif bad == "zeros":
        params["msg_signature"] = "0" * 40
    elif bad == "other-encrypt":
        params["msg_signature"] = sign(TOKEN, params["timestamp"], params["nonce"], "x")
    else:
        encrypt = parse_xml(body)["Encrypt"]
        params["msg_signature"] = sign("other", params["timestamp"], params["nonce"], encrypt)
    assert await status_of(await post(wechat, body, params)) == 403


async def test_aes_url_signature_still_checked(wechat: WeChatSender) -> None:
    params, body = aes_request(wechat, text_xml("你好"))
    params["signature"] = "0" * 40  # msg_signature is right, signature is not
    assert await status_of(await post(wechat, body, params)) == 403


UNDECRYPTABLE = {
    "random-blocks": base64.b64encode(random.Random(1).randbytes(64)).decode(),
    "not-base64": "!!!!not base64!!!!",
    "short": base64.b64encode(b"0123456789").decode(),
    "one-block": base64.b64encode(b"\x00" * 16).decode(),
    "huge-length-field": "",  # built below from a real ciphertext
}


@pytest.mark.parametrize("name", list(UNDECRYPTABLE))
async def test_aes_undecryptable_encrypt(wechat: WeChatSender, name: str) -> None:
    encrypt = UNDECRYPTABLE[name]
    if name == "huge-length-field":
        # A real ciphertext with its first block flipped: the length field garbles.
        params, body = aes_request(wechat, text_xml("你好"))
        raw = bytearray(base64.b64decode(parse_xml(body)["Encrypt"]))
        for i in range(16):
            raw[i] ^= 0xFF
        encrypt = base64.b64encode(bytes(raw)).decode()
    params, body = aes_request(wechat, "", encrypt=encrypt)
    assert await status_of(await post(wechat, body, params)) == 400


async def test_aes_other_app_id(wechat: WeChatSender) -> None:
    params, body = aes_request(wechat, text_xml("你好"), app_id="wx0000000000000000")
    assert await status_of(await post(wechat, body, params)) == 400


async def test_aes_other_key(wechat: WeChatSender) -> None:
    other_key = base64.b64encode(bytes(range(32))).decode().rstrip("=")
    params, body = aes_request(wechat, text_xml("你好"), aes_key=other_key)
    assert await status_of(await post(wechat, body, params)) == 400


async def test_aes_missing_encrypt(wechat: WeChatSender) -> None:
    params, _ = aes_request(wechat, text_xml("你好"))
    body = text_xml("你好").encode()  # plain message sent as if encrypted
    assert await status_of(await post(wechat, body, params)) == 400


async def test_aes_without_configured_key_is_400(app_client: AppFactory) -> None:
    sender = sender_for(await app_client(wechat={"mode": "plain", "encoding_aes_key": ""}))
    params, body = aes_request(sender, text_xml("你好"))
    assert await status_of(await post(sender, body, params)) == 400
    assert (await exchange(sender, text_xml("你好"))).content == NOT_UNDERSTOOD


# ---------------------------------------------------------------------------------
# Safe mode: encrypted only
# ---------------------------------------------------------------------------------


async def test_safe_mode_refuses_plain(app_client: AppFactory, parse_calls: list[int]) -> None:
    sender = sender_for(await app_client(wechat={"mode": "safe"}))
    assert await status_of(await post(sender, text_xml("你好").encode())) == 403
    params = sender.signed_query() | {"encrypt_type": "raw"}
    assert await status_of(await post(sender, text_xml("你好").encode(), params)) == 403
    assert parse_calls == []  # refused before the body was looked at
    ex = await exchange(sender, text_xml("你好"), aes=True)
    assert ex.status == 200 and ex.content == NOT_UNDERSTOOD


async def test_safe_mode_still_checks_signature_first(app_client: AppFactory) -> None:
    sender = sender_for(await app_client(wechat={"mode": "safe"}))
    params = sender.signed_query()
    params["signature"] = "0" * 40
    assert await status_of(await post(sender, text_xml("你好").encode(), params)) == 403


# ---------------------------------------------------------------------------------
# Odd but harmless, and a deterministic fuzz: never a 500, never an error logged
# ---------------------------------------------------------------------------------


async def test_odd_create_time_is_answered(wechat: WeChatSender) -> None:
    for value in ("²", "9" * 5000, "-1", ""):
        xml = (
            "<xml><ToUserName><![CDATA[gh_x]]></ToUserName>"
            f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
            f"<CreateTime>{value}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[你好]]></Content><MsgId>{next_msg_id()}</MsgId></xml>"
        )
        assert (await exchange(wechat, xml)).content == NOT_UNDERSTOOD


async def test_other_methods(wechat: WeChatSender) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        resp = await wechat.client.request(method, "/wechat", params=wechat.signed_query())
        assert await status_of(resp) == 405


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_overlong_ids_are_refused(wechat: WeChatSender, aes: bool) -> None:
    """Longer than any WeChat id, and than the database columns that keep them."""
    long_sender = text_xml("你好", sender="o" * 65)
    params, body = aes_request(wechat, long_sender) if aes else (None, long_sender.encode())
    assert await status_of(await post(wechat, body, params)) == 400
    long_id = text_xml("你好", msg_id="1" * 65)
    params, body = aes_request(wechat, long_id) if aes else (None, long_id.encode())
    assert await status_of(await post(wechat, body, params)) == 400
    at_limit = text_xml("你好", sender="o" * 64, msg_id="1" * 64)
    assert (await exchange(wechat, at_limit, aes=aes)).content == NOT_UNDERSTOOD


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random bit flips, cuts, duplications and deletions."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(("flip", "cut", "dup", "drop"))
        i = rng.randrange(len(out))
        if op == "flip":
            out[i] ^= 1 << rng.randrange(8)
        elif op == "cut":
            del out[i:]
        elif op == "dup":
            out[i:i] = out[i : i + rng.randint(1, 40)]
        elif len(out) > 1:
            del out[i]
        if not out:
            out = bytearray(b"<")
    return bytes(out)


@pytest.mark.parametrize("target", ["plain-body", "aes-envelope", "aes-ciphertext"])
async def test_mutated_requests_never_crash(wechat: WeChatSender, target: str) -> None:
    """Deterministic fuzz: mutated bodies, envelopes, and ciphertexts that are then
    correctly signed (so they reach the decryption). Never a 500, never an error."""
    rng = random.Random(f"wecrm-{target}")
    seen: set[int] = set()
    for _ in range(150):
        xml = text_xml("跟进 张三 电话 <b>&</b>")
        if target == "plain-body":
            params, body = wechat.signed_query(), mutate(rng, xml.encode())
        elif target == "aes-envelope":
            params, body = aes_request(wechat, xml)
            body = mutate(rng, body)
        else:
            _, envelope = aes_request(wechat, xml)
            raw = base64.b64decode(parse_xml(envelope)["Encrypt"])
            encrypt = base64.b64encode(mutate(rng, raw)).decode()
            params, body = aes_request(wechat, "", encrypt=encrypt)
        status = await status_of(await post(wechat, body, params))
        assert status in (200, 400, 403), status
        seen.add(status)
    assert 400 in seen


async def test_a_signed_url_cannot_carry_a_different_body(client: TestClient) -> None:
    params = sender_for(client).signed_query()
    body = text_xml("帮助").encode()
    first = await client.post("/wechat", params=params, data=body)
    # WeChat's own retry repeats URL and body: answered like the first.
    retry = await client.post("/wechat", params=params, data=body)
    assert first.status == retry.status == 200
    assert "绑定" in parse_xml((await retry.text()).encode())["Content"]
    forged = await client.post(
        "/wechat", params=params, data=text_xml("绑定 ABCD2345", sender="oAttacker").encode()
    )
    assert forged.status == 403


async def test_a_forged_body_under_a_used_url_is_refused_after_a_restart(
    app_client: AppFactory,
) -> None:
    before = await app_client()
    params = sender_for(before).signed_query()
    body = text_xml("帮助").encode()
    first = await before.post("/wechat", params=params, data=body)
    assert first.status == 200
    # A new process shares the record in the database: on SQLite the URLs are written
    # in batches, the last one when the server stops.
    await before.close()
    after = await app_client()
    forged = await after.post(
        "/wechat", params=params, data=text_xml("查 张三", sender="oAttacker").encode()
    )
    assert forged.status == 403
    retry = await after.post("/wechat", params=params, data=body)  # WeChat's own retry
    assert retry.status == 200


def test_replay_records_of_later_callbacks_sort_after_earlier_ones() -> None:
    """The replay record's key is unique-indexed: keys that grow with the timestamp go
    onto the index's last pages instead of a random page each (200 000 records: 8.5 µs
    a record in batches of fifty, against 29 µs for keys in random order)."""
    earlier = [signed_url_key("1764800000", f"n{i}", f"s{i}", b"<xml/>")[0] for i in range(50)]
    later = [signed_url_key("1764800001", f"n{i}", f"s{i}", b"<xml/>")[0] for i in range(50)]
    assert max(earlier) < min(later)
    assert len(set(earlier)) == 50 and all(len(k) == 64 for k in earlier + later)
    # Another nonce or signature under the same second is another URL.
    assert (
        signed_url_key("1764800000", "a", "s", b"")[0]
        != signed_url_key("1764800000", "b", "s", b"")[0]
    )
