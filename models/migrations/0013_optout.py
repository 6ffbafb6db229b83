"""A customer's request not to be contacted by campaigns or surveys."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0012_contacts")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Customer",
            name="opted_out_at",
            field=fields.DatetimeField(null=True),
        ),
    ]
