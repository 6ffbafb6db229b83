"""Inbound message bookkeeping: dedup of WeChat retries and multi-step dialog state."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import ProcessingStatus


class ProcessedMessage(Model):
    """One row per inbound message: the unique key turns retries of WeChat into no-ops."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=191, unique=True)
    channel = fields.CharField(max_length=16)
    sender = fields.CharField(max_length=64)
    status = fields.CharEnumField(
        ProcessingStatus, max_length=16, default=ProcessingStatus.PROCESSING
    )
    # The logical reply (kind + content), rendered per request so AES retries
    # get a fresh nonce and signature.
    reply = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "processed_message"


class ConversationState(Model):
    """Where a user is in a multi-step dialog, e.g. choosing one of three 张三."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=191, unique=True)
    state = fields.CharField(max_length=64)
    data = fields.JSONField(default=dict)
    expires_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversation_state"
