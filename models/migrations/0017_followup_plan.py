"""A follow-up's method may be 计划 (plan): a contact to come, held on a customer with no
follow-up yet (models.followups.plan_revisit). The column is unchanged; the field's
description lists the new value."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import FollowUpMethod


class Migration(migrations.Migration):
    dependencies = [("models", "0016_surveys")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="FollowUp",
            name="method",
            field=fields.CharEnumField(
                description="PHONE: phone\nWECHAT: wechat\nVISIT: visit\nEMAIL: email\nOTHER: other\nPLAN: plan",
                enum_type=FollowUpMethod,
                max_length=16,
            ),
        ),
    ]
