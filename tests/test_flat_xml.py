"""The flat shape of a callback, read without an XML parser, reads what the parser
reads: the same fields for the same document, or the same refusal (400)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.flat_xml import read_flat
from bot.channels.security import DoorError, cdata, parse_tree, parse_xml
from tests.wechat_client import text_xml


def _by_parser(body: bytes) -> dict[str, str] | int:
    try:
        return parse_tree(body.decode("utf-8"))
    except DoorError as exc:
        return exc.status


def _as_read(body: bytes) -> dict[str, str] | int:
    try:
        return parse_xml(body)
    except DoorError as exc:
        return exc.status


def test_a_wechat_message_is_read_without_the_parser() -> None:
    said = "跟进 王总 电话聊了报价，下周三回访"
    text = text_xml(said)
    assert read_flat(text) == _by_parser(text.encode())
    assert read_flat(text)["Content"] == said  # type: ignore[index]


@pytest.mark.parametrize(
    "body",
    [
        # "]]>" said in a message: the reply's own escape splits the section.
        "<xml><Content>" + cdata("看 a]]>b 这里") + "</Content></xml>",
        # End-of-line handling applies inside CDATA too.
        "<xml><Content><![CDATA[第一行\r\n第二行\r第三行]]></Content></xml>",
        "<xml></xml>",
        "<xml>\n  <MsgId>1</MsgId>\n</xml>\n",
        # Nested elements are flattened one level by the parser.
        "<xml><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType></ScanCodeInfo></xml>",
        "<xml><Content>a &amp; b &#x4e2d;</Content></xml>",
        '<xml><Content lang="zh">你好</Content></xml>',
        "<xml><Content><![CDATA[a]]> </Content></xml>",
        "<xml><Content><!-- c --><![CDATA[a]]></Content></xml>",
        "<xml><Content>a]]>b</Content></xml>",
        "<xml><Content><![CDATA[\x01]]></Content></xml>",
        "<xml><Content>\ufffe</Content></xml>",
        "<xml><A>1</B></xml>",
        "<xml><A>1</A></xml>junk",
        "<xml><A>1</A></xml><xml></xml>",
        "<xml><A>1</A>",
        "<xml><名字>1</名字></xml>",
        "<xml><A/><B>2</B></xml>",
        "<xml>text<A>1</A></xml>",
        "<xml><!DOCTYPE x [<!ENTITY e 'lol'>]><A>&e;</A></xml>",
    ],
)
def test_what_is_read_is_what_the_parser_reads(body: str) -> None:
    assert _as_read(body.encode()) == _by_parser(body.encode())


_NAMES = st.sampled_from(["ToUserName", "FromUserName", "MsgType", "Content", "MsgId", "A"])
_PIECES = st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(
    ["]]>", "]", "]]", "<", "&", ">", "\r", "\r\n", " ", "<![CDATA[", "\x01", "\ufffe"]
)
_TEXT = st.lists(_PIECES, max_size=8).map("".join)


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """Callbacks as WeChat writes them, and near misses: any field's value in a CDATA
    section (split where it says "]]>") or as plain characters, raw or escaped, with
    whitespace between the fields and, sometimes, a few characters spliced in."""
    parts = ["<xml>"]
    for name, value in draw(st.lists(st.tuples(_NAMES, _TEXT), max_size=5)):
        parts.append(draw(st.sampled_from(["", "\n", " \t", "\r\n"])))
        form = draw(st.sampled_from(["cdata", "raw", "escaped"]))
        if form == "cdata":
            inner = "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
        elif form == "escaped":
            inner = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        else:
            inner = value
        parts.append(f"<{name}>{inner}</{name}>")
    parts.append("</xml>")
    document = "".join(parts)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(document)))
        document = document[:at] + draw(_TEXT) + document[at:]
    return document


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_any_document_is_read_as_the_parser_reads_it(document: str) -> None:
    body = document.encode("utf-8")
    assert _as_read(body) == _by_parser(body)
