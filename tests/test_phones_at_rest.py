"""Phone numbers are not stored or logged in clear: not in free text (follow-ups,
complaints, their timeline, the outbox), not in the reply cache, not in DEBUG logs —
while everyone allowed still reads them whole."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise import Tortoise

from bot.logs import setup_logging
from models import Complaint, FollowUp, ProcessedMessage
from tests.conftest import make_config
from tests.fake_tencent import FakeTencent
from tests.outbox_helpers import drain
from tests.sales_helpers import REP_A, customer, team
from tests.test_delivery import sections
from tests.wechat_client import WeChatSender

CARD_PHONE = "13800138000"
TYPED_PHONE = "13912345678"
COMPLAINT_PHONE = "13711112222"
CUSTOMER = "oCustomerAtRest0000000000001"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The product's own logging set-up at DEBUG (SQL parameters included)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("DEBUG", "text")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


async def database_text(db: str) -> str:
    """Everything the database holds, as text, as an attacker with the files sees it."""
    if db.startswith("sqlite"):
        path = Path(db[len("sqlite://") :])
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
        return "".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())
    conn = Tortoise.get_connection("default")
    tables = [m._meta.db_table for m in Tortoise.apps["models"].values()]
    parts: list[str] = []
    for table in tables:
        rows = await conn.execute_query_dict(f'SELECT t::text AS row FROM "{table}" t')
        parts.extend(str(r["row"]) for r in rows)
    return "\n".join(parts)


async def test_phones_are_sealed_at_rest_and_kept_out_of_logs(
    db: str, wechat: WeChatSender, fake_tencent: FakeTencent, debug_log: io.StringIO
) -> None:
    rep, _, _ = await team()
    await customer("周杰", rep, phone=CARD_PHONE)
    from models import Customer

    await Customer.create(name="张三", owner=rep, openid=CUSTOMER)

    logged = await wechat.say(f"跟进 周杰 电话 客户换了新号码{TYPED_PHONE} 下周三回访", REP_A)
    assert "已记录跟进" in logged
    card = await wechat.say("查 周杰", REP_A)
    assert CARD_PHONE in card  # the owner sees the number whole
    ticket = await wechat.say(f"投诉 送货员电话{COMPLAINT_PHONE}一直打不通", CUSTOMER)
    assert "已收到您的投诉" in ticket
    # Pushes go out through the fake Tencent API (token fetched and stored).
    await drain(make_config(db, **sections(fake_tencent)))
    sent = [str(body) for _, body in fake_tencent.sent]
    assert any(COMPLAINT_PHONE in body for body in sent)  # the rep's push, whole

    # Read back through the models: whole.
    assert TYPED_PHONE in (await FollowUp.get()).content
    assert COMPLAINT_PHONE in (await Complaint.get()).content
    # At rest: nowhere in clear.
    stored = await database_text(db)
    # The follow-up and the complaint keep their replies (sealed); the card view is
    # read-only and leaves no stored reply at all.
    assert await ProcessedMessage.all().count() >= 2
    for phone in (CARD_PHONE, TYPED_PHONE, COMPLAINT_PHONE):
        assert phone not in stored, phone
    log_text = debug_log.getvalue()
    assert "INSERT" in log_text or "insert" in log_text.lower()  # SQL really was logged
    for phone in (CARD_PHONE, TYPED_PHONE, COMPLAINT_PHONE):
        assert phone not in log_text, phone
    for token in fake_tencent.valid_tokens:
        assert token not in log_text
