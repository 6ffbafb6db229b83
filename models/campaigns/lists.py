"""Saved segments (名单): a manager names a segment once — 「名单 保存 老客户 VIP 餐饮」 —
and uses the name after 「给」. A saved segment is a rule over the customers' current
data, not a frozen list of names, so it stays right as grades and owners change; a
campaign keeps the rule as it was when the campaign was created."""

from __future__ import annotations

from models.campaigns.segments import Segment
from models.campaigns.tables import SavedSegment
from models.staff import Staff

NAME_MAX = 32


async def save_list(name: str, segment: Segment, by: Staff | None) -> bool:
    """Save (or replace) ``name``; True when it is new."""
    _, created = await SavedSegment.update_or_create(
        name=name[:NAME_MAX],
        defaults={"segment": segment.as_dict(), "label": segment.label[:255], "created_by": by},
    )
    return bool(created)


async def delete_list(name: str) -> bool:
    return bool(await SavedSegment.filter(name=name).delete())


async def all_lists() -> list[SavedSegment]:
    return await SavedSegment.all().order_by("name")
