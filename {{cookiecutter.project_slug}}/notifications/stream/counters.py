"""Each user's unread and unseen counts, kept beside their stream position instead of counted.

A user's counts live in their stream head row (`StreamHead.counts`: {category: [unread,
unseen]}), and every write that changes what is counted adds its change there in the same
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` that takes its stream positions
(notifications/stream/positions.py). The head row is locked from that statement to commit, so the
counts a write reads back are exact at its commit, and frames carry them without a query.

What is counted: rows in the inbox (not deleted, archived or snoozed) that are unread or unseen.
Expiry depends on the clock, so an expired row stays counted until the expiry job
(`inbox.deletion.expire_notifications`) deletes it; until then the head's `next_expiry` is at or
before now and readers count that user's rows instead (exact, and rare). `manage.py
recount_notifications` rebuilds the counts from the rows.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications.models import COUNTED, Notification, StreamHead

# Head rows per read: within database parameter limits.
READ_BATCH_SIZE = 1000

# One row's part in the counts: (category, unread, unseen).
RowState = tuple[str, bool, bool]


def state_of(notification: Notification) -> RowState:
    """What this row adds to its recipient's counts now."""
    in_inbox = (
        notification.deleted_at is None
        and notification.archived_at is None
        and notification.snoozed_until is None
    )
    return (
        notification.category,
        in_inbox and notification.read_at is None,
        in_inbox and notification.seen_at is None,
    )


class CountChanges:
    """What one write changes in its users' counts, collected row by row before it stores."""

    def __init__(self) -> None:
        self._counts: dict[int, dict[str, list[int]]] = {}
        self.expiries: dict[int, datetime] = {}

    def row(
        self,
        user_id: int,
        before: RowState | None,
        after: RowState | None,
        *,
        expires_at: datetime | None = None,
    ) -> None:
        """One row of the user went from `before` to `after` (None: no such row)."""
        for state, sign in ((before, -1), (after, 1)):
            if state is None or not (state[1] or state[2]):
                continue
            entry = self._counts.setdefault(user_id, {}).setdefault(state[0], [0, 0])
            entry[0] += sign * state[1]
            entry[1] += sign * state[2]
        if expires_at is not None and after is not None and (after[1] or after[2]):
            known = self.expiries.get(user_id)
            self.expiries[user_id] = expires_at if known is None else min(known, expires_at)

    def of(self, user_id: int) -> dict[str, list[int]]:
        """The user's changes without zero entries: {category: [unread, unseen]}."""
        return {
            name: [unread, unseen]
            for name, (unread, unseen) in self._counts.get(user_id, {}).items()
            if unread or unseen
        }


def as_counts(stored: dict[str, list[int]] | None) -> dict[str, Any]:
    """The wire shape of stored counts: {"unread", "unseen", "by_category"}."""
    by_category = {
        name: {"unread": unread, "unseen": unseen}
        for name, (unread, unseen) in sorted((stored or {}).items())
    }
    return {
        "unread": sum(entry["unread"] for entry in by_category.values()),
        "unseen": sum(entry["unseen"] for entry in by_category.values()),
        "by_category": by_category,
    }


def is_current(next_expiry: datetime | None, now: datetime | None = None) -> bool:
    """False when an item of the user may have expired and is still counted."""
    return next_expiry is None or next_expiry > (now or timezone.now())


def counted_rows(
    user_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, dict[str, list[int]]]:
    """The counts of these users counted from their rows, in the stored shape.

    With `now`, expired rows are left out (what a reader sees); without it they are counted
    (what the head rows hold until the expiry job deletes them).
    """
    rows = Notification.objects.filter(COUNTED, recipient_id__in=list(user_ids))
    if now is not None:
        rows = rows.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    counted: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for user_id, category, unread, unseen in (
        rows.values_list("recipient_id", "category")
        .annotate(
            unread=Count("recipient", filter=Q(read_at__isnull=True)),
            unseen=Count("recipient", filter=Q(seen_at__isnull=True)),
        )
        .order_by()
    ):
        counted[user_id][category] = [unread, unseen]
    return counted


def next_expiries(user_ids: Iterable[int]) -> dict[int, datetime]:
    """The earliest expiry among each user's counted rows, for users that have one."""
    return dict(
        Notification.objects.filter(COUNTED, recipient_id__in=list(user_ids))
        .filter(expires_at__isnull=False)
        .values_list("recipient_id")
        .annotate(first=Min("expires_at"))
        .order_by()
        .values_list("recipient_id", "first")
    )


def current_counts(
    stored: dict[int, tuple[dict[str, list[int]], datetime | None]],
) -> dict[int, dict[str, Any]]:
    """Each user's counts in the wire shape, from their head's (counts, next_expiry).

    A user with an item past its expiry that the expiry job has not taken out yet is counted
    from their rows instead, so what a reader sees is exact at any time.
    """
    now = timezone.now()
    stale = [user_id for user_id, (_, expiry) in stored.items() if not is_current(expiry, now)]
    recounted = counted_rows(stale, now=now) if stale else {}
    return {
        user_id: as_counts(recounted.get(user_id, {}) if user_id in stale else counts)
        for user_id, (counts, _) in stored.items()
    }


def read_counts(user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each user's exact counts from their head row: one query per 1,000 users, no counting."""
    user_ids = list(dict.fromkeys(user_ids))
    stored: dict[int, tuple[dict[str, list[int]], datetime | None]] = dict.fromkeys(
        user_ids, ({}, None)
    )
    for start in range(0, len(user_ids), READ_BATCH_SIZE):
        for stream, counts, next_expiry in StreamHead.objects.filter(
            stream__in=user_ids[start : start + READ_BATCH_SIZE]
        ).values_list("stream", "counts", "next_expiry"):
            stored[stream] = (counts, next_expiry)
    return current_counts(stored)
