"""Sending Web Push messages: one encrypted payload per subscription, with pywebpush.

Runs in jobs only (notifications/jobs.py), never in a request: a push service may be slow or
down, and a fan-out reaches every browser of every recipient. Each message is encrypted for
its subscription (RFC 8291, aes128gcm) and signed with the VAPID key (RFC 8292). The level
sets how long a push service keeps a message for a browser that is offline (TTL) and how
urgently it delivers it (Urgency, RFC 8030); the answer decides what happens next: 201 sent,
404 or 410 the subscription is gone and removed, 429 and 5xx retried later.
"""

import base64
import hashlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from notifications import categories
from notifications.models import Level, Notification, PushSubscription, unexpired
from notifications.push import keys
from notifications.reader import preferences
from notifications.serializers import NotificationSerializer, dumps

logger = logging.getLogger(__name__)

# (Urgency, TTL in seconds) per level: a low notification is not worth waking a phone for and
# is stale after a few hours; a high one is delivered at once and kept for three days.
DELIVERY = {
    Level.LOW: ("low", 6 * 3600),
    Level.MEDIUM: ("normal", 24 * 3600),
    Level.HIGH: ("high", 72 * 3600),
}
# The largest plaintext one aes128gcm record carries in a 4096-byte push message (RFC 8291:
# 4096 minus the 86-byte header, the padding delimiter and the 16-byte tag). A longer message
# is cut to fit; the click opens the whole notification.
MAX_PAYLOAD_BYTES = 3993
# Seconds a push service may take to answer one message.
REQUEST_TIMEOUT = 10
# Messages sent at once by one job: a push service answers in tens of milliseconds, and a
# fan-out to thousands of browsers should not wait for each answer in turn.
CONCURRENT_SENDS = 10
# Statuses that end a subscription (RFC 8030 section 7.3: the subscription expired or was
# revoked) and statuses worth another try (the service is throttling or failing).
GONE = (404, 410)
RETRY = (429, 500, 502, 503, 504)
# Seconds before the first retry when the service gives no Retry-After (doubled per attempt),
# and the most a Retry-After may ask for.
DEFAULT_RETRY_AFTER = 60
MAX_RETRY_AFTER = 3600


@dataclass
class Outcome:
    """What one run sent, removed, and left for a retry (by notification, subscription ids)."""

    sent: int = 0
    removed: int = 0
    failed: int = 0
    retry: dict[int, list[int]] = field(default_factory=dict)
    # The longest Retry-After a service asked for; 0 when none did.
    retry_after: int = 0


def payload(notification: Notification, url: str | None) -> str:
    """The JSON the service worker shows: cut to MAX_PAYLOAD_BYTES."""
    content: dict[str, Any] = {
        "id": notification.pk,
        "title": notification.title or label_of(notification.category),
        "body": notification.message,
        "url": url or settings.NOTIFICATIONS_CENTRE_URL,
        "category": notification.category,
        "level": notification.level,
        "tag": tag(notification),
        "created_at": notification.created_at.isoformat(),
    }
    text = dumps(content)
    if len(text) <= MAX_PAYLOAD_BYTES:
        return text
    # Cut the body (JSON escapes may make a character up to 12 bytes) until it fits.
    body = notification.message
    low, high = 0, len(body)
    while low < high:
        middle = (low + high + 1) // 2
        if len(dumps({**content, "body": body[:middle] + "…"})) <= MAX_PAYLOAD_BYTES:
            low = middle
        else:
            high = middle - 1
    return dumps({**content, "body": body[:low] + "…"})


def label_of(category: str) -> str:
    return str(categories.get(category).label) if categories.is_registered(category) else category


def tag(notification: Notification) -> str:
    """Shown notifications with one tag replace each other: a group's updates share one."""
    if notification.group_key:
        return f"group:{notification.group_key}"
    return f"notification:{notification.pk}"


def topic(text: str) -> str:
    """An RFC 8030 Topic (at most 32 base64url characters): a newer message with the same topic
    replaces one the push service still holds."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def send_notifications(notification_ids: Iterable[int]) -> Outcome:
    """Push each notification to every subscribed browser of its recipient who wants it."""
    rows = list(
        Notification.objects.alive()
        .filter(unexpired(), pk__in=list(notification_ids), read_at__isnull=True)
        .select_related("actor", "target_content_type")
        .order_by("pk")
    )
    wanted: dict[int, set[int]] = {}
    for row in rows:
        wanted.setdefault(row.pk, set())
    for category in {row.category for row in rows}:
        in_category = [row for row in rows if row.category == category]
        users = set(
            preferences.push_recipients(category, [row.recipient_id for row in in_category])
        )
        for row in in_category:
            if row.recipient_id in users:
                wanted[row.pk].add(row.recipient_id)
    user_ids = set().union(*wanted.values()) if wanted else set()
    by_user: dict[int, list[PushSubscription]] = {}
    for subscription in PushSubscription.objects.filter(user_id__in=user_ids).order_by("pk"):
        by_user.setdefault(subscription.user_id, []).append(subscription)
    work = [
        (row, subscription)
        for row in rows
        if row.recipient_id in wanted[row.pk]
        for subscription in by_user.get(row.recipient_id, [])
    ]
    return deliver(work)


def send_again(notification_id: int, subscription_ids: list[int]) -> Outcome:
    """A retry: the subscriptions that were asked to wait, if still there and still wanting it."""
    row = (
        Notification.objects.alive()
        .filter(unexpired(), pk=notification_id, read_at__isnull=True)
        .select_related("actor", "target_content_type")
        .first()
    )
    if row is None or not preferences.push_recipients(row.category, [row.recipient_id]):
        return Outcome()
    subscriptions = PushSubscription.objects.filter(
        pk__in=subscription_ids, user_id=row.recipient_id
    ).order_by("pk")
    return deliver([(row, subscription) for subscription in subscriptions])


def deliver(work: list[tuple[Notification, PushSubscription]]) -> Outcome:
    outcome = Outcome()
    if not work or not keys.enabled():
        return outcome
    serializer = NotificationSerializer()
    texts = {row.pk: payload(row, serializer.to_representation(row)["url"]) for row, _ in work}
    with ThreadPoolExecutor(CONCURRENT_SENDS) as pool:
        answers = list(pool.map(lambda item: send_one(item[0], item[1], texts[item[0].pk]), work))
    gone = []
    for (row, subscription), (status, retry_after) in zip(work, answers, strict=True):
        if status is not None and 200 <= status < 300:
            outcome.sent += 1
        elif status in GONE:
            gone.append(subscription.pk)
        elif status is None or status in RETRY:
            outcome.retry.setdefault(row.pk, []).append(subscription.pk)
            outcome.retry_after = max(outcome.retry_after, retry_after)
        else:
            outcome.failed += 1
            logger.warning("Push to subscription %d refused with %d", subscription.pk, status)
    if gone:
        outcome.removed, _ = PushSubscription.objects.filter(pk__in=gone).delete()
    return outcome


def send_one(
    notification: Notification, subscription: PushSubscription, text: str
) -> tuple[int | None, int]:
    """Send one message; its HTTP status (None: no answer) and the seconds to wait on a retry."""
    urgency, ttl = DELIVERY.get(Level(notification.level), DELIVERY[Level.MEDIUM])
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        response = webpush(
            subscription_info=info,
            data=text,
            vapid_private_key=keys.signer(),
            # A new dict each time: webpush() fills in `aud` and `exp`.
            vapid_claims={"sub": settings.NOTIFICATIONS_PUSH_SUBJECT},
            content_encoding="aes128gcm",
            ttl=ttl,
            headers={"Urgency": urgency, "Topic": topic(tag(notification))},
            timeout=REQUEST_TIMEOUT,
        )
    except WebPushException as error:
        if error.response is None:
            return None, 0
        return error.response.status_code, retry_after(error.response.headers.get("Retry-After"))
    except requests.RequestException:
        logger.warning(
            "Push service of subscription %d unreachable; retried later", subscription.pk
        )
        return None, 0
    return getattr(response, "status_code", 201), 0


def retry_after(value: str | None) -> int:
    """Seconds from a Retry-After header, 1 to MAX_RETRY_AFTER; 0 when absent or a date."""
    try:
        seconds = int(value) if value is not None else 0
    except ValueError:
        return 0
    return min(max(seconds, 1), MAX_RETRY_AFTER) if value is not None else 0
