"""Tortoise models and the rules that live with them.

This package is the Tortoise app ``models``; its migrations are in ``models.migrations``.
Tables are imported from the modules that define them, not through the packages of
rules around them, and this package imports none of them until asked: ``TABLES`` is
what Tortoise loads for the whole app, and a command that needs one table (``wecrm
outbox``) loads only that module, so it starts without the search, calendar and
grading libraries the others pull in.

Every model sets ``_no_comments = True``: otherwise Tortoise reads and tokenises each
model's source at import, looking for ``#:`` field docs this project does not write
(a third of the import time of the package).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each table is defined; ``from models import Customer`` imports on demand.
_HOME = {
    "AccessToken": "models.tokens",
    "AuditLog": "models.audit",
    "Campaign": "models.campaigns.tables",
    "CampaignContact": "models.campaigns.tables",
    "Complaint": "models.complaints.tables",
    "ComplaintEvent": "models.complaints.tables",
    "ConversationState": "models.messages",
    "Customer": "models.customers",
    "CustomerRequest": "models.requests",
    "Deal": "models.deals",
    "DealEvent": "models.deals",
    "FollowUp": "models.followups",
    "InviteCode": "models.staff",
    "KpiSnapshot": "models.kpi_snapshot",
    "Outbox": "models.outbox",
    "OwnerChange": "models.transfer",
    "ProcessedMessage": "models.messages",
    "SavedSegment": "models.campaigns.tables",
    "SignedUrl": "models.messages",
    "Staff": "models.staff",
    "Survey": "models.surveys",
    "UndoEntry": "models.undo",
}

TABLES: tuple[str, ...] = tuple(sorted(set(_HOME.values())))

__all__ = [
    "AccessToken",
    "AuditLog",
    "Campaign",
    "CampaignContact",
    "Complaint",
    "ComplaintEvent",
    "ConversationState",
    "Customer",
    "CustomerRequest",
    "Deal",
    "DealEvent",
    "FollowUp",
    "InviteCode",
    "KpiSnapshot",
    "Outbox",
    "OwnerChange",
    "ProcessedMessage",
    "SavedSegment",
    "SignedUrl",
    "Staff",
    "Survey",
    "UndoEntry",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


if TYPE_CHECKING:
    from models.audit import AuditLog
    from models.campaigns.tables import Campaign, CampaignContact, SavedSegment
    from models.complaints.tables import Complaint, ComplaintEvent
    from models.customers import Customer
    from models.deals import Deal, DealEvent
    from models.followups import FollowUp
    from models.kpi_snapshot import KpiSnapshot
    from models.messages import ConversationState, ProcessedMessage, SignedUrl
    from models.outbox import Outbox
    from models.requests import CustomerRequest
    from models.staff import InviteCode, Staff
    from models.surveys import Survey
    from models.tokens import AccessToken
    from models.transfer import OwnerChange
    from models.undo import UndoEntry
