"""Read, unread and seen: the writes behind the bell's badge and each row's dot."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications import categories, selectors
from notifications.inbox.rows import change_rows, change_up_to_newest, locked, one_row
from notifications.models import EventKind, Notification
from notifications.stream import counters, events
from notifications.users import UserRef, user_id_of


def mark_notification_read(
    notification_id: int, user: UserRef, category: str | None = None
) -> Notification:
    """Mark one of the user's notifications read, of `category` when given.

    Another user's notification, or one of another category, is Notification.DoesNotExist.
    """
    return _set_read(notification_id, user, category, read=True)


def mark_notification_unread(
    notification_id: int, user: UserRef, category: str | None = None
) -> Notification:
    """Mark one of the user's notifications unread again; it stays seen."""
    return _set_read(notification_id, user, category, read=False)


def mark_all_notifications_read(user: UserRef, category: str | None = None) -> int:
    """Mark every unread notification of the user read, optionally of one category."""
    user_id = user_id_of(user)
    if category is not None:
        categories.get(category)
    unread = selectors.notifications_for(user_id, category=category, unread=True)
    payload: dict[str, Any] = {"all": True, "category": category, "ids": []}
    return change_up_to_newest(user_id, unread, EventKind.READ, payload, read=True)


def mark_all_seen(user: UserRef, *, up_to: int | None = None) -> int:
    """Mark the user's unseen inbox notifications seen, those up to id `up_to` if given."""
    user_id = user_id_of(user)
    unseen = selectors.notifications_for(user_id).filter(seen_at__isnull=True)
    if up_to is not None:
        unseen = unseen.filter(id__lte=up_to)
    return change_up_to_newest(user_id, unseen, EventKind.SEEN, {"all": True}, seen=True)


def mark_read_by_ids(notification_ids: Iterable[int]) -> int:
    """Mark these notifications read, whoever receives them (the admin's action).

    One event per recipient names the rows this call changed.
    """
    with transaction.atomic():
        unread = Notification.objects.alive().unread().filter(pk__in=list(notification_ids))
        by_user, changes = change_rows(unread, read=True)
        events.send_on_commit(
            EventKind.READ,
            [(user_id, {"ids": ids}) for user_id, ids in sorted(by_user.items())],
            counts=changes,
        )
    return sum(map(len, by_user.values()))


def _set_read(
    notification_id: int, user: UserRef, category: str | None, *, read: bool
) -> Notification:
    user_id = user_id_of(user)
    if category is not None:
        categories.get(category)
    with transaction.atomic():
        notification = locked(notification_id, user_id, category)
        if notification.is_read != read:
            before = counters.state_of(notification)
            notification.read_at = timezone.now() if read else None
            # Reading implies seeing; unreading leaves it seen.
            notification.seen_at = notification.seen_at or notification.read_at
            notification.save(update_fields=["read_at", "seen_at"])
            kind = EventKind.READ if read else EventKind.UNREAD
            events.send_on_commit(
                kind,
                [(user_id, {"ids": [notification.pk]})],
                counts=one_row(notification, before),
            )
    return notification
