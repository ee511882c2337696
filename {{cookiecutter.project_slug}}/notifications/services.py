"""NotificationService: every write to notifications and broadcasts.

Each write stores its rows inside the caller's transaction and pushes on commit (events.py),
so a notification a client sees is always one it can fetch again.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from notifications import categories, events, selectors
from notifications.models import Broadcast, BroadcastReceipt, Notification
from notifications.users import UserRef, existing_user_ids, user_id_of

# Rows per INSERT in notify_many: large fan-outs stay within database parameter limits.
BULK_BATCH_SIZE = 500


class NotificationService:
    """Creates, reads, unreads and deletes notifications; called by views, consumers, signals."""

    @classmethod
    def create_notification(
        cls,
        user: UserRef,
        message: str,
        *,
        category: str = "general",
        level: int | None = None,
        title: str = "",
        actor: UserRef | None = None,
        target: models.Model | None = None,
        data: dict[str, Any] | None = None,
    ) -> Notification:
        """Store one notification for `user` and push it once the transaction commits."""
        return cls.notify_many(
            [user],
            message,
            category=category,
            level=level,
            title=title,
            actor=actor,
            target=target,
            data=data,
        )[0]

    @classmethod
    def notify_many(
        cls,
        users: Iterable[UserRef],
        message: str,
        *,
        category: str = "general",
        level: int | None = None,
        title: str = "",
        actor: UserRef | None = None,
        target: models.Model | None = None,
        data: dict[str, Any] | None = None,
    ) -> list[Notification]:
        """Store the same notification for many users in bulk; one push per user on commit."""
        recipient_ids = existing_user_ids(list(users))
        template = Notification(
            category=category,
            level=_level_for(category, level),
            title=title,
            message=message,
            data=data if data is not None else {},
            actor_id=user_id_of(actor) if actor is not None else None,
            created_at=timezone.now(),
            **_target_fields(target),
        )
        # Validates lengths, choices and JSON without a query per row.
        template.full_clean(
            exclude=["recipient", "actor", "target_content_type"], validate_unique=False
        )
        rows = [_copy_for(template, recipient_id) for recipient_id in recipient_ids]
        with transaction.atomic():
            # PostgreSQL and SQLite return the new ids from the bulk insert.
            created = Notification.objects.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
            events.push_created(created)
        return created

    @classmethod
    def broadcast(
        cls,
        message: str,
        *,
        category: str = "system",
        level: int | None = None,
        title: str = "",
        data: dict[str, Any] | None = None,
    ) -> Broadcast:
        """Store one broadcast for every user and push it to every connected socket."""
        broadcast = Broadcast(
            category=category,
            level=_level_for(category, level),
            title=title,
            message=message,
            data=data if data is not None else {},
        )
        broadcast.full_clean()
        with transaction.atomic():
            broadcast.save()
            events.push_broadcast(broadcast)
        return broadcast

    @classmethod
    def mark_notification_read(cls, notification_id: int, user: UserRef) -> Notification:
        """Mark one of the user's notifications read; another user's is DoesNotExist."""
        return cls._set_read(notification_id, user, read=True)

    @classmethod
    def mark_notification_unread(cls, notification_id: int, user: UserRef) -> Notification:
        return cls._set_read(notification_id, user, read=False)

    # The name the DESIGN uses for the same write.
    mark_unread = mark_notification_unread

    @classmethod
    def mark_all_notifications_read(cls, user: UserRef, category: str | None = None) -> int:
        """Mark every unread notification of the user read, optionally of one category."""
        user_id = user_id_of(user)
        if category is not None:
            categories.get(category)
        unread = selectors.notifications_for(user_id, category=category, unread=True)
        with transaction.atomic():
            up_to_id = unread.aggregate(last=models.Max("id"))["last"]
            if up_to_id is None:
                return 0
            # Bounded by id so the pushed event names exactly the rows this call changed.
            count = unread.filter(id__lte=up_to_id).update(read_at=timezone.now())
            events.push_state(
                user_id, "read", all=True, category=category, up_to_id=up_to_id, ids=[]
            )
        return count

    @classmethod
    def delete_notification(cls, notification_id: int, user: UserRef) -> None:
        """Soft-delete one of the user's notifications; it leaves every list and count."""
        user_id = user_id_of(user)
        with transaction.atomic():
            notification = (
                selectors.notifications_for(user_id)
                .select_for_update(of=("self",))
                .get(pk=notification_id)
            )
            notification.deleted_at = timezone.now()
            notification.save(update_fields=["deleted_at"])
            events.push_state(user_id, "deleted", ids=[notification.pk])

    @classmethod
    def mark_broadcast_read(cls, broadcast_id: int, user: UserRef) -> BroadcastReceipt:
        """Record that the user read a broadcast; reading it again keeps the first time."""
        user_id = user_id_of(user)
        with transaction.atomic():
            broadcast = Broadcast.objects.alive().get(pk=broadcast_id)
            receipt, created = BroadcastReceipt.objects.get_or_create(
                broadcast=broadcast, user_id=user_id
            )
            if created:
                events.push_broadcast_read(user_id, broadcast.pk)
        return receipt

    @classmethod
    def delete_broadcast(cls, broadcast_id: int) -> None:
        Broadcast.objects.alive().filter(pk=broadcast_id).update(deleted_at=timezone.now())

    @classmethod
    def _set_read(cls, notification_id: int, user: UserRef, *, read: bool) -> Notification:
        user_id = user_id_of(user)
        with transaction.atomic():
            notification = (
                selectors.notifications_for(user_id)
                .select_for_update(of=("self",))
                .get(pk=notification_id)
            )
            if notification.is_read != read:
                notification.read_at = timezone.now() if read else None
                notification.save(update_fields=["read_at"])
                events.push_state(user_id, "read" if read else "unread", ids=[notification.pk])
        return notification


def _level_for(category: str, level: int | None) -> int:
    """The given level, or the category's default; an unknown category is UnknownCategory."""
    default = categories.get(category).default_level
    return level if level is not None else default


def _target_fields(target: models.Model | None) -> dict[str, Any]:
    if target is None:
        return {}
    if target.pk is None:
        raise ValueError(
            "The target is not saved yet: save it before linking a notification to it."
        )
    return {
        "target_content_type": ContentType.objects.get_for_model(target),
        "target_object_id": str(target.pk),
    }


def _copy_for(template: Notification, recipient_id: int) -> Notification:
    return Notification(
        recipient_id=recipient_id,
        actor_id=template.actor_id,
        category=template.category,
        level=template.level,
        title=template.title,
        message=template.message,
        data=template.data,
        target_content_type=template.target_content_type,
        target_object_id=template.target_object_id,
        created_at=template.created_at,
    )
