"""Concurrent writes on PostgreSQL: grouping and preferences, raced for real.

SQLite runs one write transaction at a time, so these races exist only on PostgreSQL: these
tests run when DATABASE_URL points at one. Each thread has its own connection, and the
threads of a race are released together.
"""

import random
import threading
from typing import Any

import pytest
from django.db import connections, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from notifications import categories
from notifications.models import Event, EventKind, Notification, NotificationPreference
from notifications.reader import preferences
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory
from notifications.tests.racing import (
    WAIT,
    failures,
    in_threads,
    needs_postgresql,
    wait_for_lock_waiters,
)

pytestmark = [pytest.mark.django_db(transaction=True), needs_postgresql]

KEY = "task:1:comments"


def open_groups(key: str = KEY) -> list[tuple[int, int]]:
    """(recipient, group_count) of every open group of `key`."""
    return list(
        Notification.objects.filter(group_key=key, group_open=True)
        .order_by("recipient_id")
        .values_list("recipient_id", "group_count")
    )


# Grouping -----------------------------------------------------------------------------------


def test_concurrent_creates_for_one_key_fold_into_one_group():
    user = UserFactory()
    actors = UserFactory.create_batch(20)

    results = in_threads(
        20,
        lambda index: NotificationService.create_notification(
            user.pk, f"comment {index}", actor=actors[index].pk, group_key=KEY
        ),
    )

    assert failures(results) == []
    assert open_groups() == [(user.pk, 20)]
    assert Notification.objects.count() == 1
    assert Event.objects.filter(kind=EventKind.CREATED).count() == 1
    assert Event.objects.filter(kind=EventKind.UPDATED).count() == 19


def test_concurrent_bulk_creates_to_overlapping_recipients_neither_deadlock_nor_split():
    users = UserFactory.create_batch(6)
    ids = [user.pk for user in users]

    def notify(index: int) -> list[Notification]:
        # Each thread names the recipients in its own order.
        order = random.Random(index).sample(ids, len(ids))
        return NotificationService.notify_many(order, f"bulk {index}", group_key=KEY)

    results = in_threads(8, notify)

    assert failures(results) == []
    assert open_groups() == [(user_id, 8) for user_id in sorted(ids)]
    assert Notification.objects.count() == 6


def test_fan_outs_racing_single_creates_of_the_same_keys_fail_none_and_count_exactly():
    """notify_many to many recipients against creates of one: no failure, no deadlock."""
    users = UserFactory.create_batch(8)
    ids = [user.pk for user in users]
    keys = [f"task:{number}:comments" for number in range(3)]
    plan: list[tuple[list[int], str]] = []
    chooser = random.Random(24)
    for index in range(24):
        key = keys[index % len(keys)]
        if index % 4 == 0:
            plan.append((chooser.sample(ids, 6), key))
        else:
            plan.append(([chooser.choice(ids)], key))

    def write(index: int) -> Any:
        recipients, key = plan[index]
        if len(recipients) == 1:
            return NotificationService.create_notification(recipients[0], "one", group_key=key)
        return NotificationService.notify_many(recipients, "many", group_key=key)

    results = in_threads(len(plan), write)

    assert failures(results) == []
    for key in keys:
        expected: dict[int, int] = {}
        for recipients, planned_key in plan:
            if planned_key == key:
                for recipient in recipients:
                    expected[recipient] = expected.get(recipient, 0) + 1
        assert open_groups(key) == sorted(expected.items())
    assert Notification.objects.count() == sum(len(open_groups(key)) for key in keys)


def test_a_create_that_comes_second_waits_and_joins_the_first_ones_group():
    """The second create waits on the first one's group lock, then folds into its group."""
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
    wait_for_lock_waiters(1)
    release.set()
    first_thread.join(WAIT)
    second_thread.join(WAIT)

    assert isinstance(created["second"], Notification)
    assert open_groups() == [(user.pk, 2)]
    assert created["second"].group_count == 2
    assert not Notification.objects.filter(pk=created["first"].pk).exists()
    updated = Event.objects.get(kind=EventKind.UPDATED)
    assert updated.payload["replaces"] == created["first"].pk


# Preferences --------------------------------------------------------------------------------

RACE_CATEGORIES = [f"race_{letter}" for letter in "abcdefgh"]
ROUNDS = 20


@pytest.fixture
def racing_categories(monkeypatch, settings):
    """Eight more categories, and a write throttle every racing request stays under."""
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))
    for name in RACE_CATEGORIES:
        categories.register(name)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "notification_writes": None}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def patch_as(user: Any, body: list[dict[str, Any]]) -> int:
    client = APIClient()
    client.force_authenticate(user)
    return client.patch(reverse("notifications:preferences"), body, format="json").status_code


def channels(user: Any) -> dict[str, tuple[bool, bool]]:
    rows = preferences.for_user(user)
    return {row["category"]: (row["in_app"], row["email"]) for row in rows}


def test_parallel_patches_of_different_categories_are_all_kept(racing_categories):
    user = UserFactory()
    kept = 0
    for round_number in range(ROUNDS):
        # Rows are inserted in even rounds and deleted (back to the defaults) in odd ones.
        chosen = round_number % 2 == 0
        statuses = in_threads(
            len(RACE_CATEGORIES),
            lambda index, chosen=chosen: patch_as(
                user,
                [{"category": RACE_CATEGORIES[index], "in_app": not chosen, "email": chosen}],
            ),
        )
        assert statuses == [200] * len(RACE_CATEGORIES), f"round {round_number}"
        now = channels(user)
        kept += sum(now[name] == (not chosen, chosen) for name in RACE_CATEGORIES)
        assert kept == len(RACE_CATEGORIES) * (round_number + 1), f"round {round_number}"
    assert NotificationPreference.objects.filter(user=user).count() == 0


def test_parallel_patches_of_one_category_all_answer_200_and_leave_one_of_them(
    racing_categories,
):
    user = UserFactory()
    choices = [(index % 2 == 0, index % 4 < 2) for index in range(8)]
    for round_number in range(ROUNDS):
        statuses = in_threads(
            len(choices),
            lambda index: patch_as(
                user,
                [{"category": "race_a", "in_app": choices[index][0], "email": choices[index][1]}],
            ),
        )
        assert statuses == [200] * len(choices), f"round {round_number}"
        assert channels(user)["race_a"] in choices
        assert NotificationPreference.objects.filter(user=user).count() <= 1


def test_of_writes_queued_on_one_category_the_last_wins_and_other_channels_are_kept(
    racing_categories,
):
    """Three PATCHes of one category wait, in turn, on a write that holds its row."""
    user = UserFactory()
    preferences.update(user, [{"category": "race_a", "email": True}], replace=False)
    holding, release = threading.Event(), threading.Event()
    statuses: dict[str, int] = {}

    def hold() -> None:
        try:
            with transaction.atomic():
                NotificationPreference.objects.select_for_update().get(user=user)
                holding.set()
                release.wait(WAIT)
        finally:
            connections.close_all()

    def patch(name: str, body: list[dict[str, Any]]) -> None:
        try:
            statuses[name] = patch_as(user, body)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    assert holding.wait(WAIT)
    queued = [
        ("first", [{"category": "race_a", "email": False}]),
        ("second", [{"category": "race_a", "email": True}, {"category": "race_b", "email": True}]),
        ("third", [{"category": "race_a", "in_app": False}]),
    ]
    for waiting, (name, body) in enumerate(queued, start=1):
        thread = threading.Thread(target=patch, args=(name, body))
        thread.start()
        threads.append(thread)
        wait_for_lock_waiters(waiting)
    release.set()
    for thread in threads:
        thread.join(WAIT)

    assert statuses == {"first": 200, "second": 200, "third": 200}
    now = channels(user)
    assert now["race_a"] == (False, True)
    assert now["race_b"] == (True, True)
