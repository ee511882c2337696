"""The stream over REST: counts, and the events after a position, as a socket replays them."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from notifications.models import Event
from notifications.services import NotificationService
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

EVENTS = reverse("notifications:events")
COUNTS = reverse("notifications:user-counts")


def position() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_counts_are_exact_per_category(api_client, user, other_user):
    NotificationFactory.create_batch(2, recipient=user, category="project")
    NotificationFactory(recipient=user, read_at=timezone.now(), seen_at=timezone.now())
    NotificationFactory(recipient=other_user)

    response = api_client.get(COUNTS)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "unread": 2,
        "unseen": 2,
        "by_category": {"project": {"unread": 2, "unseen": 2}},
    }


def test_events_after_a_position_oldest_first_with_counts(api_client, user, other_user):
    kept = NotificationService.create_notification(user, "kept")
    start = position()
    fresh = NotificationService.create_notification(user, "fresh")
    NotificationService.create_notification(other_user, "not yours")
    NotificationService.mark_notification_read(kept.pk, user)
    sent = NotificationService.broadcast("To everyone")

    response = api_client.get(EVENTS, {"since": start})

    body = response.json()
    assert response.status_code == HTTPStatus.OK
    assert [(frame["type"], frame["event"]) for frame in body["events"]] == [
        ("notifications", "created"),
        ("notifications", "read"),
        ("notifications", "broadcast"),
    ]
    assert body["events"][0]["payload"]["notification"]["id"] == fresh.pk
    assert body["events"][2]["payload"]["broadcast"]["id"] == sent.pk
    assert body["events"][0]["payload"]["counts"] == {
        "unread": 1,
        "unseen": 1,
        "by_category": {"general": {"unread": 1, "unseen": 1}},
    }
    assert body["recovered"] is True
    assert body["last_id"] == body["events"][-1]["id"]
    assert api_client.get(EVENTS, {"since": body["last_id"]}).json()["events"] == []


@pytest.mark.parametrize("since", ["", "-1", "abc", "1.5", "²"])
def test_a_since_that_is_not_a_non_negative_integer_is_400(api_client, since):
    response = api_client.get(EVENTS, {"since": since})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "since" in response.json()


def test_a_since_ahead_of_the_newest_event_is_400(api_client, user):
    NotificationService.create_notification(user, "one")

    response = api_client.get(EVENTS, {"since": position() + 1})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"since": ["Ahead of the newest event."]}


def test_a_gap_past_the_replay_cap_is_not_recovered(api_client, user, settings):
    settings.NOTIFICATIONS_REPLAY_LIMIT = 2
    NotificationService.notify_many([user], "one")
    start = position()
    for number in range(3):
        NotificationService.create_notification(user, f"missed {number}")

    body = api_client.get(EVENTS, {"since": start}).json()

    assert (body["events"], body["recovered"], body["last_id"]) == ([], False, position())


def test_a_position_past_retention_is_not_recovered(api_client, user):
    NotificationService.create_notification(user, "old")
    old = position()
    NotificationService.create_notification(user, "newer")
    Event.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=8))

    call_command("prune_events", verbosity=0)

    assert not Event.objects.filter(pk=old).exists()
    assert Event.objects.count() == 1
    body = api_client.get(EVENTS, {"since": old}).json()
    assert (body["events"], body["recovered"]) == ([], False)


def test_a_replay_runs_the_same_queries_whatever_the_number_of_events(
    api_client, user, django_assert_num_queries
):
    NotificationService.create_notification(user, "before")

    def replay_queries(count: int) -> int:
        start = position()
        NotificationService.notify_many([user], "batch")
        for number in range(count):
            NotificationService.create_notification(user, f"event {number}")
        # User, newest position (own, every user's), retention check, the events, the counts.
        with django_assert_num_queries(6) as captured:
            response = api_client.get(EVENTS, {"since": start})
        assert len(response.json()["events"]) == count + 1
        return len(captured.captured_queries)

    assert replay_queries(2) == replay_queries(40)
