"""The signed-URL record of the replay guard, kept in the database (was per process)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0004_search_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SignedUrl",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("key", fields.CharField(unique=True, max_length=64)),
                ("digest", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "signed_url",
                "app": "models",
                "pk_attr": "id",
                "table_description": (
                    "A plain-mode callback URL (timestamp, nonce, signature) already used, and the"
                ),
            },
            bases=["Model"],
        ),
    ]
