"""The Official Account (公众号) webhook at ``/wechat``: every message and event type
Tencent documents, through the real app in every mode an admin can pick.

The XML below follows 公众号开发文档 → 消息管理 → 接收普通消息 / 接收事件推送 element
for element. Each case runs in plain and AES (``encrypt_type=aes``, as compatible mode
sends it) against a compatible-mode account, in AES against a safe-mode account and in
plain against a plain-mode account without an EncodingAESKey. AES replies are opened
with wechatpy's ``WeChatCrypto.decrypt_message``, which also checks our MsgSignature.

Also here: URL verification (GET with echostr), ``to_incoming`` normalization, and the
passive-reply renderer keeping user text inside its CDATA sections.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import fromstring

import pytest

from bot.channels.official_account import render_reply, to_incoming
from bot.channels.security import cdata, parse_xml
from bot.incoming import Article, Kind, Reply
from handlers.fallback import (
    NOT_UNDERSTOOD,
    NOT_UNDERSTOOD_STAFF,
    UNSUPPORTED,
    VOICE_UNRECOGNISED,
    WELCOME,
    WELCOME_BACK,
)
from handlers.help import help_text
from models.staff import Staff
from tests.conftest import TOKEN, AppFactory, sender_for
from tests.wechat_client import (
    ACCOUNT,
    OPENID,
    WeChatSender,
    exchange,
    next_msg_id,
    sign,
    strict_parse,
    xml_text,
)

# The guard turns any crash into a quiet 200: fail loudly if one happened.
pytestmark = pytest.mark.usefixtures("no_errors_logged")

# ---------------------------------------------------------------------------------
# Tencent's XML, as documented
# ---------------------------------------------------------------------------------

CREATE_TIME = 1_735_700_000  # only carried through; the door checks the query timestamp


def tencent(msg_type: str, body: str, create_time: int = CREATE_TIME) -> str:
    """The common header of every message and event, then ``body``, laid out as in
    Tencent's examples (indented, one element per line)."""
    return (
        "<xml>\n"
        f"  <ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"  <FromUserName><![CDATA[{OPENID}]]></FromUserName>\n"
        f"  <CreateTime>{create_time}</CreateTime>\n"
        f"  <MsgType><![CDATA[{msg_type}]]></MsgType>\n"
        f"{body}"
        "</xml>"
    )


def event(name: str, body: str = "") -> str:
    return tencent("event", f"  <Event><![CDATA[{name}]]></Event>\n{body}")


def msg_id() -> str:
    return f"  <MsgId>{next_msg_id()}</MsgId>\n"


SUCCESS = None  # the reply is exactly ``success``: WeChat shows the user nothing
STRANGER_HELP = help_text("stranger")


@dataclass
class Case:
    """One documented message or event, what a user sees, and how it is normalized."""

    id: str
    build: Callable[[], str]
    reply: str | None
    # A word the user must see, checked literally (independent of the constants).
    says: str = ""
    kind: Kind = Kind.EVENT
    text: str = ""
    media_id: str = ""
    event: str = ""
    event_key: str = ""
    extra: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "text",
        lambda: tencent("text", "  <Content><![CDATA[你好]]></Content>\n" + msg_id()),
        NOT_UNDERSTOOD,
        says="帮助",
        kind=Kind.TEXT,
        text="你好",
    ),
    Case(
        "text-help",
        lambda: tencent("text", "  <Content><![CDATA[帮助]]></Content>\n" + msg_id()),
        STRANGER_HELP,
        says="绑定",
        kind=Kind.TEXT,
        text="帮助",
    ),
    Case(
        "image",
        lambda: tencent(
            "image",
            "  <PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>\n"
            "  <MediaId><![CDATA[img_media_id_1]]></MediaId>\n" + msg_id(),
        ),
        UNSUPPORTED.format(what="图片"),
        says="图片",
        kind=Kind.IMAGE,
        media_id="img_media_id_1",
        extra={"PicUrl": "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"},
    ),
    Case(
        "voice-recognised-help",
        lambda: tencent(
            "voice",
            "  <MediaId><![CDATA[voice_media_id_1]]></MediaId>\n"
            "  <Format><![CDATA[amr]]></Format>\n"
            "  <Recognition><![CDATA[帮助]]></Recognition>\n" + msg_id(),
        ),
        STRANGER_HELP,
        says="绑定",
        kind=Kind.VOICE,
        text="帮助",
        media_id="voice_media_id_1",
        extra={"Format": "amr"},
    ),
    Case(
        # Speech recognition ends its sentences with "。".
        "voice-recognised-help-punctuated",
        lambda: tencent(
            "voice",
            "  <MediaId><![CDATA[voice_media_id_2]]></MediaId>\n"
            "  <Format><![CDATA[amr]]></Format>\n"
            "  <MediaId16K><![CDATA[voice_media_id_2_16k]]></MediaId16K>\n"
            "  <Recognition><![CDATA[帮助。]]></Recognition>\n" + msg_id(),
        ),
        STRANGER_HELP,
        says="绑定",
        kind=Kind.VOICE,
        text="帮助。",
        media_id="voice_media_id_2",
        extra={"Format": "amr", "MediaId16K": "voice_media_id_2_16k"},
    ),
    Case(
        "voice-recognised-other",
        lambda: tencent(
            "voice",
            "  <MediaId><![CDATA[voice_media_id_3]]></MediaId>\n"
            "  <Format><![CDATA[amr]]></Format>\n"
            "  <Recognition><![CDATA[今天天气不错。]]></Recognition>\n" + msg_id(),
        ),
        NOT_UNDERSTOOD,
        says="帮助",
        kind=Kind.VOICE,
        text="今天天气不错。",
        media_id="voice_media_id_3",
        extra={"Format": "amr"},
    ),
    Case(
        # Recognition switched off for the account: no Recognition element at all.
        "voice-without-recognition",
        lambda: tencent(
            "voice",
            "  <MediaId><![CDATA[voice_media_id_4]]></MediaId>\n"
            "  <Format><![CDATA[amr]]></Format>\n" + msg_id(),
        ),
        VOICE_UNRECOGNISED,
        says="语音",
        kind=Kind.VOICE,
        media_id="voice_media_id_4",
        extra={"Format": "amr"},
    ),
    Case(
        # Recognition on, but nothing was understood.
        "voice-empty-recognition",
        lambda: tencent(
            "voice",
            "  <MediaId><![CDATA[voice_media_id_5]]></MediaId>\n"
            "  <Format><![CDATA[speex]]></Format>\n"
            "  <Recognition><![CDATA[]]></Recognition>\n" + msg_id(),
        ),
        VOICE_UNRECOGNISED,
        says="语音",
        kind=Kind.VOICE,
        media_id="voice_media_id_5",
        extra={"Format": "speex"},
    ),
    Case(
        "video",
        lambda: tencent(
            "video",
            "  <MediaId><![CDATA[video_media_id]]></MediaId>\n"
            "  <ThumbMediaId><![CDATA[video_thumb_id]]></ThumbMediaId>\n" + msg_id(),
        ),
        UNSUPPORTED.format(what="视频"),
        says="视频",
        kind=Kind.VIDEO,
        media_id="video_media_id",
        extra={"ThumbMediaId": "video_thumb_id"},
    ),
    Case(
        "shortvideo",
        lambda: tencent(
            "shortvideo",
            "  <MediaId><![CDATA[short_media_id]]></MediaId>\n"
            "  <ThumbMediaId><![CDATA[short_thumb_id]]></ThumbMediaId>\n" + msg_id(),
        ),
        UNSUPPORTED.format(what="小视频"),
        says="小视频",
        kind=Kind.SHORTVIDEO,
        media_id="short_media_id",
        extra={"ThumbMediaId": "short_thumb_id"},
    ),
    Case(
        "location",
        lambda: tencent(
            "location",
            "  <Location_X>23.134521</Location_X>\n"
            "  <Location_Y>113.358803</Location_Y>\n"
            "  <Scale>20</Scale>\n"
            "  <Label><![CDATA[广州市天河区珠江新城]]></Label>\n" + msg_id(),
        ),
        UNSUPPORTED.format(what="位置消息"),
        says="位置",
        kind=Kind.LOCATION,
        extra={
            "Location_X": "23.134521",
            "Location_Y": "113.358803",
            "Scale": "20",
            "Label": "广州市天河区珠江新城",
        },
    ),
    Case(
        "link",
        lambda: tencent(
            "link",
            "  <Title><![CDATA[公众平台官网链接]]></Title>\n"
            "  <Description><![CDATA[公众平台官网链接]]></Description>\n"
            "  <Url><![CDATA[https://mp.weixin.qq.com/]]></Url>\n" + msg_id(),
        ),
        UNSUPPORTED.format(what="链接"),
        says="链接",
        kind=Kind.LINK,
        extra={
            "Title": "公众平台官网链接",
            "Description": "公众平台官网链接",
            "Url": "https://mp.weixin.qq.com/",
        },
    ),
    Case(
        "file",
        lambda: tencent(
            "file",
            "  <Title><![CDATA[报价单.xlsx]]></Title>\n"
            "  <Description><![CDATA[报价单.xlsx]]></Description>\n"
            "  <FileKey><![CDATA[a1b2c3d4e5f6]]></FileKey>\n"
            "  <FileMd5><![CDATA[9e107d9d372bb6826bd81d3542a419d6]]></FileMd5>\n"
            "  <FileTotalLen><![CDATA[20480]]></FileTotalLen>\n" + msg_id(),
        ),
        UNSUPPORTED.format(what="文件"),
        says="文件",
        kind=Kind.FILE,
        extra={
            "Title": "报价单.xlsx",
            "Description": "报价单.xlsx",
            "FileKey": "a1b2c3d4e5f6",
            "FileMd5": "9e107d9d372bb6826bd81d3542a419d6",
            "FileTotalLen": "20480",
        },
    ),
    Case(
        "subscribe",
        lambda: event("subscribe"),
        WELCOME,
        says="欢迎关注",
        event="subscribe",
    ),
    Case(
        # Some accounts receive an empty EventKey on a plain subscribe.
        "subscribe-empty-key",
        lambda: event("subscribe", "  <EventKey><![CDATA[]]></EventKey>\n"),
        WELCOME,
        says="欢迎关注",
        event="subscribe",
    ),
    Case(
        "subscribe-qrscene",
        lambda: event(
            "subscribe",
            "  <EventKey><![CDATA[qrscene_123]]></EventKey>\n"
            "  <Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9x]]></Ticket>\n",
        ),
        WELCOME,
        says="欢迎关注",
        event="subscribe",
        event_key="qrscene_123",
        extra={"scene": "123", "Ticket": "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9x"},
    ),
    Case(
        "unsubscribe",
        lambda: event("unsubscribe"),
        SUCCESS,
        event="unsubscribe",
    ),
    Case(
        "scan",
        lambda: event(
            "SCAN",
            "  <EventKey><![CDATA[123]]></EventKey>\n"
            "  <Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9x]]></Ticket>\n",
        ),
        WELCOME_BACK,
        says="欢迎回来",
        event="scan",
        event_key="123",
        extra={"scene": "123", "Ticket": "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9x"},
    ),
    Case(
        "location-event",
        lambda: event(
            "LOCATION",
            "  <Latitude>23.137466</Latitude>\n"
            "  <Longitude>113.352425</Longitude>\n"
            "  <Precision>119.385040</Precision>\n",
        ),
        SUCCESS,
        event="location",
        extra={"Latitude": "23.137466", "Longitude": "113.352425", "Precision": "119.385040"},
    ),
    Case(
        "click-help",
        lambda: event("CLICK", "  <EventKey><![CDATA[HELP]]></EventKey>\n"),
        STRANGER_HELP,
        says="绑定",
        event="click",
        event_key="HELP",
    ),
    Case(
        "click-other",
        lambda: event("CLICK", "  <EventKey><![CDATA[V1001_TODAY_MUSIC]]></EventKey>\n"),
        SUCCESS,
        event="click",
        event_key="V1001_TODAY_MUSIC",
    ),
    Case(
        "view",
        lambda: event(
            "VIEW",
            "  <EventKey><![CDATA[https://www.qq.com/]]></EventKey>\n"
            "  <MenuId>208379533</MenuId>\n",
        ),
        SUCCESS,
        event="view",
        event_key="https://www.qq.com/",
        extra={"MenuId": "208379533"},
    ),
    Case(
        "templatesendjobfinish",
        lambda: event(
            "TEMPLATESENDJOBFINISH",
            "  <MsgID>200163836</MsgID>\n  <Status><![CDATA[success]]></Status>\n",
        ),
        SUCCESS,
        event="templatesendjobfinish",
        extra={"MsgID": "200163836", "Status": "success"},
    ),
    Case(
        "unknown-event",
        lambda: event("SOMETHING_NEW", "  <EventKey><![CDATA[k]]></EventKey>\n"),
        SUCCESS,
        event="something_new",
        event_key="k",
    ),
    Case(
        "unknown-msgtype",
        lambda: tencent("hologram", "  <Shape><![CDATA[cube]]></Shape>\n" + msg_id()),
        UNSUPPORTED.format(what="这类消息"),
        says="这类消息",
        kind=Kind.UNKNOWN,
        extra={"MsgType": "hologram"},
    ),
]


# ---------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------


@dataclass
class Door:
    """An app configured for one console mode, and how WeChat posts to it."""

    sender: WeChatSender
    aes: bool


# (console mode, does the request come encrypted)
MODES = {
    "compatible-plain": ("compatible", False),
    "compatible-aes": ("compatible", True),
    "safe-aes": ("safe", True),
    "plain-plain": ("plain", False),
}


@pytest.fixture(params=list(MODES.values()), ids=list(MODES))
async def door(request: pytest.FixtureRequest, app_client: AppFactory) -> Door:
    mode, aes = request.param
    wechat: dict[str, Any] = {"mode": mode}
    if mode == "plain":
        wechat["encoding_aes_key"] = ""  # a plain-mode account need not have one
    return Door(sender_for(await app_client(wechat=wechat)), aes)


# ---------------------------------------------------------------------------------
# What the user sees, through the webhook
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_message_and_event_replies(door: Door, case: Case) -> None:
    ex = await exchange(door.sender, case.build(), aes=door.aes)
    assert ex.status == 200, ex.body
    if case.reply is SUCCESS:
        assert ex.body == "success"
        return
    assert ex.reply is not None, f"expected a reply, got {ex.body!r}"
    assert ex.content == case.reply
    assert case.says in ex.content
    assert ex.reply["ToUserName"] == OPENID
    assert ex.reply["FromUserName"] == ACCOUNT
    assert ex.reply["MsgType"] == "text"
    assert abs(int(ex.reply["CreateTime"]) - time.time()) < 60
    if door.aes:
        # Encrypted on the wire: the text is only readable after decryption.
        assert case.reply not in ex.body and "<Content>" not in ex.body


async def test_unsupported_replies_are_short_polite_chinese(wechat: WeChatSender) -> None:
    for case in CASES:
        if case.kind in (Kind.IMAGE, Kind.VIDEO, Kind.LOCATION, Kind.LINK, Kind.FILE):
            reply = (await exchange(wechat, case.build())).content
            assert len(reply) <= 60 and "请" in reply and case.says in reply


async def test_retried_message_gets_the_same_reply(wechat: WeChatSender) -> None:
    xml = CASES[0].build()
    first = await exchange(wechat, xml)
    retry = await exchange(wechat, xml, aes=True)
    assert first.content == retry.content == NOT_UNDERSTOOD


async def test_aes_reply_envelope_is_signed_by_us(wechat: WeChatSender) -> None:
    resp = await wechat.post(CASES[0].build(), aes=True)
    body = await resp.text()
    assert resp.status == 200 and resp.content_type == "application/xml"
    envelope = strict_parse(body)
    assert envelope["MsgSignature"] == sign(
        TOKEN, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
    )


async def test_missing_sender_is_refused(wechat: WeChatSender) -> None:
    xml = "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><MsgType><![CDATA[text]]></MsgType></xml>"
    resp = await wechat.post(xml)
    assert resp.status == 400


# ---------------------------------------------------------------------------------
# User text that tries to break out of the reply's CDATA
# ---------------------------------------------------------------------------------

HOSTILE = "a]]>b<script>x</script>&]]]]>c"


@pytest.mark.parametrize("aes", [False, True], ids=["plain", "aes"])
async def test_staff_echo_keeps_hostile_text_inside_cdata(wechat: WeChatSender, aes: bool) -> None:
    await Staff.create(name="王五", role="rep", oa_openid=OPENID)
    assert len(HOSTILE) <= 30  # echoed in full
    xml = tencent(
        "text", f"  <Content>{xml_text(HOSTILE)}</Content>\n" + msg_id(), int(time.time())
    )
    ex = await exchange(wechat, xml, aes=aes)
    assert ex.status == 200, ex.body
    assert ex.reply is not None
    # Exactly one Content element, nothing injected next to it, the text intact.
    assert set(ex.reply) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"}
    assert ex.content == NOT_UNDERSTOOD_STAFF.format(text=HOSTILE)
    assert "没有看懂「a]]>b<script>x</script>&]]]]>c」" in ex.content
    if not aes:
        assert "]]]]><![CDATA[>" in ex.body  # the split, not an escape that shows as text


async def test_staff_echo_is_cut_at_30_characters(wechat: WeChatSender) -> None:
    await Staff.create(name="王五", role="rep", oa_openid=OPENID)
    text = "]]>" * 15  # 45 characters; the cut falls inside a "]]>"
    xml = tencent("text", f"  <Content>{xml_text(text)}</Content>\n" + msg_id())
    ex = await exchange(wechat, xml)
    assert ex.content == NOT_UNDERSTOOD_STAFF.format(text=text[:30])


def xml_chars(text: str) -> str:
    """What an XML 1.0 parser gives back for ``text``: characters outside the Char
    production dropped (we must drop them), line ends normalized (the parser does)."""

    def allowed(ch: str) -> bool:
        cp = ord(ch)
        return (
            cp in (0x9, 0xA, 0xD)
            or 0x20 <= cp <= 0xD7FF
            or 0xE000 <= cp <= 0xFFFD
            or 0x10000 <= cp <= 0x10FFFF
        )

    kept = "".join(ch for ch in text if allowed(ch))
    return kept.replace("\r\n", "\n").replace("\r", "\n")


NASTY = [
    "]]>",
    "]]]]>",
    "]]>]]>",
    "x]]",
    "x]",
    "]]><Content>injected</Content><![CDATA[",
    "</Content></xml><xml><Content>",
    "<script>alert(1)</script>",
    "&amp; &lt; & < >",
    "\x00\x01\x08\x0b\x0c\x0e\x1f tab\tnl\ncr\r",
    "\ufffe\uffff \ud800 lone surrogate \udfff",
    "emoji 😀 and 中文",
    "<![CDATA[ nested ]]> ]]>",
    "",
]


@pytest.mark.parametrize("text", NASTY)
def test_render_reply_text_parses_strictly_and_round_trips(text: str) -> None:
    xml = render_reply(Reply(text=text or "x"), to_user=OPENID, from_user=ACCOUNT, now=1)
    fields = strict_parse(xml.encode("utf-8"))
    assert fields == {
        "ToUserName": OPENID,
        "FromUserName": ACCOUNT,
        "CreateTime": "1",
        "MsgType": "text",
        "Content": xml_chars(text or "x"),
    }


def test_render_reply_escapes_every_field() -> None:
    nasty = "]]><b>&</b>\x01"
    news = Reply(
        kind="news",
        articles=[Article(title=nasty, description=nasty, url=nasty, picurl=nasty)] * 10,
    )
    root = fromstring(render_reply(news, to_user=nasty, from_user=nasty, now=2).encode())
    assert root.findtext("ToUserName") == root.findtext("FromUserName") == xml_chars(nasty)
    # A passive reply to a user message may carry one article only.
    assert root.findtext("ArticleCount") == "1"
    items = root.findall("Articles/item")
    assert len(items) == 1
    for item in items:
        for tag in ("Title", "Description", "PicUrl", "Url"):
            assert item.findtext(tag) == xml_chars(nasty)

    image = render_reply(Reply(kind="image", media_id=nasty), OPENID, ACCOUNT, now=3)
    assert fromstring(image).findtext("Image/MediaId") == xml_chars(nasty)


def test_nothing_to_say_is_success() -> None:
    assert render_reply(Reply.none(), OPENID, ACCOUNT) == "success"
    assert render_reply(Reply(text=""), OPENID, ACCOUNT) == "success"


def test_cdata_round_trips_every_short_string() -> None:
    """Exhaustive over short strings of the characters that matter (a stand-in for a
    property test: hypothesis is not a dependency of the project)."""
    alphabet = "]>[<&\x0b"
    count = 0
    for n in range(6):
        for chars in itertools.product(alphabet, repeat=n):
            text = "".join(chars)
            root = fromstring(f"<xml><C>{cdata(text)}</C></xml>")
            assert [child.tag for child in root] == ["C"]
            assert (root[0].text or "") == xml_chars(text), repr(text)
            count += 1
    assert count == sum(len(alphabet) ** n for n in range(6))


# ---------------------------------------------------------------------------------
# to_incoming: one normalized Incoming per documented message
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_to_incoming_normalizes(case: Case) -> None:
    fields = parse_xml(case.build().encode())
    msg = to_incoming(fields)
    assert msg.channel == "oa"
    assert msg.sender == OPENID
    assert msg.recipient == ACCOUNT
    assert msg.create_time == CREATE_TIME
    assert msg.kind is case.kind
    assert msg.text == case.text
    assert msg.media_id == case.media_id
    assert msg.event == case.event
    assert msg.event_key == case.event_key
    assert msg.extra == case.extra
    assert msg.raw == fields
    if case.kind is Kind.EVENT:
        assert msg.msg_id == ""
        assert msg.dedup_key == f"oa:{OPENID}:{CREATE_TIME}:{case.event}"
    else:
        assert msg.msg_id == fields["MsgId"] and msg.msg_id.isdigit()
        assert msg.dedup_key == f"oa:{OPENID}:{msg.msg_id}"


@pytest.mark.parametrize("value", ["", "abc", "²", "١٢٣", "-5", "1.5", "9" * 5000])
def test_to_incoming_tolerates_odd_create_time(value: str) -> None:
    fields = parse_xml(tencent("text", "<Content>hi</Content><MsgId>1</MsgId>").encode())
    fields["CreateTime"] = value
    assert to_incoming(fields).create_time == 0


def test_to_incoming_lowercases_msgtype_and_event() -> None:
    assert to_incoming({"FromUserName": "u", "MsgType": "TEXT"}).kind is Kind.TEXT
    msg = to_incoming({"FromUserName": "u", "MsgType": "Event", "Event": "Subscribe"})
    assert msg.kind is Kind.EVENT and msg.event == "subscribe"
    assert to_incoming({"FromUserName": "u"}).kind is Kind.UNKNOWN


def test_to_incoming_keeps_scan_code_info() -> None:
    xml = event(
        "scancode_waitmsg",
        "  <EventKey><![CDATA[rselfmenu_0_0]]></EventKey>\n"
        "  <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        "<ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>\n",
    )
    msg = to_incoming(parse_xml(xml.encode()))
    assert msg.event == "scancode_waitmsg" and msg.event_key == "rselfmenu_0_0"
    assert msg.extra == {"ScanCodeInfo.ScanType": "qrcode", "ScanCodeInfo.ScanResult": "1"}


# ---------------------------------------------------------------------------------
# URL verification (the console's 提交 button): GET with echostr
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["compatible", "safe", "plain"])
async def test_url_verification_echoes(app_client: AppFactory, mode: str) -> None:
    sender = sender_for(await app_client(wechat={"mode": mode}))
    params = sender.signed_query() | {"echostr": "6245734519846385263"}
    resp = await sender.client.get("/wechat", params=params)
    assert resp.status == 200
    assert await resp.text() == "6245734519846385263"


async def test_url_verification_bad_signature(wechat: WeChatSender) -> None:
    params = wechat.signed_query() | {"echostr": "123"}
    params["signature"] = "0" * 40
    resp = await wechat.client.get("/wechat", params=params)
    assert resp.status == 403
    assert "123" not in await resp.text()


async def test_url_verification_missing_signature(wechat: WeChatSender) -> None:
    params = wechat.signed_query() | {"echostr": "123"}
    del params["signature"]
    resp = await wechat.client.get("/wechat", params=params)
    assert resp.status == 403


async def test_url_verification_missing_echostr(wechat: WeChatSender) -> None:
    resp = await wechat.client.get("/wechat", params=wechat.signed_query())
    assert resp.status == 400


async def test_url_verification_stale(wechat: WeChatSender) -> None:
    params = wechat.signed_query(timestamp=int(time.time()) - 3600) | {"echostr": "123"}
    resp = await wechat.client.get("/wechat", params=params)
    assert resp.status == 403
