"""Concurrent creates of one group on PostgreSQL never make two open groups.

SQLite runs one write transaction at a time, so the race exists only on PostgreSQL: these
tests run when DATABASE_URL points at one.
"""

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from notifications.models import Event, EventKind, Notification
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL"
    ),
]

KEY = "task:1:comments"
# Seconds a thread may wait on another before the test fails instead of hanging.
WAIT = 30


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) on threads released together; each has its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(WAIT)
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return results


def open_groups() -> list[tuple[int, int]]:
    """(recipient, group_count) of every open group of KEY."""
    return list(
        Notification.objects.filter(group_key=KEY, group_open=True)
        .order_by("recipient_id")
        .values_list("recipient_id", "group_count")
    )


def test_concurrent_creates_for_one_key_fold_into_one_group():
    user = UserFactory()
    actors = UserFactory.create_batch(8)

    results = in_threads(
        8,
        lambda index: NotificationService.create_notification(
            user.pk, f"comment {index}", actor=actors[index].pk, group_key=KEY
        ),
    )

    assert [result for result in results if isinstance(result, Exception)] == []
    assert open_groups() == [(user.pk, 8)]
    assert Notification.objects.count() == 1
    assert Event.objects.filter(kind=EventKind.CREATED).count() == 1
    assert Event.objects.filter(kind=EventKind.UPDATED).count() == 7


def test_concurrent_bulk_creates_to_overlapping_recipients_neither_deadlock_nor_split():
    users = UserFactory.create_batch(6)
    ids = [user.pk for user in users]

    def notify(index: int) -> list[Notification]:
        # Each thread names the recipients in its own order.
        order = random.Random(index).sample(ids, len(ids))
        return NotificationService.notify_many(order, f"bulk {index}", group_key=KEY)

    results = in_threads(6, notify)

    assert [result for result in results if isinstance(result, Exception)] == []
    assert open_groups() == [(user_id, 6) for user_id in sorted(ids)]
    assert Notification.objects.count() == 6


def test_a_create_that_loses_the_race_joins_the_winners_group():
    """The second create waits on the first one's uncommitted group, then folds into it."""
    user = UserFactory()
    inserted, release = threading.Event(), threading.Event()
    created: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                created["first"] = NotificationService.create_notification(
                    user.pk, "first", group_key=KEY
                )
                inserted.set()
                release.wait(WAIT)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            created["second"] = NotificationService.create_notification(
                user.pk, "second", group_key=KEY
            )
        except Exception as error:
            created["second"] = error
        finally:
            connections.close_all()

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert inserted.wait(WAIT)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    wait_until_a_backend_waits_on_a_lock()
    release.set()
    first_thread.join(WAIT)
    second_thread.join(WAIT)

    assert isinstance(created["second"], Notification)
    assert open_groups() == [(user.pk, 2)]
    assert created["second"].group_count == 2
    assert not Notification.objects.filter(pk=created["first"].pk).exists()
    updated = Event.objects.get(kind=EventKind.UPDATED)
    assert updated.payload["replaces"] == created["first"].pk


def wait_until_a_backend_waits_on_a_lock() -> None:
    """Block until PostgreSQL reports a session waiting on a lock: the race is set up."""
    with connection.cursor() as cursor:
        for _ in range(WAIT * 100):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.01)
    pytest.fail("The second create never waited on the first one's group.")
