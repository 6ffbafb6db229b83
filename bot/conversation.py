"""Per-user dialog state with an expiry, stored in the database so any worker
process can pick up the next message of a multi-step dialog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models.messages import ConversationState

# Dialogs a new command ends: a question the bot asked (「哪位客户？」, 「回复序号」,
# 「确认新建？」) is not pending any more once the user has moved on to something else.
_YIELDING: set[str] = set()


def yields_to_commands(*states: str) -> None:
    """Register dialog states that any other command ends (see bot.dispatcher)."""
    _YIELDING.update(states)


def yields(state: str | None) -> bool:
    return state in _YIELDING


class Conversation:
    def __init__(self, user_key: str, ttl: timedelta) -> None:
        self.key = user_key[:191]
        self.ttl = ttl
        self.state: str | None = None
        self.data: dict[str, Any] = {}
        # Bumped by every set() and clear(): whether a handler entered a state itself.
        self.changes = 0

    def resume(self, row: ConversationState | None) -> None:
        """Continue the dialog of ``row`` (read with the sender: models.inbound)."""
        if row is not None:
            self.state, self.data = row.state, dict(row.data or {})

    async def set(
        self, state: str, data: dict[str, Any] | None = None, ttl: timedelta | None = None
    ) -> None:
        """Enter ``state``; ``ttl`` shortens the wait for a quick yes/no."""
        self.state, self.data = state, dict(data or {})
        self.changes += 1
        await ConversationState.update_or_create(
            key=self.key,
            defaults={
                "state": state,
                "data": self.data,
                "expires_at": datetime.now(UTC) + (ttl or self.ttl),
            },
        )

    async def clear(self) -> None:
        self.state, self.data = None, {}
        self.changes += 1
        await ConversationState.filter(key=self.key).delete()
