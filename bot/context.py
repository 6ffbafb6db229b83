"""What a handler knows about the message besides its content: who sent it, the
dialog they are in, the request id, and the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Config

if TYPE_CHECKING:
    from bot.conversation import Conversation
    from models.customers import Customer
    from models.staff import Staff


@dataclass
class Sender:
    """Staff member, known customer, or stranger: decided once per message."""

    staff: Staff | None = None
    customer: Customer | None = None

    @property
    def role(self) -> str:
        """``rep`` / ``manager`` / ``admin`` / ``customer`` / ``stranger``."""
        if self.staff is not None:
            return str(self.staff.role)
        if self.customer is not None:
            return "customer"
        return "stranger"

    @property
    def actor(self) -> str:
        if self.staff is not None:
            return f"staff:{self.staff.id}"
        if self.customer is not None:
            return f"customer:{self.customer.id}"
        return ""


@dataclass
class Context:
    config: Config
    request_id: str
    sender: Sender = field(default_factory=Sender)
    conversation: Conversation | None = None
    # Filters put what they extracted here (command arguments, regex match, …);
    # handlers receive it as keyword arguments.
    data: dict[str, Any] = field(default_factory=dict)
    # Name of the handler that ran, for metrics and audit.
    handler_name: str = ""
    # The handler that ran changes no data (bot.router.HandlerObject.read_only).
    read_only: bool = False
    # Set when the handler chain failed and answered with an apology: the
    # pipeline then rolls back whatever the handler wrote.
    failed: bool = False
