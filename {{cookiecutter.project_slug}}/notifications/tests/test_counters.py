"""The stored counts equal a recount after any sequence of writes, made one by one or at once."""

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications import selectors
from notifications.inbox import deletion, snooze
from notifications.models import Notification, StreamHead
from notifications.services import NotificationService
from notifications.stream import counters, upkeep
from notifications.tests.factories import UserFactory
from notifications.tests.racing import failures, in_threads, needs_postgresql

CATEGORIES = ("general", "project", "payment")


def stored_counts(user_ids: list[int]) -> dict[int, dict[str, list[int]]]:
    rows = StreamHead.objects.filter(stream__in=user_ids).values_list("stream", "counts")
    return {user_id: counts for user_id, counts in rows if counts}


def recounted(user_ids: list[int]) -> dict[int, dict[str, list[int]]]:
    return {user_id: counts for user_id, counts in counters.counted_rows(user_ids).items()}


def random_write(rng: random.Random, user_ids: list[int]) -> Callable[[], Any]:
    """One write of any kind the service makes, on a random user and item."""
    user_id = rng.choice(user_ids)
    category = rng.choice(CATEGORIES)

    def some_item() -> int:
        ids = list(
            Notification.objects.filter(recipient_id=user_id).values_list("pk", flat=True)[:30]
        )
        return rng.choice(ids) if ids else 0

    def on_item(write: Callable[[int, int], Any]) -> Callable[[], Any]:
        def run() -> Any:
            try:
                return write(some_item(), user_id)
            except Notification.DoesNotExist:
                return None  # deleted, archived away or expired meanwhile: a 404 to a client

        return run

    soon = timezone.now() + timedelta(milliseconds=rng.randint(50, 400))
    writes: list[Callable[[], Any]] = [
        lambda: NotificationService.create_notification(user_id, "plain", category=category),
        lambda: NotificationService.create_notification(
            user_id, "grouped", category=category, group_key=f"key:{rng.randint(1, 2)}"
        ),
        lambda: NotificationService.create_notification(
            user_id, "short-lived", category=category, expires_at=soon
        ),
        lambda: NotificationService.notify_many(rng.sample(user_ids, 2), "many", category=category),
        on_item(NotificationService.mark_notification_read),
        on_item(NotificationService.mark_notification_unread),
        on_item(NotificationService.archive_notification),
        on_item(NotificationService.unarchive_notification),
        on_item(NotificationService.delete_notification),
        on_item(
            lambda item, user: NotificationService.snooze_notification(
                item, user, timezone.now() + timedelta(milliseconds=rng.randint(50, 400))
            )
        ),
        on_item(NotificationService.unsnooze_notification),
        snooze.wake_snoozed,
        lambda: NotificationService.mark_all_notifications_read(
            user_id, rng.choice([None, category])
        ),
        lambda: NotificationService.mark_all_seen(user_id),
        lambda: NotificationService.archive_all(user_id, read_only=rng.random() < 0.5),
        lambda: NotificationService.mark_read_by_ids([some_item(), some_item()]),
        lambda: NotificationService.delete_by_ids([some_item()]),
        deletion.expire_notifications,
        lambda: upkeep.recount([user_id]),
    ]
    return rng.choice(writes)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_sequence_of_writes_keeps_the_counts_equal_to_a_recount(seed):
    rng = random.Random(seed)
    user_ids = [user.pk for user in UserFactory.create_batch(3)]

    for _ in range(120):
        random_write(rng, user_ids)()
        assert stored_counts(user_ids) == recounted(user_ids)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [11, 12])
def test_concurrent_random_writes_keep_the_counts_equal_to_a_recount(seed):
    """Eight writers on their own connections, released together, on three shared users."""
    user_ids = [user.pk for user in UserFactory.create_batch(3)]

    def writer(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        for _ in range(40):
            random_write(rng, user_ids)()

    results = in_threads(8, writer)

    assert failures(results) == []
    assert stored_counts(user_ids) == recounted(user_ids)
    deletion.expire_notifications(now=timezone.now() + timedelta(seconds=1))
    assert stored_counts(user_ids) == recounted(user_ids)
    for user_id in user_ids:
        assert selectors.counts(user_id) == counters.as_counts(
            counters.counted_rows([user_id], now=timezone.now()).get(user_id)
        )


@pytest.mark.django_db
def test_an_expired_item_leaves_the_counts_at_once_and_the_job_takes_it_out(user):
    now = timezone.now()
    NotificationService.create_notification(user, "kept", category="project")
    NotificationService.create_notification(
        user, "short", category="payment", expires_at=now + timedelta(hours=1)
    )
    assert selectors.counts(user)["unread"] == 2

    later = now + timedelta(hours=2)
    # Past its expiry, before the job ran: readers count rows and already leave it out.
    NotificationService.create_notification(user, "late", category="project")
    Notification.objects.filter(message="short").update(expires_at=now - timedelta(seconds=1))
    upkeep.recount([user.pk])
    assert selectors.counts(user)["by_category"] == {"project": {"unread": 2, "unseen": 2}}

    assert deletion.expire_notifications(now=later) == 1
    head = StreamHead.objects.get(stream=user.pk)
    assert head.counts == {"project": [2, 2]}
    assert head.next_expiry is None


@pytest.mark.django_db
def test_recount_repairs_counts_changed_outside_the_service(user, other_user):
    NotificationService.create_notification(user, "one", category="project")
    NotificationService.create_notification(other_user, "two")
    StreamHead.objects.filter(stream=user.pk).update(counts={"project": [7, 0]})

    call_command("recount_notifications")

    assert StreamHead.objects.get(stream=user.pk).counts == {"project": [1, 1]}
    assert StreamHead.objects.get(stream=other_user.pk).counts == {"general": [1, 1]}


@pytest.mark.django_db
def test_recount_reports_how_many_users_were_wrong(user, other_user, capsys):
    NotificationService.create_notification(user, "one")
    NotificationService.create_notification(other_user, "two")
    StreamHead.objects.filter(stream=user.pk).update(counts={})

    call_command("recount_notifications", "--user", str(user.pk), "--user", str(other_user.pk))

    assert "1 user(s) had counts that did not match" in capsys.readouterr().out
    assert selectors.counts(user)["unread"] == 1
