"""The digest's daily snapshot of its state figures (a table of its own module, so that
loading the models does not load the digest's rules)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class KpiSnapshot(Model):
    """The digest's state figures as they were on a local day."""

    _no_comments = True
    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "kpi_snapshot"
