"""Grading: the 大客户 tier and the pin flags a manager's 定级 sets, on the customer.

Indexes: ``deal (customer_id, stage)`` — one customer's signed deals (the card's
grading reason, its signed total, open deals), without a scan of every deal. The
nightly recompute needs nothing new: it reads ``deal`` once (one GROUP BY, a
sequential scan is the right plan) and the latest follow-up per customer through the
existing ``followup (customer_id, created_at, id)`` index (0008; an index-only scan on
PostgreSQL); bench/grading.py measures it.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import Tier
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_requests')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Customer',
            name='grade_pinned',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='tier',
            field=fields.CharEnumField(null=True, description='STRATEGIC: strategic\nKEY: key\nMAJOR: major', enum_type=Tier, max_length=16),
        ),
        ops.AddField(
            model_name='Customer',
            name='tier_pinned',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddIndex(
            model_name='Deal',
            index=Index(fields=['customer_id', 'stage']),
        ),
    ]
