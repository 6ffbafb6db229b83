"""Complaint deadlines (calendar and working hours, weekends, holidays), the SLA job's
warnings and escalations — each pushed exactly once — and the KPIs for the digest."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot import db as dbmod
from bot.config import ComplaintsConfig, Config
from models import AuditLog, Complaint, ComplaintEvent, Customer, Outbox, Staff
from models.complaints import (
    close,
    complaint_kpis,
    compute_deadlines,
    open_ticket,
    rate,
    reopen,
    reply,
    run_sla,
)
from models.enums import Grade, Role, Severity
from tests.conftest import AppFactory, make_config, sender_for, truncate_all
from tests.test_migrations_and_cli import run_cli, write_config

SH = ZoneInfo("Asia/Shanghai")
WORKING = ComplaintsConfig(working_hours=True)
CUSTOMER = "oSlaCustomer00000000000000001"
REP = "oSlaRep0000000000000000000002"
MANAGER = "oSlaManager000000000000000003"
ADMIN = "oSlaAdmin00000000000000000004"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


# --- deadlines ------------------------------------------------------------------------


def test_calendar_hours_by_default() -> None:
    start = local(2026, 9, 30, 16, 0)
    first, resolve = compute_deadlines(start, Severity.MEDIUM, ComplaintsConfig(), SH)
    assert first == start + timedelta(hours=24)
    assert resolve == start + timedelta(days=7)


def test_working_hours_skip_national_day_and_count_the_makeup_saturday() -> None:
    # Wed 30 Sep 16:00: 2 h that day, 1-7 Oct are the National Day holiday, Thu 8
    # and Fri 9 give 18 h, and Saturday 10 Oct is a make-up workday: done at 13:00.
    first, resolve = compute_deadlines(local(2026, 9, 30, 16, 0), Severity.MEDIUM, WORKING, SH)
    assert first == local(2026, 10, 10, 13, 0)
    # 7 working days of 9 h = 63 h: 2 + 9 (8th) + 9 + 9 (Sat 10th) + 9 (12th) + 9 + 9
    # + 7 h on Thursday 15th (Sunday 11th is off).
    assert resolve == local(2026, 10, 15, 16, 0)


def test_working_hours_skip_the_weekend() -> None:
    cfg = ComplaintsConfig(working_hours=True, first_reply_hours=4)
    first, _ = compute_deadlines(local(2026, 11, 20, 17, 0), Severity.LOW, cfg, SH)
    assert first == local(2026, 11, 23, 12, 0)  # Friday 1 h, Monday 9:00 + 3 h
    # Received on a Sunday evening: the clock starts on Monday morning.
    first, _ = compute_deadlines(local(2026, 11, 22, 20, 0), Severity.LOW, cfg, SH)
    assert first == local(2026, 11, 23, 13, 0)


def test_years_chinese_calendar_does_not_know_fall_back_to_weekends_and_config() -> None:
    cfg = ComplaintsConfig(
        working_hours=True,
        first_reply_hours=2,
        extra_holidays="2030-01-02",
        extra_workdays="2030-01-05",
    )
    first, _ = compute_deadlines(local(2030, 1, 1, 17, 0), Severity.LOW, cfg, SH)
    assert first == local(2030, 1, 3, 10, 0)  # Wed 2 Jan is the company's day off
    # Saturday 5 Jan 2030 is worked by config.
    first, _ = compute_deadlines(local(2030, 1, 4, 17, 0), Severity.LOW, cfg, SH)
    assert first == local(2030, 1, 5, 10, 0)


def test_per_severity_targets() -> None:
    cfg = ComplaintsConfig(first_reply_hours_critical=4, resolve_days_critical=2)
    start = local(2026, 11, 24, 10, 0)
    assert compute_deadlines(start, Severity.CRITICAL, cfg, SH) == (
        start + timedelta(hours=4),
        start + timedelta(days=2),
    )
    assert compute_deadlines(start, Severity.LOW, cfg, SH)[0] == start + timedelta(hours=24)


async def test_intake_in_working_hours_mode_with_frozen_time(app_client: AppFactory) -> None:
    client = await app_client(complaints={"working_hours": True})
    wechat = sender_for(client)
    rep = await Staff.create(name="李明", role=Role.REP, oa_openid=REP)
    await Customer.create(name="张三", grade=Grade.NORMAL, owner=rep, openid=CUSTOMER)
    with time_machine.travel(local(2026, 9, 30, 16, 0), tick=True):
        reply_text = await wechat.say("投诉 空调坏了", sender=CUSTOMER)
    assert "10月10日 13:00" in reply_text
    c = await Complaint.get()
    assert c.ticket_no.startswith("TS20260930")
    assert abs(c.first_reply_due - local(2026, 10, 10, 13, 0)) < timedelta(seconds=30)
    assert abs(c.resolve_due - local(2026, 10, 15, 16, 0)) < timedelta(seconds=30)


async def test_critical_words_and_per_severity_config_through_the_webhook(
    app_client: AppFactory,
) -> None:
    client = await app_client(complaints={"first_reply_hours_critical": 2.0})
    wechat = sender_for(client)
    await Staff.create(name="陈静", role=Role.MANAGER, oa_openid=MANAGER, on_duty=True)
    await wechat.say("投诉 热水器用的时候冒烟了", sender=CUSTOMER)
    c = await Complaint.get()
    assert c.severity == Severity.CRITICAL
    assert c.first_reply_due - c.created_at == timedelta(hours=2)


# --- the SLA job ------------------------------------------------------------------------


T0 = local(2026, 11, 24, 10, 0)


async def setup_ticket(cfg: Config) -> tuple[Complaint, Staff]:
    rep = await Staff.create(name="李明", role=Role.REP, oa_openid=REP)
    await Staff.create(name="陈静", role=Role.MANAGER, oa_openid=MANAGER, on_duty=True)
    customer = await Customer.create(name="张三", grade=Grade.NORMAL, owner=rep, openid=CUSTOMER)
    intake = await open_ticket(customer, "收到的设备无法开机", "oa", cfg, now=T0)
    return intake.complaint, rep


async def keys(prefix: str) -> list[tuple[str, str]]:
    rows = await Outbox.filter(dedup_key__startswith=prefix).order_by("id")
    return [(r.dedup_key, r.recipient) for r in rows]


async def test_warning_and_breach_are_each_pushed_exactly_once(config: Config) -> None:
    c, rep = await setup_ticket(config)
    no = c.ticket_no
    assert await run_sla(T0 + timedelta(hours=17), config) == (0, 0)

    assert await run_sla(T0 + timedelta(hours=18), config) == (1, 0)
    assert await run_sla(T0 + timedelta(hours=18, minutes=5), config) == (0, 0)
    assert await keys("sla:warn:") == [(f"sla:warn:first_reply:{no}", REP)]

    assert await run_sla(T0 + timedelta(hours=24), config) == (0, 1)
    assert await run_sla(T0 + timedelta(hours=25), config) == (0, 0)
    manager = await Staff.get(oa_openid=MANAGER)
    assert sorted(await keys("sla:breach:")) == sorted(
        [
            (f"sla:breach:first_reply:{no}:{manager.id}", MANAGER),
            (f"sla:breach:first_reply:{no}:{rep.id}", REP),
        ]
    )
    await c.refresh_from_db()
    assert c.escalation_level == 1 and c.escalated_at is not None
    assert (
        await AuditLog.filter(action="complaints.sla_breach", target=f"complaint:{c.id}").count()
        == 1
    )

    # Replied late: the first-reply clock stops; the resolve clock runs on.
    await reply(c, rep, "抱歉久等，马上安排", config, now=T0 + timedelta(hours=26))
    assert await run_sla(T0 + timedelta(hours=126), config) == (1, 0)
    assert await run_sla(T0 + timedelta(hours=127), config) == (0, 0)
    assert await run_sla(T0 + timedelta(days=7), config) == (0, 1)
    assert await run_sla(T0 + timedelta(days=8), config) == (0, 0)
    kinds = [e.kind for e in await ComplaintEvent.filter(complaint=c).order_by("id")]
    assert kinds.count("sla_warning") == 2 and kinds.count("breached") == 2

    # Closed, then reopened: the new resolve deadline gets its own warning.
    await close(c, rep, "已更换新机", config, now=T0 + timedelta(days=8))
    assert await run_sla(T0 + timedelta(days=30), config) == (0, 0)
    customer = await Customer.get(openid=CUSTOMER)
    reopened_at = T0 + timedelta(days=9)
    await reopen(c, customer, "还是开不了机", config, now=reopened_at)
    assert await run_sla(reopened_at + timedelta(hours=127), config) == (1, 0)
    assert await run_sla(reopened_at + timedelta(hours=128), config) == (0, 0)
    assert (f"sla:warn:resolve:{no}:r1", REP) in await keys("sla:warn:")


def test_cli_jobs_run_sla_twice_sends_once(db_url: str, tmp_path: Path) -> None:
    async def prepare() -> str:
        ctx = await dbmod.connect(db_url)
        try:
            await truncate_all(db_url)
            c, _ = await setup_ticket(make_config(db_url))
            return c.ticket_no
        finally:
            await dbmod.close(ctx)

    async def warned() -> int:
        ctx = await dbmod.connect(db_url)
        try:
            return await Outbox.filter(dedup_key__startswith="sla:warn:").count()
        finally:
            await dbmod.close(ctx)

    asyncio.run(prepare())
    config = str(write_config(tmp_path, db_url))
    at = "2026-11-25T04:30"  # local time: 18.5 h after intake
    first = run_cli("--config", config, "jobs", "run", "sla", "--at", at)
    assert first.returncode == 0, first.stderr
    assert "sla: 1 warning(s), 0 ticket(s) escalated" in first.stdout
    second = run_cli("--config", config, "jobs", "run", "sla", "--at", at)
    assert "sla: 0 warning(s), 0 ticket(s) escalated" in second.stdout
    assert asyncio.run(warned()) == 1
    bad = run_cli("--config", config, "jobs", "run", "sla", "--at", "yesterday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr and "Traceback" not in bad.stderr


# --- KPIs -------------------------------------------------------------------------------


async def test_kpis_for_the_digest(config: Config) -> None:
    rep = await Staff.create(name="李明", role=Role.REP, oa_openid=REP)
    customer = await Customer.create(name="张三", owner=rep, openid=CUSTOMER)
    d1 = local(2026, 11, 24, 10, 0)
    a = (await open_ticket(customer, "发票开错了", "oa", config, now=d1)).complaint
    b = (
        await open_ticket(customer, "快递丢件", "oa", config, now=d1 + timedelta(hours=1))
    ).complaint
    await open_ticket(customer, "客服态度差", "oa", config, now=local(2026, 11, 25, 9))
    # Outside the range: not counted.
    await open_ticket(customer, "老问题", "oa", config, now=local(2026, 11, 20, 9))
    await reply(a, rep, "收到", config, now=d1 + timedelta(hours=2))
    await close(a, rep, "已重开发票", config, now=d1 + timedelta(hours=30))
    await rate(a, customer, 5, "", config, now=d1 + timedelta(hours=31))
    await reply(b, rep, "抱歉", config, now=d1 + timedelta(hours=31))  # 30 h: late

    now = d1 + timedelta(days=8)
    kpis = await complaint_kpis(date(2026, 11, 24), date(2026, 11, 25), config, now=now)
    assert kpis.opened == 3 and kpis.first_replied == 2
    assert kpis.avg_first_reply_hours == pytest.approx(16.0)
    assert kpis.resolved == 1 and kpis.avg_resolution_hours == pytest.approx(30.0)
    assert kpis.first_reply_breaches == 2  # b replied late, c never
    assert kpis.resolve_breaches == 2  # b and c still open after 7 days
    assert kpis.breaches == 4
    assert kpis.rated == 1 and kpis.csat_avg == 5.0
    assert kpis.first_reply_rate == pytest.approx(2 / 3, abs=1e-3)
    assert kpis.rating_response_rate == 1.0

    empty = await complaint_kpis(date(2025, 1, 1), date(2025, 1, 2), config, now=now)
    assert empty.opened == 0 and empty.avg_first_reply_hours is None and empty.csat_avg is None
