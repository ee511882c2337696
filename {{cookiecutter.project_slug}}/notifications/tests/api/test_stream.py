"""The stream over REST: counts, and the events after a position, as a socket replays them."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from notifications import selectors
from notifications.models import Event
from notifications.services import NotificationService
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

EVENTS = reverse("notifications:events")
COUNTS = reverse("notifications:user-counts")


def position(user) -> str:
    return str(selectors.latest_position(user))


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
    start = position(user)
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
    assert [frame["id"] for frame in body["events"]] == ["2:0", "3:0", "3:1"]
    assert (body["last_id"], body["has_more"]) == ("3:1", False)
    assert api_client.get(EVENTS, {"since": body["last_id"]}).json()["events"] == []


@pytest.mark.parametrize(
    "since",
    ["", "-1", "abc", "1.5", "²", "1:", ":1", "1:2:3", "1:-2", "9" * 19, "1:²", "\u0661:1"],
)
def test_a_since_that_is_not_a_position_is_400(api_client, since):
    response = api_client.get(EVENTS, {"since": since})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "since" in response.json()


def test_a_since_ahead_of_the_newest_event_is_400(api_client, user):
    NotificationService.create_notification(user, "one")

    for ahead in ("2:0", "1:1"):
        response = api_client.get(EVENTS, {"since": ahead})

        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.json() == {"since": ["since: ahead of the newest event."]}


def test_a_gap_past_the_replay_cap_is_not_recovered(api_client, user, settings):
    settings.NOTIFICATIONS_REPLAY_LIMIT = 2
    NotificationService.notify_many([user], "one")
    start = position(user)
    for number in range(3):
        NotificationService.create_notification(user, f"missed {number}")

    body = api_client.get(EVENTS, {"since": start}).json()

    assert (body["events"], body["recovered"], body["last_id"]) == ([], False, position(user))


def test_a_position_past_retention_is_not_recovered(api_client, user):
    NotificationService.create_notification(user, "old")
    NotificationService.create_notification(user, "newer")
    Event.objects.filter(position=1).update(created_at=timezone.now() - timedelta(days=8))

    call_command("prune_events", verbosity=0)

    assert list(Event.objects.values_list("position", flat=True)) == [2]
    # From before the pruned event, and from the start: the replay would have a hole.
    for since in ("0", "0:0"):
        body = api_client.get(EVENTS, {"since": since}).json()
        assert (body["events"], body["recovered"], body["last_id"]) == ([], False, "2:0")
    body = api_client.get(EVENTS, {"since": "1:0"}).json()
    assert (len(body["events"]), body["recovered"], body["last_id"]) == (1, True, "2:0")


def test_a_page_stops_at_the_byte_budget_and_says_there_is_more(api_client, user, settings):
    start = position(user)
    for number in range(5):
        NotificationService.create_notification(user, "x" * 1500, title=f"n{number}")
    one_frame = len(
        api_client.get(EVENTS, {"since": start}).json()["events"][0]["payload"]["notification"][
            "message"
        ]
    )
    assert one_frame == 1500
    settings.NOTIFICATIONS_MAX_REPLAY_BYTES = 4000

    seen, since = [], start
    while True:
        body = api_client.get(EVENTS, {"since": since}).json()
        assert body["recovered"] is True
        assert len(body["events"]) in (1, 2)
        seen += [frame["payload"]["notification"]["title"] for frame in body["events"]]
        since = body["last_id"]
        if not body["has_more"]:
            break

    assert seen == [f"n{number}" for number in range(5)]
    assert since == position(user)


def test_a_replay_runs_the_same_queries_whatever_the_number_of_events(
    api_client, user, django_assert_num_queries
):
    NotificationService.create_notification(user, "before")

    def replay_queries(count: int) -> int:
        start = position(user)
        NotificationService.notify_many([user], "batch")
        for number in range(count):
            NotificationService.create_notification(user, f"event {number}")
        # User, the events, the heads and floors, the items still there, the counts.
        with django_assert_num_queries(5) as captured:
            response = api_client.get(EVENTS, {"since": start})
        assert len(response.json()["events"]) == count + 1
        return len(captured.captured_queries)

    assert replay_queries(2) == replay_queries(40)
