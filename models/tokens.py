"""Access tokens shared by every worker process, with a refresh lease.

WeChat invalidates the previous token some minutes after a new one is fetched, so
workers that each fetched their own would keep breaking each other's. One row per
credential holds the current token; a worker that wants to refresh first takes the
lease with a conditional UPDATE, the others wait for the new token to appear.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AccessToken(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    # "oa:<appid>" or "wecom:<corpid>:<agentid>".
    key = fields.CharField(max_length=128, unique=True)
    token = fields.CharField(max_length=512, default="")
    expires_at = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "access_token"
