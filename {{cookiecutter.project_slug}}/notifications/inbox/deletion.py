"""Deletion and expiry: soft deletes by a user or the admin, and the rows whose time ran out."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications.inbox.rows import STATE_FIELDS, change_rows, locked, one_row
from notifications.models import Broadcast, EventKind, Notification, StreamHead
from notifications.stream import bulk, counters, events, positions
from notifications.users import UserRef, user_id_of


def delete_notification(notification_id: int, user: UserRef) -> None:
    """Soft-delete one of the user's notifications; it leaves every list and count."""
    user_id = user_id_of(user)
    with transaction.atomic():
        notification = locked(notification_id, user_id)
        before = counters.state_of(notification)
        notification.deleted_at = timezone.now()
        notification.group_open = False
        notification.save(update_fields=["deleted_at", "group_open"])
        events.send_on_commit(
            EventKind.DELETED,
            [(user_id, {"ids": [notification.pk]})],
            counts=one_row(notification, before),
        )


def delete_by_ids(notification_ids: Iterable[int]) -> int:
    """Soft-delete these notifications, whoever receives them (the admin's delete)."""
    with transaction.atomic():
        alive = Notification.objects.alive().filter(pk__in=list(notification_ids))
        by_user, changes = change_rows(alive, delete=True)
        events.send_on_commit(
            EventKind.DELETED,
            [(user_id, {"ids": ids}) for user_id, ids in sorted(by_user.items())],
            counts=changes,
        )
    return sum(map(len, by_user.values()))


def prune_expired(*, now: datetime | None = None) -> int:
    """Delete the notifications and broadcasts whose expiry has passed, in bounded batches."""
    now = now or timezone.now()
    deleted = expire_notifications(now=now)
    while True:
        batch = list(
            Broadcast.objects.filter(expires_at__lte=now).values_list("id", flat=True)[
                : bulk.PRUNE_BATCH_SIZE
            ]
        )
        if not batch:
            return deleted
        deleted += Broadcast.objects.filter(id__in=batch).delete()[1].get(Broadcast._meta.label, 0)


def expire_notifications(*, now: datetime | None = None) -> int:
    """Delete the notifications whose expiry has passed and take them out of the counts.

    The owners' sockets hear `deleted` for the items they still had in their lists, with the
    counts. Each user whose head row said an item may have expired gets an exact
    `next_expiry` again, so readers go back to the stored counts. Runs on a schedule
    (JOBS_EXPIRY_SECONDS) and with pruning. Rows are locked before heads, as every write does.
    """
    now = now or timezone.now()
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(
                Notification.objects.filter(expires_at__lte=now)
                .select_for_update(of=("self",))
                .order_by("id")
                .only(*STATE_FIELDS)[: bulk.PRUNE_BATCH_SIZE]
            )
            if not rows:
                break
            changes = counters.CountChanges()
            gone: dict[int, list[int]] = {}
            for row in rows:
                changes.row(row.recipient_id, counters.state_of(row), None)
                if row.deleted_at is None:
                    gone.setdefault(row.recipient_id, []).append(row.pk)
            for batch in bulk.batches([row.pk for row in rows]):
                deleted += (
                    Notification.objects.filter(pk__in=batch)
                    .delete()[1]
                    .get(Notification._meta.label, 0)
                )
            _settle_expiries(sorted({row.recipient_id for row in rows}), gone, changes)
    # Heads that still say "expired" had their item read, archived or deleted before it
    # expired: their next expiry is later, or none.
    after = -1
    while True:
        with transaction.atomic():
            stale = list(
                StreamHead.objects.filter(next_expiry__lte=now, stream__gt=after)
                .order_by("stream")
                .values_list("stream", flat=True)[: bulk.PRUNE_BATCH_SIZE]
            )
            if not stale:
                return deleted
            _settle_expiries(stale, {}, counters.CountChanges())
            after = stale[-1]


def _settle_expiries(
    user_ids: list[int], gone: dict[int, list[int]], changes: counters.CountChanges
) -> None:
    """Tell the users' sockets which items expired, and store their next expiry."""
    positions.lock_heads(user_ids)
    events.send_on_commit(
        EventKind.DELETED,
        [(user_id, {"ids": ids, "expired": True}) for user_id, ids in sorted(gone.items())],
        counts=changes,
    )
    positions.set_next_expiries(user_ids, counters.next_expiries(user_ids))
