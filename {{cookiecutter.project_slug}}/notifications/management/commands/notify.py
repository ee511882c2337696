"""`manage.py notify <user> <message>`: store a notification for one user and push it."""

import argparse
import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.categories import UnknownCategory
from notifications.models import Level
from notifications.sending.limits import ContentTooLarge
from notifications.services import NotificationService
from notifications.stream import events

# Without Redis the channel layer lives in each process's memory: this process cannot reach the
# server's sockets. The page still catches up at its next heartbeat, whose last_id is newer.
LOCAL_LAYER_NOTE = (
    "Stored. REDIS_URL is not set, so this process cannot push to the server's open pages "
    "(the in-memory channel layer serves one process); they show it at their next heartbeat "
    "(NOTIFICATIONS_HEARTBEAT_SECONDS), which tells them a newer id exists. Set REDIS_URL for "
    "instant delivery."
)


class Command(BaseCommand):
    help = "Notify one user, given by username or id; the push reaches their open sockets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="username or user id")
        parser.add_argument("message")
        parser.add_argument("--category", default="general")
        parser.add_argument("--level", type=int, choices=Level.values)
        parser.add_argument("--title", default="")
        parser.add_argument(
            "--data", type=json_object, default=None, help='a JSON object, e.g. \'{"url": "/x"}\''
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = find_user(options["user"])
        try:
            notification = NotificationService.create_notification(
                user,
                options["message"],
                category=options["category"],
                level=options["level"],
                title=options["title"],
                data=options["data"],
            )
        except (UnknownCategory, ContentTooLarge) as error:
            raise CommandError(str(error)) from None
        # The push runs on a background thread: wait for it before the process exits.
        if not events.flush():
            self.stderr.write("The push did not finish; the notification is stored.")
        if not settings.REDIS_URL:
            self.stderr.write(LOCAL_LAYER_NOTE)
        self.stdout.write(str(notification.pk))


def find_user(reference: str) -> Any:
    """The user with this username, or else with this id; none is a CommandError."""
    users = get_user_model()._default_manager
    user = users.filter(**{users.model.USERNAME_FIELD: reference}).first()
    if user is None and reference.isdigit():
        user = users.filter(pk=int(reference)).first()
    if user is None:
        raise CommandError(f"No user with username or id {reference!r}.")
    return user


def json_object(text: str) -> dict[str, Any]:
    """The --data option: a JSON object, or a usage error that says so."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. \'{"url": "/x"}\'')
    return value
