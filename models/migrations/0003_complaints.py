from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_outbound')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Complaint',
            name='channel',
            field=fields.CharField(default='oa', max_length=16),
        ),
        ops.AddField(
            model_name='Complaint',
            name='escalated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='escalation_level',
            field=fields.SmallIntField(default=0),
        ),
        ops.AddField(
            model_name='Complaint',
            name='rated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='reopened_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='reopened_count',
            field=fields.SmallIntField(default=0),
        ),
        ops.AddField(
            model_name='Complaint',
            name='urgency',
            field=fields.SmallIntField(default=1),
        ),
    ]
