"""Every read of notifications, broadcasts and the event stream, already scoped to one user."""

import functools
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications.models import (
    COUNTED,
    Broadcast,
    BroadcastReceipt,
    Event,
    Notification,
    NotificationQuerySet,
    unexpired,
)
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


def stream_of(user: UserRef) -> QuerySet[Event]:
    """The user's stream: their own events and every user's (broadcasts), oldest first."""
    return Event.objects.filter(
        Q(recipient_id=user_id_of(user)) | Q(recipient__isnull=True)
    ).order_by("id")


def latest_position(user: UserRef) -> int:
    """The id of the newest event of the user's stream, 0 if none: a client's position."""
    own = Event.objects.filter(recipient_id=user_id_of(user)).aggregate(last=Max("id"))
    return max(own["last"] or 0, latest_everyone_position())


def latest_everyone_position() -> int:
    last = Event.objects.filter(recipient__isnull=True).aggregate(last=Max("id"))["last"]
    return last or 0


def latest_positions(user_ids: list[int]) -> dict[int, int]:
    """The newest position of each user's stream, in one query per 500 users plus one."""
    everyone = latest_everyone_position()
    positions = dict.fromkeys(user_ids, everyone)
    for start in range(0, len(user_ids), COUNTS_BATCH_SIZE):
        rows = (
            Event.objects.filter(recipient_id__in=user_ids[start : start + COUNTS_BATCH_SIZE])
            .values_list("recipient_id")
            .annotate(last=Max("id"))
            .order_by()
        )
        for user_id, last in rows:
            positions[user_id] = max(positions[user_id], last)
    return positions


def position_expired(since: int) -> bool:
    """True when events after `since` may have been pruned, so a replay could miss some.

    A client's position is the id of an event it received; once retention pruned that event,
    no row at or before it is left.
    """
    return since > 0 and not Event.objects.filter(id__lte=since).exists()


def events_after(user: UserRef, since: int, *, limit: int) -> tuple[list[Event], bool]:
    """The user's events after `since`, oldest first, and whether that is all of them.

    Fetches one row past the limit to tell "exactly limit" from "more than limit". A gap
    larger than the limit, or reaching past retention, returns nothing: recovery is never
    partial and silent. Events that bring an item which has expired since are left out.
    """
    if position_expired(since):
        return [], False
    rows = list(stream_of(user).filter(id__gt=since)[: limit + 1])
    if len(rows) > limit:
        return [], False
    now = timezone.now()
    return [row for row in rows if not brings_expired_item(row.payload, now)], True


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
