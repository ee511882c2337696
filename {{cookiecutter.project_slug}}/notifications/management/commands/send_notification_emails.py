"""`manage.py send_notification_emails`: email each user one digest of what stayed unread."""

from typing import Any

from django.core.management.base import BaseCommand

from notifications import jobs


class Command(BaseCommand):
    help = (
        "Email each user one digest of their notifications still unread after "
        "NOTIFICATIONS_EMAIL_DELAY_MINUTES, once (for cron; the Celery schedule runs the same "
        "job every JOBS_DIGEST_SECONDS). Idempotent, and safe to run on several machines at "
        "once: each notification is emailed once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = jobs.send_digests()
        if result.get("skipped"):
            self.stdout.write("Another run is sending digests; nothing done.")
            return
        waiting = f"; {result['waiting']} wait for quiet hours" if result["waiting"] else ""
        self.stdout.write(f"Sent {result['sent']} digest(s); {result['failed']} failed{waiting}.")
