"""The demo data set (bot/seed.py): what it creates, encrypted, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.crypto import FieldCipher
from bot.seed import SeedError, seed_demo
from bot.seed_data import DEALS
from models import Complaint, ComplaintEvent, Customer, Deal, FollowUp, Staff
from models.enums import ComplaintStatus, Role
from tests.conftest import AppFactory, make_config, truncate_all

SIM_STAFF = {"sim-admin", "sim-manager", "sim-rep-1", "sim-rep-2", "sim-rep-3"}
SIM_CUSTOMERS = {"sim-cust-1", "sim-cust-2", "sim-cust-3", "sim-cust-4"}


async def test_seed_creates_the_demo_team_and_customers(db: str) -> None:
    cfg = make_config(db)
    summary = await seed_demo(cfg)
    assert summary.startswith("演示数据已导入") and "客户 30 位" in summary

    staff = await Staff.all()
    roles = sorted(str(s.role) for s in staff)
    assert roles == ["admin", "manager", "rep", "rep", "rep"]
    assert {s.simulator_id for s in staff} == SIM_STAFF
    managers = [s for s in staff if s.role == Role.MANAGER]
    assert managers[0].on_duty

    customers = await Customer.all()
    assert len(customers) == 30
    reps = {s.id for s in staff if s.role == Role.REP}
    owners = {c.owner_id for c in customers}  # type: ignore[attr-defined]
    assert reps <= owners, "every rep has customers"
    assert {str(c.grade) for c in customers} == {"vip", "normal", "potential"}
    assert {str(c.lifecycle) for c in customers} == {"potential", "active", "dormant"}
    assert {c.openid for c in customers if c.openid} == SIM_CUSTOMERS
    zhangsan = [c for c in customers if c.name == "张三"]
    assert len(zhangsan) == 2, "two 张三 for the disambiguation dialog"
    assert {(c.name_pinyin, c.name_initials) for c in zhangsan} == {("zhangsan", "zs")}
    assert all(c.name_pinyin and c.name_initials for c in customers)

    today = datetime.now(cfg.tz).date()
    assert any(c.birthday_lunar for c in customers)
    assert any(
        (c.birthday_month, c.birthday_day) == (today.month, today.day)
        for c in customers
        if not c.birthday_lunar
    ), "a birthday today"

    followups = await FollowUp.all()
    revisits = [f.next_revisit_on for f in followups if f.next_revisit_on is not None]
    assert any(d == today for d in revisits), "a revisit due today"
    assert any(d < today for d in revisits), "an overdue revisit"
    assert any(d > today for d in revisits), "an upcoming revisit"
    assert all(f.created_at < datetime.now(UTC) for f in followups)

    deals = await Deal.all()
    assert len(deals) == len(DEALS)
    assert len({d.stage for d in deals}) >= 5
    assert all(d.amount > 0 for d in deals)
    assert all(d.closed_on is not None for d in deals if d.stage in {"signed", "after_sales"})


async def test_seed_encrypts_contact_data(db: str) -> None:
    cfg = make_config(db)
    await seed_demo(cfg)
    cipher = FieldCipher(cfg.data_key_bytes)
    with_phone = await Customer.filter(phone_enc__isnull=False)
    assert len(with_phone) >= 25
    hashes = set()
    for customer in with_phone:
        assert customer.phone_enc is not None and customer.phone_hash is not None
        phone = cipher.decrypt(customer.phone_enc)
        assert len(phone) == 11 and phone.isdigit() and phone.startswith("1")
        assert phone not in customer.phone_enc
        assert customer.phone_hash == cipher.phone_hash(phone)
        assert customer.phone_last4 == phone[-4:]
        hashes.add(customer.phone_hash)
    assert len(hashes) == len(with_phone), "phones are unique"
    addresses = [c.address_enc for c in await Customer.all() if c.address_enc]
    assert addresses
    for token in addresses:
        assert "市" not in token and "市" in cipher.decrypt(token)


async def test_seed_complaints_have_tickets_and_deadlines(db: str) -> None:
    await seed_demo(make_config(db))
    complaints = await Complaint.all().order_by("created_at")
    assert 2 <= len(complaints) <= 3
    assert len({c.status for c in complaints}) == len(complaints)
    for c in complaints:
        assert c.ticket_no.startswith("TS") and c.ticket_no[2:].isdigit()
        assert c.first_reply_due - c.created_at == timedelta(hours=24)
        assert c.resolve_due - c.created_at == timedelta(days=7)
        assert c.assignee_id is not None  # type: ignore[attr-defined]
        assert await ComplaintEvent.filter(complaint=c).exists()
    closed = [c for c in complaints if c.status == ComplaintStatus.CLOSED]
    assert closed and closed[0].rating is not None and closed[0].resolution
    open_ = [c for c in complaints if c.status == ComplaintStatus.OPEN]
    assert open_ and open_[0].first_replied_at is None


async def test_seed_if_empty_is_idempotent(db: str) -> None:
    cfg = make_config(db)
    await seed_demo(cfg, if_empty=True)
    counts = (await Staff.all().count(), await Customer.all().count())
    again = await seed_demo(cfg, if_empty=True)
    assert "跳过" in again
    assert (await Staff.all().count(), await Customer.all().count()) == counts
    # Without --if-empty a second load is refused rather than half-done.
    with pytest.raises(SeedError, match="已经导入过"):
        await seed_demo(cfg)
    assert (await Staff.all().count(), await Customer.all().count()) == counts


async def test_seed_if_empty_skips_a_database_with_real_staff(db: str) -> None:
    await Staff.create(name="真实员工", role=Role.ADMIN, wecom_userid="boss")
    assert "跳过" in await seed_demo(make_config(db), if_empty=True)
    assert await Customer.all().count() == 0


async def test_seed_is_deterministic(db: str) -> None:
    cfg = make_config(db)
    cipher = FieldCipher(cfg.data_key_bytes)

    async def snapshot() -> list[tuple[str, str, str | None, int | None]]:
        rows = await Customer.all().order_by("id")
        return [
            (c.name, c.company, c.phone_enc and cipher.decrypt(c.phone_enc), c.birthday_month)
            for c in rows
        ]

    await seed_demo(cfg)
    first = await snapshot()
    await truncate_all(db)
    await seed_demo(cfg)
    assert await snapshot() == first


async def test_simulator_offers_the_seeded_identities(db: str, app_client: AppFactory) -> None:
    await seed_demo(make_config(db))
    client = await app_client(simulator={"enabled": True})
    resp = await client.get("/simulator/api/identities")
    assert resp.status == 200
    ids = {item["id"] for item in await resp.json()}
    assert SIM_STAFF | SIM_CUSTOMERS <= ids
