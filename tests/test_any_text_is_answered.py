"""Whatever follows a command word — voice text with no punctuation, emoji, mixed
scripts, text up to the body cap — gets a real answer: never the apology for a
crash, never silence. Through the real webhook and database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handlers  # noqa: F401  (registers every command word)
from bot.filters import Command
from bot.middlewares import APOLOGY
from models import Customer, Staff
from tests.sales_helpers import MANAGER, REP_A, customer, team
from tests.wechat_client import WeChatSender

CUSTOMER = "oCustomerProp000000000000001"
STRANGER = "oStrangerProp000000000000002"
SENDERS = [REP_A, MANAGER, CUSTOMER, STRANGER]
APOLOGY_HEAD = APOLOGY.split("（")[0]

# What phone text is made of: Chinese, digits (ASCII and full-width), Latin, the
# punctuation of both keyboards, spaces, emoji and zero-width spaces.
_PIECES = st.sampled_from(
    list("周杰李娜张三王经理今天下午去公司拜访聊了一个小时下周一再约演示报价签约成交万元")
    + list("0123456789０１２３４５６７８９abcXYZ，。、；：！？…—,.;:!?-/ \u3000\n")
    + ["😡", "👍", "🎉", "\u200b"]
)
TAILS = st.lists(_PIECES, max_size=400).map("".join)


async def _cast() -> None:
    if await Staff.exists():
        return
    rep, _, _ = await team()
    await customer("周杰", rep, phone="13800138000", company="华东精密")
    await customer("李娜", rep)
    await Customer.create(name="张三", owner=rep, openid=CUSTOMER)


@pytest.mark.parametrize("word", sorted(Command._registry))
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tail=TAILS, glue=st.sampled_from(["", " ", "，"]), who=st.sampled_from(SENDERS))
async def test_every_command_word_with_any_tail_is_answered(
    wechat: WeChatSender, word: str, tail: str, glue: str, who: str
) -> None:
    await _cast()
    reply = await wechat.say(f"{word}{glue}{tail}", who)
    assert reply.strip(), (word, tail)
    assert APOLOGY_HEAD not in reply, (word, glue, tail)


@pytest.mark.parametrize("word", ["跟进", "成交", "阶段", "生日", "查", "投诉", "新客户"])
async def test_text_up_to_the_body_cap_is_answered(wechat: WeChatSender, word: str) -> None:
    await _cast()
    # About 60 KB of UTF-8 once wrapped in XML: just under the 64 KiB cap.
    tail = "周杰今天下午去他们公司拜访了一趟聊了一个小时" * 900
    for who in (REP_A, CUSTOMER):
        reply = await wechat.say(f"{word}{tail}", who)
        assert reply.strip() and APOLOGY_HEAD not in reply
