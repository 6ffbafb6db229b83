"""Inbound message bookkeeping: dedup of WeChat retries and multi-step dialog state."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from tortoise import fields
from tortoise.models import Model

from models.enums import ProcessingStatus
from models.rawsql import fetch
from models.sealed import SealedJSONField


class ProcessedMessage(Model):
    """One row per inbound message: the unique key turns retries of WeChat into no-ops."""

    _no_comments = True
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
    # The arrival token (bot.dedup.arrival) of the request whose reply this is to
    # deliver: the one that committed the record, then any retry that took the reply
    # to answer it passively (``answered``). Its push stands only while it still holds
    # the record; a request that arrived later takes it over (bot.dedup).
    taker = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "processed_message"


class ConversationState(Model):
    """Where a user is in a multi-step dialog, e.g. choosing one of three 张三."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=191, unique=True)
    state = fields.CharField(max_length=64)
    data = SealedJSONField(default=dict)
    expires_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversation_state"


class SignedUrl(Model):
    """A plain-mode callback URL (timestamp, nonce, signature) already used, and the
    digest of the body that came with it.

    WeChat signs the URL but not the body in plain mode, so whoever saw one signed
    URL could post any body under it within the timestamp window. WeChat's own
    retries repeat the body; a different body is a forgery. Kept in the database so
    the record survives restarts and is shared by every worker. On PostgreSQL the
    table is UNLOGGED (migration 0018): its commits do not wait for the disk, and a
    crash of the database empties it.
    """

    _no_comments = True
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    digest = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "signed_url"


class ReplayRefused(Exception):
    """A signed URL used again with another body."""


async def remember_signed_url(key: str, digest: str) -> None:
    """Record the URL's body, or refuse a different body under a URL already used.

    No INSERT that may fail (it would abort a PostgreSQL transaction), so an insert
    that ignores conflicts — one statement for a URL seen the first time (every
    message but WeChat's retries) — and a read only when the URL was seen before.
    On PostgreSQL the sender read does this itself (``models.inbound``).
    """
    # RETURNING rather than the changed-row count, which Tortoise's asyncpg client
    # does not report for a statement without result rows.
    inserted = await fetch(REMEMBER_SIGNED_URL, key, digest, datetime.now(UTC))
    await check_signed_url(key, digest, bool(inserted), None)


REMEMBER_SIGNED_URL = (
    'INSERT INTO "signed_url" ("key", "digest", "created_at") VALUES (?, ?, ?) '
    'ON CONFLICT ("key") DO NOTHING RETURNING "id"'
)


async def check_signed_url(key: str, digest: str, inserted: bool, seen: str | None) -> None:
    """Raise :class:`ReplayRefused` unless the URL is new or came with this body.

    ``seen``: the body digest stored before, when the caller read it already."""
    if inserted:
        return
    if seen is None:
        # Not read yet, or recorded by a request committed after the caller's read.
        found = await SignedUrl.filter(key=key).values_list("digest", flat=True)
        seen = str(found[0]) if found else None
    if seen is not None and not hmac.compare_digest(seen, digest):
        raise ReplayRefused(key)
