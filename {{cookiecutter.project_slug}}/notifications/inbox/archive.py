"""The archive: notifications moved out of the inbox and its counts, and brought back."""

from django.db import transaction
from django.utils import timezone

from notifications import selectors
from notifications.inbox.rows import change_up_to_newest, locked, one_row
from notifications.models import EventKind, Notification
from notifications.serializers import notification_payloads
from notifications.stream import counters, events
from notifications.users import UserRef, user_id_of


def archive_notification(notification_id: int, user: UserRef) -> Notification:
    """Move one of the user's notifications out of the inbox into the archive.

    It leaves the counts and closes its group: later ones of the key start a new group.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        notification = locked(notification_id, user_id)
        if notification.archived_at is None:
            before = counters.state_of(notification)
            notification.archived_at = timezone.now()
            notification.group_open = False
            # Archived is out of the inbox for good: no wake-up brings it back.
            notification.snoozed_until = None
            notification.save(update_fields=["archived_at", "group_open", "snoozed_until"])
            events.send_on_commit(
                EventKind.ARCHIVED,
                [(user_id, {"ids": [notification.pk]})],
                counts=one_row(notification, before),
            )
    return notification


def unarchive_notification(notification_id: int, user: UserRef) -> Notification:
    """Bring an archived notification back to the inbox; the event carries it whole."""
    user_id = user_id_of(user)
    with transaction.atomic():
        notification = locked(notification_id, user_id)
        if notification.archived_at is not None:
            before = counters.state_of(notification)
            notification.archived_at = None
            notification.save(update_fields=["archived_at"])
            payload = {
                "ids": [notification.pk],
                "notification": notification_payloads([notification])[0],
            }
            events.send_on_commit(
                EventKind.UNARCHIVED,
                [(user_id, payload)],
                counts=one_row(notification, before),
            )
    return notification


def archive_all(user: UserRef, *, read_only: bool = False) -> int:
    """Archive every inbox notification of the user, or only the read ones."""
    user_id = user_id_of(user)
    inbox = selectors.notifications_for(user_id, unread=False if read_only else None)
    payload = {"all": True, "read_only": read_only}
    return change_up_to_newest(user_id, inbox, EventKind.ARCHIVED, payload, archive=True)
