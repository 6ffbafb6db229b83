"""A follow-up's method may be 计划 (plan): a contact to come, held on a customer with no
follow-up yet (models.followups.plan_revisit).

The column is unchanged (a VARCHAR(16) the enum is checked against in Python): only the
field's description in the migrations' state lists the new value. Tortoise's own
AlterField would rebuild the table on SQLite to change nothing, and the rebuilt table
lost its indexes (every 查 then scanned the follow-ups)."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import FollowUpMethod


class DescribeField(ops.AlterField):
    """An AlterField of the migrations' state only: nothing to do in the database."""

    async def database_forward(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    async def database_backward(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [("models", "0016_surveys")]

    initial = False

    operations = [
        DescribeField(
            model_name="FollowUp",
            name="method",
            field=fields.CharEnumField(
                description="PHONE: phone\nWECHAT: wechat\nVISIT: visit\nEMAIL: email\nOTHER: other\nPLAN: plan",
                enum_type=FollowUpMethod,
                max_length=16,
            ),
        ),
    ]
