"""Scheduled care: the time of day of a planned revisit, leap-month lunar birthdays,
and which way a push went."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_reliability")]

    initial = False

    operations = [
        ops.AddField(
            model_name="FollowUp",
            name="next_revisit_time",
            field=fields.CharField(null=True, max_length=5),
        ),
        ops.AddField(
            model_name="Customer",
            name="birthday_leap",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="Outbox",
            name="via",
            field=fields.CharField(default="", db_default="", max_length=16),
        ),
    ]
