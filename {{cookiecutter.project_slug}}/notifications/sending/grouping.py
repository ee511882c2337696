"""Grouping: a notification with a `group_key` folds into the recipient's open group of that key.

A group that takes a notification is stored again under a new id with its count, actors and
title grown, so lists ordered by id show it first; the `updated` event names the row it replaces.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import router, transaction

from notifications.models import Notification
from notifications.sending import limits
from notifications.stream import bulk

# Actors a group keeps, newest first: enough for "Alice, Bob and 3 others".
MAX_GROUP_ACTORS = 5


def lock_groups(recipient_ids: Iterable[int], group_key: str) -> None:
    """Take the group lock of each recipient and `group_key` until the transaction ends.

    Every write that folds into a group takes its lock before it reads the open group, so
    the creates of one group run one after the other, and the second one finds the first
    one's group. On PostgreSQL each lock is a transaction-scoped advisory lock on a 64-bit
    hash of recipient and key, taken in one statement in ascending order, before the write
    reaches the stream heads (taken at events.send_on_commit): two fan-outs wait for each
    other and never deadlock. SQLite runs one writer at a time, which serialises them too.
    """
    connection = transaction.get_connection(router.db_for_write(Notification))
    if connection.vendor != "postgresql" or not group_key:
        return
    keys = sorted({_group_lock_key(recipient_id, group_key) for recipient_id in recipient_ids})
    with connection.cursor() as cursor:
        for batch in bulk.batches(keys):
            # The subquery orders the locks; the outer one takes them in that order.
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(key)) FROM "
                "(SELECT unnest(%s::bigint[]) AS key ORDER BY key) AS ordered",
                [batch],
            )


def _group_lock_key(recipient_id: int, group_key: str) -> int:
    """A stable signed 64-bit hash: the same in every process and across restarts."""
    digest = hashlib.blake2b(
        f"{recipient_id}:{group_key}".encode(), digest_size=8, person=b"notif-group"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def fold_into_groups(
    template: Notification, recipient_ids: list[int]
) -> list[tuple[Notification, Notification | None]]:
    """Store `template` for each recipient, folded into their open group of its key.

    Returns each stored row with the group row it replaces, None for a new group.
    The group locks (see `lock_groups`) make it the only write of these groups until it
    commits, so the `one_open_group_per_key` constraint is never raced and no write retries.
    """
    ordered = sorted(recipient_ids)
    lock_groups(ordered, template.group_key)
    return _fold(template, ordered)


def _fold(
    template: Notification, recipient_ids: list[int]
) -> list[tuple[Notification, Notification | None]]:
    """A few queries per 500 recipients, none per recipient.

    A group that takes a notification is stored again under a new id, so lists ordered by
    id show it first and cursor pages stay exact; the old row is deleted in the same
    transaction and the `updated` event names it. A group closes when its window since the
    first notification passed, or when it was archived, deleted or expired.
    """
    now = template.created_at
    window_start = now - timedelta(seconds=settings.NOTIFICATIONS_GROUP_WINDOW_SECONDS)
    open_groups: dict[int, Notification] = {}
    for batch in bulk.batches(recipient_ids):
        # Locked in recipient order, as the inserts below are made, so creates never deadlock.
        for row in (
            Notification.objects.select_for_update()
            .filter(recipient_id__in=batch, group_key=template.group_key, group_open=True)
            .order_by("recipient_id")
        ):
            open_groups[row.recipient_id] = row
    joined = {
        recipient_id: row
        for recipient_id, row in open_groups.items()
        if _still_open(row, window_start, now)
    }
    closed = [row.pk for row in open_groups.values() if row.recipient_id not in joined]
    for batch in bulk.batches(closed):
        Notification.objects.filter(pk__in=batch).update(group_open=False)
    for batch in bulk.batches([row.pk for row in joined.values()]):
        Notification.objects.filter(pk__in=batch).delete()
    rows = [
        copy_for(template, recipient_id, group=joined.get(recipient_id))
        for recipient_id in recipient_ids
    ]
    created = bulk.insert_all(rows)
    return [(row, joined.get(row.recipient_id)) for row in created]


def _still_open(group: Notification, window_start: datetime, now: datetime) -> bool:
    return (
        group.deleted_at is None
        and group.archived_at is None
        and (group.expires_at is None or group.expires_at > now)
        and group.group_started_at is not None
        and group.group_started_at >= window_start
    )


def copy_for(
    template: Notification, recipient_id: int, *, group: Notification | None = None
) -> Notification:
    """The template's row for one recipient; with `group`, that group carried forward.

    A copy shares the template's values as objects (a third of the cost of building a row
    from keyword arguments), which also lets bulk.insert_all prepare them once.
    """
    row = bulk.clone(template)
    row.recipient_id = recipient_id
    if group is not None:
        row.group_started_at = group.group_started_at
        row.group_count = group.group_count + 1
        row.actors = _merged_actors(template.actors, group.actors)
        row.title = _group_title(template, row.actors)
    return row


def _merged_actors(newest: list[dict[str, Any]], earlier: list[dict[str, Any]]) -> list[Any]:
    """The newest actors first, each once, at most MAX_GROUP_ACTORS."""
    merged: dict[Any, dict[str, Any]] = {}
    for entry in [*newest, *earlier]:
        merged.setdefault(entry.get("id"), entry)
    return list(merged.values())[:MAX_GROUP_ACTORS]


def _group_title(template: Notification, actors: list[dict[str, Any]]) -> str:
    """The title of a grown group names its people, not its count: two comments by bob stay
    "bob commented on X"; then "carol and bob commented on X", "dave and 2 others ...".

    The newest notification's title is rewritten when it starts with its actor's name, and
    otherwise gets the people after it. The group keeps only its newest actors, so past
    MAX_GROUP_ACTORS the count is "others".
    """
    names = [str(entry.get("username", "")) for entry in actors]
    if not template.actors or len(names) < 2:
        return template.title
    newest = names[0]
    if len(names) == 2:
        people = f"{newest} and {names[1]}"
    elif len(names) < MAX_GROUP_ACTORS:
        people = f"{newest} and {len(names) - 1} others"
    else:
        people = f"{newest} and others"
    if template.title.startswith(f"{newest} "):
        title = people + template.title[len(newest) :]
    else:
        title = f"{template.title} ({people})"
    return limits.shortened(title, length=limits.MAX_TITLE_LENGTH, size=limits.MAX_TITLE_BYTES)
