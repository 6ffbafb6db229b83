"""Dedup of WeChat's retries: the first request of a message does the work, retries
get its reply.

A message that changed data is recorded by a row insert under a unique key made
*inside the message's transaction*, at its end, together with the handler's writes
and the reply. So a message is either wholly done (writes and record committed at
once) or not at all: a process killed mid-handler leaves nothing behind (the
database rolls its transaction back) and WeChat's retry simply runs the handler.
A retry that reaches another process while the first still runs may run the
handler too, but only one of the two records commits: the other's insert fails on
the unique key (PostgreSQL waits for the first to commit to know), its transaction
rolls back with everything its handler wrote, and it answers with the first's reply.

Who delivers a stored reply whose request answered nothing (the 5-second rule) is
settled on the record, each change a compare-and-set from what the changer read. The
request that commits the record writes its arrival token (:func:`arrival`) there; a
push turns it ``late``; a retry answered passively turns it ``answered`` under its own
token. A request that arrived later takes it over, one that arrived earlier leaves it.

A message whose handler changes nothing (``read_only``) is not recorded: answering
a retry again gives the same text, and a write per 「帮助」 would be most of its cost.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from bot.crypto import FieldCipher
from bot.incoming import Incoming, Reply
from models.deferred import flush, plain_row
from models.enums import ProcessingStatus
from models.messages import ProcessedMessage

# A record whose reply a retry may still answer passively.
_PASSIVE = frozenset({ProcessingStatus.DONE, ProcessingStatus.ANSWERED})
# Tries of a take whose record keeps changing under it (each change is another
# request's take or push; WeChat sends a message three times at most).
_TAKES = 4


def arrival(ns: int) -> str:
    """A request's token on the record: the time it arrived (``time.time_ns()``, in
    fixed-width hex, so tokens compare as times across the workers of a host), then
    random digits."""
    return f"{ns:016x}{secrets.token_hex(4)}"


class Duplicate(Exception):
    """Another request of the same message already committed its outcome."""

    def __init__(self, key: str, first: ProcessedMessage | None = None) -> None:
        super().__init__(key)
        # The committed record when the caller already read it (models.inbound).
        self.first = first


@dataclass(frozen=True)
class Stored:
    """A committed reply and its record's status and taker, as a retry read (or took) it."""

    reply: Reply
    status: ProcessingStatus
    taker: str | None
    # Committed or taken by a request that arrived after the reader: that one delivers
    # it. The reader may still answer it passively (WeChat no longer listens to an
    # earlier request, and a request it still listens to should have the text), never
    # push it.
    later: bool = False


class Deduplicator:
    def __init__(self, cipher: FieldCipher | None = None) -> None:
        # The cached reply may hold a customer card with a full phone number:
        # stored encrypted when a data key is configured.
        self.cipher = cipher

    async def record(self, incoming: Incoming, reply: Reply, *, late: bool, arrived: str) -> None:
        """Record the message's outcome in the current transaction; :class:`Duplicate`
        if another request of it committed first (the caller's transaction is then
        unusable on PostgreSQL and must be left, which rolls back its writes). A
        ``late`` reply went (or goes) to the outbox, so retries answer ``success``
        and do not repeat it. ``arrived``: the request's token (:func:`arrival`) — the
        reply is its own to deliver, and a request that arrived before it and answered
        nothing leaves it (:meth:`reply_of_first`)."""
        row = plain_row(
            ProcessedMessage,
            key=incoming.dedup_key[:191],
            channel=incoming.channel,
            sender=incoming.sender[:64],
            status=ProcessingStatus.LATE if late else ProcessingStatus.DONE,
            taker=arrived,
            reply=self._seal(reply),
        )
        try:
            # With the message's audit entry and undo step: one statement on PostgreSQL,
            # the transaction's last unless a late reply's outbox row follows.
            await flush(last=row, final=not late)
        except IntegrityError:
            raise Duplicate(incoming.dedup_key) from None

    async def hand_over_to_push(self, incoming: Incoming, seen: Stored) -> bool:
        """The message's committed reply is to go out as a push after all (a request
        answered nothing); False if the record changed since the caller saw it
        (``seen``): a retry of the message took the reply meanwhile, to answer it
        passively or push it itself. From now on retries answer ``success``. Call it in
        the push's transaction."""
        changed = await ProcessedMessage.filter(
            key=incoming.dedup_key[:191], status=seen.status, taker=seen.taker
        ).update(status=ProcessingStatus.LATE)
        return bool(changed)

    async def reply_of_first(
        self, duplicate: Duplicate, *, arrived: str, take: bool
    ) -> Stored | None:
        """The committed reply of the message, for a retry that ``arrived`` (its
        :func:`arrival` token), and the record as read or taken; None when it was late,
        is pushed, or is unknown.

        WeChat retries only when it got no answer, so of the requests of a message the
        one that arrived last is the one it listens to. A reply committed or taken by a
        request that arrived later is that one's to deliver (:attr:`Stored.later`); one
        taken by a request that arrived earlier is taken over (an earlier taker may push
        it only while it still holds it, :meth:`hand_over_to_push`). ``take``: to answer
        the reply passively — it is taken first, from the push of a first request that
        answered nothing too. A take that finds the record changed since it was read
        reads it again: whoever changes the record delivers, never two of them."""
        key = str(duplicate)[:191]
        row = duplicate.first or await ProcessedMessage.get_or_none(key=key)
        for _ in range(_TAKES):
            if row is None or row.status not in _PASSIVE:
                return None
            later = row.taker is not None and row.taker > arrived
            stored = Stored(self._open(row.reply or {}), row.status, row.taker, later)
            if not take or later or stored.reply.is_empty:
                return stored  # an empty reply is nobody's to deliver: nothing to take
            taken = await ProcessedMessage.filter(
                key=key, status=row.status, taker=row.taker
            ).update(status=ProcessingStatus.ANSWERED, taker=arrived)
            if taken:
                return Stored(stored.reply, ProcessingStatus.ANSWERED, arrived)
            row = await ProcessedMessage.get_or_none(key=key)
        return None  # taken in turn by ever later requests: the last of them answers

    def _seal(self, reply: Reply) -> dict[str, object]:
        data = reply.to_dict()
        if self.cipher is None or reply.is_empty:
            return data
        return {"sealed": self.cipher.encrypt_json(data)}

    def _open(self, stored: dict[str, object]) -> Reply:
        sealed = stored.get("sealed")
        if isinstance(sealed, str):
            if self.cipher is None:
                return Reply.none()
            return Reply.from_dict(self.cipher.decrypt_json(sealed))
        return Reply.from_dict(stored)
