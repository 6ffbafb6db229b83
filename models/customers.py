"""Customers: who they are, their grade and lifecycle, and their encrypted contact data."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import Grade, Lifecycle


class Customer(Model):
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
    birthday_month = fields.SmallIntField(null=True)
    birthday_day = fields.SmallIntField(null=True)
    birthday_year = fields.SmallIntField(null=True)
    birthday_lunar = fields.BooleanField(default=False)
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
    notes = fields.TextField(default="")
    last_contact_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"
        indexes = (("birthday_month", "birthday_day"), ("owner_id", "grade"))

    def __str__(self) -> str:
        return self.name
