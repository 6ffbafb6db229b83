"""Customers: who they are, their grade and lifecycle, and their encrypted contact data;
and the rules on them that chat, CLI and jobs share: who may see what (visibility),
creating one without duplicating another, birthdays, and a rep's portfolio.

Search lives in ``models.customer_search`` and the card in ``models.customer_card``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from rapidfuzz import fuzz
from tortoise import fields
from tortoise.functions import Count
from tortoise.models import Model

from bot.crypto import FieldCipher, normalize_phone
from bot.parsing.birthdays import Birthday
from models.enums import Grade, Lifecycle, Role, Tier
from models.sealed import SealedTextField
from models.staff import Staff


class Customer(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    # Full pinyin and initials, kept for fuzzy search ("zhangsan", "zs").
    name_pinyin = fields.CharField(max_length=255, default="")
    name_initials = fields.CharField(max_length=32, default="", db_index=True)
    company = fields.CharField(max_length=128, default="")
    industry = fields.CharField(max_length=64, default="")
    size = fields.CharField(max_length=32, default="")
    category = fields.CharField(max_length=64, default="")
    grade = fields.CharEnumField(Grade, max_length=16, default=Grade.POTENTIAL)
    lifecycle = fields.CharEnumField(Lifecycle, max_length=16, default=Lifecycle.POTENTIAL)
    # 大客户 tier (None: not a big customer). Grade, lifecycle and tier are recomputed
    # nightly (models.grading); a grade or tier a manager pinned is kept as it is.
    tier = fields.CharEnumField(Tier, max_length=16, null=True)
    # Columns added after the first release carry a database default as well: a live
    # table with rows can only take a NOT NULL column that way (migrations 0006+).
    grade_pinned = fields.BooleanField(default=False, db_default=False)
    tier_pinned = fields.BooleanField(default=False, db_default=False)
    birthday_month = fields.SmallIntField(null=True)
    birthday_day = fields.SmallIntField(null=True)
    birthday_year = fields.SmallIntField(null=True)
    birthday_lunar = fields.BooleanField(default=False)
    birthday_leap = fields.BooleanField(default=False, db_default=False)
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="customers", null=True, on_delete=fields.SET_NULL
    )
    # The customer's Official Account openid, when they write to us themselves.
    openid = fields.CharField(max_length=64, null=True, unique=True)
    # Phone and address are encrypted at rest; phone_hash (keyed HMAC) and
    # phone_last4 let us find a customer by phone without decrypting the table.
    phone_enc = fields.TextField(null=True)
    phone_hash = fields.CharField(max_length=64, null=True, db_index=True)
    phone_last4 = fields.CharField(max_length=4, null=True, db_index=True)
    address_enc = fields.TextField(null=True)
    # Set when WeChat reports the openid unsubscribed or invalid (40003/43004):
    # pushes to this customer are parked instead of retried.
    unreachable_at = fields.DatetimeField(null=True)
    # Set when the customer asked not to be contacted (退订, or a rep on their
    # behalf): no campaign segment or satisfaction survey ever includes them.
    opted_out_at = fields.DatetimeField(null=True)
    notes = SealedTextField(default="")
    # People at the customer as reps call them (李总, 采购王经理), space-separated: a
    # sentence that names one is about this customer (models.mentions).
    contacts = fields.CharField(max_length=255, default="", db_default="")
    last_contact_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"
        indexes = (
            # Names as typed: telling 「王小明电话聊了」 into name and note (customer_search).
            ("name",),
            ("birthday_month", "birthday_day"),
            ("owner_id", "grade"),
            # The digest: new customers of a day, silent VIPs, prospects contacted.
            ("created_at",),
            ("grade", "last_contact_at"),
            ("lifecycle", "last_contact_at"),
        )

    def __str__(self) -> str:
        return self.name


# --- names ---------------------------------------------------------------------------


# The name of a customer known only by their openid, until they tell us theirs.
UNNAMED = "微信客户"


# Reps name the same few customers over and over, and every 跟进 tries up to six
# prefixes of its first word as names: remembered, a name costs pypinyin once.
@lru_cache(maxsize=4096)
def name_pinyin(name: str) -> tuple[str, str]:
    """("zhangsan", "zs") for 张三: full pinyin and initials, lower case, no spaces."""
    # pypinyin costs ~160 ms and 50 MB to import: only processes that name customers pay.
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(name)).lower().replace(" ", "")
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower().replace(" ", "")
    return full[:255], initials[:32]


# --- visibility ------------------------------------------------------------------------


def sees_full_card(viewer: Staff, customer: Customer) -> bool:
    """Managers and admins see everything; a rep sees the whole card of their own
    customers only (others': masked phone, no history)."""
    if Role(viewer.role) in (Role.MANAGER, Role.ADMIN):
        return True
    return customer.owner_id == viewer.id  # type: ignore[attr-defined]


def may_change(viewer: Staff, customer: Customer) -> bool:
    """Who may log follow-ups, deals and birthdays: whoever sees the full card, and any
    rep for a customer nobody owns yet (the first follow-up claims it)."""
    return sees_full_card(viewer, customer) or customer.owner_id is None  # type: ignore[attr-defined]


def phone_of(customer: Customer, cipher: FieldCipher) -> str | None:
    return cipher.decrypt(customer.phone_enc) if customer.phone_enc else None


def address_of(customer: Customer, cipher: FieldCipher) -> str | None:
    return cipher.decrypt(customer.address_enc) if customer.address_enc else None


def birthday_of(customer: Customer) -> Birthday | None:
    if not customer.birthday_month or not customer.birthday_day:
        return None
    return Birthday(
        customer.birthday_month,
        customer.birthday_day,
        customer.birthday_year,
        customer.birthday_lunar,
        customer.birthday_leap,
    )


# --- creating ----------------------------------------------------------------------------


@dataclass
class CustomerDraft:
    """What is known about a customer about to be created (from chat or a spreadsheet)."""

    name: str
    phone: str | None = None  # normalized digits
    company: str = ""
    industry: str = ""
    size: str = ""
    category: str = ""
    grade: Grade = Grade.POTENTIAL
    lifecycle: Lifecycle = Lifecycle.POTENTIAL
    birthday: Birthday | None = None
    address: str | None = None
    notes: str = ""


# Similar names (ratio on pinyin) at the same company, or with no company on either side.
SIMILAR_NAME = 85
SIMILAR_COMPANY = 80


@dataclass
class Duplicates:
    same_phone: Customer | None
    similar: list[Customer]

    @property
    def any(self) -> bool:
        return self.same_phone is not None or bool(self.similar)


async def find_duplicates(
    cipher: FieldCipher, name: str, company: str = "", phone: str | None = None
) -> Duplicates:
    """Existing customers this one may be: the same phone (through the keyed hash,
    nothing decrypted), or a very similar name at a very similar company."""
    same_phone = None
    if phone:
        same_phone = await Customer.filter(phone_hash=cipher.phone_hash(phone)).first()
    full, initials = name_pinyin(name)
    # Same initials: the index narrows 100k customers to a handful; homophone typos
    # (张三/章三/张叁) share them.
    candidates = await Customer.filter(name_initials=initials).limit(500)
    similar = []
    for other in candidates:
        if same_phone is not None and other.id == same_phone.id:
            continue
        if other.name != name and fuzz.ratio(full, other.name_pinyin) < SIMILAR_NAME:
            continue
        if (company or other.company) and not similar_company(company, other.company):
            continue
        similar.append(other)
    return Duplicates(same_phone, similar[:5])


def similar_company(a: str, b: str) -> bool:
    """「宁波港通物流」 and 「宁波港通物流有限公司」 are one company; 「某」 and 「某某」 are not
    evidence of anything."""
    if not a or not b:
        return False
    if min(len(a), len(b)) >= 4 and fuzz.partial_ratio(a, b) >= SIMILAR_COMPANY:
        return True
    return fuzz.ratio(a, b) >= SIMILAR_COMPANY


def phone_fields(cipher: FieldCipher, phone: str | None) -> dict[str, str | None]:
    """The stored form of a phone: encrypted, keyed hash and last four digits."""
    return {
        "phone_enc": cipher.encrypt(phone) if phone else None,
        "phone_hash": cipher.phone_hash(phone) if phone else None,
        "phone_last4": normalize_phone(phone)[-4:] if phone else None,
    }


def _encrypted_fields(cipher: FieldCipher, phone: str | None, address: str | None) -> dict:
    return {
        **phone_fields(cipher, phone),
        "address_enc": cipher.encrypt(address) if address else None,
    }


async def create_customer(
    cipher: FieldCipher, draft: CustomerDraft, owner: Staff | None
) -> Customer:
    """Store a new customer; phone and address only ever reach the database encrypted."""
    full, initials = name_pinyin(draft.name)
    birthday = draft.birthday
    return await Customer.create(
        name=draft.name[:64],
        name_pinyin=full,
        name_initials=initials,
        company=draft.company[:128],
        industry=draft.industry[:64],
        size=draft.size[:32],
        category=draft.category[:64],
        grade=draft.grade,
        lifecycle=draft.lifecycle,
        birthday_month=birthday.month if birthday else None,
        birthday_day=birthday.day if birthday else None,
        birthday_year=birthday.year if birthday else None,
        birthday_lunar=birthday.lunar if birthday else False,
        birthday_leap=birthday.leap if birthday else False,
        owner=owner,
        notes=draft.notes,
        **_encrypted_fields(cipher, draft.phone, draft.address),
    )


async def update_customer(
    cipher: FieldCipher, customer: Customer, draft: CustomerDraft, owner: Staff | None
) -> list[str]:
    """Overwrite ``customer`` with the non-empty fields of ``draft``; the names of the
    fields that changed (for the import report)."""
    changed: list[str] = []
    for field in ("company", "industry", "size", "category", "notes"):
        value = getattr(draft, field)
        if value and value != getattr(customer, field):
            setattr(customer, field, value)
            changed.append(field)
    for field in ("grade", "lifecycle"):
        value = getattr(draft, field)
        if value != getattr(customer, field):
            setattr(customer, field, value)
            changed.append(field)
    if draft.birthday and draft.birthday != birthday_of(customer):
        set_birthday_fields(customer, draft.birthday)
        changed.append("birthday")
    if draft.address and draft.address != address_of(customer, cipher):
        customer.address_enc = cipher.encrypt(draft.address)
        changed.append("address")
    if owner is not None and customer.owner_id != owner.id:  # type: ignore[attr-defined]
        customer.owner = owner
        changed.append("owner")
    if changed:
        await customer.save()
    return changed


# --- birthdays -------------------------------------------------------------------------


def set_birthday_fields(customer: Customer, birthday: Birthday) -> None:
    customer.birthday_month = birthday.month
    customer.birthday_day = birthday.day
    customer.birthday_year = birthday.year
    customer.birthday_lunar = birthday.lunar
    customer.birthday_leap = birthday.leap


async def set_birthday(customer: Customer, birthday: Birthday, by: Staff | None = None) -> None:
    """Set the birthday; ``by`` may take it back with 「撤销」."""
    if by is not None:
        from models.undo import BIRTHDAY_FIELDS, CUSTOMER, remember

        before = {name: getattr(customer, name) for name in BIRTHDAY_FIELDS}
        await remember(by, CUSTOMER, customer.id, before, f"生日 {customer.name}")
    set_birthday_fields(customer, birthday)
    await customer.save(
        update_fields=[
            "birthday_month",
            "birthday_day",
            "birthday_year",
            "birthday_lunar",
            "birthday_leap",
            "updated_at",
        ]
    )


# --- portfolio --------------------------------------------------------------------------


@dataclass
class Portfolio:
    total: int
    by_grade: dict[Grade, int]
    by_lifecycle: dict[Lifecycle, int]


async def portfolio(owner_id: int | None) -> Portfolio:
    """Customer counts by grade and by lifecycle: of one owner, or of everyone (None)."""
    query = Customer.all() if owner_id is None else Customer.filter(owner_id=owner_id)
    rows = (
        await query.annotate(n=Count("id"))
        .group_by("grade", "lifecycle")
        .values("grade", "lifecycle", "n")
    )
    by_grade = dict.fromkeys(Grade, 0)
    by_lifecycle = dict.fromkeys(Lifecycle, 0)
    for row in rows:
        by_grade[Grade(row["grade"])] += row["n"]
        by_lifecycle[Lifecycle(row["lifecycle"])] += row["n"]
    return Portfolio(sum(by_grade.values()), by_grade, by_lifecycle)


async def mark_reachable(openid: str, reachable: bool) -> None:
    """Follow (un)subscribe events: the outbox parks pushes to unreachable customers."""
    await Customer.filter(openid=openid).update(
        unreachable_at=None if reachable else datetime.now(UTC)
    )


async def add_contacts(customer: Customer, names: list[str], by: Staff | None = None) -> list[str]:
    """Add ``names`` to the customer's contacts (kept once each, in order); ``by`` may
    take it back with 「撤销」."""
    if by is not None:
        from models.undo import CUSTOMER, remember

        label = f"联系人 {customer.name}"
        await remember(by, CUSTOMER, customer.id, {"contacts": customer.contacts}, label)
    known = customer.contacts.split()
    for name in names:
        if name not in known:
            known.append(name)
    customer.contacts = " ".join(known)[:255]
    await customer.save(update_fields=["contacts", "updated_at"])
    return customer.contacts.split()


def company_beside(name: str, company: str, shape: str = "（{}）") -> str:
    """The company as shown beside a customer's name, in ``shape``: nothing when there
    is none, or when the company is the customer (「新客户 杭州某某公司 …」 names one
    by it), which would read 「杭州某某公司（杭州某某公司）」."""
    return shape.format(company) if company and company != name else ""
