"""The email channel: one digest per user of what stayed unread, with a one-click unsubscribe.

`send_digests` is what `manage.py send_notification_emails` runs. Each user's digest is one
transaction that claims the user, claims their due rows with SELECT ... FOR UPDATE SKIP
LOCKED, sends the email and marks the rows `emailed_at`. Runs on several machines at once
never send the same rows twice: a run skips what another one holds, and finds it emailed once
that run has committed.

A digest is written in its recipient's language, and waits while their quiet hours hold
(notifications/reader/): the run skips them, and the first run after the end sends it.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications import categories
from notifications.models import Notification, NotificationQuerySet
from notifications.reader import preferences, quiet_hours
from notifications.reader.languages import language_of
from notifications.serializers import notification_url

logger = logging.getLogger(__name__)

# Notifications listed in one digest; the rest are counted ("and 12 more") and marked emailed.
DIGEST_MAX_ITEMS = 20
# Separates these signatures from every other use of SECRET_KEY.
UNSUBSCRIBE_SALT = "notifications.unsubscribe"
# First key of the per-user advisory locks (PostgreSQL); any number no other code locks with.
DIGEST_LOCK_KEY = 7_221_001


@dataclass(frozen=True)
class DigestRun:
    sent: int
    failed: int
    # Users whose digest waits for the end of their quiet hours.
    waiting: int = 0


def due_notifications() -> NotificationQuerySet:
    """Notifications a digest should carry: in the inbox (not archived, deleted or expired),
    unread, not emailed yet, older than the delay, of a category their recipient gets by
    email, to a recipient with an address."""
    delay = timedelta(minutes=settings.NOTIFICATIONS_EMAIL_DELAY_MINUTES)
    address = f"recipient__{get_user_model().get_email_field_name()}"
    return (
        Notification.objects.inbox()
        .unread()
        .filter(emailed_at__isnull=True, created_at__lte=timezone.now() - delay)
        .filter(preferences.email_wanted())
        .exclude(**{address: ""})
        .exclude(**{f"{address}__isnull": True})
    )


def send_digests(
    *, mailer: BaseEmailBackend | None = None, now: datetime | None = None
) -> DigestRun:
    """Send each user with notifications due one digest; a failed send is retried next run.

    A failure that belongs to one user (an address the mail libraries refuse, such as
    `carol@` or one holding a line break, or a recipient the server rejects) is logged, counted
    and skipped: the users after them still get theirs. A database error is not one user's: it
    ends the run, for its scheduler to retry.
    """
    due = due_notifications()
    user_ids = list(due.order_by("recipient_id").values_list("recipient_id", flat=True).distinct())
    quiet = quiet_hours.waiting(user_ids, now or timezone.now())
    user_ids = [user_id for user_id in user_ids if user_id not in quiet]
    sent = failed = 0
    try:
        with mailer or default_mailer() as open_mailer:
            for user_id in user_ids:
                try:
                    sent += send_digest(user_id, due, open_mailer)
                except DatabaseError:
                    raise
                except Exception:
                    # The transaction rolled back: the rows stay due for the next run.
                    logger.exception("The digest to user %s was not sent.", user_id)
                    failed += 1
    except (smtplib.SMTPException, OSError):
        logger.exception("The mail server could not be reached; the digests wait.")
        failed = len(user_ids) - sent
    return DigestRun(sent=sent, failed=failed, waiting=len(quiet))


def default_mailer() -> BaseEmailBackend:
    """MAILERS["default"] on Django 6.1 and later, which deprecate get_connection()."""
    if django.VERSION >= (6, 1):
        return mail.mailers.default
    return mail.get_connection()


def send_digest(user_id: int, due: NotificationQuerySet, mailer: BaseEmailBackend) -> int:
    """Claim one user's due rows, email them, mark them emailed; 0 when another run has them."""
    with transaction.atomic():
        if not claim_user(user_id):
            return 0
        claimed = list(
            due.filter(recipient_id=user_id)
            .select_related("recipient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
        )
        if not claimed:
            return 0
        message = build_digest(claimed[0].recipient, claimed)
        mailer.send_messages([message])
        Notification.objects.filter(pk__in=[row.pk for row in claimed]).update(
            emailed_at=timezone.now()
        )
    return 1


def claim_user(user_id: int) -> bool:
    """Take the user's digest until the transaction ends; False when another run has it.

    Row locks alone would not do: two runs locking the same user's rows at the same moment
    could each get some of them and send two halves. SQLite needs no lock: its transactions
    take the database's one write lock when they begin (settings: IMMEDIATE).
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        # Two int4 keys: ids past 2**31 share a lock now and then, which only delays a digest.
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [DIGEST_LOCK_KEY, user_id % 2**31]
        )
        return bool(cursor.fetchone()[0])


def build_digest(
    user: AbstractBaseUser, notifications: list[Notification]
) -> EmailMultiAlternatives:
    """The digest email in the user's language: plain text and HTML, each item linked to its
    row in the notification centre, or without a centre (NOTIFICATIONS_CENTRE_URL empty) to
    where the item leads."""
    with translation.override(language_of(int(user.pk))):
        return _build_digest(user, notifications)


def _build_digest(
    user: AbstractBaseUser, notifications: list[Notification]
) -> EmailMultiAlternatives:
    listed = notifications[:DIGEST_MAX_ITEMS]
    names = sorted({row.category for row in notifications})
    unsubscribe_url = absolute_url(
        reverse("notification-unsubscribe", args=[unsubscribe_token(int(user.pk), names)])
    )
    centre_url = settings.NOTIFICATIONS_CENTRE_URL
    context: dict[str, Any] = {
        "items": [_item(row, centre_url) for row in listed],
        "left_out": len(notifications) - len(listed),
        "total": len(notifications),
        "centre_url": centre_url,
        "unsubscribe_url": unsubscribe_url,
        "categories": [_label(name) for name in names],
    }
    message = EmailMultiAlternatives(
        subject=_subject(notifications),
        body=render_to_string("notifications/email/digest_text.html", context),
        to=[getattr(user, user.get_email_field_name())],
        headers={
            # RFC 8058: mail clients offer "Unsubscribe" and POST to the link themselves.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": translation.get_language() or settings.LANGUAGE_CODE,
        },
    )
    message.attach_alternative(
        render_to_string("notifications/email/digest.html", context), "text/html"
    )
    return message


def unsubscribe_token(user_id: int, category_names: list[str]) -> str:
    """A signed, URL-safe token that turns email off for these categories of this user.

    It holds the time of the user's latest preference change, so that a later change (turning
    email back on) voids it: an old email's link cannot undo the user's newer choice.
    """
    return signing.dumps(
        {
            "user": user_id,
            "categories": sorted(category_names),
            "changed": preferences.last_change(user_id),
        },
        salt=UNSUBSCRIBE_SALT,
        compress=True,
    )


def read_unsubscribe_token(token: str) -> tuple[int, list[str]]:
    """The user id and categories of a token; forged, malformed, expired or outdated by a later
    preference change is BadSignature."""
    max_age = timedelta(days=settings.NOTIFICATIONS_UNSUBSCRIBE_MAX_AGE_DAYS)
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
    if not isinstance(data, dict):
        raise signing.BadSignature("The token does not hold a user and categories.")
    user_id, names = data.get("user"), data.get("categories")
    if not isinstance(user_id, int) or not isinstance(names, list):
        raise signing.BadSignature("The token does not hold a user and categories.")
    if not get_user_model()._default_manager.filter(pk=user_id).exists():
        raise signing.BadSignature("The token's user no longer exists.")
    if data.get("changed") != preferences.last_change(user_id):
        raise signing.BadSignature("The user changed their preferences after this token.")
    return user_id, [name for name in names if isinstance(name, str)]


def _item(row: Notification, centre_url: str) -> dict[str, Any]:
    url = item_url(row, centre_url)
    return {
        "title": row.title,
        "message": row.message,
        "category": _label(row.category),
        "url": url,
        "actions": item_actions(row, url),
        "action_done": _action_done(row),
    }


def item_actions(notification: Notification, item_link: str | None) -> list[dict[str, str]]:
    """The item's action buttons as links: a url action to its url; a server action, which an
    email cannot run, to the item itself (`item_link`: its row in the centre, or its url), and
    left out when the item links nowhere. None once a server action has run."""
    actions = notification.actions if isinstance(notification.actions, list) else []
    if _action_done(notification) is not None:
        return []
    links = []
    for action in actions:
        url = _absolute(action["url"]) if "url" in action else item_link
        if url:
            links.append({"label": action["label"], "style": action["style"], "url": url})
    return links


def _action_done(notification: Notification) -> str | None:
    """What the first server action that ran said (its result's `message`), if one ran."""
    results = notification.action_results if isinstance(notification.action_results, dict) else {}
    if not results:
        return None
    first = results[min(results)]
    result = first.get("result") if isinstance(first, dict) else None
    message = result.get("message") if isinstance(result, dict) else None
    return message if isinstance(message, str) and message else str(_("Done"))


def item_url(notification: Notification, centre_url: str) -> str | None:
    """The centre's row of the item (#notification-<id>), else the item's own link, if any."""
    if centre_url:
        return f"{centre_url}#notification-{notification.pk}"
    url = notification_url(notification)
    return None if url is None else _absolute(url)


def _absolute(url: str) -> str:
    """A path made absolute on SITE_URL; an http(s) URL as it is."""
    return url if url.startswith(("https://", "http://")) else absolute_url(url)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _label(name: str) -> str:
    return str(categories.get(name).label) if categories.is_registered(name) else name


def _subject(notifications: list[Notification]) -> str:
    if len(notifications) == 1:
        subject = notifications[0].title or notifications[0].message
    else:
        count = len(notifications)
        subject = ngettext(
            "%(count)d unread notification", "%(count)d unread notifications", count
        ) % {"count": count}
    # One line, however the title was written: a header cannot hold a line break.
    return " ".join(subject.split())[:150]
