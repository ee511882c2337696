"""Benchmark 3: one notification to USERS users, in bulk or one call per user.

- notify_many: `NotificationService.notify_many(users, ...)`, one bulk insert.
- create_loop: `NotificationService.create_notification(user, ...)` for each user.

Each variant reports the wall time the caller waits (rows stored, pushes queued on commit),
the SQL queries it ran (CaptureQueriesContext), then the time `events.flush()` takes to send
the queued pushes and the PUBLISH commands Redis received.
"""

import os
import time

from support import RedisCounters, emit, setup_django

USERS = 1000


def make_users() -> list:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user_model.objects.bulk_create(
        user_model(username=f"fanout{number:04d}", password="!") for number in range(USERS)
    )
    return list(user_model.objects.filter(username__startswith="fanout").order_by("pk"))


def measure(counters: RedisCounters, send) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from notifications.stream import events
    from notifications.models import Notification

    rows_before = Notification.objects.count()
    before = counters.snapshot()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        send()
        stored = time.perf_counter()
    drained = events.flush(timeout=120)
    flushed = time.perf_counter()
    redis = counters.since(before)
    return {
        "wall_ms": round((stored - start) * 1000, 1),
        "queries": len(queries),
        "rows": Notification.objects.count() - rows_before,
        "flush_ms": round((flushed - stored) * 1000, 1),
        "flushed": drained,
        "pushes": redis["publish"],
    }


def main() -> None:
    setup_django()
    from notifications.stream import events
    from notifications.services import NotificationService

    counters = RedisCounters(os.environ["REDIS_URL"])
    users = make_users()
    # Starts the publisher thread and its connection outside the measured runs.
    NotificationService.create_notification(users[0], "Warm-up")
    events.flush(timeout=10)

    def bulk() -> None:
        NotificationService.notify_many(users, "The release is out.", title="Release")

    def loop() -> None:
        for user in users:
            NotificationService.create_notification(user, "The release is out.", title="Release")

    results = {"users": USERS, "notify_many": measure(counters, bulk)}
    results["create_loop"] = measure(counters, loop)
    counters.close()
    emit(results)


if __name__ == "__main__":
    main()
