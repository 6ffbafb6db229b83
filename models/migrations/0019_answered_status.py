"""``ProcessedMessage.status`` gains ``answered``: a reply answered in time whose request
gave up while it committed is pushed, unless a retry of the message was answered it
passively first (``bot.dedup``). The column is unchanged (a VARCHAR(16)): only the
field's description in the migrations' state lists the new value, as in 0017. Workers
of an older release cannot read a row marked ``answered``: restart them all together
(``wecrm serve --workers N`` does)."""

from importlib import import_module

from tortoise import fields, migrations

from models.enums import ProcessingStatus

DescribeField = import_module("models.migrations.0017_followup_plan").DescribeField


class Migration(migrations.Migration):
    dependencies = [("models", "0018_signed_url_unlogged")]

    initial = False

    operations = [
        DescribeField(
            model_name="ProcessedMessage",
            name="status",
            field=fields.CharEnumField(
                default=ProcessingStatus.PROCESSING,
                description="PROCESSING: processing\nDONE: done\nLATE: late\nANSWERED: answered",
                enum_type=ProcessingStatus,
                max_length=16,
            ),
        ),
    ]
