"""Every read of notifications, broadcasts and the event stream, already scoped to one user."""

from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications.models import (
    ALIVE,
    Broadcast,
    BroadcastReceipt,
    Event,
    Notification,
    NotificationQuerySet,
    unexpired,
)
from notifications.stream import counters, positions
from notifications.stream.positions import InvalidPosition, Position
from notifications.users import UserRef, user_id_of


def notifications_for(
    user: UserRef,
    *,
    category: str | None = None,
    unread: bool | None = None,
    archived: bool | None = False,
    snoozed: bool | None = False,
    since: int | None = None,
) -> NotificationQuerySet:
    """A user's live, unexpired notifications, newest first, filtered as asked.

    `archived`: False (the inbox) leaves archived ones out, True lists only them, None both.
    `snoozed`: the same for snoozed ones (an archived one is never snoozed).
    """
    queryset = (
        Notification.objects.alive()
        .filter(unexpired(), recipient_id=user_id_of(user))
        .select_related("actor", "target_content_type")
    )
    if archived is not None:
        queryset = queryset.filter(archived_at__isnull=not archived)
    if snoozed is not None:
        queryset = queryset.filter(snoozed_until__isnull=not snoozed)
    if category is not None:
        queryset = queryset.filter(category=category)
    if unread is True:
        queryset = queryset.filter(read_at__isnull=True)
    elif unread is False:
        queryset = queryset.filter(read_at__isnull=False)
    if since is not None:
        queryset = queryset.filter(id__gt=since)
    return queryset.order_by("-id")


def get_notification(user: UserRef, notification_id: int) -> Notification:
    """One live notification of the user, archived or not; another user's is DoesNotExist."""
    return notifications_for(user, archived=None, snoozed=None).get(pk=notification_id)


def unread_count(user: UserRef) -> int:
    return counts(user)["unread"]


def unread_counts_by_category(user: UserRef) -> dict[str, int]:
    by_category = counts(user)["by_category"]
    return {name: entry["unread"] for name, entry in by_category.items() if entry["unread"]}


def counts_for_users(user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each user's exact counts, {"unread", "unseen", "by_category": {category: {"unread",
    "unseen"}}}, over the inbox (not archived, not expired): read from the users' head rows,
    where every write keeps them (notifications/stream/counters.py), in one query per 1,000
    users."""
    return counters.read_counts(user_ids)


def counts(user: UserRef) -> dict[str, Any]:
    """The user's exact counts: what `counts/` answers and every event frame carries."""
    user_id = user_id_of(user)
    return counts_for_users([user_id])[user_id]


# The event stream --------------------------------------------------------------------------


def stream_after(user: UserRef, since: Position) -> QuerySet[Event]:
    """The user's events after `since`: their own and the broadcasts', oldest first."""
    return Event.objects.filter(
        Q(recipient_id=user_id_of(user), position__gt=since.own)
        | Q(recipient__isnull=True, position__gt=since.everyone)
    ).order_by("id")


def latest_position(user: UserRef) -> Position:
    """The newest position of the user's stream: where a client starts."""
    return positions.head(user_id_of(user))


def latest_positions(user_ids: list[int]) -> dict[int, Position]:
    """The newest position of each user's stream, in one query per 1,000 users."""
    return positions.heads(user_ids)


@dataclass(frozen=True)
class Replay:
    """What a resume from a position gets: its events, and whether they are all it missed."""

    # Each event to send, with the position after it.
    events: list[tuple[Event, Position]]
    # False: the position is past the replay cap or pruned; `events` is empty then.
    recovered: bool
    # Where the client stands after these events (the newest position when not recovered).
    position: Position


def events_after(user: UserRef, since: Position, *, limit: int) -> Replay:
    """The user's events after `since`, oldest first, and whether that is all of them.

    Fetches one row past the limit to tell "exactly limit" from "more than limit". A gap
    larger than the limit, or reaching into what pruning deleted, returns nothing: recovery
    is never partial and silent. The rows are read before the streams' floors: pruning moves
    a floor and deletes below it in one transaction, so a prune that commits between the two
    reads makes this answer `recovered: False` (the rows read were complete, the verdict is
    cautious), and one that committed before both shows in the floors. Events that bring an
    item deleted or expired since are left out; they still move the position.
    Raises InvalidPosition for a position ahead of the stream (never handed out).
    """
    user_id = user_id_of(user)
    rows = list(stream_after(user_id, since)[: limit + 1])
    head, floor = positions.head_and_floor(user_id)
    if not head.covers(since):
        raise InvalidPosition("since: ahead of the newest event.")
    if len(rows) > limit or not since.covers(floor):
        return Replay([], False, head)
    kept = set(map(id, without_gone_items(rows)))
    events = []
    position = since
    for row in rows:
        position = advanced(position, row)
        if id(row) in kept:
            events.append((row, position))
    return Replay(events, True, position)


def advanced(position: Position, event: Event) -> Position:
    """The position after `event`."""
    if event.recipient_id is None:
        return Position(position.own, event.position)
    return Position(event.position, position.everyone)


def without_gone_items(rows: list[Event]) -> list[Event]:
    """The events whose notification or broadcast is still there and unexpired."""
    now = timezone.now()
    notification_ids = {item_id(row, "notification") for row in rows} - {None}
    broadcast_ids = {item_id(row, "broadcast") for row in rows} - {None}
    gone_notifications = notification_ids - _alive_ids(Notification, notification_ids)
    gone_broadcasts = broadcast_ids - _alive_ids(Broadcast, broadcast_ids)
    kept = []
    for row in rows:
        if item_id(row, "notification") in gone_notifications:
            continue
        if item_id(row, "broadcast") in gone_broadcasts:
            continue
        if brings_expired_item(row.payload, now):
            continue
        kept.append(row)
    return kept


def _alive_ids(model: type[Notification] | type[Broadcast], ids: set[Any]) -> set[Any]:
    if not ids:
        return set()
    return set(model._default_manager.filter(ALIVE, pk__in=ids).values_list("pk", flat=True))


def item_id(event: Event, key: str) -> int | None:
    item = event.payload.get(key)
    return item.get("id") if isinstance(item, dict) else None


def brings_expired_item(payload: dict[str, Any], now: datetime) -> bool:
    """True when the event carries a notification or broadcast whose expiry has passed."""
    item = payload.get("notification") or payload.get("broadcast")
    if not isinstance(item, dict) or not item.get("expires_at"):
        return False
    expires_at = parse_datetime(str(item["expires_at"]))
    return expires_at is not None and expires_at <= now


def broadcasts_for(
    user: UserRef,
    *,
    category: str | None = None,
    unread: bool | None = None,
    archived: bool | None = False,
    since: int | None = None,
) -> QuerySet[Broadcast]:
    """Live, unexpired broadcasts, newest first, each annotated with this user's `read_at` and
    `archived_at`.

    `archived`: False (the inbox) leaves out those the user archived, True lists only them,
    None both.
    """
    receipts = BroadcastReceipt.objects.filter(broadcast=OuterRef("pk"), user_id=user_id_of(user))
    queryset = Broadcast.objects.current().annotate(
        read_at=Subquery(receipts.values("read_at")[:1]),
        archived_at=Subquery(receipts.values("archived_at")[:1]),
        is_read=Exists(receipts),
    )
    if archived is not None:
        queryset = queryset.filter(archived_at__isnull=not archived)
    if category is not None:
        queryset = queryset.filter(category=category)
    if unread is True:
        queryset = queryset.filter(is_read=False)
    elif unread is False:
        queryset = queryset.filter(is_read=True)
    if since is not None:
        queryset = queryset.filter(id__gt=since)
    return queryset.order_by("-id")


def get_broadcast(user: UserRef, broadcast_id: int) -> Broadcast:
    """One current broadcast with this user's read and archive state; else DoesNotExist."""
    return broadcasts_for(user, archived=None).get(pk=broadcast_id)


def broadcast_unread_count(user: UserRef) -> int:
    """Unread broadcasts of the user; an archived one is read, so never among them."""
    return broadcasts_for(user, unread=True, archived=None).count()


# Who may keep a socket open ---------------------------------------------------------------


def active_user_ids(user_ids: list[int]) -> set[int]:
    """The ids among `user_ids` of users that still exist and are active, in one query."""
    users = get_user_model()._default_manager.filter(pk__in=user_ids, is_active=True)
    return set(users.values_list("pk", flat=True))


def live_session_keys(session_keys: list[str]) -> set[str]:
    """The keys among `session_keys` of sessions that have not ended or expired."""
    if not session_keys:
        return set()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, DatabaseSessionStore):
        live = store.get_model_class().objects.filter(
            session_key__in=session_keys, expire_date__gt=timezone.now()
        )
        return set(live.values_list("session_key", flat=True))
    return {key for key in session_keys if store().exists(key)}
