"""Dedup of WeChat's retries: the first request of a message does the work, retries
get its reply.

The claim is a row insert under a unique key made *inside the message's
transaction*, together with the handler's writes and the reply. So a message is
either wholly done (claim, writes and reply committed at once) or not at all: a
process killed mid-handler leaves nothing behind (the database rolls its
transaction back) and WeChat's retry simply runs the handler. A retry in another
process that arrives while the first still runs waits on the unique index until
the first commits, then reads its reply.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from bot.crypto import FieldCipher
from bot.incoming import Incoming, Reply
from models.enums import ProcessingStatus
from models.messages import ProcessedMessage


class Duplicate(Exception):
    """Another request of the same message already committed its outcome."""


class Deduplicator:
    def __init__(self, cipher: FieldCipher | None = None) -> None:
        # The cached reply may hold a customer card with a full phone number:
        # stored encrypted when a data key is configured.
        self.cipher = cipher

    async def claim(self, incoming: Incoming) -> None:
        """Insert the claim row in the current transaction; :class:`Duplicate` if the
        message was already handled (the caller's transaction is then unusable on
        PostgreSQL and must be left)."""
        try:
            await ProcessedMessage.create(
                key=incoming.dedup_key[:191],
                channel=incoming.channel,
                sender=incoming.sender[:64],
            )
        except IntegrityError:
            raise Duplicate(incoming.dedup_key) from None

    async def finish(self, key: str, reply: Reply, *, late: bool) -> None:
        """Record the outcome; a ``late`` reply went (or goes) to the outbox, so retries
        answer ``success`` and do not repeat it."""
        await ProcessedMessage.filter(key=key[:191]).update(
            status=ProcessingStatus.LATE if late else ProcessingStatus.DONE,
            reply=self._seal(reply),
        )

    async def reply_of_first(self, key: str) -> Reply | None:
        """The committed reply of the message; None when it was late or is unknown."""
        row = await ProcessedMessage.get_or_none(key=key[:191])
        if row is None or row.status != ProcessingStatus.DONE:
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
