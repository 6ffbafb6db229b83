"""More phone Chinese as reps type or dictate it: commands glued to titles, names
glued to notes and companies, a bare weekday said on that day — through the webhook."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from models import FollowUp
from tests.sales_helpers import REP_A, customer, team
from tests.wechat_client import WeChatSender

# Wednesday 2 December 2026, 10:00 in Shanghai.
FROZEN = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_a_title_glued_to_the_command_offers_the_reps_customer(
    wechat: WeChatSender,
) -> None:
    rep, _, _ = await team()
    await customer("王强", rep, company="杭州云帆")
    await customer("李娜", rep)
    with time_machine.travel(FROZEN, tick=True):
        # It was 「请写上这次跟进聊了什么」 with 「王总电话聊了报价」 taken for the name.
        asked = await wechat.say("跟进王总电话聊了报价", REP_A)
        done = await wechat.say("1", REP_A)
    assert "「王总」" in asked and "1. 王强" in asked and "李娜" not in asked, asked
    assert "已记录跟进" in done and "方式：电话" in done, done
    assert (await FollowUp.get()).content == "聊了报价"
