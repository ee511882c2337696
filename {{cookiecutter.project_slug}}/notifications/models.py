"""Notifications, broadcasts, per-user broadcast receipts, the event stream, preferences and
Web Push subscriptions."""

from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.categories import MAX_NAME_LENGTH

ALIVE = Q(deleted_at__isnull=True)
# In the inbox: alive, not archived, not snoozed. Expiry depends on the clock, so no index
# holds it.
IN_INBOX = ALIVE & Q(archived_at__isnull=True, snoozed_until__isnull=True)
# Snoozed: out of the inbox and the counts until the wake-up job brings it back.
SNOOZED = ALIVE & Q(archived_at__isnull=True, snoozed_until__isnull=False)
# What the counts read: inbox rows still unread or unseen.
COUNTED = IN_INBOX & (Q(read_at__isnull=True) | Q(seen_at__isnull=True))
# Longest group key, e.g. "task:42:comments".
MAX_GROUP_KEY_LENGTH = 100


class Level(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


def unexpired(now: datetime | None = None) -> Q:
    """Rows without an expiry, or whose expiry is still ahead."""
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now())


class NotificationQuerySet(models.QuerySet["Notification"]):
    def alive(self) -> "NotificationQuerySet":
        return self.filter(ALIVE)

    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)

    def inbox(self) -> "NotificationQuerySet":
        """Alive, not archived, not snoozed and not expired: what lists and counts show."""
        return self.filter(IN_INBOX & unexpired())


class Notification(models.Model):
    """One message to one user; every category lives in this table.

    Lists are ordered by id, which only grows: cursor pages never skip or repeat, and a
    reconnecting client asks for everything after the last id it saw. A group that takes a
    new notification is stored again under a new id (see services), so it sorts as new
    without a second ordering field.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.CharField(max_length=MAX_NAME_LENGTH, default="general")
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.LOW)
    title = models.CharField(max_length=200, blank=True)
    message = models.TextField(max_length=2000)
    data = models.JSONField(default=dict, blank=True)
    # A generic link with no database constraint: deleting the target keeps the notification.
    target_content_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_object_id = models.CharField(max_length=64, blank=True)
    target = GenericForeignKey("target_content_type", "target_object_id")
    created_at = models.DateTimeField(default=timezone.now)
    # Shown to the user (the bell counts unseen); reading implies seeing.
    seen_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # After it the notification leaves every list and count; pruning deletes it.
    expires_at = models.DateTimeField(null=True, blank=True)
    # Out of the inbox until then; the wake-up job brings it back new and unread.
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Notifications of one recipient and key fold into one row while its group is open.
    group_key = models.CharField(max_length=MAX_GROUP_KEY_LENGTH, blank=True)
    group_open = models.BooleanField(default=False)
    group_started_at = models.DateTimeField(null=True, blank=True)
    group_count = models.PositiveIntegerField(default=1)
    # The latest actors, newest first, as [{"id", "username"}]; bounded by the service.
    actors = models.JSONField(default=list, blank=True)
    # Up to two buttons: [{"label", "style", "url" | "action"}] (notifications/inbox/actions.py).
    actions = models.JSONField(default=list, blank=True)
    # What each server action returned, by the action's index: {"0": {"result", "done_at"}}.
    action_results = models.JSONField(default=dict, blank=True)
    # Set when an email digest took this notification, whether it was listed or counted.
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The inbox: one user's live notifications, newest first.
            models.Index(fields=["recipient", "-id"], condition=IN_INBOX, name="notif_inbox_idx"),
            # The inbox filtered by category.
            models.Index(
                fields=["recipient", "category", "-id"],
                condition=IN_INBOX,
                name="notif_category_idx",
            ),
            # The archive list.
            models.Index(
                fields=["recipient", "-id"],
                condition=ALIVE & Q(archived_at__isnull=False),
                name="notif_archive_idx",
            ),
            # Unread and unseen counts, in total and per category, in one scan of this index
            # alone: it holds every column the counts query names. deleted_at and archived_at
            # are always NULL here, but SQLite reads only the index when it holds every column
            # the query names, even those the condition already settles.
            models.Index(
                fields=[
                    "recipient",
                    "category",
                    "read_at",
                    "seen_at",
                    "expires_at",
                    "deleted_at",
                    "archived_at",
                    "snoozed_until",
                ],
                condition=COUNTED,
                name="notif_counts_idx",
            ),
            # The snoozed tab.
            models.Index(fields=["recipient", "-id"], condition=SNOOZED, name="notif_snoozed_idx"),
            # The wake-up job: snoozed items whose time has come.
            models.Index(fields=["snoozed_until"], condition=SNOOZED, name="notif_wake_idx"),
            # Pruning of expired rows.
            models.Index(
                fields=["expires_at"],
                condition=Q(expires_at__isnull=False),
                name="notif_expiry_idx",
            ),
            # What the email digest still has to look at: unread and not emailed yet.
            models.Index(
                fields=["created_at"],
                condition=IN_INBOX & Q(read_at__isnull=True, emailed_at__isnull=True),
                name="notif_email_due_idx",
            ),
        ]
        constraints = [
            # One open group per recipient and key, even under concurrent creates.
            models.UniqueConstraint(
                fields=["recipient", "group_key"],
                condition=Q(group_open=True),
                name="one_open_group_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} to {self.recipient_id}: {self.title or self.message[:40]}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def is_seen(self) -> bool:
        return self.seen_at is not None


class BroadcastQuerySet(models.QuerySet["Broadcast"]):
    def alive(self) -> "BroadcastQuerySet":
        return self.filter(ALIVE)

    def current(self) -> "BroadcastQuerySet":
        """Alive and not expired: what lists and counts show."""
        return self.filter(ALIVE & unexpired())


class Broadcast(models.Model):
    """One message to every user; who read it is a BroadcastReceipt row each."""

    category = models.CharField(max_length=MAX_NAME_LENGTH, default="system")
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    title = models.CharField(max_length=200, blank=True)
    message = models.TextField(max_length=2000)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = BroadcastQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["category", "-id"], condition=ALIVE, name="broadcast_category_idx"
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(expires_at__isnull=False),
                name="broadcast_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.title or self.message[:40]}"


class BroadcastReceipt(models.Model):
    """That one user read one broadcast, and maybe archived it: one row, whatever the number
    of users."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broadcast_receipts"
    )
    read_at = models.DateTimeField(default=timezone.now)
    # Set: the broadcast left this user's inbox for their archive.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # User first: it also serves "which broadcasts has this user read".
            models.UniqueConstraint(fields=["user", "broadcast"], name="one_receipt_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read broadcast {self.broadcast_id}"


class EventKind(models.TextChoices):
    CREATED = "created"
    READ = "read"
    UNREAD = "unread"
    DELETED = "deleted"
    BROADCAST = "broadcast"
    BROADCAST_READ = "broadcast_read"
    SEEN = "seen"
    ARCHIVED = "archived"
    UNARCHIVED = "unarchived"
    # A group took a new notification: stored again under a new id, replacing the old one.
    UPDATED = "updated"
    # The user's sockets must close: a logout (of one session), a password change, a
    # deactivation. Replays carry it too; only live sockets act on it.
    REVOKED = "revoked"
    BROADCAST_DELETED = "broadcast_deleted"
    SNOOZED = "snoozed"
    # A server action of a notification ran; its result is stored on the row.
    ACTION_DONE = "action_done"
    # Back from a snooze: woken at its time (new and unread again) or by the user.
    UNSNOOZED = "unsnoozed"
    # One user moved broadcasts to their archive, or back to their inbox.
    BROADCAST_ARCHIVED = "broadcast_archived"
    BROADCAST_UNARCHIVED = "broadcast_unarchived"


class Event(models.Model):
    """One change a socket hears about: a row of an append-only stream, stored with the write.

    A user's stream is their rows; the rows with no recipient are the broadcasts' stream,
    which every user reads too. `position` is the event's place in its stream, taken from the
    stream's head row in commit order (see notifications/stream/positions.py); the id orders the two
    streams of a user into one replay.
    """

    # NULL: an event of every user's stream (a broadcast), stored once.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    # The frame's payload as sent live, without the counts, which are the reader's own.
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Also the index of a replay: a user's own events after a position.
            models.UniqueConstraint(
                fields=["recipient", "position"], name="one_event_per_position"
            ),
            # The broadcasts' stream after a position.
            models.UniqueConstraint(
                fields=["position"],
                condition=Q(recipient__isnull=True),
                name="one_everyone_event_per_position",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.position} to {self.recipient_id or 'everyone'}"


class StreamHead(models.Model):
    """The newest position of one stream, and how far pruning has reached in it.

    `stream` is the user id, or 0 for the broadcasts' stream. Each write bumps `top` inside
    its transaction, which locks the row until it commits: positions follow commit order.
    A user's row also holds their counts, changed by the same statement (stream/counters.py).
    """

    stream = models.BigIntegerField(primary_key=True)
    top = models.BigIntegerField(default=0)
    # Events at or below this position may be gone: a replay from before it is incomplete.
    floor = models.BigIntegerField(default=0)
    # {category: [unread, unseen]} over the inbox; categories at zero are left out.
    counts = models.JSONField(default=dict)
    # The earliest expiry among the counted items: from then on, until the expiry job ran,
    # readers count the user's rows instead.
    next_expiry = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"stream {self.stream}: top {self.top}, floor {self.floor}"


class NotificationPreference(models.Model):
    """A user's choice for one category, where it differs from the category's default.

    Only overrides are stored, and each channel on its own: NULL follows the default in
    notifications/categories.py, so a new category needs no rows and a changed default reaches
    every user who never chose otherwise.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    category = models.CharField(max_length=MAX_NAME_LENGTH)
    in_app = models.BooleanField(null=True, blank=True)
    email = models.BooleanField(null=True, blank=True)
    push = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also serves notify_many: the overrides of many users in one category.
            models.UniqueConstraint(
                fields=["user", "category"], name="one_preference_per_category"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.user_id} {self.category}: "
            f"in_app={self.in_app} email={self.email} push={self.push}"
        )


class PreferenceChange(models.Model):
    """When a user last changed their preferences: unsubscribe links signed before it are void.

    Without it an old email's link would turn email off again after the user turned it back
    on; the change may leave no preference row to date (a channel back at its default).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} changed preferences at {self.changed_at}"


class ReaderSettings(models.Model):
    """How a user reads: their language, time zone and quiet hours for email.

    No row, or an empty field, follows the defaults: the browser's language as last seen,
    else LANGUAGE_CODE; TIME_ZONE; no quiet hours. Quiet hours are wall-clock times in the
    user's zone; a start later than the end wraps past midnight (22:00 to 07:00).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_reader_settings",
    )
    # A code of settings.LANGUAGES, or "" to follow the browser.
    language = models.CharField(max_length=16, blank=True)
    # The language the browser last asked for (Accept-Language): what texts stored for the
    # user are written in when they chose none, since no browser is there when they are.
    browser_language = models.CharField(max_length=16, blank=True)
    # An IANA zone name ("Europe/Paris"), or "" for settings.TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | (
                    Q(quiet_start__isnull=False, quiet_end__isnull=False)
                    & ~Q(quiet_start=models.F("quiet_end"))
                ),
                name="quiet_hours_both_and_distinct",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or self.browser_language or '-'} {self.time_zone}"


class PushSubscription(models.Model):
    """One browser's Web Push subscription (RFC 8030): where to send, and the keys to encrypt
    for it (RFC 8291). The endpoint names one device's browser profile, so it is unique: the
    same browser subscribing for another user moves to that user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    # Push services' URLs run to a few hundred characters; 2000 leaves room for any of them.
    endpoint = models.URLField(max_length=2000, unique=True)
    # The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="push_subscription_user")]

    def __str__(self) -> str:
        return f"{self.user_id} push to {self.endpoint[:60]}"
