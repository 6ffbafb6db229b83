"""Tortoise models and the rules that live with them.

This package is the Tortoise app ``models``; its migrations are in ``models.migrations``.
"""

from models.audit import AuditLog
from models.campaigns import Campaign, CampaignContact, SavedSegment
from models.complaints import Complaint, ComplaintEvent
from models.customers import Customer
from models.deals import Deal, DealEvent
from models.digest import KpiSnapshot
from models.followups import FollowUp
from models.messages import ConversationState, ProcessedMessage, SignedUrl
from models.outbox import Outbox
from models.requests import CustomerRequest
from models.staff import InviteCode, Staff
from models.tokens import AccessToken
from models.transfer import OwnerChange
from models.undo import UndoEntry

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
    "UndoEntry",
]
