"""The team view and transfers for managers: 「团队」, 「团队 李明」, 「待办」 with the team's
overdue total, 「待办 团队」, and 「转移」 moving customers, revisits and complaints while
the card keeps who owned it before."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from models import Complaint, Customer, FollowUp, Outbox, OwnerChange, Staff
from models.enums import ComplaintStatus, Role
from models.followups import due_revisits
from tests.sales_helpers import MANAGER, REP_A, customer, team
from tests.wechat_client import WeChatSender

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SH)


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


async def book() -> tuple[Staff, Staff, Staff, Staff]:
    a, b, m = await team()  # 李明, 张伟, 陈静
    wu = await Staff.create(name="王五", role=Role.REP, oa_openid="oWangWu00000000000000000001")
    with at(NOW - timedelta(days=20)):
        for i in range(6):
            c = await customer(f"客户{i}", a)
            await FollowUp.create(
                customer=c, rep=a, method="phone", content="报价",
                next_revisit_on=date(2026, 11, 25) + timedelta(days=i % 3),
            )  # fmt: skip
        zhou = await customer("周杰", b)
        await FollowUp.create(
            customer=zhou, rep=b, method="phone", content="报价", next_revisit_on=date(2026, 12, 1)
        )
        await Complaint.create(
            ticket_no="TS202611130001", customer=await Customer.get(name="客户0"),
            content="发货慢", assignee=a, status=ComplaintStatus.IN_PROGRESS,
            first_reply_due=NOW, resolve_due=NOW + timedelta(days=3),
        )  # fmt: skip
    return a, b, m, wu


async def test_team_lines_one_per_rep(wechat: WeChatSender) -> None:
    await book()
    with at(NOW):
        text = await wechat.say("团队", MANAGER)
    assert "团队概况（3 人）" in text
    assert "· 李明：客户 6，本周跟进 0，逾期回访 6，未结投诉 1，本月成交 0 笔 ¥0" in text
    assert "· 张伟：客户 1，本周跟进 0，逾期回访 1" in text
    assert text.index("李明") < text.index("张伟")  # most overdue first
    with at(NOW):
        li = await wechat.say("团队 李明", MANAGER)
        nobody = await wechat.say("团队 路人甲", MANAGER)
    assert li.startswith("· 李明：客户 6，本周跟进 0，逾期回访 6")
    assert "李明 的逾期回访（6 条）：" in li and "客户0：计划 11月25日，已逾期 8 天" in li
    assert "没有叫「路人甲」" in nobody
    with at(NOW):
        # The same, asked in words; and the team's overdue list.
        assert await wechat.say("李明最近怎么样？", MANAGER) == li
        assert (await wechat.say("谁的回访逾期了", MANAGER)).startswith("团队逾期回访共 7 条：")


async def test_manager_todo_adds_the_team_and_todo_team_lists_it(wechat: WeChatSender) -> None:
    await book()
    with at(NOW):
        mine = await wechat.say("待办", MANAGER)
        everyone = await wechat.say("待办 团队", MANAGER)
        rep = await wechat.say("待办", REP_A)
    assert "团队逾期回访共 7 条" in mine  # the manager's own list says "nothing", the team not
    assert everyone.startswith("团队逾期回访共 7 条：")
    assert "李明 的逾期回访（6 条）" in everyone and "……还有 1 条" in everyone
    assert "张伟 的逾期回访（1 条）" in everyone
    assert "团队逾期回访" not in rep


async def test_transfer_moves_customers_revisits_and_complaints_and_keeps_history(
    wechat: WeChatSender,
) -> None:
    a, _, _, wu = await book()
    await Staff.filter(id=a.id).update(active=False)  # 李明 has left
    with at(NOW):
        reply = await wechat.say("转移 李明 王五", MANAGER)
    assert "已把 李明 的 6 位客户转给 王五（含待办回访 6 条、未结投诉 1 件）" in reply
    assert await Customer.filter(owner_id=wu.id).count() == 6
    assert await Customer.filter(owner_id=a.id).count() == 0
    complaint = await Complaint.get(ticket_no="TS202611130001")
    assert complaint.assignee_id == wu.id  # type: ignore[attr-defined]
    assert len(await due_revisits(wu.id, NOW.date())) == 6  # the revisits are 王五's now
    assert await OwnerChange.filter(from_staff_id=a.id, to_staff_id=wu.id).count() == 6
    told = await Outbox.get(recipient="oWangWu00000000000000000001")
    assert "陈静 把 李明 的 6 位客户转给了你" in told.payload["reply"]["text"]
    with at(NOW):
        card = await wechat.say("查 客户1", MANAGER)
    assert "负责人：王五" in card and "负责人变更：12月3日 李明 → 王五" in card
    # The follow-ups keep who made them.
    assert await FollowUp.filter(rep_id=a.id).count() == 6


async def test_transfer_one_customer(wechat: WeChatSender) -> None:
    _, b, _, wu = await book()
    with at(NOW):
        # As a manager says it: 「给」 between the two, or all of it glued.
        reply = await wechat.say("转移 周杰 给 王五", MANAGER)
        again = await wechat.say("转移周杰给王五", MANAGER)
        unknown = await wechat.say("转移 周杰 路人甲", MANAGER)
        usage = await wechat.say("转移 周杰", MANAGER)
    assert reply.startswith("已把客户 周杰 从 张伟 转给 王五")
    assert (await Customer.get(name="周杰")).owner_id == wu.id  # type: ignore[attr-defined]
    assert "已经是负责人" in again
    assert "没有在职的同事叫「路人甲」" in unknown
    assert usage.startswith("用法：转移")
    assert await Customer.filter(owner_id=b.id).count() == 0


async def test_transferring_from_someone_with_no_customers(wechat: WeChatSender) -> None:
    await book()
    with at(NOW):
        reply = await wechat.say("转移 王五 李明", MANAGER)
    assert "王五 名下没有客户" in reply
    assert await OwnerChange.all().count() == 0
