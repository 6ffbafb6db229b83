"""Complaint tickets, their SLA deadlines and their timeline."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import ComplaintStatus, Severity


class Complaint(Model):
    id = fields.IntField(primary_key=True)
    ticket_no = fields.CharField(max_length=32, unique=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="complaints", on_delete=fields.CASCADE
    )
    category = fields.CharField(max_length=32, default="")
    severity = fields.CharEnumField(Severity, max_length=16, default=Severity.MEDIUM)
    priority = fields.SmallIntField(default=0)
    status = fields.CharEnumField(ComplaintStatus, max_length=16, default=ComplaintStatus.OPEN)
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="complaints", null=True, on_delete=fields.SET_NULL
    )
    content = fields.TextField()
    first_reply_due = fields.DatetimeField()
    resolve_due = fields.DatetimeField()
    first_replied_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolution = fields.TextField(default="")
    rating = fields.SmallIntField(null=True)
    rating_comment = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "complaint"
        indexes = (
            ("status", "first_reply_due"),
            ("status", "resolve_due"),
            ("assignee_id", "status"),
        )


class ComplaintEvent(Model):
    """One entry in the timeline of a ticket: intake, reply, assignment, close, rating…"""

    id = fields.IntField(primary_key=True)
    complaint: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Complaint", related_name="events", on_delete=fields.CASCADE
    )
    actor = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32)
    note = fields.TextField(default="")
    media_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "complaint_event"
        indexes = (("complaint_id", "created_at"),)
