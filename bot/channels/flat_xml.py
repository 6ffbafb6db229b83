"""The shape almost every WeChat and WeCom callback has, read without an XML parser.

A callback is ``<xml>`` holding flat elements, each either one CDATA section (text)
or plain characters (numbers): ``<Content><![CDATA[帮助]]></Content>``,
``<MsgId>123</MsgId>``. A document exactly of that shape is read here by two regular
expressions; anything else — a declaration before the root, attributes, nested
elements, entities or character references, comments, a CDATA section split to carry
``]]>``, names outside ASCII, characters XML forbids — is left to the standard
library's parser (``bot.channels.security.parse_tree``), which decides.

Why not always the parser: creating one per message and walking its tree costs
about 5 µs of a 帮助's 165–170 µs of CPU in the running server (161–166 µs with this
reader, 167–175 µs without; four interleaved 8-second runs each, ``docs/benchmarks.md``);
3.4 against 6.3 µs timed alone. What this reads is exactly what the parser reads
from the same document; ``tests/test_flat_xml.py`` compares the two on generated
documents, including ones built to look alike.
"""

from __future__ import annotations

import re

_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
# A CDATA section that ends at its first "]]>" (a tempered token: ".*?" alone would
# run on through a split section, "]]]]><![CDATA[>", to a later "]]>"), or plain
# characters with no markup at all: no "<", no "&" (entities, references), no ">"
# (XML forbids "]]>" in plain text).
_VALUE = r"<!\[CDATA\[([^\]]*(?:\](?!\]>)[^\]]*)*)\]\]>|([^<&>]*)"
_SPACE = r"[ \t\r\n]*"
_FIELD = re.compile(rf"<({_NAME})>(?:{_VALUE})</\1>")
_DOCUMENT = re.compile(rf"<xml>(?:{_SPACE}<({_NAME})>(?:{_VALUE})</\1>)*{_SPACE}</xml>{_SPACE}")

# Characters XML 1.0 cannot carry anywhere, CDATA included (the parser refuses them).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def read_flat(text: str) -> dict[str, str] | None:
    """The fields of a document of the flat shape, stripped as ``parse_xml`` strips
    them; None when the document is of any other shape (or no XML at all)."""
    if not text.startswith("<xml>") or _DOCUMENT.fullmatch(text) is None:
        return None
    if NOT_XML.search(text) is not None:
        return None
    fields: dict[str, str] = {}
    for name, section, plain in _FIELD.findall(text, len("<xml>")):
        value = section or plain
        if "\r" in value:
            # The parser's end-of-line handling, which applies inside CDATA too.
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        fields[name] = value.strip()
    return fields
