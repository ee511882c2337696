"""`manage.py prune_events`: delete old stream events and expired notifications and broadcasts."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications import jobs


class Command(BaseCommand):
    help = (
        "Delete events older than NOTIFICATIONS_EVENT_RETENTION_DAYS, once (for cron; the "
        "Celery schedule runs the same job every JOBS_PRUNE_SECONDS). A client whose position "
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

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        result = jobs.prune(days)
        if result.get("skipped"):
            self.stdout.write("Another run is pruning; nothing done.")
            return
        self.stdout.write(
            f"Deleted {result['events']} event(s) older than {result['days']} day(s)."
        )
        self.stdout.write(f"Deleted {result['expired']} expired notification(s) and broadcast(s).")
