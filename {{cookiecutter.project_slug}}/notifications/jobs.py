"""Scheduled and background jobs, run by Celery workers; beat queues the scheduled ones, writes
queue the Web Push sends.

Each job opens its own database connection and closes it when it ends, so a database restart
or a connection cut while the worker waited costs nothing: the next job connects again. A job
that fails on the database is retried with backoff. A scheduled job takes a lock for its run,
so when beat runs twice or a run is redelivered, a second copy that starts while the first
holds the lock does nothing; every job is also safe to run twice in a row (digests claim each
notification once, pruning deletes what is still there).
"""

import logging
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from django.utils import timezone

from notifications.delivery import emails
from notifications.inbox import deletion, snooze
from notifications.push import dispatch, sending
from notifications.stream import upkeep

logger = logging.getLogger(__name__)

# First key of the jobs' advisory locks (PostgreSQL); delivery/emails.py locks with 7_221_001.
JOB_LOCK_KEY = 7_221_002
# The cache entry the heartbeat job writes and `manage.py jobs_health` and /readyz read.
HEARTBEAT_KEY = "jobs:heartbeat"
# Retries of a push a push service asked to wait for (429) or failed (5xx): about a day at most.
MAX_PUSH_ATTEMPTS = 6
# Errors of a database that restarts or a connection that was cut: the job is retried.
RETRY_ON = (OperationalError, InterfaceError)
RETRY = {
    "autoretry_for": RETRY_ON,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 8,
}


def close_stale_connections() -> None:
    """Close the connections that are broken or past CONN_MAX_AGE, as Django does around each
    request; one inside a transaction is the caller's (a job run inline) and stays open."""
    for each in connections.all(initialized_only=True):
        if not each.in_atomic_block:
            each.close_if_unusable_or_obsolete()


def fresh_connections(job: Callable[..., Any]) -> Callable[..., Any]:
    """Runs a job between two close_stale_connections(): a worker lives for days."""

    @wraps(job)
    def run(*args: Any, **kwargs: Any) -> Any:
        close_stale_connections()
        try:
            return job(*args, **kwargs)
        finally:
            close_stale_connections()

    return run


def lock_key(name: str) -> int:
    """The second key of a job's advisory lock: a stable 31-bit number from its name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def run_alone(name: str) -> Iterator[bool]:
    """Yields True to the one run of `name` that holds its lock, False to any other meanwhile.

    PostgreSQL: a session advisory lock, released by the database if the worker's connection
    dies. Elsewhere (SQLite): a cache entry, shared by every process when REDIS_URL is set,
    that expires after the job time limit if its holder died.
    """
    if connection.vendor == "postgresql":
        key = lock_key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LOCK_KEY, key])
            held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LOCK_KEY, key])
                except DatabaseError:
                    # The connection is gone, and the lock went with it.
                    connection.close()
        return
    lock = f"jobs:lock:{name}"
    held = cache.add(lock, time.time(), timeout=settings.CELERY_TASK_TIME_LIMIT)
    try:
        yield held
    finally:
        if held:
            cache.delete(lock)


@shared_task(name="notifications.jobs.send_digests", **RETRY)
@fresh_connections
def send_digests() -> dict[str, int]:
    """Email each user one digest of what stayed unread (`manage.py send_notification_emails`)."""
    with run_alone("send_digests") as held:
        if not held:
            logger.info("Digests are being sent by another run; this one skips.")
            return {"skipped": 1}
        run = emails.send_digests()
    logger.info(
        "Sent %d digest(s); %d failed; %d wait for quiet hours.", run.sent, run.failed, run.waiting
    )
    return {"sent": run.sent, "failed": run.failed, "waiting": run.waiting}


@shared_task(name="notifications.jobs.prune", **RETRY)
@fresh_connections
def prune(days: int | None = None) -> dict[str, int]:
    """Delete events past the retention window, and expired notifications and broadcasts."""
    keep = timedelta(days=settings.NOTIFICATIONS_EVENT_RETENTION_DAYS if days is None else days)
    with run_alone("prune") as held:
        if not held:
            logger.info("Pruning is done by another run; this one skips.")
            return {"skipped": 1}
        events = upkeep.prune_events(older_than=timezone.now() - keep)
        expired = deletion.prune_expired()
    logger.info("Pruned %d event(s) and %d expired notification(s).", events, expired)
    return {"events": events, "expired": expired, "days": keep.days}


@shared_task(name="notifications.jobs.expire", **RETRY)
@fresh_connections
def expire() -> dict[str, int]:
    """Take expired notifications out of the inbox and the counts (see stream/counters.py)."""
    with run_alone("expire") as held:
        if not held:
            logger.info("Expiry is done by another run; this one skips.")
            return {"skipped": 1}
        expired = deletion.expire_notifications()
    if expired:
        logger.info("Expired %d notification(s).", expired)
    return {"expired": expired}


@shared_task(name="notifications.jobs.wake_snoozed", **RETRY)
@fresh_connections
def wake_snoozed() -> dict[str, int]:
    """Bring back the snoozed notifications whose time has come, new, unread and pushed."""
    with run_alone("wake_snoozed") as held:
        if not held:
            logger.info("Snoozed notifications are woken by another run; this one skips.")
            return {"skipped": 1}
        woke = snooze.wake_snoozed()
    if woke:
        logger.info("Woke %d snoozed notification(s).", woke)
    return {"woke": woke}


@shared_task(name="notifications.jobs.heartbeat", bind=True)
@fresh_connections
def heartbeat(task: Any) -> None:
    """Proves the whole path: beat queued it, a worker ran it, the database answered."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = {"at": time.time(), "worker": task.request.hostname or ""}
    cache.set(HEARTBEAT_KEY, beat, timeout=None)


@shared_task(name="notifications.jobs.send_pushes", **RETRY)
@fresh_connections
def send_pushes(notification_ids: list[int]) -> dict[str, int]:
    """Send these notifications by Web Push to their recipients' subscribed browsers."""
    return _pushed(sending.send_notifications(notification_ids), attempt=1)


@shared_task(name="notifications.jobs.retry_pushes", **RETRY)
@fresh_connections
def retry_pushes(notification_id: int, subscription_ids: list[int], attempt: int) -> dict[str, int]:
    """Send one notification again to the browsers whose push service asked to wait."""
    return _pushed(sending.send_again(notification_id, subscription_ids), attempt=attempt)


def _pushed(outcome: sending.Outcome, *, attempt: int) -> dict[str, int]:
    """Queue the retries an outcome asks for, later each time; report what it did."""
    waiting = sum(len(ids) for ids in outcome.retry.values())
    if attempt >= MAX_PUSH_ATTEMPTS:
        if waiting:
            logger.warning("Gave up on %d push(es) after %d attempts.", waiting, attempt)
    else:
        # What the service asked for, else a backoff that doubles per attempt.
        delay = outcome.retry_after or sending.DEFAULT_RETRY_AFTER * 2 ** (attempt - 1)
        for notification_id, subscription_ids in outcome.retry.items():
            dispatch.run_job(
                "retry_pushes", notification_id, subscription_ids, attempt + 1, countdown=delay
            )
    return {
        "sent": outcome.sent,
        "removed": outcome.removed,
        "failed": outcome.failed,
        "retrying": waiting,
    }


def heartbeat_age() -> float | None:
    """Seconds since a worker last ran the heartbeat job; None if none ever did."""
    beat = cache.get(HEARTBEAT_KEY)
    return None if beat is None else max(0.0, time.time() - beat["at"])
