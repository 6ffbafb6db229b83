"""After-sale satisfaction surveys: one per signed deal (models.surveys)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0015_campaigns")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Survey",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "deal",
                    fields.OneToOneField(
                        "models.Deal",
                        source_field="deal_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="survey",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "customer",
                    fields.ForeignKeyField(
                        "models.Customer",
                        source_field="customer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="surveys",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "owner",
                    fields.ForeignKeyField(
                        "models.Staff",
                        source_field="owner_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("channel", fields.CharField(max_length=8)),
                ("asked_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("score", fields.SmallIntField(null=True)),
                ("comment", fields.TextField(default="", unique=False)),
                ("answered_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "survey",
                "app": "models",
                "indexes": [
                    Index(fields=["customer_id", "asked_at"]),
                    Index(fields=["answered_at"]),
                    Index(fields=["channel", "asked_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
