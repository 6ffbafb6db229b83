"""Customers by exact name: a rep's message names a customer (「跟进 王小明电话…」), and
telling the name from the rest of the sentence looks names up as typed."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_optout")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Customer", index=Index(fields=["name"])),
    ]
