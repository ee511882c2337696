"""Stream positions in commit order: a position per stream on each event, and head rows."""

from django.db import migrations, models

# Existing events take their place in their stream in id order; each stream's head starts at
# its last event. Window functions and UPDATE ... FROM run on PostgreSQL and SQLite 3.33+.
NUMBER_EVENTS = """
UPDATE notifications_event SET position = numbered.place
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY recipient_id ORDER BY id) AS place
    FROM notifications_event
) AS numbered
WHERE notifications_event.id = numbered.id
"""
FILL_HEADS = """
INSERT INTO notifications_streamhead (stream, top, floor)
SELECT COALESCE(recipient_id, 0), MAX(position), 0 FROM notifications_event
GROUP BY COALESCE(recipient_id, 0)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0006_counts_covering_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="StreamHead",
            fields=[
                ("stream", models.BigIntegerField(primary_key=True, serialize=False)),
                ("top", models.BigIntegerField(default=0)),
                ("floor", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="event",
            name="position",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.RunSQL(NUMBER_EVENTS, migrations.RunSQL.noop),
        migrations.RunSQL(FILL_HEADS, migrations.RunSQL.noop),
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
                ],
                max_length=32,
            ),
        ),
        migrations.RemoveIndex(model_name="event", name="event_stream_idx"),
        migrations.RemoveIndex(model_name="event", name="event_everyone_idx"),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                fields=("recipient", "position"), name="one_event_per_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                condition=models.Q(("recipient__isnull", True)),
                fields=("position",),
                name="one_everyone_event_per_position",
            ),
        ),
    ]
