"""Upkeep of the stream: old events pruned below a floor, and stored counts rebuilt from rows."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from notifications.models import Event, Notification, StreamHead
from notifications.stream import bulk, counters, positions


def prune_events(*, older_than: datetime) -> int:
    """Delete the stream's events created before `older_than`, in bounded batches.

    Each batch raises the floors of the streams it deletes from in the same transaction, so a
    replay that reaches below a floor answers `recovered: false` instead of a partial replay.
    Head rows are locked in ascending order, as every write locks them.
    """
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                Event.objects.filter(created_at__lt=older_than)
                .order_by("id")
                .values_list("id", "recipient_id", "position")[: bulk.PRUNE_BATCH_SIZE]
            )
            if not batch:
                return deleted
            reached: dict[int, int] = {}
            for _, recipient_id, position in batch:
                stream = positions.stream_of(recipient_id)
                reached[stream] = max(reached.get(stream, 0), position)
            positions.raise_floors(reached)
            deleted += Event.objects.filter(id__in=[row[0] for row in batch]).delete()[0]


def recount(user_ids: Iterable[int] | None = None) -> int:
    """Rebuild the stored counts of these users (all when None) from their rows; returns how
    many users' counts were wrong (`manage.py recount_notifications`).

    Each batch locks its head rows first: a write that changed rows meanwhile waits, then
    adds its change to the recounted value, which does not hold it yet.
    """
    if user_ids is None:
        with_heads = StreamHead.objects.exclude(stream=positions.EVERYONE).values_list(
            "stream", flat=True
        )
        with_rows = Notification.objects.values_list("recipient_id", flat=True).distinct()
        user_ids = set(with_heads) | set(with_rows)
    repaired = 0
    for batch in bulk.batches(sorted(set(user_ids))):
        with transaction.atomic():
            positions.lock_heads(batch)
            counted = counters.counted_rows(batch)
            stored = dict(
                StreamHead.objects.filter(stream__in=batch).values_list("stream", "counts")
            )
            for user_id in batch:
                if stored.get(user_id, {}) != counted.get(user_id, {}):
                    StreamHead.objects.filter(stream=user_id).update(
                        counts=counted.get(user_id, {})
                    )
                    repaired += 1
            positions.set_next_expiries(batch, counters.next_expiries(batch))
    return repaired
