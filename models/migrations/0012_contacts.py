"""Contacts at a customer as reps call them (李总, 采购王经理), for recognising them."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_undo")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Customer",
            name="contacts",
            field=fields.CharField(default="", db_default="", max_length=255),
        ),
    ]
