# Channel preferences per user and category, and the email digest's emailed_at.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_existing_as_emailed(apps, schema_editor):
    """Notifications stored before the email channel existed are not emailed now."""
    Notification = apps.get_model("notifications", "Notification")
    Notification.objects.filter(emailed_at__isnull=True).update(emailed_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0004_event_kind_revoked"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="emailed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_as_emailed, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
                    ("emailed_at__isnull", True),
                    ("read_at__isnull", True),
                ),
                fields=["created_at"],
                name="notif_email_due_idx",
            ),
        ),
        migrations.CreateModel(
            name="NotificationPreference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("category", models.CharField(max_length=50)),
                ("in_app", models.BooleanField(blank=True, null=True)),
                ("email", models.BooleanField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notification_preferences",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "category"), name="one_preference_per_category"
                    )
                ],
            },
        ),
    ]
