"""The REST contract of seen, archived, grouped and expiring notifications."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications import selectors
from notifications.models import Event, EventKind, Notification
from notifications.services import NotificationService
from notifications.tests.factories import NotificationFactory
from notifications.tests.test_inbox_states import fresh_counts

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:user-list")
COUNTS = reverse("notifications:user-counts")
MARK_ALL_SEEN = reverse("notifications:user-mark-all-seen")
ARCHIVE_ALL = reverse("notifications:user-archive-all")


def archive_url(pk: int) -> str:
    return reverse("notifications:user-archive", args=[pk])


def unarchive_url(pk: int) -> str:
    return reverse("notifications:user-unarchive", args=[pk])


def listed(client, **params) -> list[int]:
    response = client.get(LIST, params)
    assert response.status_code == HTTPStatus.OK
    return [item["id"] for item in response.json()["results"]]


# Seen -----------------------------------------------------------------------------------


def test_mark_all_seen_clears_the_bell(api_client, user):
    NotificationFactory.create_batch(2, recipient=user)

    response = api_client.post(MARK_ALL_SEEN)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"marked": 2}
    counts = api_client.get(COUNTS).json()
    assert (counts["unread"], counts["unseen"]) == (2, 0)
    assert all(item["is_seen"] for item in api_client.get(LIST).json()["results"])


def test_mark_all_seen_up_to_an_id(api_client, user):
    first, second = NotificationFactory.create_batch(2, recipient=user)

    response = api_client.post(MARK_ALL_SEEN, {"up_to": first.pk}, format="json")

    assert response.json() == {"marked": 1}
    assert Notification.objects.get(pk=second.pk).seen_at is None


@pytest.mark.parametrize("up_to", ["abc", "1.5", 0, -3, 2**63])
def test_an_up_to_that_is_not_an_id_is_a_400(api_client, user, up_to):
    NotificationFactory(recipient=user)

    response = api_client.post(MARK_ALL_SEEN, {"up_to": up_to}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "up_to" in response.json()
    assert not Notification.objects.filter(seen_at__isnull=False).exists()


# Archived -------------------------------------------------------------------------------


def test_archive_and_unarchive_move_between_inbox_and_archive(api_client, user):
    kept, moved = NotificationFactory.create_batch(2, recipient=user)

    response = api_client.post(archive_url(moved.pk))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["archived_at"] is not None
    assert listed(api_client) == [kept.pk]
    assert listed(api_client, archived="true") == [moved.pk]
    assert api_client.get(COUNTS).json()["unread"] == 1

    response = api_client.post(unarchive_url(moved.pk))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["archived_at"] is None
    assert listed(api_client) == [moved.pk, kept.pk]
    assert listed(api_client, archived="false") == [moved.pk, kept.pk]


def test_an_archived_notification_is_still_readable_by_id(api_client, user):
    notification = NotificationFactory(recipient=user, archived_at=timezone.now())

    response = api_client.get(reverse("notifications:user-detail", args=[notification.pk]))

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("url", [archive_url, unarchive_url])
def test_archiving_an_unknown_or_another_users_notification_is_a_404(api_client, other_user, url):
    theirs = NotificationFactory(recipient=other_user, archived_at=None)

    for pk in (theirs.pk, 999_999):
        response = api_client.post(url(pk))
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert "detail" in response.json()
    assert Notification.objects.get(pk=theirs.pk).archived_at is None
    assert not Event.objects.exists()


@pytest.mark.parametrize(("query", "archived"), [("", 2), ("?read=true", 1), ("?read=false", 2)])
def test_archive_all_or_only_the_read_ones(api_client, user, query, archived):
    NotificationFactory(recipient=user, read_at=timezone.now())
    NotificationFactory(recipient=user)

    response = api_client.post(ARCHIVE_ALL + query)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"archived": archived}
    assert len(listed(api_client, archived="true")) == archived


@pytest.mark.parametrize(
    ("url", "param"), [(LIST, "archived"), (ARCHIVE_ALL, "read")], ids=["list", "archive_all"]
)
def test_a_flag_that_is_not_a_boolean_is_a_400(api_client, user, url, param):
    NotificationFactory(recipient=user)
    call = api_client.get if url == LIST else api_client.post

    response = call(f"{url}?{param}=maybe")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert param in response.json()
    assert not Notification.objects.filter(archived_at__isnull=False).exists()


# Grouped and expiring -------------------------------------------------------------------


def test_a_group_is_listed_once_with_its_count_and_actors(api_client, user, other_user):
    for _ in range(3):
        NotificationService.create_notification(
            user, "bob commented", actor=other_user, group_key="task:1:comments"
        )

    [item] = api_client.get(LIST).json()["results"]

    assert item["group_count"] == 3
    assert item["group_key"] == "task:1:comments"
    assert item["actors"] == [{"id": other_user.pk, "username": "bob"}]
    assert api_client.get(COUNTS).json()["unread"] == 1


def test_expired_notifications_leave_the_list_and_the_counts(api_client, user):
    NotificationFactory(recipient=user, expires_at=timezone.now() - timedelta(seconds=1))
    kept = NotificationFactory(recipient=user, expires_at=timezone.now() + timedelta(days=1))

    assert listed(api_client) == [kept.pk]
    assert api_client.get(COUNTS).json() == fresh_counts(user)
    assert api_client.get(COUNTS).json()["unread"] == 1


def test_an_expired_notification_is_a_404_by_id(api_client, user):
    gone = NotificationFactory(recipient=user, expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.post(archive_url(gone.pk))

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_the_stream_replays_seen_archived_and_updated(api_client, user, other_user):
    first = NotificationService.create_notification(
        user, "one", actor=other_user, group_key="task:1:comments"
    )
    start = str(selectors.latest_position(user))
    NotificationService.create_notification(
        user, "two", actor=other_user, group_key="task:1:comments"
    )
    NotificationService.mark_all_seen(user)
    NotificationService.archive_all(user)

    body = api_client.get(reverse("notifications:events"), {"since": start}).json()

    assert [frame["event"] for frame in body["events"]] == [
        EventKind.UPDATED,
        EventKind.SEEN,
        EventKind.ARCHIVED,
    ]
    assert body["events"][0]["payload"]["replaces"] == first.pk
