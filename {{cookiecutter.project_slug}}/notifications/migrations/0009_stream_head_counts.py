"""Each user's counts kept in their stream head row instead of counted at each read."""

from django.db import migrations, models
from django.db.models import Count, Min, Q

# Users per batch: within database parameter limits.
BATCH_SIZE = 500


def fill_counts(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The counts of every user with counted rows, counted once, expired rows included."""
    Notification = apps.get_model("notifications", "Notification")
    StreamHead = apps.get_model("notifications", "StreamHead")
    counted = Notification.objects.filter(
        Q(deleted_at__isnull=True, archived_at__isnull=True)
        & (Q(read_at__isnull=True) | Q(seen_at__isnull=True))
    )
    user_ids = sorted(set(counted.values_list("recipient_id", flat=True)))
    for start in range(0, len(user_ids), BATCH_SIZE):
        batch = user_ids[start : start + BATCH_SIZE]
        counts: dict[int, dict[str, list[int]]] = {user_id: {} for user_id in batch}
        rows = (
            counted.filter(recipient_id__in=batch)
            .values_list("recipient_id", "category")
            .annotate(
                unread=Count("id", filter=Q(read_at__isnull=True)),
                unseen=Count("id", filter=Q(seen_at__isnull=True)),
            )
            .order_by()
        )
        for user_id, category, unread, unseen in rows:
            counts[user_id][category] = [unread, unseen]
        expiries = dict(
            counted.filter(recipient_id__in=batch, expires_at__isnull=False)
            .values_list("recipient_id")
            .annotate(first=Min("expires_at"))
            .order_by()
            .values_list("recipient_id", "first")
        )
        existing = set(StreamHead.objects.filter(stream__in=batch).values_list("stream", flat=True))
        StreamHead.objects.bulk_create(
            [StreamHead(stream=user_id) for user_id in batch if user_id not in existing]
        )
        for user_id in batch:
            StreamHead.objects.filter(stream=user_id).update(
                counts=counts[user_id], next_expiry=expiries.get(user_id)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0008_preference_changes"),
    ]

    operations = [
        migrations.AddField(
            model_name="streamhead",
            name="counts",
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name="streamhead",
            name="next_expiry",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill_counts, migrations.RunPython.noop),
    ]
