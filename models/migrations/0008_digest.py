"""Managers: deal stage history, owner changes (转移), daily KPI snapshots, and the
indexes the digest uses: customers by creation and by (grade | lifecycle, last contact),
follow-ups by creation, and a customer's follow-ups by (created_at, id)."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import DealStage


def _json() -> fields.JSONField:
    return fields.JSONField(
        default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
    )


def _staff(name: str, related: str | bool = False) -> fields.ForeignKeyField:
    return fields.ForeignKeyField(
        "models.Staff",
        source_field=f"{name}_id",
        null=True,
        db_constraint=True,
        to_field="id",
        related_name=related,
        on_delete=OnDelete.SET_NULL,
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0007_wecom")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DealEvent",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "deal",
                    fields.ForeignKeyField(
                        "models.Deal",
                        source_field="deal_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("staff", _staff("staff")),
                ("from_stage", fields.CharField(default="", max_length=16)),
                (
                    "to_stage",
                    fields.CharEnumField(
                        description="NEEDS: needs\nPROPOSAL: proposal\nQUOTE: quote\n"
                        "NEGOTIATION: negotiation\nSIGNED: signed\nAFTER_SALES: after_sales",
                        enum_type=DealStage,
                        max_length=16,
                    ),
                ),
                ("amount", fields.DecimalField(default=0, max_digits=14, decimal_places=2)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "deal_event",
                "app": "models",
                "indexes": [Index(fields=["created_at"])],
                "pk_attr": "id",
                "table_description": (
                    'A deal entering a stage (opened, moved, signed): the digest\'s "stage moves" and a'
                ),
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OwnerChange",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "customer",
                    fields.ForeignKeyField(
                        "models.Customer",
                        source_field="customer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="owner_changes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("from_staff", _staff("from_staff")),
                ("to_staff", _staff("to_staff")),
                ("by_staff", _staff("by_staff")),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "owner_change",
                "app": "models",
                "indexes": [Index(fields=["customer_id", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="KpiSnapshot",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("day", fields.DateField(unique=True)),
                ("data", _json()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "kpi_snapshot",
                "app": "models",
                "pk_attr": "id",
                "table_description": "The digest's state figures as they were on a local day.",
            },
            bases=["Model"],
        ),
        ops.AddIndex(model_name="Customer", index=Index(fields=["created_at"])),
        ops.AddIndex(model_name="Customer", index=Index(fields=["grade", "last_contact_at"])),
        ops.AddIndex(model_name="Customer", index=Index(fields=["lifecycle", "last_contact_at"])),
        ops.AddIndex(model_name="FollowUp", index=Index(fields=["created_at"])),
        # Overdue revisits read each customer's latest follow-up: with id in the index
        # that is one index probe per customer (PostgreSQL: 1.0 s → 0.1 s at 1 M rows).
        ops.RemoveIndex(model_name="FollowUp", fields=["customer_id", "created_at"]),
        ops.AddIndex(model_name="FollowUp", index=Index(fields=["customer_id", "created_at", "id"])),
    ]
