"""Subscribing and unsubscribing browsers: one row per endpoint, at most a few per user."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import PushSubscription
from notifications.users import UserRef, user_id_of


def subscribe(user: UserRef, *, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Store the browser's subscription for the user (again: its keys and date are renewed).

    An endpoint is one browser profile, so one already stored moves to this user: whoever signs
    in on that browser last gets its pushes. Past NOTIFICATIONS_PUSH_MAX_SUBSCRIPTIONS per user
    the oldest are dropped, as a browser that stopped using its subscription never says so.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        # One upsert: two requests for one endpoint at once both succeed, the last one wins.
        PushSubscription.objects.bulk_create(
            [
                PushSubscription(
                    user_id=user_id,
                    endpoint=endpoint,
                    p256dh=p256dh,
                    auth=auth,
                    created_at=timezone.now(),
                )
            ],
            update_conflicts=True,
            unique_fields=["endpoint"],
            update_fields=["user", "p256dh", "auth", "created_at"],
        )
        oldest = PushSubscription.objects.filter(user_id=user_id).order_by("-created_at", "-pk")[
            settings.NOTIFICATIONS_PUSH_MAX_SUBSCRIPTIONS :
        ]
        PushSubscription.objects.filter(pk__in=list(oldest.values_list("pk", flat=True))).delete()
    return PushSubscription.objects.get(endpoint=endpoint)


def unsubscribe(user: UserRef, endpoint: str) -> bool:
    """Forget the user's subscription at this endpoint; False when the user has none there."""
    deleted, _ = PushSubscription.objects.filter(
        user_id=user_id_of(user), endpoint=endpoint
    ).delete()
    return deleted > 0


def count(user: UserRef) -> int:
    return PushSubscription.objects.filter(user_id=user_id_of(user)).count()
