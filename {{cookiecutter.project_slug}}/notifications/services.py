"""NotificationService: every write to notifications and broadcasts.

Each write stores its rows and its events inside one transaction and publishes the events on
commit (events.send_on_commit), so what a client hears is always stored and can be replayed.
Each method does its own scoped lookup: callers validate input and serialise the result.
"""

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import salted_hmac

from notifications import actions as notification_actions
from notifications import (
    bulk,
    categories,
    counters,
    events,
    limits,
    preferences,
    selectors,
    streams,
)
from notifications.categories import StrOrPromise
from notifications.models import (
    SNOOZED,
    Broadcast,
    BroadcastReceipt,
    Event,
    EventKind,
    Notification,
    StreamHead,
)
from notifications.reader import languages
from notifications.serializers import (
    broadcast_payload,
    copies_payloads,
    notification_payloads,
)
from notifications.users import User, UserRef, existing_user_ids, user_id_of

# Rows per query when locking, closing or deleting groups: within database parameter limits.
BATCH_SIZE = 500
# Events deleted per statement when pruning: short transactions, no long table lock.
PRUNE_BATCH_SIZE = 5000
# Actors a group keeps, newest first: enough for "Alice, Bob and 3 others".
MAX_GROUP_ACTORS = 5
# Broadcast ids one event names: its frame stays far below the socket's message limit.
MAX_IDS_PER_EVENT = 1000


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
        group_key: str = "",
        expires_at: datetime | None = None,
        actions: list[dict[str, Any]] | None = None,
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
            level=_level_for(category, level),
            title=title,
            message=message,
            data=data if data is not None else {},
            group_key=group_key or "",
            expires_at=expires_at,
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
        group_key: str = "",
        expires_at: datetime | None = None,
        actions: list[dict[str, Any]] | None = None,
    ) -> list[Notification]:
        """Store the same notification for many users in bulk; one event per user, one publish.

        With a `group_key`, a recipient whose group of that key is open (see
        `_fold_into_groups`) gets their group updated instead of a new inbox row, pushed as
        `updated`; the others get a new open group, pushed as `created`.
        Users who turned this category's inbox off are left out; returns the rows stored.
        A field over its limit (notifications/limits.py) is ContentTooLarge, a ValueError;
        `actions` (at most two buttons, notifications/actions.py) not valid is a ValidationError.
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
            level=_level_for(category, level),
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
                placed = _fold_into_groups(template, recipient_ids)
            else:
                rows = [_copy_for(template, recipient_id) for recipient_id in recipient_ids]
                placed = [(notification, None) for notification in bulk.insert_all(rows)]
            notifications = [notification for notification, _ in placed]
            fresh = [notification for notification, replaced in placed if replaced is None]
            grown = [(row, replaced.pk) for row, replaced in placed if replaced is not None]
            changes = counters.CountChanges()
            for row, replaced in placed:
                before = counters.state_of(replaced) if replaced is not None else None
                changes.row(
                    row.recipient_id, before, counters.state_of(row), expires_at=row.expires_at
                )
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

    @classmethod
    def lock_recipients(cls, users: Iterable[UserRef], *, group_key: str = "") -> None:
        """Take now the locks that later notifications to these users in this transaction take.

        For a transaction that notifies the same users in several calls (a mention, then a
        grouped comment): the group locks of `group_key`, then the users' stream heads, each
        in ascending order, the order every single write takes them. Calls that follow wait
        for nothing more, so the transaction cannot deadlock with another write.
        """
        user_ids = sorted({user_id_of(user) for user in users})
        lock_groups(user_ids, group_key)
        streams.lock_heads(user_ids)

    @classmethod
    def broadcast(
        cls,
        message: StrOrPromise,
        *,
        category: str = "system",
        level: int | None = None,
        title: StrOrPromise = "",
        data: dict[str, Any] | None = None,
        expires_at: datetime | None = None,
    ) -> Broadcast:
        """Store one broadcast for every user and push it to every connected socket.

        A field over its limit (notifications/limits.py) is ContentTooLarge, a ValueError.
        Lazy texts (gettext_lazy) are stored in every language: each reader sees theirs.
        """
        title, message, data = languages.broadcast_texts(title, message, data)
        limits.check_content(title=title, message=message, data=data)
        broadcast = Broadcast(
            category=category,
            level=_level_for(category, level),
            title=title,
            message=message,
            data=data if data is not None else {},
            expires_at=expires_at,
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
            changed, changes = _change_rows(unread.filter(id__lte=up_to_id), read=True)
            payload = {"all": True, "category": category, "up_to_id": up_to_id, "ids": []}
            events.send_on_commit(EventKind.READ, [(user_id, payload)], counts=changes)
        return sum(map(len, changed.values()))

    @classmethod
    def mark_all_seen(cls, user: UserRef, *, up_to: int | None = None) -> int:
        """Mark the user's unseen inbox notifications seen, those up to id `up_to` if given."""
        user_id = user_id_of(user)
        unseen = selectors.notifications_for(user_id).filter(seen_at__isnull=True)
        if up_to is not None:
            unseen = unseen.filter(id__lte=up_to)
        with transaction.atomic():
            up_to_id = unseen.aggregate(last=models.Max("id"))["last"]
            if up_to_id is None:
                return 0
            changed, changes = _change_rows(unseen.filter(id__lte=up_to_id), seen=True)
            events.send_on_commit(
                EventKind.SEEN, [(user_id, {"all": True, "up_to_id": up_to_id})], counts=changes
            )
        return sum(map(len, changed.values()))

    @classmethod
    def archive_notification(cls, notification_id: int, user: UserRef) -> Notification:
        """Move one of the user's notifications out of the inbox into the archive.

        It leaves the counts and closes its group: later ones of the key start a new group.
        """
        user_id = user_id_of(user)
        with transaction.atomic():
            notification = _locked(notification_id, user_id)
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
                    counts=_one_row(notification, before),
                )
        return notification

    @classmethod
    def unarchive_notification(cls, notification_id: int, user: UserRef) -> Notification:
        """Bring an archived notification back to the inbox; the event carries it whole."""
        user_id = user_id_of(user)
        with transaction.atomic():
            notification = _locked(notification_id, user_id)
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
                    counts=_one_row(notification, before),
                )
        return notification

    @classmethod
    def archive_all(cls, user: UserRef, *, read_only: bool = False) -> int:
        """Archive every inbox notification of the user, or only the read ones."""
        user_id = user_id_of(user)
        inbox = selectors.notifications_for(user_id, unread=False if read_only else None)
        with transaction.atomic():
            up_to_id = inbox.aggregate(last=models.Max("id"))["last"]
            if up_to_id is None:
                return 0
            changed, changes = _change_rows(inbox.filter(id__lte=up_to_id), archive=True)
            payload = {"all": True, "read_only": read_only, "up_to_id": up_to_id}
            events.send_on_commit(EventKind.ARCHIVED, [(user_id, payload)], counts=changes)
        return sum(map(len, changed.values()))

    @classmethod
    def mark_read_by_ids(cls, notification_ids: Iterable[int]) -> int:
        """Mark these notifications read, whoever receives them (the admin's action).

        One event per recipient names the rows this call changed.
        """
        with transaction.atomic():
            unread = Notification.objects.alive().unread().filter(pk__in=list(notification_ids))
            by_user, changes = _change_rows(unread, read=True)
            events.send_on_commit(
                EventKind.READ,
                [(user_id, {"ids": ids}) for user_id, ids in sorted(by_user.items())],
                counts=changes,
            )
        return sum(map(len, by_user.values()))

    @classmethod
    def delete_by_ids(cls, notification_ids: Iterable[int]) -> int:
        """Soft-delete these notifications, whoever receives them (the admin's delete)."""
        with transaction.atomic():
            alive = Notification.objects.alive().filter(pk__in=list(notification_ids))
            by_user, changes = _change_rows(alive, delete=True)
            events.send_on_commit(
                EventKind.DELETED,
                [(user_id, {"ids": ids}) for user_id, ids in sorted(by_user.items())],
                counts=changes,
            )
        return sum(map(len, by_user.values()))

    @classmethod
    def delete_notification(cls, notification_id: int, user: UserRef) -> None:
        """Soft-delete one of the user's notifications; it leaves every list and count."""
        user_id = user_id_of(user)
        with transaction.atomic():
            notification = _locked(notification_id, user_id)
            before = counters.state_of(notification)
            notification.deleted_at = timezone.now()
            notification.group_open = False
            notification.save(update_fields=["deleted_at", "group_open"])
            events.send_on_commit(
                EventKind.DELETED,
                [(user_id, {"ids": [notification.pk]})],
                counts=_one_row(notification, before),
            )

    @classmethod
    def mark_broadcast_read(
        cls, broadcast_id: int, user: UserRef, category: str | None = None
    ) -> BroadcastReceipt:
        """Record that the user read a broadcast, of `category` when given.

        Reading it again keeps the first time; a missing broadcast is Broadcast.DoesNotExist.
        """
        user_id = user_id_of(user)
        broadcasts = Broadcast.objects.current()
        if category is not None:
            broadcasts = broadcasts.filter(category=categories.get(category).name)
        with transaction.atomic():
            lock_receipts(user_id)
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
    def mark_all_broadcasts_read(cls, user: UserRef, category: str | None = None) -> int:
        """Record that the user read every current broadcast, optionally of one category.

        One `broadcast_read` event names the broadcasts this call marked (one per
        MAX_IDS_PER_EVENT of them); those read before are left as they are.
        """
        user_id = user_id_of(user)
        if category is not None:
            categories.get(category)
        with transaction.atomic():
            lock_receipts(user_id)
            unread = selectors.broadcasts_for(
                user_id, category=category, unread=True, archived=None
            )
            ids = list(unread.order_by("id").values_list("id", flat=True))
            now = timezone.now()
            BroadcastReceipt.objects.bulk_create(
                [BroadcastReceipt(broadcast_id=pk, user_id=user_id, read_at=now) for pk in ids],
                batch_size=BATCH_SIZE,
            )
            events.send_on_commit(
                EventKind.BROADCAST_READ,
                [(user_id, {"ids": chunk}) for chunk in _chunks(ids, MAX_IDS_PER_EVENT)],
            )
        return len(ids)

    @classmethod
    def archive_broadcast(cls, broadcast_id: int, user: UserRef) -> BroadcastReceipt:
        """Move a broadcast out of the user's inbox into their archive; it is read from then on.

        A `broadcast_read` event comes first when it was unread, then `broadcast_archived`.
        A missing broadcast is Broadcast.DoesNotExist.
        """
        user_id = user_id_of(user)
        with transaction.atomic():
            lock_receipts(user_id)
            broadcast = Broadcast.objects.current().get(pk=broadcast_id)
            now = timezone.now()
            receipt, created = BroadcastReceipt.objects.get_or_create(
                broadcast=broadcast, user_id=user_id, defaults={"read_at": now, "archived_at": now}
            )
            changes: list[events.Change] = []
            if created:
                changes.append((EventKind.BROADCAST_READ, user_id, {"ids": [broadcast.pk]}))
            elif receipt.archived_at is None:
                receipt.archived_at = now
                receipt.save(update_fields=["archived_at"])
            else:
                return receipt
            changes.append((EventKind.BROADCAST_ARCHIVED, user_id, {"ids": [broadcast.pk]}))
            events.send_all_on_commit(changes)
        return receipt

    @classmethod
    def unarchive_broadcast(cls, broadcast_id: int, user: UserRef) -> BroadcastReceipt | None:
        """Bring a broadcast the user archived back to their inbox, still read.

        The event carries the broadcast whole, so a client can show it again. One not
        archived is left alone (None when the user never read it); a missing one is
        Broadcast.DoesNotExist.
        """
        user_id = user_id_of(user)
        with transaction.atomic():
            lock_receipts(user_id)
            broadcast = Broadcast.objects.current().get(pk=broadcast_id)
            receipt = BroadcastReceipt.objects.filter(broadcast=broadcast, user_id=user_id).first()
            if receipt is not None and receipt.archived_at is not None:
                receipt.archived_at = None
                receipt.save(update_fields=["archived_at"])
                payload = {"ids": [broadcast.pk], "broadcast": broadcast_payload(broadcast)}
                events.send_on_commit(EventKind.BROADCAST_UNARCHIVED, [(user_id, payload)])
        return receipt

    @classmethod
    def delete_broadcast(cls, broadcast_id: int) -> None:
        """Delete a broadcast for every user; sockets hear it, and replays leave it out."""
        with transaction.atomic():
            deleted = (
                Broadcast.objects.alive().filter(pk=broadcast_id).update(deleted_at=timezone.now())
            )
            if deleted:
                events.send_on_commit(
                    EventKind.BROADCAST_DELETED, [(None, {"ids": [broadcast_id]})]
                )

    @classmethod
    def snooze_notification(
        cls, notification_id: int, user: UserRef, until: datetime
    ) -> Notification:
        """Take one of the user's inbox notifications out of the inbox and the counts until
        `until`; snoozing a snoozed one moves its time. A time in the past or past the cap
        (NOTIFICATIONS_SNOOZE_MAX_DAYS) is a ValidationError; an archived one is not found."""
        return snooze(notification_id, user, until)

    @classmethod
    def unsnooze_notification(cls, notification_id: int, user: UserRef) -> Notification:
        """Bring a snoozed notification back to the inbox now, read or unread as it was."""
        return unsnooze(notification_id, user)

    @classmethod
    def run_action(cls, notification_id: int, user: UserRef, index: int) -> dict[str, Any]:
        """Run the server action at `index` of one of the user's notifications, once."""
        return run_action(notification_id, user, index)

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
                before = counters.state_of(notification)
                notification.read_at = timezone.now() if read else None
                # Reading implies seeing; unreading leaves it seen.
                notification.seen_at = notification.seen_at or notification.read_at
                notification.save(update_fields=["read_at", "seen_at"])
                kind = EventKind.READ if read else EventKind.UNREAD
                events.send_on_commit(
                    kind,
                    [(user_id, {"ids": [notification.pk]})],
                    counts=_one_row(notification, before),
                )
        return notification


# Snooze -------------------------------------------------------------------------------------


def snooze(notification_id: int, user: UserRef, until: datetime) -> Notification:
    """See NotificationService.snooze_notification. Locks the row, then the stream head."""
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
            EventKind.SNOOZED, [(user_id, payload)], counts=_one_row(notification, before)
        )
    return notification


def unsnooze(notification_id: int, user: UserRef) -> Notification:
    """See NotificationService.unsnooze_notification. One that is not snoozed (woken a moment
    ago, say) is returned unchanged, with no event."""
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
                .order_by("id")[:PRUNE_BATCH_SIZE]
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
    for batch in _batches([row.pk for row in rows]):
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


# Actions ------------------------------------------------------------------------------------


def run_action(notification_id: int, user: UserRef, index: int) -> dict[str, Any]:
    """Call the handler of the notification's server action at `index`, once ever.

    Returns {"index", "result", "done_at", "ran"}; `ran` is False when an earlier run did it,
    and the stored result comes back without calling the handler. The run holds the row's
    lock from before it reads the stored results until it commits, so two runs at once (a
    double click, two tabs, two servers) call the handler once: the second waits, then finds
    the result. The handler runs inside that transaction: an exception stores nothing. The
    result is pushed to every socket of the user as `action_done`. Another user's
    notification is Notification.DoesNotExist; an index with no server action is a
    ValidationError.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        notification = _locked(notification_id, user_id)
        actions = notification.actions if isinstance(notification.actions, list) else []
        if not 0 <= index < len(actions) or "action" not in actions[index]:
            raise ValidationError(
                {
                    "index": [
                        f"Notification {notification_id} has no server action at index {index}."
                    ]
                }
            )
        stored = notification.action_results.get(str(index))
        if stored is not None:
            return {"index": index, **stored, "ran": False}
        name = actions[index]["action"]
        try:
            handler = notification_actions.handler(name)
        except KeyError:
            raise ValidationError({"index": [f"The action {name!r} is not registered."]}) from None
        recipient = (
            user
            if isinstance(user, AbstractBaseUser)
            else get_user_model()._default_manager.get(pk=user_id)
        )
        result = notification_actions.checked_result(name, handler(recipient, notification))
        done = {"result": result, "done_at": timezone.now().isoformat()}
        notification.action_results = {**notification.action_results, str(index): done}
        notification.save(update_fields=["action_results"])
        payload = {
            "ids": [notification.pk],
            "index": index,
            **done,
            "notification": notification_payloads([notification])[0],
        }
        events.send_on_commit(EventKind.ACTION_DONE, [(user_id, payload)])
    return {"index": index, **done, "ran": True}


def lock_receipts(user_id: int) -> None:
    """Take the user's stream head before reading or writing their broadcast receipts.

    Every receipt write of the user does, so they run one at a time: what one reads as
    unread is still unread when it inserts, and its event names exactly what it changed.
    The head is the lock the write's event takes anyway, so no new lock order appears.
    """
    streams.lock_heads([user_id])


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def end_sockets(user_id: int, *, reason: str, session_key: str | None = None) -> None:
    """Close the user's open sockets, or only those of one session, within seconds.

    Runs through the stream like any write, so every server process hears it.
    """
    payload = {"reason": reason, "session": session_tag(session_key) if session_key else None}
    with transaction.atomic():
        events.send_on_commit(EventKind.REVOKED, [(user_id, payload)])


def session_tag(session_key: str) -> str:
    """Names a session in an event without revealing its key, which is a credential."""
    return salted_hmac("notifications.session", session_key, algorithm="sha256").hexdigest()[:32]


def prune_events(*, older_than: datetime) -> int:
    """Delete the stream's events created before `older_than`, in bounded batches.

    Each batch raises the floors of the streams it deletes from in the same transaction, so a
    replay that reaches below a floor answers `recovered: false` instead of a partial replay.
    Head rows are locked in ascending order, as every write locks them.
    """
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                Event.objects.filter(created_at__lt=older_than)
                .order_by("id")
                .values_list("id", "recipient_id", "position")[:PRUNE_BATCH_SIZE]
            )
            if not batch:
                return deleted
            reached: dict[int, int] = {}
            for _, recipient_id, position in batch:
                stream = streams.stream_of(recipient_id)
                reached[stream] = max(reached.get(stream, 0), position)
            streams.raise_floors(reached)
            deleted += Event.objects.filter(id__in=[row[0] for row in batch]).delete()[0]


def prune_expired(*, now: datetime | None = None) -> int:
    """Delete the notifications and broadcasts whose expiry has passed, in bounded batches."""
    now = now or timezone.now()
    deleted = expire_notifications(now=now)
    while True:
        batch = list(
            Broadcast.objects.filter(expires_at__lte=now).values_list("id", flat=True)[
                :PRUNE_BATCH_SIZE
            ]
        )
        if not batch:
            return deleted
        deleted += Broadcast.objects.filter(id__in=batch).delete()[1].get(Broadcast._meta.label, 0)


def expire_notifications(*, now: datetime | None = None) -> int:
    """Delete the notifications whose expiry has passed and take them out of the counts.

    The owners' sockets hear `deleted` for the items they still had in their lists, with the
    counts. Each user whose head row said an item may have expired gets an exact
    `next_expiry` again, so readers go back to the stored counts. Runs on a schedule
    (JOBS_EXPIRY_SECONDS) and with pruning. Rows are locked before heads, as every write does.
    """
    now = now or timezone.now()
    deleted = 0
    while True:
        with transaction.atomic():
            rows = list(
                Notification.objects.filter(expires_at__lte=now)
                .select_for_update(of=("self",))
                .order_by("id")
                .only(*STATE_FIELDS)[:PRUNE_BATCH_SIZE]
            )
            if not rows:
                break
            changes = counters.CountChanges()
            gone: dict[int, list[int]] = {}
            for row in rows:
                changes.row(row.recipient_id, counters.state_of(row), None)
                if row.deleted_at is None:
                    gone.setdefault(row.recipient_id, []).append(row.pk)
            for batch in _batches([row.pk for row in rows]):
                deleted += (
                    Notification.objects.filter(pk__in=batch)
                    .delete()[1]
                    .get(Notification._meta.label, 0)
                )
            _settle_expiries(sorted({row.recipient_id for row in rows}), gone, changes)
    # Heads that still say "expired" had their item read, archived or deleted before it
    # expired: their next expiry is later, or none.
    after = -1
    while True:
        with transaction.atomic():
            stale = list(
                StreamHead.objects.filter(next_expiry__lte=now, stream__gt=after)
                .order_by("stream")
                .values_list("stream", flat=True)[:PRUNE_BATCH_SIZE]
            )
            if not stale:
                return deleted
            _settle_expiries(stale, {}, counters.CountChanges())
            after = stale[-1]


def recount(user_ids: Iterable[int] | None = None) -> int:
    """Rebuild the stored counts of these users (all when None) from their rows; returns how
    many users' counts were wrong (`manage.py recount_notifications`).

    Each batch locks its head rows first: a write that changed rows meanwhile waits, then
    adds its change to the recounted value, which does not hold it yet.
    """
    if user_ids is None:
        with_heads = StreamHead.objects.exclude(stream=streams.EVERYONE).values_list(
            "stream", flat=True
        )
        with_rows = Notification.objects.values_list("recipient_id", flat=True).distinct()
        user_ids = set(with_heads) | set(with_rows)
    repaired = 0
    for batch in _batches(sorted(set(user_ids))):
        with transaction.atomic():
            streams.lock_heads(batch)
            counted = counters.counted_rows(batch)
            stored = dict(
                StreamHead.objects.filter(stream__in=batch).values_list("stream", "counts")
            )
            for user_id in batch:
                if stored.get(user_id, {}) != counted.get(user_id, {}):
                    StreamHead.objects.filter(stream=user_id).update(
                        counts=counted.get(user_id, {})
                    )
                    repaired += 1
            streams.set_next_expiries(batch, counters.next_expiries(batch))
    return repaired


def _settle_expiries(
    user_ids: list[int], gone: dict[int, list[int]], changes: counters.CountChanges
) -> None:
    """Tell the users' sockets which items expired, and store their next expiry."""
    streams.lock_heads(user_ids)
    events.send_on_commit(
        EventKind.DELETED,
        [(user_id, {"ids": ids, "expired": True}) for user_id, ids in sorted(gone.items())],
        counts=changes,
    )
    streams.set_next_expiries(user_ids, counters.next_expiries(user_ids))


def _one_row(notification: Notification, before: counters.RowState) -> counters.CountChanges:
    """What a change of this one row from `before` to its state now does to the counts."""
    changes = counters.CountChanges()
    changes.row(
        notification.recipient_id,
        before,
        counters.state_of(notification),
        expires_at=notification.expires_at,
    )
    return changes


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


def _change_rows(
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
    locked = list(
        rows.select_related(None)
        .select_for_update(of=("self",))
        .order_by("id")
        .only(*STATE_FIELDS, "expires_at")
    )
    by_user: dict[int, list[int]] = {}
    changes = counters.CountChanges()
    for row in locked:
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
    for batch in _batches([row.pk for row in locked]):
        Notification.objects.filter(pk__in=batch).update(**updates)
    return by_user, changes


def _locked(notification_id: int, user_id: int, category: str | None = None) -> Notification:
    """One live notification of the user, archived, snoozed or not, locked until the
    transaction ends."""
    return (
        selectors.notifications_for(user_id, category=category, archived=None, snoozed=None)
        .select_for_update(of=("self",))
        .get(pk=notification_id)
    )


# Grouping -----------------------------------------------------------------------------------


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
        for start in range(0, len(keys), BATCH_SIZE):
            # The subquery orders the locks; the outer one takes them in that order.
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(key)) FROM "
                "(SELECT unnest(%s::bigint[]) AS key ORDER BY key) AS ordered",
                [keys[start : start + BATCH_SIZE]],
            )


def _group_lock_key(recipient_id: int, group_key: str) -> int:
    """A stable signed 64-bit hash: the same in every process and across restarts."""
    digest = hashlib.blake2b(
        f"{recipient_id}:{group_key}".encode(), digest_size=8, person=b"notif-group"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def _fold_into_groups(
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
    for batch in _batches(recipient_ids):
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
    for batch in _batches(closed):
        Notification.objects.filter(pk__in=batch).update(group_open=False)
    for batch in _batches([row.pk for row in joined.values()]):
        Notification.objects.filter(pk__in=batch).delete()
    rows = [
        _copy_for(template, recipient_id, group=joined.get(recipient_id))
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


def _merged_actors(newest: list[dict[str, Any]], earlier: list[dict[str, Any]]) -> list[Any]:
    """The newest actors first, each once, at most MAX_GROUP_ACTORS."""
    merged: dict[Any, dict[str, Any]] = {}
    for entry in [*newest, *earlier]:
        merged.setdefault(entry.get("id"), entry)
    return list(merged.values())[:MAX_GROUP_ACTORS]


def _batches(values: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), BATCH_SIZE):
        yield values[start : start + BATCH_SIZE]


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


def _copy_for(
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
