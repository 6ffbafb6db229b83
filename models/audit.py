"""The audit log: who saw or changed what, and when."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditLog(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    # "staff:12", "customer:3" or "<channel>:<sender id>" for strangers.
    actor = fields.CharField(max_length=96)
    actor_role = fields.CharField(max_length=16)
    action = fields.CharField(max_length=48)
    target = fields.CharField(max_length=96, default="")
    detail = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=32, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
        indexes = (("actor", "action", "created_at"), ("target", "created_at"))
