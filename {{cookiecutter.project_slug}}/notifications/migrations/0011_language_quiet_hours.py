"""Each user's language, time zone and quiet hours for email."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0010_push"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReaderSettings",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="notification_reader_settings",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("language", models.CharField(blank=True, max_length=16)),
                ("browser_language", models.CharField(blank=True, max_length=16)),
                ("time_zone", models.CharField(blank=True, max_length=64)),
                ("quiet_start", models.TimeField(blank=True, null=True)),
                ("quiet_end", models.TimeField(blank=True, null=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("quiet_end__isnull", True), ("quiet_start__isnull", True)),
                            models.Q(
                                ("quiet_end__isnull", False),
                                ("quiet_start__isnull", False),
                                models.Q(("quiet_start", models.F("quiet_end")), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="quiet_hours_both_and_distinct",
                    )
                ],
            },
        ),
    ]
