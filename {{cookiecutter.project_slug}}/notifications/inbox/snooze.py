"""Snooze: a notification out of the inbox and its counts until a time, then back, new again."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications import selectors
from notifications.inbox.rows import one_row
from notifications.models import SNOOZED, EventKind, Notification
from notifications.serializers import notification_payloads
from notifications.stream import bulk, counters, events
from notifications.users import UserRef, user_id_of


def snooze_notification(notification_id: int, user: UserRef, until: datetime) -> Notification:
    """Take one of the user's inbox notifications out of the inbox and the counts until
    `until`; snoozing a snoozed one moves its time. A time in the past or past the cap
    (NOTIFICATIONS_SNOOZE_MAX_DAYS) is a ValidationError; an archived one is not found.

    Locks the row, then the stream head.
    """
    user_id = user_id_of(user)
    until = _snooze_time(until)
    with transaction.atomic():
        notification = (
            selectors.notifications_for(user_id, snoozed=None)
            .select_for_update(of=("self",))
            .get(pk=notification_id)
        )
        before = counters.state_of(notification)
        notification.snoozed_until = until
        # Later notifications of its key start a new group instead of growing a hidden one.
        notification.group_open = False
        notification.save(update_fields=["snoozed_until", "group_open"])
        serialised = notification_payloads([notification])[0]
        payload = {
            "ids": [notification.pk],
            "until": serialised["snoozed_until"],
            "notification": serialised,
        }
        events.send_on_commit(
            EventKind.SNOOZED, [(user_id, payload)], counts=one_row(notification, before)
        )
    return notification


def unsnooze_notification(notification_id: int, user: UserRef) -> Notification:
    """Bring a snoozed notification back to the inbox now, read or unread as it was.

    One that is not snoozed (woken a moment ago, say) is returned unchanged, with no event.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        notification = (
            selectors.notifications_for(user_id, snoozed=None)
            .select_for_update(of=("self",))
            .get(pk=notification_id)
        )
        if notification.snoozed_until is not None:
            _wake([notification], fresh=False)
    return notification


def wake_snoozed(*, now: datetime | None = None) -> int:
    """Bring back every snoozed notification whose time has come, new and unread, each pushed
    to its owner as `unsnoozed` with the notification; returns how many woke.

    Runs on a schedule (JOBS_SNOOZE_SECONDS). Rows are locked in id order, then the heads, as
    every write does. A row that another run or an unsnooze woke while this one waited for
    its lock is no longer snoozed when this one reads it (PostgreSQL checks the condition
    again on the row it locked), and the check below leaves it alone: nothing wakes twice.
    """
    now = now or timezone.now()
    woke = 0
    while True:
        with transaction.atomic():
            rows = [
                row
                for row in Notification.objects.filter(SNOOZED, snoozed_until__lte=now)
                .select_related("actor", "target_content_type")
                .select_for_update(of=("self",))
                .order_by("id")[: bulk.PRUNE_BATCH_SIZE]
                if row.snoozed_until is not None and row.snoozed_until <= now
            ]
            if not rows:
                return woke
            _wake(rows, fresh=True)
            woke += len(rows)


def _wake(rows: list[Notification], *, fresh: bool) -> None:
    """Put locked snoozed rows back in the inbox; `fresh`: new and unread again."""
    changes = counters.CountChanges()
    for row in rows:
        before = counters.state_of(row)
        row.snoozed_until = None
        if fresh:
            row.read_at = row.seen_at = None
        changes.row(row.recipient_id, before, counters.state_of(row), expires_at=row.expires_at)
    updates: dict[str, Any] = {"snoozed_until": None}
    if fresh:
        updates.update(read_at=None, seen_at=None)
    for batch in bulk.batches([row.pk for row in rows]):
        Notification.objects.filter(pk__in=batch).update(**updates)
    events.send_on_commit(
        EventKind.UNSNOOZED,
        [
            (row.recipient_id, {"ids": [row.pk], "notification": payload, "woke": fresh})
            for row, payload in zip(rows, notification_payloads(rows), strict=True)
        ],
        counts=changes,
    )


def _snooze_time(until: datetime) -> datetime:
    """`until` if it is a time ahead within the cap; a ValidationError naming `until` if not."""
    if timezone.is_naive(until):
        raise ValidationError({"until": ["Give a time zone (e.g. 2030-01-01T09:00:00Z)."]})
    now = timezone.now()
    cap = timedelta(days=settings.NOTIFICATIONS_SNOOZE_MAX_DAYS)
    if until <= now:
        raise ValidationError({"until": ["The time is past: snooze until a time ahead."]})
    if until > now + cap:
        raise ValidationError(
            {"until": [f"At most {cap.days} days ahead (NOTIFICATIONS_SNOOZE_MAX_DAYS)."]}
        )
    return until
