"""Tortoise models and the rules that live with them.

This package is the Tortoise app ``models``; its migrations are in ``models.migrations``.
Tables are imported from the modules that define them, not through the packages of
rules around them, so a command that only needs the database starts quickly.
"""

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
