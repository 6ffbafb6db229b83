"""Grading, lifecycle and 大客户 tiers: the nightly recompute from the last 12 months'
signed deals and the last contact, its boundaries, managers' pins (定级) and who may
set them, the card's reason line, and one push per rep about their changed customers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from models import Customer, Deal, FollowUp, Outbox, Staff
from models.enums import DealStage, Grade, Lifecycle, Tier
from scheduler.jobs import grade
from tests.conftest import make_config
from tests.sales_helpers import MANAGER, REP_A, REP_B, customer, team
from tests.test_migrations_and_cli import run_cli, write_config
from tests.wechat_client import WeChatSender

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The nightly run: Monday 21 September 2026, 02:30 in Shanghai.
NIGHT = datetime(2026, 9, 21, 2, 30, tzinfo=SHANGHAI)
TODAY = NIGHT.date()
# Later that morning, when people read their cards.
MORNING = datetime(2026, 9, 21, 9, 0, tzinfo=SHANGHAI)


async def signed(c: Customer, rep: Staff, amount: str, on: date, times: int = 1) -> None:
    for _ in range(times):
        await Deal.create(
            customer=c, owner=rep, amount=Decimal(amount), stage=DealStage.SIGNED, closed_on=on
        )


async def contacted(c: Customer, rep: Staff, days_ago: int) -> None:
    """A follow-up ``days_ago`` days before the nightly run."""
    f = await FollowUp.create(customer=c, rep=rep, method="phone", content="聊了聊")
    await FollowUp.filter(id=f.id).update(created_at=NIGHT - timedelta(days=days_ago))


async def run(db: str, **grading: object) -> str:
    return await grade(make_config(db, grading=grading), NIGHT.astimezone(UTC))


async def standing(name: str) -> tuple[Grade, Lifecycle, Tier | None]:
    c = await Customer.get(name=name)
    return Grade(c.grade), Lifecycle(c.lifecycle), Tier(c.tier) if c.tier else None


async def grade_pushes(recipient: str) -> list[str]:
    rows = await Outbox.filter(recipient=recipient, dedup_key__startswith="grade:").order_by("id")
    return [r.payload["reply"]["text"] for r in rows]


# --- grade and tier boundaries ----------------------------------------------------------


async def test_vip_at_the_threshold_not_a_cent_below(db: str) -> None:
    rep, _, _ = await team()
    on = date(2026, 3, 1)
    await signed(await customer("刚好", rep), rep, "100000", on)
    await signed(await customer("差一分", rep), rep, "99999.99", on)
    await signed(await customer("六笔", rep), rep, "100", on, times=6)
    await signed(await customer("五笔", rep), rep, "100", on, times=5)
    # The window is the last 12 months: a year ago to the day no longer counts.
    await signed(await customer("一年前", rep), rep, "150000", date(2025, 9, 21))
    await signed(await customer("一年内", rep), rep, "150000", date(2025, 9, 22))
    await customer("没买过", rep, grade=Grade.VIP)
    await run(db)
    assert (await standing("刚好"))[0] is Grade.VIP
    assert (await standing("差一分"))[0] is Grade.NORMAL
    assert (await standing("六笔"))[0] is Grade.VIP
    assert (await standing("五笔"))[0] is Grade.NORMAL
    # A lapsed buyer is 普通, not a prospect.
    assert (await standing("一年前"))[0] is Grade.NORMAL
    assert (await standing("一年内"))[0] is Grade.VIP
    assert (await standing("没买过"))[:2] == (Grade.POTENTIAL, Lifecycle.POTENTIAL)


async def test_big_customer_tiers_at_their_thresholds(db: str) -> None:
    rep, _, _ = await team()
    on = date(2026, 6, 1)
    for name, amount in (
        ("战略刚好", "1000000"),
        ("重要刚好", "500000"),
        ("重要差一分", "499999.99"),
        ("普通大刚好", "200000"),
        ("不够大", "199999.99"),
    ):
        await signed(await customer(name, rep), rep, amount, on)
    await signed(await customer("常客", rep), rep, "1000", on, times=12)
    await run(db)
    assert (await standing("战略刚好"))[2] is Tier.STRATEGIC
    assert (await standing("重要刚好"))[2] is Tier.KEY
    assert (await standing("重要差一分"))[2] is Tier.MAJOR
    assert (await standing("普通大刚好"))[2] is Tier.MAJOR
    assert (await standing("不够大"))[2] is None
    assert (await standing("常客"))[2] is Tier.MAJOR  # 12 deals in a year
    # Thresholds come from the config.
    await run(db, major_amount=300000.0, major_deals=0)
    assert (await standing("普通大刚好"))[2] is None
    assert (await standing("常客"))[2] is None


# --- lifecycle boundaries ----------------------------------------------------------------


async def test_lifecycle_boundaries(db: str) -> None:
    rep, _, _ = await team()
    old_deal = date(2025, 6, 1)  # bought once, long ago
    cases = {
        # name: (days since the last follow-up, lifecycle before the run)
        "三十天": (30, Lifecycle.DORMANT),
        "三十一天活跃": (31, Lifecycle.ACTIVE),
        "三十一天沉默": (31, Lifecycle.DORMANT),
        "八十九天": (89, Lifecycle.ACTIVE),
        "九十天": (90, Lifecycle.ACTIVE),
    }
    for name, (days, before) in cases.items():
        c = await customer(name, rep)
        await signed(c, rep, "5000", old_deal)
        await contacted(c, rep, days)
        await Customer.filter(id=c.id).update(lifecycle=before)
    # A purchase counts as much as a contact; a prospect contacted today stays 潜在.
    bought = await customer("刚成交", rep)
    await signed(bought, rep, "5000", TODAY - timedelta(days=30))
    await Customer.filter(id=bought.id).update(lifecycle=Lifecycle.DORMANT)
    prospect = await customer("意向", rep)
    await contacted(prospect, rep, 0)
    # The contact date on the customer (e.g. imported) counts too.
    imported = await customer("导入", rep)
    await signed(imported, rep, "5000", old_deal)
    await Customer.filter(id=imported.id).update(
        last_contact_at=NIGHT - timedelta(days=3), lifecycle=Lifecycle.DORMANT
    )
    await run(db)
    assert (await standing("三十天"))[1] is Lifecycle.ACTIVE
    # Between 30 and 90 days a customer keeps its state.
    assert (await standing("三十一天活跃"))[1] is Lifecycle.ACTIVE
    assert (await standing("三十一天沉默"))[1] is Lifecycle.DORMANT
    assert (await standing("八十九天"))[1] is Lifecycle.ACTIVE
    assert (await standing("九十天"))[1] is Lifecycle.DORMANT
    assert (await standing("刚成交"))[1] is Lifecycle.ACTIVE
    assert (await standing("意向"))[1] is Lifecycle.POTENTIAL
    assert (await standing("导入"))[1] is Lifecycle.ACTIVE
    # N and M come from the config.
    await run(db, active_days=10, dormant_days=20)
    assert (await standing("三十天"))[1] is Lifecycle.DORMANT


# --- pushes to the owner -----------------------------------------------------------------


async def _changes_for_rep_a() -> tuple[Staff, Staff, Staff]:
    a, b, m = await team()
    lina = await customer("李娜", a)
    await signed(lina, a, "20000", date(2026, 8, 1), times=8)
    await signed(lina, a, "22000", date(2026, 9, 10))
    zhang = await customer("张三", a)
    await signed(zhang, a, "3000", date(2025, 12, 1))
    await contacted(zhang, a, 92)
    for c in (lina, zhang):
        await Customer.filter(id=c.id).update(lifecycle=Lifecycle.ACTIVE)
    # 张伟's customer does not change.
    steady = await customer("王芳", b)
    await signed(steady, b, "3000", date(2026, 9, 1))
    await Customer.filter(id=steady.id).update(lifecycle=Lifecycle.ACTIVE)
    return a, b, m


async def test_changes_are_pushed_to_the_owner_once(db: str) -> None:
    await _changes_for_rep_a()
    first = await run(db)
    assert "2 changed" in first and "1 push(es) queued" in first
    pushes = await grade_pushes(REP_A)
    assert len(pushes) == 1  # one push for both customers, not a drip
    text = pushes[0]
    assert text.startswith("李明，你有 2 位客户的等级或状态有变化：")
    assert "· 李娜 升为 VIP：近 12 个月 ¥182,000，9 笔" in text
    assert "· 张三 变为沉默：上次联系 92 天前" in text
    assert await grade_pushes(REP_B) == []
    # Queued at night, delivered after the quiet hours.
    row = await Outbox.get(recipient=REP_A, dedup_key__startswith="grade:")
    assert row.next_attempt_at.astimezone(SHANGHAI) >= datetime(2026, 9, 21, 8, tzinfo=SHANGHAI)
    # A second run (catch-up, second scheduler, `wecrm grade` by hand) changes nothing.
    again = await run(db)
    assert "0 changed" in again and "0 push(es) queued" in again
    assert len(await grade_pushes(REP_A)) == 1


async def test_a_departed_reps_changes_go_to_the_manager(db: str) -> None:
    a, _, _ = await _changes_for_rep_a()
    await Staff.filter(id=a.id).update(active=False)
    await run(db)
    assert await grade_pushes(REP_A) == []
    (text,) = await grade_pushes(MANAGER)
    assert "李娜 升为 VIP" in text and "张三 变为沉默" in text


async def test_a_long_list_is_capped(db: str) -> None:
    rep, _, _ = await team()
    for i in range(4):
        c = await customer(f"客户{i}", rep)
        await signed(c, rep, "200000", date(2026, 9, 1))
    await run(db, push_max_lines=2)
    (text,) = await grade_pushes(REP_A)
    assert text.count("\n· ") == 2 and "另有 2 位" in text


# --- pins (定级) -----------------------------------------------------------------------


async def test_a_managers_pin_survives_and_auto_restores(wechat: WeChatSender, db: str) -> None:
    a, _, _ = await team()
    zhang = await customer("张三", a)
    await signed(zhang, a, "3000", date(2026, 9, 1))
    with time_machine.travel(MORNING, tick=False):
        reply = await wechat.say("定级 张三 VIP", MANAGER)
        assert "已将张三定为 VIP" in reply and "定级 张三 自动" in reply
        assert "战略大客户" in await wechat.say("定级 张三 战略", MANAGER)
    # The owner is told about the manager's decision.
    told = await Outbox.filter(recipient=REP_A, dedup_key__startswith="grade-pin:")
    assert any("陈静 把你的客户 张三 定为 VIP" in r.payload["reply"]["text"] for r in told)
    await run(db)
    assert await standing("张三") == (Grade.VIP, Lifecycle.ACTIVE, Tier.STRATEGIC)
    # Only the lifecycle moved (first purchase); the pinned grade and tier did not.
    (text,) = await grade_pushes(REP_A)
    assert "· 张三 变为活跃：20 天前成交" in text and "VIP" not in text
    with time_machine.travel(MORNING, tick=False):
        card = await wechat.say("查 张三", MANAGER)
        assert "VIP · 战略大客户：主管指定（目前近 12 个月 ¥3,000，1 笔）" in card
        back = await wechat.say("定级 张三 自动", MANAGER)
    assert "已恢复张三的自动定级：现在是 普通 · 活跃" in back
    assert await standing("张三") == (Grade.NORMAL, Lifecycle.ACTIVE, None)
    await run(db)
    assert await standing("张三") == (Grade.NORMAL, Lifecycle.ACTIVE, None)


async def test_not_a_big_customer_can_be_pinned_too(wechat: WeChatSender, db: str) -> None:
    a, _, _ = await team()
    big = await customer("赵磊", a)
    await signed(big, a, "300000", date(2026, 9, 1))
    with time_machine.travel(MORNING, tick=False):
        assert "非大客户" in await wechat.say("定级 赵磊 非大客户", MANAGER)
    await run(db)
    assert await standing("赵磊") == (Grade.VIP, Lifecycle.ACTIVE, None)


async def test_a_rep_cannot_pin(wechat: WeChatSender, db: str) -> None:
    a, _, _ = await team()
    await customer("张三", a)
    with time_machine.travel(MORNING, tick=False):
        reply = await wechat.say("定级 张三 VIP", REP_A)
        help_text = await wechat.say("帮助", REP_A)
        manager_help = await wechat.say("帮助", MANAGER)
    assert reply.startswith("抱歉，定级需要主管或管理员来操作")
    assert (await standing("张三"))[0] is Grade.NORMAL
    assert "定级" not in help_text and "定级 客户 等级" in manager_help


async def test_pin_usage_and_complaint_regrade_do_not_collide(wechat: WeChatSender) -> None:
    await team()
    with time_machine.travel(MORNING, tick=False):
        usage = await wechat.say("定级 张三", MANAGER)
        regrade = await wechat.say("改级", MANAGER)
    assert usage.startswith("用法：定级 客户 等级")
    assert "定级" not in regrade and "改级" in regrade


# --- the card -----------------------------------------------------------------------------


async def test_the_card_shows_tier_and_reason(wechat: WeChatSender, db: str) -> None:
    a, _, _ = await team()
    lina = await customer("李娜", a, company="华东精密")
    await signed(lina, a, "40000", date(2026, 5, 1), times=13)
    await signed(lina, a, "100000", date(2026, 9, 1))
    await run(db)
    with time_machine.travel(MORNING, tick=False):
        own = await wechat.say("查 李娜", REP_A)
        other = await wechat.say("查 李娜", REP_B)
        # A new deal today: the card says what tonight's recompute will make of it.
        await signed(lina, a, "400000", TODAY)
        later = await wechat.say("查 李娜", REP_A)
    assert "等级：VIP · 重要大客户 · 状态：活跃" in own
    assert "VIP · 重要大客户：近 12 个月 ¥620,000，14 笔" in own
    # Another rep sees the tier, not the figures.
    assert "等级：VIP · 重要大客户" in other and "¥620,000" not in other
    assert "今晚重新评级后为：VIP · 活跃 · 战略大客户" in later


# --- running it ---------------------------------------------------------------------------


class Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@pytest.fixture
def statements() -> Iterator[Statements]:
    counter = Statements()
    log = logging.getLogger("tortoise.db_client")
    level = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(counter)
    yield counter
    log.removeHandler(counter)
    log.setLevel(level)


async def test_statements_do_not_grow_with_customers(db: str, statements: Statements) -> None:
    rep, _, _ = await team()

    async def book(size: int) -> int:
        await Customer.all().delete()
        for i in range(size):
            c = await customer(f"客户{i}", rep)
            await signed(c, rep, "150000" if i % 2 else "100", date(2026, 9, 1))
        await run(db, push_max_lines=1)
        statements.count = 0
        await Customer.all().update(grade=Grade.POTENTIAL, lifecycle=Lifecycle.DORMANT)
        before = statements.count
        await run(db, push_max_lines=1)
        return statements.count - before

    assert await book(5) == await book(40)


def test_cli_grade_and_dry_run(db_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db_url))
    listed = run_cli("--config", config, "jobs", "list")
    assert "grade" in listed.stdout and "hour='2', minute='30'" in listed.stdout
    dry = run_cli("--config", config, "grade", "--at", "2026-09-21T02:30", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "(dry run)" in dry.stdout and "would be queued" in dry.stdout
    real = run_cli("--config", config, "grade", "--at", "2026-09-21T02:30")
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("grade 2026-09-21:")
    quiet = run_cli("--config", config, "grade", "--no-push")
    assert quiet.returncode == 0 and "0 push(es) queued" in quiet.stdout, quiet.stderr
    bad = run_cli("--config", config, "grade", "--at", "yesterday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr
