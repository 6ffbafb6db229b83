"""Security at the door, shared by every WeChat-style callback.

Signature in constant time, timestamp freshness, a body-size cap enforced before
anything is parsed, XML parsed with DTDs and entities refused, and text made safe
for the CDATA sections of a passive reply.

DTDs are refused before the parser sees the document: nothing but an XML declaration
may come before the root element, which is where XML allows a DTD (and so every
entity declaration, internal or external). A document of the flat shape every
callback has is read without a parser (``bot.channels.flat_xml``); any other is read
by the standard library's C parser, as UTF-8 whatever it declares; defusedxml's parser,
which refuses DTDs while parsing, is the pure-Python one (14 µs a message against
7 µs).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
from xml.etree.ElementTree import Element, fromstring

from aiohttp import web

from bot.channels.flat_xml import NOT_XML, read_flat


class DoorError(Exception):
    """A request turned away at the door: an HTTP status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected_parts: tuple[str, ...], given: str | None) -> None:
    """Compare ``given`` with the signature of ``expected_parts`` in constant time."""
    if not given:
        raise DoorError(403, "missing signature")
    if not hmac.compare_digest(
        signature(*expected_parts).encode(), given.encode("utf-8", "replace")
    ):
        raise DoorError(403, "bad signature")


def check_timestamp(timestamp: str | None, window: int, now: float | None = None) -> None:
    """Refuse replays: the timestamp must be within ``window`` seconds of now."""
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise DoorError(403, "missing or malformed timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > window:
        raise DoorError(403, "stale timestamp")


async def read_capped(request: web.Request, cap: int, wait: float = 2.0) -> bytes:
    """Read at most ``cap`` bytes within ``wait`` seconds; a longer body is refused
    before it is parsed, a slower one is cut off."""
    if request.content_length is not None and request.content_length > cap:
        raise DoorError(413, "body too large")
    if request.content.is_eof():
        # The whole body came with the headers (the usual case): no timer to arm.
        body = request.content.read_nowait(cap + 1)
        if len(body) > cap:
            raise DoorError(413, "body too large")
        return body
    try:
        async with asyncio.timeout(wait):
            return await _read_upto(request, cap)
    except TimeoutError:
        raise DoorError(408, "body not received in time") from None


async def _read_upto(request: web.Request, cap: int) -> bytes:
    # StreamReader.read(n) returns what has arrived so far, not n bytes: a body that
    # comes in several TCP segments or chunks must be read until EOF (or the cap).
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = await request.content.read(cap + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > cap:
        raise DoorError(413, "body too large")
    return b"".join(chunks)


# What may precede the root element: an XML declaration of version 1.x, in UTF-8 if
# it names an encoding (a byte order mark before it is allowed).
_PROLOG = re.compile(
    r"\ufeff?\s*"
    r"(?:<\?xml\s+version\s*=\s*(?P<q1>[\"'])1\.[0-9]+(?P=q1)"
    r"(?:\s+encoding\s*=\s*(?P<q2>[\"'])(?i:utf-?8)(?P=q2))?"
    r"(?:\s+standalone\s*=\s*(?P<q3>[\"'])(?:yes|no)(?P=q3))?\s*\?>\s*)?"
    r"<xml[\s/>]"
)


def parse_xml(body: bytes) -> dict[str, str]:
    """Parse a flat WeChat XML document into a dict of its child elements."""
    if not body.strip():
        raise DoorError(400, "empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DoorError(400, "body is not UTF-8") from None
    flat = read_flat(text)
    return flat if flat is not None else parse_tree(text)


def parse_tree(text: str) -> dict[str, str]:
    """``parse_xml`` by the XML parser: for every document that is not of the flat
    shape ``bot.channels.flat_xml`` reads (and, in tests, to compare it with)."""
    if not _PROLOG.match(text):
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise DoorError(400, "DTDs and entities are not accepted")
        raise DoorError(400, "malformed XML or unexpected root element")
    try:
        # A str is parsed as UTF-8 (pyexpat overrides any declared encoding).
        root: Element = fromstring(text)
    except Exception:  # ParseError and friends: the sender's fault, never ours
        raise DoorError(400, "malformed XML") from None
    if root.tag != "xml":
        raise DoorError(400, "unexpected root element")
    out: dict[str, str] = {}
    for child in root:
        if len(child):
            # Nested elements (e.g. ScanCodeInfo, SendPicsInfo) are flattened one level.
            for sub in child:
                out[f"{child.tag}.{sub.tag}"] = (sub.text or "").strip()
        out[child.tag] = (child.text or "").strip()
    return out


def cdata(text: str) -> str:
    """Wrap text in CDATA so that nothing in it, ``]]>`` included, can break out."""
    # Lone surrogates cannot even be encoded as UTF-8: they would fail the response,
    # not just the parser.
    text = NOT_XML.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def signed_url_key(timestamp: str, nonce: str, signature: str, body: bytes) -> tuple[str, str]:
    """(key of a plain-mode signed URL, digest of its body) for the replay record
    (``models.messages.remember_signed_url``): in plain mode the body is not signed,
    so a URL seen once may only ever come again with the same body."""
    url = hashlib.sha256(f"{timestamp}\n{nonce}\n{signature}".encode()).hexdigest()
    # The timestamp first (checked: at most 12 digits): new keys land at the end of the
    # unique index, on its last pages, instead of on a random page each — a batch of
    # fifty records dirtied fifty pages for the COMMIT to write. 12 + 52 hex digits fit
    # the column's 64.
    return f"{int(timestamp):012d}{url[:52]}", hashlib.sha256(body).hexdigest()
