"""Care campaigns: a manager recommends a new product or invites to an event, for a
segment of customers; each owner rep gets one prompt with a text to forward, marks
what came of it, and the report (and the digest) count reached / interested / signed
up / converted per rep. Re-exported here; split by concern:

- ``tables``: Campaign, CampaignContact, SavedSegment
- ``segments``: the words after 「给」 → one SQL condition
- ``service``: create, preview, send (once), cancel
- ``prompts``: each rep's prompt, queued once
- ``marks``: a rep's 「已推荐 张三」 / 「张三 有兴趣」 …
- ``report``: the figures per rep, for one or every running campaign
- ``lists``: saved segments (名单)
- ``text``: what all of these say
"""

from models.campaigns.tables import (
    Campaign,
    CampaignContact,
    CampaignKind,
    CampaignStatus,
    Outcome,
    SavedSegment,
)

__all__ = [
    "Campaign",
    "CampaignContact",
    "CampaignKind",
    "CampaignStatus",
    "Outcome",
    "SavedSegment",
]
