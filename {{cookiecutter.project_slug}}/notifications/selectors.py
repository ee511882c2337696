"""Every read of notifications and broadcasts, already scoped to one user."""

from django.db.models import Count, Exists, Max, OuterRef, QuerySet, Subquery

from notifications.models import Broadcast, BroadcastReceipt, Notification, NotificationQuerySet
from notifications.users import UserRef, user_id_of


def notifications_for(
    user: UserRef,
    *,
    category: str | None = None,
    unread: bool | None = None,
    since: int | None = None,
) -> NotificationQuerySet:
    """A user's live notifications, newest first, filtered as asked."""
    queryset = (
        Notification.objects.alive()
        .filter(recipient_id=user_id_of(user))
        .select_related("actor", "target_content_type")
    )
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
    """One live notification of the user; another user's is Notification.DoesNotExist."""
    return notifications_for(user).get(pk=notification_id)


def unread_count(user: UserRef) -> int:
    return Notification.objects.alive().unread().filter(recipient_id=user_id_of(user)).count()


def unread_counts_by_category(user: UserRef) -> dict[str, int]:
    rows = (
        Notification.objects.alive()
        .unread()
        .filter(recipient_id=user_id_of(user))
        .values("category")
        .annotate(count=Count("id"))
        .order_by("category")
    )
    return {row["category"]: row["count"] for row in rows}


def unread_counts_for_users(user_ids: list[int]) -> dict[int, int]:
    """Unread totals of many users in one query, for pushing a batch."""
    rows = (
        Notification.objects.alive()
        .unread()
        .filter(recipient_id__in=user_ids)
        .values("recipient_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts = {row["recipient_id"]: row["count"] for row in rows}
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}


def latest_id(user: UserRef) -> int:
    """The newest notification id the user has, 0 if none: a client's resume position."""
    result = Notification.objects.filter(recipient_id=user_id_of(user)).aggregate(last=Max("id"))
    return result["last"] or 0


def missed_since(user: UserRef, since: int, *, limit: int) -> tuple[list[Notification], bool]:
    """What the user missed after `since`, oldest first, and whether that is all of it.

    Fetches one row past the limit to tell "exactly limit" from "more than limit"; a gap
    larger than the limit returns nothing, so recovery is never partial and silent.
    """
    rows = list(notifications_for(user, since=since).order_by("id")[: limit + 1])
    if len(rows) > limit:
        return [], False
    return rows, True


def broadcasts_for(
    user: UserRef,
    *,
    category: str | None = None,
    unread: bool | None = None,
    since: int | None = None,
) -> QuerySet[Broadcast]:
    """Live broadcasts, newest first, each annotated with this user's `read_at`."""
    receipts = BroadcastReceipt.objects.filter(broadcast=OuterRef("pk"), user_id=user_id_of(user))
    queryset = Broadcast.objects.alive().annotate(
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
