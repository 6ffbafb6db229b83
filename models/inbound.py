"""What the database knows about an incoming message's sender, read in one statement.

Every message needs the same few facts before a handler can be chosen: is the sender
staff or a known customer, are they in the middle of a dialog, does the outbox hold
messages waiting for them to write (WeChat's 48-hour window), and was this very
message already handled (a retry). Asked one by one that is five round trips on
PostgreSQL for every message; joined onto a single row it is one, and it reads the
same data on every worker, so no cache has to be kept in step across processes.

On PostgreSQL the same statement also records a plain-mode callback's signed URL (an
``INSERT … ON CONFLICT DO NOTHING`` in a CTE, see ``models.messages.SignedUrl``) and
reads the body digest stored under it before: the replay check costs no round trip of
its own. SQLite has no INSERT inside WITH: there the statement reads the digest only,
and the URL is written with others in a batch (``models.signed_urls``); without a
batch to join (a caller outside the web server), it is an INSERT of its own, first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise.models import Model

from models.customers import Customer
from models.enums import OutboxStatus
from models.messages import (
    REMEMBER_SIGNED_URL,
    ConversationState,
    ProcessedMessage,
    check_signed_url,
    remember_signed_url,
)
from models.rawsql import dialect, fetch, from_row
from models.signed_urls import PendingUrls
from models.staff import CHANNEL_ID_FIELD, Staff

# (alias, model) of each joined table; the aliases prefix the selected columns.
_JOINED: tuple[tuple[str, type[Model]], ...] = (
    ("s", Staff),
    ("c", Customer),
    ("d", ConversationState),
    ("p", ProcessedMessage),
)


@dataclass
class Inbound:
    staff: Staff | None
    customer: Customer | None
    # The sender's dialog state, when one has not expired yet.
    dialog: ConversationState | None
    # The outbox holds messages waiting for this sender to write again.
    waiting: bool
    # This message was already handled and committed (a WeChat retry).
    handled: ProcessedMessage | None


def _columns(alias: str, model: type[Model]) -> str:
    return ",".join(
        f'{alias}."{column}" AS "{alias}__{column}"'
        for column in model._meta.fields_db_projection.values()
    )


_URL_SEEN = ', (SELECT "digest" FROM "signed_url" WHERE "key" = ?) AS "url_seen"'


@cache
def _sql(staff_column: str | None, customer_side: bool, url: str | None) -> str:
    """``url``: "record" the signed URL and read what was there (PostgreSQL), only
    "read" it (SQLite, which batches the writes), or None."""
    # A sender who cannot be staff or customer on this channel joins on a false
    # condition: the row still comes back, with NULLs for that table.
    staff_on = f's."{staff_column}" = ? AND s."active" = ?' if staff_column else "1 = 0"
    customer_on = 'c."openid" = ?' if customer_side else "1 = 0"
    # The CTE's insert is not visible to the statement's own reads: "seen" is the
    # digest of an earlier request under the same URL.
    record = url == "record"
    return (
        (f"WITH r AS ({REMEMBER_SIGNED_URL}) " if record else "")
        + "SELECT "
        + ",".join(_columns(alias, model) for alias, model in _JOINED)
        + ', EXISTS (SELECT 1 FROM "outbox" o WHERE o."channel" = ? AND o."recipient" = ?'
        ' AND o."status" = ?) AS "waiting"'
        + (', (SELECT count(*) FROM r) AS "url_new"' if record else "")
        + (_URL_SEEN if url else "")
        + ' FROM (SELECT 1 AS "one") AS "one_row"'
        f' LEFT JOIN "staff" s ON {staff_on}'
        f' LEFT JOIN "customer" c ON {customer_on}'
        ' LEFT JOIN "conversation_state" d ON d."key" = ?'
        ' LEFT JOIN "processed_message" p ON p."key" = ?'
    )


@cache
def _keys(model: type[Model], alias: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(the row's key of the primary key, (row key, column) of every column)."""
    prefix = f"{alias}__"
    columns = model._meta.fields_db_projection.values()
    return prefix + model._meta.db_pk_column, tuple((prefix + c, c) for c in columns)


def _instance(model: type[Model], alias: str, row: dict[str, Any]) -> Any:
    pk, keys = _keys(model, alias)
    if row[pk] is None:
        return None  # no such row: its columns are all NULL
    # What the ORM itself does with a fetched row: converts each column to Python.
    return from_row(model, {column: row[key] for key, column in keys})


async def load_inbound(
    *,
    channel: str,
    sender: str,
    user_key: str,
    message_key: str,
    customer_side: bool,
    signed_url: tuple[str, str] | None = None,
    pending: PendingUrls | None = None,
    now: datetime | None = None,
) -> Inbound:
    """The sender and the message as the database knows them, in one statement.

    ``customer_side``: the sender may be a customer on this channel (the Official
    Account, or a simulator persona); staff are looked up on every channel they bind.
    ``signed_url``: (key, body digest) of a plain-mode callback, recorded and checked
    (:class:`~models.messages.ReplayRefused` when forged); on SQLite through
    ``pending``, the web server's batch, when there is one.
    """
    staff_column = CHANNEL_ID_FIELD.get(channel) if sender else None
    url_mode: str | None = None
    key, digest = signed_url or ("", "")
    if signed_url:
        if dialect() == "postgres":
            url_mode = "record"
        elif pending is not None:
            pending.hold(key, digest)  # refused here if this process holds another body
            url_mode = "read"
        else:
            await remember_signed_url(key, digest)
    params: list[Any] = []
    if url_mode == "record":
        params += [key, digest, now or datetime.now(UTC)]
    params += [channel, sender, OutboxStatus.WAITING_FOR_USER.value]
    if url_mode:
        params.append(key)
    if staff_column:
        params += [sender, True]
    if customer_side:
        params.append(sender)
    params += [user_key[:191], message_key[:191]]
    (row,) = await fetch(_sql(staff_column, customer_side, url_mode), *params)
    if url_mode == "record":
        await check_signed_url(key, digest, bool(row["url_new"]), row["url_seen"])
    elif pending is not None and url_mode == "read":
        pending.check(key, digest, row["url_seen"])
    staff: Staff | None = _instance(Staff, "s", row)
    dialog: ConversationState | None = _instance(ConversationState, "d", row)
    if dialog is not None and dialog.expires_at <= (now or datetime.now(UTC)):
        # An abandoned dialog must not capture the user's next, unrelated message;
        # the cleanup job deletes the row.
        dialog = None
    return Inbound(
        staff=staff,
        customer=None if staff is not None else _instance(Customer, "c", row),
        dialog=dialog,
        waiting=bool(row["waiting"]),
        handled=_instance(ProcessedMessage, "p", row),
    )
