"""`manage.py recount_notifications`: rebuild the stored unread and unseen counts from the rows."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.stream import upkeep


class Command(BaseCommand):
    help = (
        "Count each user's unread and unseen notifications from the rows and store the result "
        "where every write keeps them (the stream head rows). Safe while the site runs. Use it "
        "after changing notification rows outside NotificationService (SQL, a data migration)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", type=int, action="append", dest="users", help="only this user id (repeat)"
        )

    def handle(self, *args: Any, users: list[int] | None, **options: Any) -> None:
        repaired = upkeep.recount(users)
        self.stdout.write(f"Recounted; {repaired} user(s) had counts that did not match.")
