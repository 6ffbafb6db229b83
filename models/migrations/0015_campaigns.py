"""Care campaigns: campaigns, the customers each one prompted a rep about (with the
rep's marks), and segments saved under a name (名单)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.campaigns.tables import CampaignKind, CampaignStatus, Outcome
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_customer_name')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='RECOMMEND: recommend\nEVENT: event', enum_type=CampaignKind, max_length=16)),
                ('title', fields.CharField(max_length=64)),
                ('event_on', fields.DateField(null=True)),
                ('note', fields.TextField(default='', unique=False)),
                ('segment', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('segment_label', fields.CharField(default='', max_length=255)),
                ('created_by', fields.ForeignKeyField('models.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=CampaignStatus.DRAFT, description='DRAFT: draft\nSENT: sent\nCANCELLED: cancelled', enum_type=CampaignStatus, max_length=16)),
                ('with_briefing', fields.BooleanField(default=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaign', 'app': 'models', 'indexes': [Index(fields=['status', 'ends_on'])], 'pk_attr': 'id', 'table_description': 'A recommendation or an event invitation a manager sends through the reps.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('rep', fields.ForeignKeyField('models.Staff', source_field='rep_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('prompted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharEnumField(default=Outcome.NONE, description='NONE: \nDECLINED: declined\nINTERESTED: interested\nSIGNED_UP: signed_up\nCONVERTED: converted', enum_type=Outcome, max_length=16)),
                ('marked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaign_contact', 'app': 'models', 'unique_together': (('campaign_id', 'customer_id'),), 'indexes': [Index(fields=['prompted_at', 'customer_id']), Index(fields=['rep_id', 'campaign_id']), Index(fields=['customer_id', 'campaign_id'])], 'pk_attr': 'id', 'table_description': 'One customer a campaign prompted a rep about, and what the rep marked.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SavedSegment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=32)),
                ('segment', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('label', fields.CharField(default='', max_length=255)),
                ('created_by', fields.ForeignKeyField('models.Staff', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'saved_segment', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A segment saved under a name (名单), a rule that follows the data.'},
            bases=['Model'],
        ),
    ]
