"""`manage.py prune_events`: delete old stream events and expired notifications and broadcasts."""

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from notifications.services import prune_events, prune_expired


class Command(BaseCommand):
    help = (
        "Delete events older than NOTIFICATIONS_EVENT_RETENTION_DAYS. A client whose position "
        "is older gets recovered=false and reloads over REST. Also deletes the notifications "
        "and broadcasts whose expires_at has passed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep this many days instead of the setting",
        )
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="keep running and prune every SECONDS (a scheduler process); 0: once",
        )

    def handle(self, *args: Any, days: int | None, every: int, **options: Any) -> None:
        keep = timedelta(days=settings.NOTIFICATIONS_EVENT_RETENTION_DAYS if days is None else days)
        while True:
            deleted = prune_events(older_than=timezone.now() - keep)
            self.stdout.write(f"Deleted {deleted} event(s) older than {keep.days} day(s).")
            expired = prune_expired()
            self.stdout.write(f"Deleted {expired} expired notification(s) and broadcast(s).")
            if every <= 0:
                return
            time.sleep(every)
