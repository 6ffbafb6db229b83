"""The campaign tables: a campaign (what, to whom, when sent), one contact row per
customer it prompted a rep about (with the rep's marks), and the segments managers
saved under a name (名单)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.sealed import SealedTextField


class CampaignKind(StrEnum):
    RECOMMEND = "recommend"
    EVENT = "event"

    @property
    def label(self) -> str:
        return {"recommend": "新品推荐", "event": "活动邀请"}[self.value]


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """What a rep marked for a customer, furthest first in ``LADDER`` terms."""

    NONE = ""
    DECLINED = "declined"
    INTERESTED = "interested"
    SIGNED_UP = "signed_up"
    CONVERTED = "converted"

    @property
    def label(self) -> str:
        return {
            "": "未反馈",
            "declined": "不感兴趣",
            "interested": "有兴趣",
            "signed_up": "已报名",
            "converted": "已成交",
        }[self.value]


class Campaign(Model):
    """A recommendation or an event invitation a manager sends through the reps."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(CampaignKind, max_length=16)
    title = fields.CharField(max_length=64)
    # The event's day (events only).
    event_on = fields.DateField(null=True)
    # The manager's words: they go into the ready-to-forward text.
    note = SealedTextField(default="")
    # The segment as parsed (models.campaigns.segments.Segment.as_dict), saved lists
    # already expanded: what the preview counted is what the send selects.
    segment = fields.JSONField(default=dict)
    segment_label = fields.CharField(max_length=255, default="")
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.DRAFT)
    # Prompts go out with the next morning briefing instead of at once.
    with_briefing = fields.BooleanField(default=False)
    sent_at = fields.DatetimeField(null=True)
    # Last local day reps' marks count and the digest shows the campaign.
    ends_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaign"
        indexes = (("status", "ends_on"),)


class CampaignContact(Model):
    """One customer a campaign prompted a rep about, and what the rep marked."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Campaign", related_name="contacts", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Customer", related_name=False, on_delete=fields.CASCADE
    )
    # The rep prompted: the owner at send time (a manager for unowned customers).
    rep: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    prompted_at = fields.DatetimeField()
    # The rep said they passed it on (已推荐 / 已邀请, or any outcome).
    reached_at = fields.DatetimeField(null=True)
    outcome = fields.CharEnumField(Outcome, max_length=16, default=Outcome.NONE)
    marked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign_contact"
        unique_together = (("campaign_id", "customer_id"),)
        indexes = (
            # The frequency cap: a customer's prompts within the window.
            ("prompted_at", "customer_id"),
            ("rep_id", "campaign_id"),
            ("customer_id", "campaign_id"),
        )


class SavedSegment(Model):
    """A segment saved under a name (名单), a rule that follows the data."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    segment = fields.JSONField(default=dict)
    label = fields.CharField(max_length=255, default="")
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "saved_segment"
