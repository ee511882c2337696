"""`manage.py generate_vapid_keys`: a new VAPID key pair for Web Push, as environment lines."""

from typing import Any

from django.core.management.base import BaseCommand

from notifications.push import keys


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair (P-256, base64url) as the two environment variables Web "
        "Push reads. Set them once per deployment, on every process: a new pair voids every "
        "browser's subscription, as browsers subscribed with the old public key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        public_key, private_key = keys.generate()
        self.stdout.write(f"NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY={public_key}")
        self.stdout.write(f"NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY={private_key}")
