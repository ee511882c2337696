"""Hands the notifications a commit created to the push job; never sends anything itself.

Called once a write's transaction committed (notifications/stream/events.py). With a broker the job
is queued for a worker; without one (the embedded default, no REDIS_URL) Celery would run it
inline, inside the request that wrote, so it runs on a thread of this process instead.
"""

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from notifications.models import Event, EventKind
from notifications.push import keys

logger = logging.getLogger(__name__)

# Notifications per job: a fan-out to many users becomes several jobs that workers share.
IDS_PER_JOB = 500
# The kinds that bring a notification a browser should show.
PUSHED_KINDS = (EventKind.CREATED, EventKind.UPDATED)

_inline: ThreadPoolExecutor | None = None
_inline_lock = threading.Lock()


def queue_pushes(stored: Sequence[Event]) -> None:
    """Queue the push job for the notifications among these events, if push is set up."""
    if not keys.enabled():
        return
    ids = [
        event.payload["notification"]["id"]
        for event in stored
        if event.kind in PUSHED_KINDS and event.recipient_id is not None
    ]
    for start in range(0, len(ids), IDS_PER_JOB):
        run_job("send_pushes", ids[start : start + IDS_PER_JOB])


def run_job(name: str, *args: Any, countdown: float = 0) -> None:
    """Queue the push job `name`, or run it on this process's push thread without a broker."""
    # Imported here: jobs imports the services, which publish through this module.
    from notifications import jobs

    job = getattr(jobs, name)
    try:
        if not settings.JOBS_INLINE:
            job.apply_async(args, countdown=countdown)
            return
        if countdown:
            timer = threading.Timer(countdown, _submit, (job, args))
            timer.daemon = True
            timer.start()
        else:
            _submit(job, args)
    except Exception:
        # As for a push to sockets: the notification is stored, and a failure is only logged.
        logger.exception("Could not queue %s", name)


def _submit(job: Any, args: tuple[Any, ...]) -> None:
    global _inline
    with _inline_lock:
        if _inline is None:
            _inline = ThreadPoolExecutor(1, thread_name_prefix="notifications-push")
    _inline.submit(job.apply, args)


def wait_inline() -> None:
    """Wait until the push thread ran what it was given (tests, management commands)."""
    with _inline_lock:
        pool = _inline
    if pool is not None:
        pool.submit(lambda: None).result()
