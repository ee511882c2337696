"""Every read of notifications, broadcasts and the event stream, already scoped to one user."""

import functools
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications import streams
from notifications.models import (
    ALIVE,
    COUNTED,
    Broadcast,
    BroadcastReceipt,
    Event,
    Notification,
    NotificationQuerySet,
    unexpired,
)
from notifications.streams import InvalidPosition, Position
from notifications.users import UserRef, user_id_of


def notifications_for(
    user: UserRef,
    *,
    category: str | None = None,
    unread: bool | None = None,
    archived: bool | None = False,
    since: int | None = None,
) -> NotificationQuerySet:
    """A user's live, unexpired notifications, newest first, filtered as asked.

    `archived`: False (the inbox) leaves archived ones out, True lists only them, None both.
    """
    queryset = (
        Notification.objects.alive()
        .filter(unexpired(), recipient_id=user_id_of(user))
        .select_related("actor", "target_content_type")
    )
    if archived is not None:
        queryset = queryset.filter(archived_at__isnull=not archived)
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
    return notifications_for(user, archived=None).get(pk=notification_id)


def unread_count(user: UserRef) -> int:
    return Notification.objects.inbox().unread().filter(recipient_id=user_id_of(user)).count()


def unread_counts_by_category(user: UserRef) -> dict[str, int]:
    rows = (
        Notification.objects.inbox()
        .unread()
        .filter(recipient_id=user_id_of(user))
        .values("category")
        .annotate(count=Count("id"))
        .order_by("category")
    )
    return {row["category"]: row["count"] for row in rows}


# Users per counts query: keeps a fan-out's query within database parameter limits.
COUNTS_BATCH_SIZE = 500
# The field whose parameter (the current time) the compiled counts query takes at each call.
_EXPIRES_AT = Notification._meta.get_field("expires_at")


def counts_for_users(user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each user's exact counts, in one query per 500 users.

    {"unread", "unseen", "by_category": {category: {"unread", "unseen"}}}, counted over the
    inbox (not archived, not expired) by conditional aggregation in a single scan of the
    partial index `notif_counts_idx` alone, which holds every column the query names. Never
    capped.
    """
    user_ids = list(dict.fromkeys(user_ids))
    counts: dict[int, dict[str, Any]] = {
        user_id: {"unread": 0, "unseen": 0, "by_category": {}} for user_id in user_ids
    }
    now = timezone.now()
    alias = router.db_for_read(Notification)
    for start in range(0, len(user_ids), COUNTS_BATCH_SIZE):
        batch = user_ids[start : start + COUNTS_BATCH_SIZE]
        sql, params = _counts_statement(batch, now, alias)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for user_id, category, unread, unseen in rows:
            counts[user_id]["unread"] += unread
            counts[user_id]["unseen"] += unseen
            counts[user_id]["by_category"][category] = {"unread": unread, "unseen": unseen}
    return counts


def _counts_queryset(user_ids: list[int], now: datetime) -> QuerySet[Notification, Any]:
    return (
        Notification.objects.filter(COUNTED & unexpired(now), recipient_id__in=user_ids)
        .values_list("recipient_id", "category")
        # Counts a column of the index, not "id", which PostgreSQL would read from the table.
        .annotate(
            unread=Count("recipient", filter=Q(read_at__isnull=True)),
            unseen=Count("recipient", filter=Q(seen_at__isnull=True)),
        )
        .order_by()
    )


def _counts_statement(user_ids: list[int], now: datetime, alias: str) -> tuple[str, list[Any]]:
    """The counts query's SQL and parameters, compiled by Django once per number of users."""
    compiled = _compiled_counts(len(user_ids), alias)
    if compiled is None:
        sql, built = _counts_queryset(user_ids, now).query.get_compiler(alias).as_sql()
        return sql, list(built)
    sql, now_slot = compiled
    params: list[Any] = list(user_ids)
    params.insert(now_slot, _EXPIRES_AT.get_db_prep_value(now, connections[alias]))
    return sql, params


@functools.lru_cache(maxsize=32)
def _compiled_counts(size: int, alias: str) -> tuple[str, int] | None:
    """The SQL for `size` users, and where its one time parameter goes among the user ids.

    Django takes four times longer to build this query than the database takes to run it,
    and every push and every socket opening runs it: built once with stand-in ids (negative,
    so no user's), it runs with the real ones in their places. None if the parameters are
    not the ids in order plus the time, as a future Django might compile them: then the
    query is built each time.
    """
    stand_ins = [-(number + 1) for number in range(size)]
    query = _counts_queryset(stand_ins, timezone.now()).query
    sql, params = query.get_compiler(alias).as_sql()
    slots = [index for index, value in enumerate(params) if value not in stand_ins]
    ids = [value for value in params if value in stand_ins]
    if len(slots) != 1 or ids != stand_ins:
        return None
    return sql, slots[0]


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
    return streams.head(user_id_of(user))


def latest_positions(user_ids: list[int]) -> dict[int, Position]:
    """The newest position of each user's stream, in one query per 1,000 users."""
    return streams.heads(user_ids)


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
    head, floor = streams.head_and_floor(user_id)
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
    since: int | None = None,
) -> QuerySet[Broadcast]:
    """Live, unexpired broadcasts, newest first, each annotated with this user's `read_at`."""
    receipts = BroadcastReceipt.objects.filter(broadcast=OuterRef("pk"), user_id=user_id_of(user))
    queryset = Broadcast.objects.current().annotate(
        read_at=Subquery(receipts.values("read_at")[:1]),
        is_read=Exists(receipts),
    )
    if category is not None:
        queryset = queryset.filter(category=category)
    if unread is True:
        queryset = queryset.filter(is_read=False)
    elif unread is False:
        queryset = queryset.filter(is_read=True)
    if since is not None:
        queryset = queryset.filter(id__gt=since)
    return queryset.order_by("-id")


def broadcast_unread_count(user: UserRef) -> int:
    return broadcasts_for(user, unread=True).count()


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
