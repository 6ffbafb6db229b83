"""Follow-ups (回访) a rep logs, with the next revisit date that drives reminders."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import FollowUpMethod


class FollowUp(Model):
    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="followups", on_delete=fields.CASCADE
    )
    rep: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="followups", null=True, on_delete=fields.SET_NULL
    )
    method = fields.CharEnumField(FollowUpMethod, max_length=16)
    content = fields.TextField()
    feedback = fields.TextField(default="")
    next_revisit_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "followup"
        indexes = (("rep_id", "next_revisit_on"), ("customer_id", "created_at"))
