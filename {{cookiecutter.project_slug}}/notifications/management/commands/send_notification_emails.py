"""`manage.py send_notification_emails`: email each user one digest of what stayed unread."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.emails import send_digests


class Command(BaseCommand):
    help = (
        "Email each user one digest of their notifications still unread after "
        "NOTIFICATIONS_EMAIL_DELAY_MINUTES. Idempotent, and safe to run on several machines "
        "at once: each notification is emailed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="keep running and send every SECONDS (a scheduler process); 0: once",
        )

    def handle(self, *args: Any, every: int, **options: Any) -> None:
        while True:
            run = send_digests()
            self.stdout.write(f"Sent {run.sent} digest(s); {run.failed} failed.")
            if every <= 0:
                return
            time.sleep(every)
