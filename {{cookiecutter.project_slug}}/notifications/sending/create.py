"""Creating notifications: one row per recipient, checked, grouped or inserted in bulk, and
one event per recipient published on commit."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from notifications import categories
from notifications.inbox import actions as notification_actions
from notifications.models import EventKind, Notification
from notifications.reader import preferences
from notifications.sending import grouping, limits
from notifications.serializers import copies_payloads, notification_payloads
from notifications.stream import bulk, counters, events, positions
from notifications.users import User, UserRef, existing_user_ids, user_id_of


def create_notification(
    user: UserRef,
    message: str,
    *,
    category: str = "general",
    level: int | None = None,
    title: str = "",
    actor: UserRef | None = None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    group_key: str = "",
    expires_at: datetime | None = None,
    actions: list[dict[str, Any]] | None = None,
) -> Notification:
    """Store one notification for `user` and push it once the transaction commits.

    A user who turned this category's inbox off gets nothing: the returned notification
    is then not saved (its pk is None).
    """
    created = notify_many(
        [user],
        message,
        category=category,
        level=level,
        title=title,
        actor=actor,
        target=target,
        data=data,
        group_key=group_key,
        expires_at=expires_at,
        actions=actions,
    )
    if created:
        return created[0]
    # The user turned this category's inbox off: nothing is stored or pushed.
    return Notification(
        recipient_id=user_id_of(user),
        category=category,
        level=level_for(category, level),
        title=title,
        message=message,
        data=data if data is not None else {},
        group_key=group_key or "",
        expires_at=expires_at,
    )


def notify_many(
    users: Iterable[UserRef],
    message: str,
    *,
    category: str = "general",
    level: int | None = None,
    title: str = "",
    actor: UserRef | None = None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    group_key: str = "",
    expires_at: datetime | None = None,
    actions: list[dict[str, Any]] | None = None,
) -> list[Notification]:
    """Store the same notification for many users in bulk; one event per user, one publish.

    With a `group_key`, a recipient whose group of that key is open (see
    notifications/sending/grouping.py) gets their group updated instead of a new inbox row,
    pushed as `updated`; the others get a new open group, pushed as `created`.
    Users who turned this category's inbox off are left out; returns the rows stored.
    A field over its limit (notifications/sending/limits.py) is ContentTooLarge, a ValueError;
    `actions` (at most two buttons, notifications/inbox/actions.py) not valid is a
    ValidationError.
    """
    limits.check_content(
        title=title,
        message=message,
        data=data if data is not None else {},
        group_key=group_key,
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
    )
    checked_actions = notification_actions.validated(actions)
    recipient_ids = preferences.in_app_recipients(category, existing_user_ids(list(users)))
    actor_user = _actor(actor)
    now = timezone.now()
    template = Notification(
        category=category,
        level=level_for(category, level),
        title=title,
        message=message,
        data=data if data is not None else {},
        actor=actor_user,
        actors=_actor_entries(actor_user),
        created_at=now,
        expires_at=expires_at,
        actions=checked_actions,
        group_key=group_key,
        group_open=bool(group_key),
        group_started_at=now if group_key else None,
        **_target_fields(target),
    )
    if target is not None:
        # Kept on the row (and its copies): serialising the url reads no target back.
        template.target = target
    # Validates lengths (group_key's too), choices and JSON without a query per row.
    template.full_clean(
        exclude=["recipient", "actor", "target_content_type"],
        validate_unique=False,
        validate_constraints=False,
    )
    placed: list[tuple[Notification, Notification | None]]
    with transaction.atomic():
        if group_key:
            placed = grouping.fold_into_groups(template, recipient_ids)
        else:
            rows = [grouping.copy_for(template, recipient_id) for recipient_id in recipient_ids]
            placed = [(notification, None) for notification in bulk.insert_all(rows)]
        notifications = [notification for notification, _ in placed]
        fresh = [notification for notification, replaced in placed if replaced is None]
        grown = [(row, replaced.pk) for row, replaced in placed if replaced is not None]
        changes = counters.CountChanges()
        for row, replaced in placed:
            before = counters.state_of(replaced) if replaced is not None else None
            changes.row(row.recipient_id, before, counters.state_of(row), expires_at=row.expires_at)
        # Every new row is the same notification for another recipient: serialised once.
        new = [
            (notification.recipient_id, {"notification": payload})
            for notification, payload in zip(fresh, copies_payloads(fresh), strict=True)
        ]
        # A grown group carries its own count and actors: serialised each.
        grown_payloads = notification_payloads([row for row, _ in grown])
        regrouped = [
            (row.recipient_id, {"notification": payload, "replaces": replaces})
            for (row, replaces), payload in zip(grown, grown_payloads, strict=True)
        ]
        # One call: the recipients' stream heads are locked in one ascending order.
        events.send_all_on_commit(
            [(EventKind.CREATED, recipient, payload) for recipient, payload in new]
            + [(EventKind.UPDATED, recipient, payload) for recipient, payload in regrouped],
            counts=changes,
        )
    return notifications


def lock_recipients(users: Iterable[UserRef], *, group_key: str = "") -> None:
    """Take now the locks that later notifications to these users in this transaction take.

    For a transaction that notifies the same users in several calls (a mention, then a
    grouped comment): the group locks of `group_key`, then the users' stream heads, each
    in ascending order, the order every single write takes them. Calls that follow wait
    for nothing more, so the transaction cannot deadlock with another write.
    """
    user_ids = sorted({user_id_of(user) for user in users})
    grouping.lock_groups(user_ids, group_key)
    positions.lock_heads(user_ids)


def level_for(category: str, level: int | None) -> int:
    """The given level, or the category's default; an unknown category is UnknownCategory."""
    default = categories.get(category).default_level
    return level if level is not None else default


def _actor_entries(actor: AbstractBaseUser | None) -> list[dict[str, Any]]:
    if actor is None:
        return []
    return [{"id": actor.pk, "username": actor.get_username()}]


def _actor(actor: UserRef | None) -> User | None:
    """The actor as a user instance, fetched once, so a batch serialises without a query each."""
    if actor is None or isinstance(actor, AbstractBaseUser):
        return actor
    try:
        return get_user_model()._default_manager.get(pk=user_id_of(actor))
    except get_user_model().DoesNotExist:
        raise ValueError(f"No user with id {actor} to be the actor.") from None


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
