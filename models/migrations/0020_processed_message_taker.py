"""``ProcessedMessage.taker``: the arrival token of the request whose stored reply it is
to deliver — the one that committed the record, then a retry that took the reply to
answer it passively — so that of the requests of a message only the one that holds
it may push it after all (``bot.dedup``). A nullable column: added in place on both
databases, no row rewritten. Workers of an older release neither set nor check it:
restart them all together (``wecrm serve --workers N`` does)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0019_answered_status")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ProcessedMessage",
            name="taker",
            field=fields.CharField(max_length=32, null=True),
        ),
    ]
