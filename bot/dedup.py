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

A message whose handler changes nothing (``read_only``) is not recorded: answering
a retry again gives the same text, and a write per 「帮助」 would be most of its cost.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from bot.crypto import FieldCipher
from bot.incoming import Incoming, Reply
from models.deferred import flush, plain_row
from models.enums import ProcessingStatus
from models.messages import ProcessedMessage


class Duplicate(Exception):
    """Another request of the same message already committed its outcome."""

    def __init__(self, key: str, first: ProcessedMessage | None = None) -> None:
        super().__init__(key)
        # The committed record when the caller already read it (models.inbound).
        self.first = first


class Deduplicator:
    def __init__(self, cipher: FieldCipher | None = None) -> None:
        # The cached reply may hold a customer card with a full phone number:
        # stored encrypted when a data key is configured.
        self.cipher = cipher

    async def record(self, incoming: Incoming, reply: Reply, *, late: bool) -> None:
        """Record the message's outcome in the current transaction; :class:`Duplicate`
        if another request of it committed first (the caller's transaction is then
        unusable on PostgreSQL and must be left, which rolls back its writes). A
        ``late`` reply went (or goes) to the outbox, so retries answer ``success``
        and do not repeat it."""
        row = plain_row(
            ProcessedMessage,
            key=incoming.dedup_key[:191],
            channel=incoming.channel,
            sender=incoming.sender[:64],
            status=ProcessingStatus.LATE if late else ProcessingStatus.DONE,
            reply=self._seal(reply),
        )
        try:
            # With the message's audit entry and undo step: one statement on PostgreSQL,
            # the transaction's last unless a late reply's outbox row follows.
            await flush(last=row, final=not late)
        except IntegrityError:
            raise Duplicate(incoming.dedup_key) from None

    async def hand_over_to_push(
        self, incoming: Incoming, *, taken_from: ProcessingStatus = ProcessingStatus.DONE
    ) -> bool:
        """The message's committed reply is to go out as a push after all (a request
        answered nothing while it committed); False if a retry of the message was
        answered it passively meanwhile (another worker's, between the commit and now).
        ``taken_from``: the status the caller found (``answered``: it took the reply for
        a passive answer, then answered nothing after all). From now on retries answer
        ``success``. Call it in the push's transaction."""
        changed = await ProcessedMessage.filter(
            key=incoming.dedup_key[:191], status=taken_from
        ).update(status=ProcessingStatus.LATE)
        return bool(changed)

    async def reply_of_first(self, duplicate: Duplicate, *, take: bool = True) -> Reply | None:
        """The committed reply of the message, for a retry; None when it was late, is
        pushed or is unknown. ``take``: to answer it passively — a reply that may still
        be pushed (:meth:`hand_over_to_push`) is taken from the push first: whoever
        changes the record's status delivers it, never both."""
        key = str(duplicate)[:191]
        row = duplicate.first or await ProcessedMessage.get_or_none(key=key)
        if take and row is not None and row.status == ProcessingStatus.DONE:
            taken = await ProcessedMessage.filter(key=key, status=ProcessingStatus.DONE).update(
                status=ProcessingStatus.ANSWERED
            )
            if not taken:
                row = await ProcessedMessage.get_or_none(key=key)
        if row is None or row.status not in {ProcessingStatus.DONE, ProcessingStatus.ANSWERED}:
            return None
        return self._open(row.reply or {})

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
