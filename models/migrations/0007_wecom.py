"""WeCom for staff: link codes that join a person's second channel to their staff row."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0006_care")]

    initial = False

    operations = [
        ops.AddField(
            model_name="InviteCode",
            name="link_staff",
            field=fields.ForeignKeyField(
                "models.Staff",
                source_field="link_staff_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name=False,
                on_delete=OnDelete.CASCADE,
            ),
        ),
    ]
