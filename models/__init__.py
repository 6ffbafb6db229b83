"""Tortoise models and the rules that live with them.

This package is the Tortoise app ``models``; its migrations are in ``models.migrations``.
"""

from models.audit import AuditLog
from models.complaints import Complaint, ComplaintEvent
from models.customers import Customer
from models.deals import Deal
from models.followups import FollowUp
from models.messages import ConversationState, ProcessedMessage, SignedUrl
from models.outbox import Outbox
from models.staff import InviteCode, Staff
from models.tokens import AccessToken

__all__ = [
    "AccessToken",
    "AuditLog",
    "Complaint",
    "ComplaintEvent",
    "ConversationState",
    "Customer",
    "Deal",
    "FollowUp",
    "InviteCode",
    "Outbox",
    "ProcessedMessage",
    "SignedUrl",
    "Staff",
]
