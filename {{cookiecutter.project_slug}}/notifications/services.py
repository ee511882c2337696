"""NotificationService: every write to notifications and broadcasts.

Each write stores its rows and its events inside one transaction and publishes the events on
commit (events.send_on_commit), so what a client hears is always stored and can be replayed.
Each method does its own scoped lookup: callers validate input and serialise the result.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from notifications import categories, events, preferences, selectors
from notifications.models import Broadcast, BroadcastReceipt, Event, EventKind, Notification
from notifications.serializers import broadcast_payload, notification_payloads
from notifications.users import UserRef, existing_user_ids, user_id_of

# Rows per INSERT in notify_many: large fan-outs stay within database parameter limits.
BULK_BATCH_SIZE = 500
# Events deleted per statement when pruning: short transactions, no long table lock.
PRUNE_BATCH_SIZE = 5000


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
        """Store one notification for `user` and push it once the transaction commits.

        A user who turned this category's inbox off gets nothing: the returned notification
        is then not saved (its pk is None).
        """
        created = cls.notify_many(
            [user],
            message,
            category=category,
            level=level,
            title=title,
            actor=actor,
            target=target,
            data=data,
        )
        if created:
            return created[0]
        return Notification(
            recipient_id=user_id_of(user),
            category=category,
            level=_level_for(category, level),
            title=title,
            message=message,
            data=data if data is not None else {},
        )

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
        """Store the same notification for many users in bulk; one event per user, one publish.

        Users who turned this category's inbox off are left out; returns the rows stored.
        """
        recipient_ids = preferences.in_app_recipients(category, existing_user_ids(list(users)))
        actor_user = _actor(actor)
        template = Notification(
            category=category,
            level=_level_for(category, level),
            title=title,
            message=message,
            data=data if data is not None else {},
            actor=actor_user,
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
            payloads = notification_payloads(created)
            events.send_on_commit(
                EventKind.CREATED,
                [
                    (notification.recipient_id, {"notification": payload})
                    for notification, payload in zip(created, payloads, strict=True)
                ],
            )
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
            events.send_on_commit(
                EventKind.BROADCAST, [(None, {"broadcast": broadcast_payload(broadcast)})]
            )
        return broadcast

    @classmethod
    def mark_notification_read(
        cls, notification_id: int, user: UserRef, category: str | None = None
    ) -> Notification:
        """Mark one of the user's notifications read, of `category` when given.

        Another user's notification, or one of another category, is Notification.DoesNotExist.
        """
        return cls._set_read(notification_id, user, category, read=True)

    @classmethod
    def mark_notification_unread(
        cls, notification_id: int, user: UserRef, category: str | None = None
    ) -> Notification:
        return cls._set_read(notification_id, user, category, read=False)

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
            # Bounded by id so the event names exactly the rows this call changed.
            count = unread.filter(id__lte=up_to_id).update(read_at=timezone.now())
            payload = {"all": True, "category": category, "up_to_id": up_to_id, "ids": []}
            events.send_on_commit(EventKind.READ, [(user_id, payload)])
        return count

    @classmethod
    def mark_read_by_ids(cls, notification_ids: Iterable[int]) -> int:
        """Mark these notifications read, whoever receives them (the admin's action).

        One event per recipient names the rows this call changed.
        """
        with transaction.atomic():
            unread = Notification.objects.alive().unread().filter(pk__in=list(notification_ids))
            by_user: dict[int, list[int]] = {}
            for pk, recipient_id in unread.select_for_update().values_list("pk", "recipient_id"):
                by_user.setdefault(recipient_id, []).append(pk)
            marked = Notification.objects.filter(
                pk__in=[pk for ids in by_user.values() for pk in ids]
            ).update(read_at=timezone.now())
            events.send_on_commit(
                EventKind.READ, [(user_id, {"ids": ids}) for user_id, ids in by_user.items()]
            )
        return marked

    @classmethod
    def delete_notification(cls, notification_id: int, user: UserRef) -> None:
        """Soft-delete one of the user's notifications; it leaves every list and count."""
        user_id = user_id_of(user)
        with transaction.atomic():
            notification = _locked(notification_id, user_id)
            notification.deleted_at = timezone.now()
            notification.save(update_fields=["deleted_at"])
            events.send_on_commit(EventKind.DELETED, [(user_id, {"ids": [notification.pk]})])

    @classmethod
    def mark_broadcast_read(
        cls, broadcast_id: int, user: UserRef, category: str | None = None
    ) -> BroadcastReceipt:
        """Record that the user read a broadcast, of `category` when given.

        Reading it again keeps the first time; a missing broadcast is Broadcast.DoesNotExist.
        """
        user_id = user_id_of(user)
        broadcasts = Broadcast.objects.alive()
        if category is not None:
            broadcasts = broadcasts.filter(category=categories.get(category).name)
        with transaction.atomic():
            broadcast = broadcasts.get(pk=broadcast_id)
            receipt, created = BroadcastReceipt.objects.get_or_create(
                broadcast=broadcast, user_id=user_id
            )
            if created:
                events.send_on_commit(
                    EventKind.BROADCAST_READ, [(user_id, {"ids": [broadcast.pk]})]
                )
        return receipt

    @classmethod
    def delete_broadcast(cls, broadcast_id: int) -> None:
        Broadcast.objects.alive().filter(pk=broadcast_id).update(deleted_at=timezone.now())

    @classmethod
    def _set_read(
        cls, notification_id: int, user: UserRef, category: str | None, *, read: bool
    ) -> Notification:
        user_id = user_id_of(user)
        if category is not None:
            categories.get(category)
        with transaction.atomic():
            notification = _locked(notification_id, user_id, category)
            if notification.is_read != read:
                notification.read_at = timezone.now() if read else None
                notification.save(update_fields=["read_at"])
                kind = EventKind.READ if read else EventKind.UNREAD
                events.send_on_commit(kind, [(user_id, {"ids": [notification.pk]})])
        return notification


def prune_events(*, older_than: datetime) -> int:
    """Delete the stream's events created before `older_than`, in bounded batches."""
    deleted = 0
    while True:
        batch = list(
            Event.objects.filter(created_at__lt=older_than)
            .order_by("id")
            .values_list("id", flat=True)[:PRUNE_BATCH_SIZE]
        )
        if not batch:
            return deleted
        deleted += Event.objects.filter(id__in=batch).delete()[0]


def _locked(notification_id: int, user_id: int, category: str | None = None) -> Notification:
    """One live notification of the user, locked until the transaction ends."""
    return (
        selectors.notifications_for(user_id, category=category)
        .select_for_update(of=("self",))
        .get(pk=notification_id)
    )


def _actor(actor: UserRef | None) -> AbstractBaseUser | None:
    """The actor as a user instance, fetched once, so a batch serialises without a query each."""
    if actor is None or isinstance(actor, AbstractBaseUser):
        return actor
    try:
        return get_user_model()._default_manager.get(pk=user_id_of(actor))
    except get_user_model().DoesNotExist:
        raise ValueError(f"No user with id {actor} to be the actor.") from None


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
        actor=template.actor,
        category=template.category,
        level=template.level,
        title=template.title,
        message=template.message,
        data=template.data,
        target_content_type=template.target_content_type,
        target_object_id=template.target_object_id,
        created_at=template.created_at,
    )
