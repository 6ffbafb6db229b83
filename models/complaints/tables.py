"""The complaint tables — tickets and their timeline — and the constants every
rule on them shares."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import ComplaintStatus, Role, Severity
from models.sealed import SealedTextField


class Complaint(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    ticket_no = fields.CharField(max_length=32, unique=True)
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name="complaints", on_delete=fields.CASCADE
    )
    category = fields.CharField(max_length=32, default="")
    severity = fields.CharEnumField(Severity, max_length=16, default=Severity.MEDIUM)
    # 1 (normal) .. 3 (urgent): from the wording, raised for VIP customers.
    urgency = fields.SmallIntField(default=1)
    # severity weight x urgency, 1 .. 12: the higher, the sooner.
    priority = fields.SmallIntField(default=0)
    status = fields.CharEnumField(ComplaintStatus, max_length=16, default=ComplaintStatus.OPEN)
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name="complaints", null=True, on_delete=fields.SET_NULL
    )
    content = SealedTextField()
    # The channel the customer wrote through: replies go back the same way.
    channel = fields.CharField(max_length=16, default="oa")
    first_reply_due = fields.DatetimeField()
    resolve_due = fields.DatetimeField()
    first_replied_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolution = SealedTextField(default="")
    rating = fields.SmallIntField(null=True)
    rating_comment = SealedTextField(default="")
    rated_at = fields.DatetimeField(null=True)
    # Raised by a manager (升级) or by a missed deadline.
    escalation_level = fields.SmallIntField(default=0)
    escalated_at = fields.DatetimeField(null=True)
    # The customer said 未解决 after closing: the resolve clock restarts at reopened_at.
    reopened_count = fields.SmallIntField(default=0)
    reopened_at = fields.DatetimeField(null=True)
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

    _no_comments = True
    id = fields.IntField(primary_key=True)
    complaint: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Complaint", related_name="events", on_delete=fields.CASCADE
    )
    actor = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32)
    note = SealedTextField(default="")
    media_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "complaint_event"
        indexes = (("complaint_id", "created_at"),)


ACTIVE = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS, ComplaintStatus.REOPENED)
MANAGING_ROLES = (Role.MANAGER, Role.ADMIN)


class ComplaintError(Exception):
    """Why a rule refused: ``forbidden``, ``closed``, ``not_closed``, ``too_late``,
    ``rated``, ``no_reason``, ``no_change``. The handler turns it into Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
