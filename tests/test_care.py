"""Scheduled care (issue #10): the morning briefing and 「待办」, birthdays solar and
lunar across years, 29 February, festivals and official holidays (with the fallback
for years chinese-calendar does not know), silence by grade, quiet hours, one push
per rep per day, departed reps' customers to a manager."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from lunar_python import LunarMonth

from bot.config import CareConfig
from bot.parsing.birthdays import Birthday
from models import Customer, FollowUp, Outbox, Staff
from models.care import birthday_on, birthdays_between
from models.enums import Grade
from models.occasions import occasions_ahead, occasions_on
from scheduler.jobs import briefing
from tests.conftest import make_config
from tests.outbox_helpers import drain
from tests.sales_helpers import MANAGER, REP_A, REP_B, customer, team
from tests.test_migrations_and_cli import run_cli, write_config
from tests.wechat_client import WeChatSender

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 21 September 2026, 08:30 in Shanghai: 中秋 (25 September) is four days away.
MORNING = datetime(2026, 9, 21, 8, 30, tzinfo=SHANGHAI)
CARE = CareConfig()


async def pushed_to(recipient: str) -> list[Outbox]:
    return await Outbox.filter(recipient=recipient, dedup_key__startswith="briefing:")


# --- calendar correctness ------------------------------------------------------------


def test_a_lunar_birthday_falls_on_its_solar_day_every_year() -> None:
    mid_autumn = Birthday(8, 15, lunar=True)
    assert birthday_on(mid_autumn, 2026, CARE) == date(2026, 9, 25)
    assert birthday_on(mid_autumn, 2027, CARE) == date(2027, 9, 15)


def test_a_lunar_30th_is_celebrated_on_the_29th_of_a_short_month() -> None:
    # Find a 29-day lunar month: its 「三十」 birthday falls on the 29th.
    year, month = next(
        (y, m)
        for y in (2026, 2027)
        for m in range(1, 13)
        if LunarMonth.fromYm(y, m).getDayCount() == 29
    )
    on_30th = birthday_on(Birthday(month, 30, lunar=True), year, CARE)
    on_29th = birthday_on(Birthday(month, 29, lunar=True), year, CARE)
    assert on_30th is not None and on_30th == on_29th


def test_29_february_in_other_years() -> None:
    leap_baby = Birthday(2, 29, 1996)
    assert birthday_on(leap_baby, 2027, CARE) == date(2027, 2, 28)
    assert birthday_on(leap_baby, 2028, CARE) == date(2028, 2, 29)
    assert birthday_on(leap_baby, 2027, CareConfig(leap_day="mar1")) == date(2027, 3, 1)


def test_festivals_and_holidays_in_2026_and_2027(caplog: pytest.LogCaptureFixture) -> None:
    assert "春节" in [o.name for o in occasions_on(date(2026, 2, 17), CARE)]
    assert "中秋节" in [o.name for o in occasions_on(date(2026, 9, 25), CARE)]
    assert "国庆节" in [o.name for o in occasions_on(date(2026, 10, 1), CARE)]
    with caplog.at_level(logging.WARNING, logger="wecrm.care"):
        assert "春节" in [o.name for o in occasions_on(date(2027, 2, 6), CARE)]
        assert "中秋节" in [o.name for o in occasions_on(date(2027, 9, 15), CARE)]
        # 2027's official days off are not in chinese-calendar yet: from the config.
        assert "元旦" in [o.name for o in occasions_on(date(2027, 1, 1), CARE)]
        assert "国庆节" in [o.name for o in occasions_on(date(2027, 10, 1), CARE)]
        assert [o.name for o in occasions_on(date(2027, 3, 3), CARE)] == []
    warnings = [r for r in caplog.records if "chinese-calendar has no data" in r.getMessage()]
    assert len(warnings) <= 1  # once per process and year, never a crash
    # 中秋 is announced a week ahead (gift time), ordinary days only three days ahead.
    ahead = occasions_ahead(date(2026, 9, 20), CARE)
    assert [o.name for o in ahead] == ["中秋节"] and ahead[0].gift


async def test_birthdays_between_finds_solar_lunar_and_leap_day_birthdays(db: str) -> None:
    rep, _, _ = await team()
    await customer("阳历", rep, birthday=Birthday(9, 22, 1990))
    await customer("农历", rep, birthday=Birthday(8, 15, lunar=True))
    await customer("闰日", rep, birthday=Birthday(2, 29))
    await customer("别的日子", rep, birthday=Birthday(3, 3))
    found = await birthdays_between(date(2026, 9, 21), date(2026, 9, 30), CARE)
    assert [(i.customer.name, i.on, i.age) for i in found] == [
        ("阳历", date(2026, 9, 22), 36),
        ("农历", date(2026, 9, 25), None),
    ]
    next_year = await birthdays_between(date(2027, 9, 10), date(2027, 9, 20), CARE)
    assert [(i.customer.name, i.on) for i in next_year] == [("农历", date(2027, 9, 15))]
    feb = await birthdays_between(date(2027, 2, 27), date(2027, 3, 1), CARE)
    assert [(i.customer.name, i.on) for i in feb] == [("闰日", date(2027, 2, 28))]


# --- the briefing ----------------------------------------------------------------------


async def _portfolio() -> tuple[Staff, Staff, Staff]:
    a, b, m = await team()
    now = MORNING.astimezone(UTC)
    today_bd = await customer(
        "周杰", a, company="华东精密", grade=Grade.VIP, birthday=Birthday(9, 21, 1980)
    )
    await customer("李娜", a, grade=Grade.VIP, birthday=Birthday(9, 23))  # in two days
    silent = await customer("王芳", a, grade=Grade.VIP)
    fresh = await customer("赵磊", a, grade=Grade.NORMAL)
    await Customer.filter(id=silent.id).update(last_contact_at=now - timedelta(days=10))
    await Customer.filter(id=fresh.id).update(last_contact_at=now - timedelta(days=10))
    await Customer.filter(id=today_bd.id).update(last_contact_at=now - timedelta(days=2))
    due = await customer("孙强", a)
    await Customer.filter(id=due.id).update(last_contact_at=now - timedelta(days=1))
    await FollowUp.create(
        customer=due, rep=a, method="phone", content="聊了报价", next_revisit_on=date(2026, 9, 18)
    )
    return a, b, m


async def test_dai_ban_shows_the_briefing(wechat: WeChatSender) -> None:
    await _portfolio()
    with time_machine.travel(MORNING, tick=False):
        reply = await wechat.say("待办", REP_A)
        full = await wechat.say("待办 全部", REP_A)
    assert "【今天生日 1 位】" in reply and "周杰（华东精密）" in reply and "46 岁" in reply
    assert "周杰，生日快乐！感谢您一直以来的信任与支持" in reply  # ready to forward
    assert "【VIP 生日提醒】" in reply and "李娜" in reply
    assert "【节日】" in reply and "中秋节" in reply and "送礼要提前安排" in reply
    assert "【待办回访 1 位" in reply and "孙强" in reply and "逾期 3 天" in reply
    assert "【久未联系" in reply and "王芳" in reply and "10 天没有联系" in reply
    assert "赵磊" not in reply.split("【久未联系")[1]  # a 普通 customer: 30 days
    assert full.startswith("今天（9月21日 周一）的待办")


async def test_the_job_pushes_one_briefing_per_rep_per_day(db: str) -> None:
    await _portfolio()
    cfg = make_config(db)
    at = MORNING.astimezone(UTC)
    first = await briefing(cfg, at)
    again = await briefing(cfg, at + timedelta(hours=2))  # a catch-up, a second scheduler
    # 李明's own briefing; the others hear about 中秋 too.
    assert "3 queued" in first and "0 queued, 3 already queued" in again
    rows = await pushed_to(REP_A)
    assert len(rows) == 1
    text = rows[0].payload["reply"]["text"]
    assert text.startswith("早上好，李明！9月21日 周一的待办：") and "周杰" in text
    others = await pushed_to(REP_B)
    assert len(others) == 1 and "中秋节" in others[0].payload["reply"]["text"]
    assert "孙强" not in others[0].payload["reply"]["text"]
    # The next day is a new briefing.
    await briefing(cfg, at + timedelta(days=1))
    assert len(await pushed_to(REP_A)) == 2


async def test_quiet_hours_hold_the_push_until_morning(db: str) -> None:
    await _portfolio()
    late = datetime(2026, 9, 21, 22, 15, tzinfo=SHANGHAI)
    await briefing(make_config(db), late.astimezone(UTC))
    row = (await pushed_to(REP_A))[0]
    assert row.next_attempt_at.astimezone(SHANGHAI) >= datetime(2026, 9, 22, 8, 0, tzinfo=SHANGHAI)


async def test_a_departed_reps_customers_go_to_the_manager(db: str) -> None:
    a, _, _ = await _portfolio()
    await Staff.filter(id=a.id).update(active=False)
    await briefing(make_config(db), MORNING.astimezone(UTC))
    assert await pushed_to(REP_A) == []
    rows = await pushed_to(MANAGER)
    assert len(rows) == 1 and "周杰" in rows[0].payload["reply"]["text"]


async def test_birthdays_this_week_and_month(wechat: WeChatSender) -> None:
    await _portfolio()
    with time_machine.travel(MORNING, tick=False):
        week = await wechat.say("生日 本周", REP_A)
        month = await wechat.say("生日本月", REP_A)
        other = await wechat.say("生日 本周", REP_B)
    assert "本周（9月21日—9月27日）过生日的客户 2 位" in week
    assert "周杰" in week and "李娜" in week
    assert "周杰" in month and "没有客户过生日" in other

    with time_machine.travel(MORNING, tick=False):
        # As asked in words: one day, or the week.
        today = await wechat.say("今天生日的客户有谁", REP_A)
        asked_week = await wechat.say("这周谁过生日？", REP_A)
    assert "今天（9月21日）过生日的客户 1 位" in today and "周杰" in today and "李娜" not in today
    assert asked_week == week


def test_jobs_list_and_dry_run(db_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, db_url))
    listed = run_cli("--config", config, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    assert "briefing" in listed.stdout and "hour='8', minute='30'" in listed.stdout
    dry = run_cli(
        "--config", config, "jobs", "run", "briefing", "--at", "2026-09-21T08:30", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    # What each rep would get, or that nobody has anything: printed, not queued.
    assert "早上好" in dry.stdout or "nobody has anything to do" in dry.stdout


async def test_a_revisit_at_a_time_of_day_is_prompted_then(db: str, wechat: WeChatSender) -> None:
    from scheduler.jobs import revisit_prompts

    a, _, _ = await team()
    await customer("周杰", a, company="华东精密")
    said_on = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
    with time_machine.travel(said_on, tick=False):
        reply = await wechat.say("跟进 周杰 电话 聊了报价 下周一上午十点回访", REP_A)
    assert "12月7日" in reply and "10:00" in reply and "到时提醒你" in reply
    cfg = make_config(db)
    monday = datetime(2026, 12, 7, tzinfo=SHANGHAI)

    async def prompts() -> list[Outbox]:
        return await Outbox.filter(recipient=REP_A, dedup_key__startswith="revisit:")

    await revisit_prompts(cfg, (monday + timedelta(hours=9, minutes=55)).astimezone(UTC))
    assert await prompts() == []  # not yet
    await revisit_prompts(cfg, (monday + timedelta(hours=10, minutes=2)).astimezone(UTC))
    await revisit_prompts(cfg, (monday + timedelta(hours=10, minutes=7)).astimezone(UTC))
    rows = await prompts()
    assert len(rows) == 1  # once, however often the job runs
    assert "10:00 约了 周杰（华东精密）" in rows[0].payload["reply"]["text"]


async def test_a_revisit_prompt_in_quiet_hours_waits_for_the_morning(
    db: str, wechat: WeChatSender
) -> None:
    from scheduler.jobs import revisit_prompts

    a, _, _ = await team()
    await customer("周杰", a)
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI), tick=False):
        reply = await wechat.say("跟进 周杰 微信 发了资料 明天晚上十点回访", REP_A)
    assert "22:00" in reply
    night = datetime(2026, 12, 3, 22, 1, tzinfo=SHANGHAI)
    await revisit_prompts(make_config(db), night.astimezone(UTC))
    row = await Outbox.get(recipient=REP_A, dedup_key__startswith="revisit:")
    assert row.next_attempt_at.astimezone(SHANGHAI) == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)


# --- delivery: WeCom > template (outside 48 h) > customer service (inside) -------------


async def _deliver_briefings(db: str, fake: object, **extra: object) -> None:
    from tests.test_delivery import sections

    sect = sections(fake, wechat={"staff_template_id": "TPL-STAFF"}, **extra)  # type: ignore[arg-type]
    cfg = make_config(db, **sect)
    await briefing(cfg, MORNING.astimezone(UTC))
    await drain(cfg)


async def test_staff_outside_the_window_get_a_template_inside_a_service_message(
    db: str, fake_tencent: object
) -> None:
    from models import ProcessedMessage
    from tests.fake_tencent import OA_CUSTOM_SEND, OA_TEMPLATE_SEND

    await _portfolio()
    # 张伟 wrote an hour ago (inside the 48-hour window); 李明 not for days.
    await ProcessedMessage.create(key="oa:b:1", channel="oa", sender=REP_B)
    await _deliver_briefings(db, fake_tencent)
    templates = fake_tencent.sent_to(OA_TEMPLATE_SEND)  # type: ignore[attr-defined]
    customs = fake_tencent.sent_to(OA_CUSTOM_SEND)  # type: ignore[attr-defined]
    assert [t["touser"] for t in templates if t["touser"] == REP_A] == [REP_A]
    mine = next(t for t in templates if t["touser"] == REP_A)
    assert mine["template_id"] == "TPL-STAFF"
    assert mine["data"]["first"]["value"].startswith("早上好，李明")
    assert "回复「待办」" in mine["data"]["remark"]["value"]
    assert [c["touser"] for c in customs if c["touser"] == REP_B] == [REP_B]
    ways = dict(
        await Outbox.filter(dedup_key__startswith="briefing:").values_list("recipient", "via")
    )
    assert ways[REP_A] == "template" and ways[REP_B] == "custom"


async def test_a_45015_falls_back_to_the_template(db: str, fake_tencent: object) -> None:
    from models import ProcessedMessage
    from tests.fake_tencent import OA_CUSTOM_SEND, OA_TEMPLATE_SEND

    await _portfolio()
    for sender in (REP_A, REP_B, MANAGER):  # everyone looks inside the window…
        await ProcessedMessage.create(key=f"oa:{sender}:1", channel="oa", sender=sender)
    fake_tencent.fail_next(OA_CUSTOM_SEND, 45015, times=3)  # type: ignore[attr-defined]
    await _deliver_briefings(db, fake_tencent)
    # …but Tencent says otherwise: the template goes out in the same attempt.
    assert len(fake_tencent.sent_to(OA_TEMPLATE_SEND)) == 3  # type: ignore[attr-defined]
    assert await Outbox.filter(via="template").count() == 3


async def test_staff_bound_on_wecom_get_an_app_message(db: str, fake_tencent: object) -> None:
    from tests.fake_tencent import WECOM_SEND

    a, _, _ = await _portfolio()
    await Staff.filter(id=a.id).update(wecom_userid="liming")
    await _deliver_briefings(db, fake_tencent)
    sent = fake_tencent.sent_to(WECOM_SEND)  # type: ignore[attr-defined]
    assert [m["touser"] for m in sent] == ["liming"]
    assert "早上好，李明" in sent[0]["text"]["content"]
    assert await Outbox.get(recipient="liming").values_list("via", flat=True) == "app"


async def test_a_leap_month_birthday_falls_back_to_the_ordinary_month_and_says_so(
    wechat: WeChatSender,
) -> None:
    a, _, _ = await team()
    await customer("周杰", a)
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI), tick=False):
        saved = await wechat.say("生日 周杰 农历2025年闰六月初十", REP_A)
        card = await wechat.say("查 周杰", REP_A)
    assert "闰六月初十" in saved
    # 2025 had a 闰六月 (2025-08-03); 2026 has none: the ordinary 六月初十, 23 July.
    assert "7月23日" in card and "2026年没有闰六月，按六月初十过" in card
    found = await birthdays_between(date(2026, 7, 20), date(2026, 7, 25), CARE)
    assert [(i.customer.name, i.on) for i in found] == [("周杰", date(2026, 7, 23))]
    assert birthday_on(Birthday(6, 10, 2025, lunar=True, leap=True), 2025, CARE) == date(2025, 8, 3)


async def test_two_schedulers_at_once_push_one_briefing(db: str) -> None:
    import asyncio

    await _portfolio()
    cfg = make_config(db)
    at = MORNING.astimezone(UTC)
    # Two processes running the same job at the same moment (a lost lock, a manual run).
    await asyncio.gather(briefing(cfg, at), briefing(cfg, at))
    assert len(await pushed_to(REP_A)) == 1


async def test_a_briefing_missed_during_downtime_is_sent_once_when_back(db: str) -> None:
    import asyncio

    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

    from scheduler.runner import build_scheduler

    await _portfolio()
    # Back at 10:15: 08:30 passed while the server was down.
    with time_machine.travel(datetime(2026, 9, 21, 10, 15, tzinfo=SHANGHAI), tick=True):
        scheduler = build_scheduler(make_config(db))
        done = asyncio.Event()

        def listener(event: JobExecutionEvent) -> None:
            if event.job_id == "briefing":
                done.set()

        scheduler.add_listener(listener, EVENT_JOB_EXECUTED)
        scheduler.start(paused=True)
        try:
            for job in scheduler.get_jobs():
                later = datetime.now(UTC) + timedelta(hours=1)
                missed = datetime(2026, 9, 21, 8, 30, tzinfo=SHANGHAI)
                scheduler.modify_job(
                    job.id, next_run_time=missed if job.id == "briefing" else later
                )
            scheduler.resume()
            await asyncio.wait_for(done.wait(), 10)
        finally:
            scheduler.shutdown(wait=False)
    rows = await pushed_to(REP_A)
    assert len(rows) == 1 and rows[0].dedup_key.endswith(":2026-09-21")  # today's, once
