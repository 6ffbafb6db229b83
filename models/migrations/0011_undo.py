"""「撤销」: what a rep's change replaced, so they can take it back."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_grading")]

    initial = False

    operations = [
        ops.CreateModel(
            name="UndoEntry",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "staff",
                    fields.ForeignKeyField(
                        "models.Staff",
                        source_field="staff_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=16)),
                ("target_id", fields.IntField()),
                (
                    "before",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("label", fields.CharField(max_length=128)),
                ("undone_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "undo_entry",
                "app": "models",
                "indexes": [Index(fields=["staff_id", "created_at"])],
                "pk_attr": "id",
                "table_description": "What one change replaced, so its author can take it back.",
            },
            bases=["Model"],
        ),
    ]
