"""`manage.py jobs_health`: exits 0 while the job engine runs its jobs, 1 when it does not."""

import socket
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.celery import app
from notifications import jobs


class Command(BaseCommand):
    help = (
        "Healthy while a worker ran the heartbeat job (queued by beat every "
        "JOBS_HEARTBEAT_SECONDS, it reaches the database) within JOBS_STALE_SECONDS. With "
        "--worker, this machine's worker must also answer a ping: the compose files use both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--worker",
            action="store_true",
            help="also require the worker on this host (celery@HOSTNAME) to answer",
        )

    def handle(self, *args: Any, worker: bool, **options: Any) -> None:
        if settings.JOBS_INLINE:
            self.stdout.write("No broker (REDIS_URL unset): jobs run inline; nothing to check.")
            return
        try:
            age = jobs.heartbeat_age()
        except Exception as error:  # the cache (Redis) is down: so is the job engine
            raise CommandError(f"unhealthy: the broker's cache: {type(error).__name__}") from None
        if age is None:
            raise CommandError("unhealthy: no worker has run the heartbeat job yet")
        if age > settings.JOBS_STALE_SECONDS:
            raise CommandError(f"unhealthy: the last heartbeat job ran {age:.0f} s ago")
        if worker:
            name = f"celery@{socket.gethostname()}"
            if not app.control.ping(destination=[name], timeout=3):
                raise CommandError(f"unhealthy: {name} does not answer")
        self.stdout.write(f"healthy: the last heartbeat job ran {age:.0f} s ago")
