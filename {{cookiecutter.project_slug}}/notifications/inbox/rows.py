"""What every change of inbox state shares: the row locked, the rows changed in bulk, the
counts that follow, and the "everything up to the newest id" write behind each "all" button."""

from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications import selectors
from notifications.models import EventKind, Notification
from notifications.stream import bulk, counters, events

# The columns that decide a row's part in the counts.
STATE_FIELDS = (
    "recipient_id",
    "category",
    "read_at",
    "seen_at",
    "archived_at",
    "deleted_at",
    "snoozed_until",
)


def locked(notification_id: int, user_id: int, category: str | None = None) -> Notification:
    """One live notification of the user, archived, snoozed or not, locked until the
    transaction ends."""
    return (
        selectors.notifications_for(user_id, category=category, archived=None, snoozed=None)
        .select_for_update(of=("self",))
        .get(pk=notification_id)
    )


def one_row(notification: Notification, before: counters.RowState) -> counters.CountChanges:
    """What a change of this one row from `before` to its state now does to the counts."""
    changes = counters.CountChanges()
    changes.row(
        notification.recipient_id,
        before,
        counters.state_of(notification),
        expires_at=notification.expires_at,
    )
    return changes


def change_up_to_newest(
    user_id: int,
    rows: QuerySet[Notification],
    kind: EventKind,
    payload: dict[str, Any],
    **change: bool,
) -> int:
    """Apply `change` (see `change_rows`) to the user's `rows` up to the newest id there now,
    in one event that names that id; returns how many rows changed.

    Bounded by id so the event names exactly the rows this call changed: a notification that
    arrives meanwhile stays as it is, on the server and in every client.
    """
    with transaction.atomic():
        up_to_id = rows.aggregate(last=models.Max("id"))["last"]
        if up_to_id is None:
            return 0
        changed, changes = change_rows(rows.filter(id__lte=up_to_id), **change)
        payload = {**payload, "up_to_id": up_to_id}
        events.send_on_commit(kind, [(user_id, payload)], counts=changes)
    return sum(map(len, changed.values()))


def change_rows(
    rows: QuerySet[Notification],
    *,
    read: bool = False,
    seen: bool = False,
    archive: bool = False,
    delete: bool = False,
) -> tuple[dict[int, list[int]], counters.CountChanges]:
    """Lock `rows`, mark them read, seen, archived or deleted, and return the ids changed
    per user with what that changed in the counts.

    The rows are locked in id order, as every bulk write locks them, before the stream heads
    (taken by the event that follows): the order of every write. A row another write changed
    meanwhile is read again once it commits, so the counts change by what this write did.
    """
    now = timezone.now()
    locked_rows = list(
        rows.select_related(None)
        .select_for_update(of=("self",))
        .order_by("id")
        .only(*STATE_FIELDS, "expires_at")
    )
    by_user: dict[int, list[int]] = {}
    changes = counters.CountChanges()
    for row in locked_rows:
        before = counters.state_of(row)
        if read:
            row.read_at = row.read_at or now
        if read or seen:
            row.seen_at = row.seen_at or now
        if archive:
            row.archived_at = row.archived_at or now
        if delete:
            row.deleted_at = row.deleted_at or now
        changes.row(row.recipient_id, before, counters.state_of(row), expires_at=row.expires_at)
        by_user.setdefault(row.recipient_id, []).append(row.pk)
    updates: dict[str, Any] = {}
    if read:
        updates["read_at"] = now
    if read or seen:
        updates["seen_at"] = Coalesce("seen_at", now)
    if archive:
        updates["archived_at"], updates["group_open"] = now, False
    if delete:
        updates["deleted_at"], updates["group_open"] = now, False
    for batch in bulk.batches([row.pk for row in locked_rows]):
        Notification.objects.filter(pk__in=batch).update(**updates)
    return by_user, changes
