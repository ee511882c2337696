"""The jobs Celery runs (notifications/jobs.py), called as a worker calls them.

Jobs run inline in the test process (settings_test.py); the live test runs a real worker and
beat. Locks and connections are checked on whichever database the suite runs on; the cut
connection needs PostgreSQL.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import OperationalError, connection, connections
from django.db.models import F
from django.utils import timezone

from notifications import jobs, selectors
from notifications.models import Event, Notification
from notifications.services import NotificationService
from notifications.stream import upkeep
from notifications.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def old_event(user, days: int = 9) -> None:
    NotificationService.create_notification(user, "old")
    Event.objects.update(created_at=timezone.now() - timedelta(days=days))


def test_the_digest_job_emails_what_stayed_unread_once():
    user = UserFactory(email="ada@example.com")
    NotificationService.create_notification(user, "Invoice 42 paid", category="payment")
    Notification.objects.update(created_at=F("created_at") - timedelta(minutes=20))

    assert jobs.send_digests.delay().get() == {"sent": 1, "failed": 0, "waiting": 0}
    assert jobs.send_digests.delay().get() == {"sent": 0, "failed": 0, "waiting": 0}

    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    assert "Invoice 42 paid" in mail.outbox[0].body


def test_the_prune_job_deletes_old_events_and_expired_notifications():
    user = UserFactory()
    old_event(user)
    NotificationService.create_notification(
        user, "gone", expires_at=timezone.now() - timedelta(seconds=1)
    )
    NotificationService.create_notification(user, "kept")

    result = jobs.prune.delay().get()

    assert result == {"events": 1, "expired": 1, "days": 7}
    assert sorted(Notification.objects.values_list("message", flat=True)) == ["kept", "old"]
    # The expired item's owner hears it leave, with counts that no longer hold it.
    kinds = list(Event.objects.order_by("position").values_list("kind", flat=True))
    assert kinds == ["created", "created", "deleted"]
    assert selectors.counts(user)["unread"] == 2


def test_a_job_that_fails_on_the_database_is_retried(monkeypatch):
    user = UserFactory()
    old_event(user)
    calls = []
    prune_events = upkeep.prune_events

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return prune_events(**kwargs)

    monkeypatch.setattr(upkeep, "prune_events", flaky)

    jobs.prune.apply()

    assert len(calls) == 2
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_job_runs_once_when_two_workers_race(monkeypatch):
    """Two workers start the same prune at once (beat ran twice, or a run was redelivered):
    one prunes, the other finds the lock held and does nothing. Each has its own connection,
    so on PostgreSQL this is the advisory lock between two sessions."""
    start = threading.Barrier(2)
    ran: list[str] = []
    results: list[dict] = []

    def slow_prune(**kwargs):
        ran.append(threading.current_thread().name)
        time.sleep(0.5)
        return 0

    monkeypatch.setattr(upkeep, "prune_events", slow_prune)

    def worker() -> None:
        try:
            start.wait()
            results.append(jobs.prune())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"worker-{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(ran) == 1
    assert sorted(result.get("skipped", 0) for result in results) == [0, 1]
    # The lock was released: the next run prunes again.
    assert "skipped" not in jobs.prune()
    assert len(ran) == 2


@pytest.mark.django_db(transaction=True)
def test_a_job_runs_on_a_connection_the_database_cut_while_it_was_idle():
    """A worker that keeps its connection (CONN_MAX_AGE) finds it killed by an idle timeout,
    a pooler or a restart: the health check before the job reconnects; nothing fails."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    user = UserFactory()
    old_event(user)
    connection.ensure_connection()
    connection.close_at = None  # kept, as with CONN_MAX_AGE=None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()

    assert jobs.prune()["events"] == 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


@pytest.mark.django_db(transaction=True)
def test_a_lock_dies_with_its_holders_connection():
    """A worker whose connection is cut mid-job does not keep the job locked."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    other = connections.create_connection("default")
    key = [jobs.JOB_LOCK_KEY, jobs.lock_key("prune")]
    try:
        with jobs.run_alone("prune") as held, other.cursor() as cursor:
            assert held
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            assert cursor.fetchone()[0] is False
            with connection.cursor() as own:
                own.execute("SELECT pg_backend_pid()")
                cursor.execute("SELECT pg_terminate_backend(%s)", [own.fetchone()[0]])
            # The backend exits a moment after it is told to.
            deadline = time.monotonic() + 10
            taken = False
            while not taken and time.monotonic() < deadline:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
                taken = cursor.fetchone()[0]
                time.sleep(0.05)
            assert taken
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    finally:
        other.close()
