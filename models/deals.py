"""Deals and transactions, moving through the sales pipeline stages."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import DealStage


class Deal(Model):
    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="deals", on_delete=fields.CASCADE
    )
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="deals", null=True, on_delete=fields.SET_NULL
    )
    product = fields.CharField(max_length=128, default="")
    quantity = fields.IntField(default=1)
    amount = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    closed_on = fields.DateField(null=True)
    stage = fields.CharEnumField(DealStage, max_length=16, default=DealStage.NEEDS)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "deal"
        indexes = (("owner_id", "stage"), ("closed_on",))
