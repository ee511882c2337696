# The counts index holds every column the counts query names, so it answers it alone.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0005_preferences_email"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="notification",
            name="notif_counts_idx",
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    ("archived_at__isnull", True),
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
                ],
                name="notif_counts_idx",
            ),
        ),
    ]
