"""Shared set-up for the sales-rep tests: two reps, a manager, and customers created
through the same service function the bot uses (so phones are encrypted)."""

from __future__ import annotations

import base64

from bot.crypto import FieldCipher
from bot.parsing.birthdays import Birthday
from models import Customer, Staff
from models.customers import CustomerDraft, create_customer
from models.enums import Grade
from tests.conftest import DATA_KEY

REP_A = "oRepA000000000000000000000001"
REP_B = "oRepB000000000000000000000002"
MANAGER = "oMgr0000000000000000000000003"

CIPHER = FieldCipher(base64.b64decode(DATA_KEY))


async def team() -> tuple[Staff, Staff, Staff]:
    a = await Staff.create(name="李明", role="rep", oa_openid=REP_A)
    b = await Staff.create(name="张伟", role="rep", oa_openid=REP_B)
    m = await Staff.create(name="陈静", role="manager", oa_openid=MANAGER)
    return a, b, m


async def customer(
    name: str,
    owner: Staff | None,
    phone: str | None = None,
    company: str = "",
    grade: Grade = Grade.NORMAL,
    address: str | None = None,
    birthday: Birthday | None = None,
) -> Customer:
    draft = CustomerDraft(
        name=name, phone=phone, company=company, grade=grade, address=address, birthday=birthday
    )
    return await create_customer(CIPHER, draft, owner)
