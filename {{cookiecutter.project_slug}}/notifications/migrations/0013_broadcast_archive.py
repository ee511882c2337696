"""Each user may archive a broadcast: its receipt records when, and two new event kinds."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0012_snooze_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="broadcastreceipt",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='event',
            name='kind',
            field=models.CharField(choices=[('created', 'Created'), ('read', 'Read'), ('unread', 'Unread'), ('deleted', 'Deleted'), ('broadcast', 'Broadcast'), ('broadcast_read', 'Broadcast Read'), ('seen', 'Seen'), ('archived', 'Archived'), ('unarchived', 'Unarchived'), ('updated', 'Updated'), ('revoked', 'Revoked'), ('broadcast_deleted', 'Broadcast Deleted'), ('snoozed', 'Snoozed'), ('action_done', 'Action Done'), ('unsnoozed', 'Unsnoozed'), ('broadcast_archived', 'Broadcast Archived'), ('broadcast_unarchived', 'Broadcast Unarchived')], max_length=32),
        ),
    ]
