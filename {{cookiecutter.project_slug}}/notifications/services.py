"""NotificationService: every write to notifications and broadcasts, under the usage guide's name.

Each write lives in the module of its subject and is gathered here, so the guide's calls
(`NotificationService.create_notification(user, message)`) work as documented:
- notifications/sending/: create (one user or many, grouped or not) and broadcast;
- notifications/inbox/: read and seen, archive, snooze, delete and expiry, broadcast receipts,
  actions.
Each write stores its rows and its events inside one transaction and publishes the events on
commit (notifications/stream/events.py), so what a client hears is always stored and can be
replayed. Each does its own scoped lookup: callers validate input and serialise the result.
"""

from notifications.inbox import actions, archive, deletion, reading, receipts, snooze
from notifications.sending import broadcasts, create


class NotificationService:
    """The writes that views, consumers, signals and your own code call, one name each.

    Static methods over module functions: `NotificationService.mark_notification_read(...)`
    and `reading.mark_notification_read(...)` are the same call.
    """

    # Sending
    create_notification = staticmethod(create.create_notification)
    notify_many = staticmethod(create.notify_many)
    lock_recipients = staticmethod(create.lock_recipients)
    broadcast = staticmethod(broadcasts.broadcast)
    delete_broadcast = staticmethod(broadcasts.delete_broadcast)

    # Read, unread and seen
    mark_notification_read = staticmethod(reading.mark_notification_read)
    mark_notification_unread = staticmethod(reading.mark_notification_unread)
    # The name the DESIGN uses for the same write.
    mark_unread = mark_notification_unread
    mark_all_notifications_read = staticmethod(reading.mark_all_notifications_read)
    mark_all_seen = staticmethod(reading.mark_all_seen)
    mark_read_by_ids = staticmethod(reading.mark_read_by_ids)

    # Archive, snooze, delete
    archive_notification = staticmethod(archive.archive_notification)
    unarchive_notification = staticmethod(archive.unarchive_notification)
    archive_all = staticmethod(archive.archive_all)
    snooze_notification = staticmethod(snooze.snooze_notification)
    unsnooze_notification = staticmethod(snooze.unsnooze_notification)
    delete_notification = staticmethod(deletion.delete_notification)
    delete_by_ids = staticmethod(deletion.delete_by_ids)

    # Broadcast receipts
    mark_broadcast_read = staticmethod(receipts.mark_broadcast_read)
    mark_all_broadcasts_read = staticmethod(receipts.mark_all_broadcasts_read)
    archive_broadcast = staticmethod(receipts.archive_broadcast)
    unarchive_broadcast = staticmethod(receipts.unarchive_broadcast)

    # Actions
    run_action = staticmethod(actions.run_action)
