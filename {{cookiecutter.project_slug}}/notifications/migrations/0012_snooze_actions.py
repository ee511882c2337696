"""Snooze and actions: a notification snoozed until a time, its buttons and their results."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0011_language_quiet_hours"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="notification",
            name="notif_inbox_idx",
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notif_category_idx",
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notif_email_due_idx",
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notif_counts_idx",
        ),
        migrations.AddField(
            model_name="notification",
            name="action_results",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="notification",
            name="actions",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="notification",
            name="snoozed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="event",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("read", "Read"),
                    ("unread", "Unread"),
                    ("deleted", "Deleted"),
                    ("broadcast", "Broadcast"),
                    ("broadcast_read", "Broadcast Read"),
                    ("seen", "Seen"),
                    ("archived", "Archived"),
                    ("unarchived", "Unarchived"),
                    ("updated", "Updated"),
                    ("revoked", "Revoked"),
                    ("broadcast_deleted", "Broadcast Deleted"),
                    ("snoozed", "Snoozed"),
                    ("action_done", "Action Done"),
                    ("unsnoozed", "Unsnoozed"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("snoozed_until__isnull", True),
                ),
                fields=["recipient", "-id"],
                name="notif_inbox_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("snoozed_until__isnull", True),
                ),
                fields=["recipient", "category", "-id"],
                name="notif_category_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("snoozed_until__isnull", True),
                    models.Q(("read_at__isnull", True), ("seen_at__isnull", True), _connector="OR"),
                ),
                fields=[
                    "recipient",
                    "category",
                    "read_at",
                    "seen_at",
                    "expires_at",
                    "deleted_at",
                    "archived_at",
                    "snoozed_until",
                ],
                name="notif_counts_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("snoozed_until__isnull", False),
                ),
                fields=["recipient", "-id"],
                name="notif_snoozed_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("snoozed_until__isnull", False),
                ),
                fields=["snoozed_until"],
                name="notif_wake_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("snoozed_until__isnull", True),
                    ("emailed_at__isnull", True),
                    ("read_at__isnull", True),
                ),
                fields=["created_at"],
                name="notif_email_due_idx",
            ),
        ),
    ]
