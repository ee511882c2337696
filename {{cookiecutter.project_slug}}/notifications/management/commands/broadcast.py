"""`manage.py broadcast <message>`: store a broadcast for every user and push it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.categories import UnknownCategory
from notifications.management.commands.notify import json_object
from notifications.models import Level
from notifications.sending.limits import ContentTooLarge
from notifications.services import NotificationService
from notifications.stream import events


class Command(BaseCommand):
    help = "Broadcast a message to every user; the push reaches every open socket."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("message")
        parser.add_argument("--category", default="system")
        parser.add_argument("--level", type=int, choices=Level.values)
        parser.add_argument("--title", default="")
        parser.add_argument(
            "--data", type=json_object, default=None, help='a JSON object, e.g. \'{"url": "/x"}\''
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            broadcast = NotificationService.broadcast(
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
            self.stderr.write("The push did not finish; the broadcast is stored.")
        self.stdout.write(str(broadcast.pk))
