"""The WeCom door at ``/wecom``: Tencent's own samples, every message and event type,
and everything that must be refused — wrong CorpID, wrong signature, stale timestamp."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient
from wechatpy.enterprise import parse_message

from bot.app import create_app
from bot.channels.official_account import to_incoming
from bot.channels.security import parse_xml
from models import FollowUp, Staff
from models.enums import Role
from models.staff import create_invite
from tests.conftest import AppFactory, make_config
from tests.sales_helpers import customer
from tests.wechat_client import c, sign
from tests.wecom_client import (
    CORP_ID,
    USERID,
    WeComSender,
    wecom_section,
    wecom_text,
    wecom_xml,
)

# 企业微信 加解密方案说明, the WXBizMsgCrypt sample (Sample.py): its Token, EncodingAESKey
# and CorpID, the URL-verification request and the encrypted text message it documents.
SAMPLE_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
SAMPLE_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SAMPLE_CORP_ID = "ww1436e0e65a779aee"
SAMPLE_VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": (
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    ),
}
SAMPLE_ECHO = "1288432023552776189"
SAMPLE_POST = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
SAMPLE_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3Ny"
    "eTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0"
    "VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7"
    "MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAy"
    "h+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
SAMPLE_BODY = (
    f"<xml><ToUserName><![CDATA[{SAMPLE_CORP_ID}]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
SAMPLE_SECTION = {
    "corp_id": SAMPLE_CORP_ID,
    "agent_id": 1000002,
    "token": SAMPLE_TOKEN,
    "encoding_aes_key": SAMPLE_AES_KEY,
}


@pytest.fixture
async def wecom_client(app_client: AppFactory) -> TestClient:
    return await app_client(wecom=wecom_section())


@pytest.fixture
def wecom(wecom_client: TestClient) -> WeComSender:
    return WeComSender(wecom_client)


async def rep_on_wecom(userid: str = USERID, name: str = "张三") -> Staff:
    return await Staff.create(name=name, role=Role.REP, wecom_userid=userid)


# --- Tencent's samples -------------------------------------------------------------------


async def test_documented_url_verification(app_client: AppFactory) -> None:
    client = await app_client(wecom=SAMPLE_SECTION)
    with time_machine.travel(int(SAMPLE_VERIFY["timestamp"]) + 2, tick=True):
        resp = await client.get("/wecom", params=SAMPLE_VERIFY)
        assert resp.status == 200
        assert await resp.text() == SAMPLE_ECHO


async def test_documented_message_is_answered_encrypted_to_its_sender(
    app_client: AppFactory,
) -> None:
    client = await app_client(wecom=SAMPLE_SECTION)
    sender = WeComSender(client, SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_CORP_ID)
    with time_machine.travel(int(SAMPLE_POST["timestamp"]) + 2, tick=True):
        resp = await client.post("/wecom", params=SAMPLE_POST, data=SAMPLE_BODY.encode())
        text = await resp.text()
    assert resp.status == 200
    env = parse_xml(text.encode())
    reply = parse_xml(
        sender.crypto.decrypt_message(
            text, env["MsgSignature"], env["TimeStamp"], env["Nonce"]
        ).encode()
    )
    # The sample's sender ChenJiaShun is nobody's staff yet: told how to bind.
    assert reply["ToUserName"] == "ChenJiaShun" and reply["FromUserName"] == SAMPLE_CORP_ID
    assert "绑定" in reply["Content"] and "ChenJiaShun" in reply["Content"]


# --- every message and event type -----------------------------------------------------------

SAMPLES: dict[str, str] = {
    "text": wecom_xml("text", Content="帮助", MsgId="1234567890123456"),
    "image": wecom_xml("image", PicUrl="http://p.qpic.cn/x", MediaId="MEDIA_1", MsgId="11"),
    "voice": wecom_xml("voice", MediaId="MEDIA_2", Format="amr", MsgId="12"),
    "video": wecom_xml("video", MediaId="MEDIA_3", ThumbMediaId="THUMB", MsgId="13"),
    "location": wecom_xml(
        "location", Location_X="23.134", Location_Y="113.358", Scale=20, Label="广州", MsgId="14"
    ),
    "link": wecom_xml(
        "link", Title="报价单", Description="第二版", Url="https://e.x/q", PicUrl="", MsgId="15"
    ),
    "file": wecom_xml(
        "file", Title="合同.pdf", FileKey="k", FileMd5="m", FileTotalLen=2048, MsgId="16"
    ),
    "subscribe": wecom_xml("event", Event="subscribe"),
    "unsubscribe": wecom_xml("event", Event="unsubscribe"),
    "enter_agent": wecom_xml("event", Event="enter_agent", EventKey=""),
    "report_location": wecom_xml(
        "event", Event="LOCATION", Latitude="23.1", Longitude="113.3", Precision="30"
    ),
    "click": wecom_xml("event", Event="click", EventKey="TODAY"),
    "view": wecom_xml("event", Event="view", EventKey="https://e.x/crm"),
    "unknown_event": wecom_xml("event", Event="some_new_event_2027"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parsed_like_wechatpy_enterprise(name: str) -> None:
    xml = SAMPLES[name]
    ours = to_incoming(parse_xml(xml.encode()), "wecom")
    theirs = parse_message(xml)
    assert ours.sender == theirs.source == USERID
    assert ours.recipient == theirs.target == CORP_ID
    # wechatpy's UnknownMessage keeps only the raw fields.
    assert ours.extra["AgentID"] == str(getattr(theirs, "agent", None) or theirs._data["AgentID"])
    if theirs.type == "unknown" and ours.kind.value != "event":
        assert ours.kind.value == theirs._data["MsgType"]  # a type wechatpy 1.8 predates
    elif ours.kind.value == "event":
        expected = getattr(theirs, "event", None) or theirs._data["Event"]
        assert ours.event == str(expected).lower()
    else:
        assert ours.kind.value == theirs.type
        assert ours.msg_id == str(theirs.id)
    if name == "text":
        assert ours.text == theirs.content
    if name in ("image", "voice", "video"):
        assert ours.media_id == theirs.media_id


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_every_type_is_answered_without_error(
    name: str, wecom: WeComSender, no_errors_logged: None
) -> None:
    await rep_on_wecom()
    reply = await wecom.send(SAMPLES[name])
    if name == "text":
        assert reply is not None and "跟进" in reply["Content"]  # the rep's help
    elif name == "voice":  # no Recognition: asked to say it again
        assert reply is not None and "语音" in reply["Content"]
    elif name in ("image", "video", "location", "link", "file"):
        assert reply is not None and "暂时还不能处理" in reply["Content"]
    elif name == "subscribe":
        assert reply is not None and reply["Content"]
    else:
        assert reply is None  # events that need no answer: an empty 200


async def test_voice_recognition_is_text(wecom: WeComSender) -> None:
    await rep_on_wecom()
    xml = wecom_xml("voice", MediaId="M", Format="amr", Recognition="帮助", MsgId="99")
    reply = await wecom.send(xml)
    assert reply is not None and "跟进" in reply["Content"]


# --- refused at the door ------------------------------------------------------------------


async def status(resp: Any) -> int:
    body = await resp.text()
    assert "Traceback" not in body
    return resp.status


async def test_another_corp_id_is_403(wecom: WeComSender) -> None:
    resp = await wecom.post(wecom_text("帮助"), corp_id="ww9999999999999999")
    assert await status(resp) == 403


async def test_payload_naming_another_corp_is_403(wecom: WeComSender) -> None:
    xml = wecom_xml("text", corp_id="ww9999999999999999", Content="帮助", MsgId="1")
    assert await status(await wecom.post(xml)) == 403


async def test_message_for_another_app_is_403(wecom: WeComSender) -> None:
    xml = wecom_xml("text", agent_id=1000099, Content="帮助", MsgId="2")
    assert await status(await wecom.post(xml)) == 403


async def test_wrong_or_missing_signature_is_403(wecom: WeComSender) -> None:
    params, body = wecom.envelope(wecom_text("帮助"))
    bad = {**params, "msg_signature": "0" * 40}
    assert await status(await wecom.client.post("/wecom", params=bad, data=body)) == 403
    missing = {k: v for k, v in params.items() if k != "msg_signature"}
    assert await status(await wecom.client.post("/wecom", params=missing, data=body)) == 403


async def test_stale_timestamp_is_403(wecom: WeComSender) -> None:
    resp = await wecom.post(wecom_text("帮助"), timestamp=int(time.time()) - 3600)
    assert await status(resp) == 403


async def test_verification_with_a_bad_signature_or_stale_time_is_403(
    wecom: WeComSender,
) -> None:
    ts = str(int(time.time()))
    echostr = parse_xml(wecom.crypto.encrypt_message("42", "n", ts).encode())["Encrypt"]
    good = {"msg_signature": sign(wecom.token, ts, "n", echostr), "timestamp": ts, "nonce": "n"}
    ok = await wecom.client.get("/wecom", params={**good, "echostr": echostr})
    assert ok.status == 200 and await ok.text() == "42"
    bad = {**good, "echostr": echostr, "msg_signature": "1" * 40}
    assert await status(await wecom.client.get("/wecom", params=bad)) == 403
    old = str(int(time.time()) - 3600)
    stale = {"msg_signature": sign(wecom.token, old, "n", echostr), "timestamp": old, "nonce": "n"}
    assert (
        await status(await wecom.client.get("/wecom", params={**stale, "echostr": echostr})) == 403
    )


async def test_oversize_malformed_and_undecryptable_bodies(wecom: WeComSender) -> None:
    params, _ = wecom.envelope(wecom_text("帮助"))
    huge = b"<xml>" + b"x" * 70000 + b"</xml>"
    assert await status(await wecom.client.post("/wecom", params=params, data=huge)) == 413
    assert await status(await wecom.client.post("/wecom", params=params, data=b"<xml>")) == 400
    ts, nonce = params["timestamp"], params["nonce"]
    garbage = "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"
    q = {"msg_signature": sign(wecom.token, ts, nonce, garbage), "timestamp": ts, "nonce": nonce}
    body = f"<xml><Encrypt>{c(garbage)}</Encrypt></xml>".encode()
    assert await status(await wecom.client.post("/wecom", params=q, data=body)) == 400


async def test_verification_needs_no_database() -> None:
    # No database at all behind this app: GET /wecom must still answer, and fast
    # (WeCom gives the URL check about a second).
    from aiohttp.test_utils import TestServer

    from tests.conftest import DATA_KEY

    cfg = make_config("postgres://nobody@127.0.0.1:9/none", wecom=wecom_section())
    assert cfg.security.data_key == DATA_KEY
    app = create_app(cfg, connect_db=False, run_worker=False)
    async with TestClient(TestServer(app)) as client:
        sender = WeComSender(client)
        ts = str(int(time.time()))
        echostr = parse_xml(sender.crypto.encrypt_message("e1", "n", ts).encode())["Encrypt"]
        q = {"msg_signature": sign(sender.token, ts, "n", echostr), "timestamp": ts}
        started = time.monotonic()
        resp = await client.get("/wecom", params={**q, "nonce": "n", "echostr": echostr})
        elapsed = time.monotonic() - started
        assert resp.status == 200 and await resp.text() == "e1"
    assert elapsed < 1.0


async def test_no_wecom_route_without_its_token(client: TestClient) -> None:
    assert (await client.get("/wecom")).status in (404, 405)


# --- staff on WeCom -----------------------------------------------------------------------


async def test_unbound_member_can_only_bind(wecom: WeComSender) -> None:
    for text in ("帮助", "跟进 周杰 打了电话", "投诉 你们太慢了"):
        reply = await wecom.say(text)
        assert "绑定" in reply and USERID in reply
    # A colleague is never filed as a customer, nor their words as a complaint.
    from models import Complaint, Customer

    assert await Customer.all().count() == 0 and await Complaint.all().count() == 0


async def test_bind_with_an_invite_code_on_wecom(wecom: WeComSender) -> None:
    code = (await create_invite("rep", "张三", "test", timedelta(hours=1))).code
    reply = await wecom.say(f"绑定 {code}")
    assert "绑定成功" in reply and "张三" in reply
    staff = await Staff.get(wecom_userid=USERID)
    assert staff.role == Role.REP and staff.oa_openid is None
    assert "跟进" in await wecom.say("帮助")


async def test_a_follow_up_from_wecom_is_recorded_once_despite_retries(
    wecom: WeComSender,
) -> None:
    rep = await rep_on_wecom()
    await customer("周杰", rep)
    xml = wecom_text("跟进 周杰 电话 聊了报价，下周三回访", msg_id="555")
    first = await wecom.send(xml)
    again = await wecom.send(xml)
    assert first is not None and again is not None
    assert first["Content"] == again["Content"] and "周杰" in first["Content"]
    assert await FollowUp.all().count() == 1


async def test_a_slow_handler_answers_empty_and_sends_an_app_message(
    app_client: AppFactory,
) -> None:
    from bot.app import PIPELINE
    from models import Outbox
    from tests.test_dedup_and_deadline import Gate

    client = await app_client(wecom=wecom_section(), bot={"reply_deadline": 0.2})
    await rep_on_wecom()
    gate = Gate("报表已经生成好了")
    gate.install(client)
    sender = WeComSender(client)
    xml = wecom_text("慢")
    assert await sender.send(xml) is None  # WeCom's "no reply": an empty 200
    assert await sender.send(xml) is None and gate.runs == 1  # its retry runs nothing
    gate.release.set()
    await client.app[PIPELINE].drain(wait=5)
    late = await Outbox.get()
    assert (late.channel, late.recipient) == ("wecom", USERID)
    assert late.payload["reply"]["text"] == "报表已经生成好了"
