"""The broadcast API: lists with the user's read state, marking read, archiving."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import BroadcastReceipt
from notifications.tests.factories import BroadcastFactory, BroadcastReceiptFactory

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:broadcast-list")


def mark_read_url(category: str, pk: int) -> str:
    return reverse(
        "notifications:broadcast-category-mark-read", kwargs={"category": category, "pk": pk}
    )


def test_list_shows_live_broadcasts_with_this_users_read_state(api_client, user, other_user):
    read, unread = BroadcastFactory.create_batch(2)
    BroadcastReceiptFactory(broadcast=read, user=user)
    BroadcastReceiptFactory(broadcast=unread, user=other_user)
    BroadcastFactory(deleted_at=timezone.now())

    response = api_client.get(LIST)

    assert response.status_code == HTTPStatus.OK
    rows = response.json()["results"]
    assert [(row["id"], row["is_read"]) for row in rows] == [(unread.pk, False), (read.pk, True)]
    assert rows[1]["read_at"] is not None


def test_list_filters_and_category_path(api_client, user):
    system = BroadcastFactory(category="system")
    general = BroadcastFactory(category="general")
    BroadcastReceiptFactory(broadcast=system, user=user)

    def ids(response) -> list[int]:
        assert response.status_code == HTTPStatus.OK
        return [row["id"] for row in response.json()["results"]]

    by_path = reverse("notifications:broadcast-category-list", kwargs={"category": "system"})
    assert ids(api_client.get(by_path)) == [system.pk]
    assert ids(api_client.get(LIST, {"category": "general"})) == [general.pk]
    assert ids(api_client.get(LIST, {"unread": "true"})) == [general.pk]
    assert ids(api_client.get(LIST, {"since": system.pk})) == [general.pk]


def test_bad_filters(api_client):
    unknown_path = reverse("notifications:broadcast-category-list", kwargs={"category": "nope"})

    assert api_client.get(unknown_path).status_code == HTTPStatus.NOT_FOUND
    assert api_client.get(LIST, {"category": "nope"}).status_code == HTTPStatus.BAD_REQUEST
    assert api_client.get(LIST, {"unread": "maybe"}).status_code == HTTPStatus.BAD_REQUEST


def test_mark_read_records_one_receipt_per_user(api_client, other_client, user):
    broadcast = BroadcastFactory(category="system")

    first = api_client.post(mark_read_url("system", broadcast.pk))
    again = api_client.post(mark_read_url("system", broadcast.pk))
    other_client.post(mark_read_url("system", broadcast.pk))

    assert first.status_code == again.status_code == HTTPStatus.OK
    assert first.json()["is_read"] is True
    assert first.json()["read_at"] == again.json()["read_at"]
    assert BroadcastReceipt.objects.filter(broadcast=broadcast).count() == 2
    assert BroadcastReceipt.objects.filter(broadcast=broadcast, user=user).count() == 1


@pytest.mark.parametrize("case", ["wrong category", "unknown category", "deleted", "missing"])
def test_mark_read_not_found(api_client, case):
    broadcast = BroadcastFactory(category="system")
    category, pk = "system", broadcast.pk
    if case == "wrong category":
        category = "general"
    elif case == "unknown category":
        category = "nope"
    elif case == "deleted":
        broadcast.deleted_at = timezone.now()
        broadcast.save()
    else:
        pk = 10**6

    response = api_client.post(mark_read_url(category, pk))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not BroadcastReceipt.objects.exists()


# Mark all read, archive, unarchive ----------------------------------------------------------

MARK_ALL = reverse("notifications:broadcast-mark-all-read")


def archive_url(pk: int, action: str = "archive") -> str:
    return reverse(f"notifications:broadcast-{action}", kwargs={"pk": pk})


def test_mark_all_read_marks_this_users_broadcasts_only(api_client, other_client, user):
    BroadcastFactory.create_batch(2)

    response = api_client.post(MARK_ALL)
    again = api_client.post(MARK_ALL)

    assert response.status_code == again.status_code == HTTPStatus.OK
    assert (response.json(), again.json()) == ({"marked": 2}, {"marked": 0})
    assert api_client.get(LIST, {"unread": "true"}).json()["results"] == []
    assert len(other_client.get(LIST, {"unread": "true"}).json()["results"]) == 2
    assert not BroadcastReceipt.objects.exclude(user=user).exists()


def test_mark_all_read_of_a_category_and_of_an_unknown_one(api_client):
    system = BroadcastFactory(category="system")
    general = BroadcastFactory(category="general")

    def url(category: str) -> str:
        return reverse(
            "notifications:broadcast-category-mark-all-read", kwargs={"category": category}
        )

    assert api_client.post(url("nope")).status_code == HTTPStatus.NOT_FOUND
    assert api_client.post(url("system")).json() == {"marked": 1}
    unread = api_client.get(LIST, {"unread": "true"}).json()["results"]
    assert [row["id"] for row in unread] == [general.pk]
    assert BroadcastReceipt.objects.get().broadcast_id == system.pk


def test_the_notifications_mark_all_leaves_broadcasts_alone(api_client):
    # dj_notif's endpoint answers the notification count, as it always has.
    BroadcastFactory()

    response = api_client.post(reverse("notifications:user-mark-all-read"))

    assert response.json() == {"marked": 0}
    assert not BroadcastReceipt.objects.exists()


def test_archive_moves_a_broadcast_to_this_users_archive_read(api_client, other_client):
    broadcast, kept = BroadcastFactory.create_batch(2)

    response = api_client.post(archive_url(broadcast.pk))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["id"], body["is_read"]) == (broadcast.pk, True)
    assert body["archived_at"] is not None
    assert [row["id"] for row in api_client.get(LIST).json()["results"]] == [kept.pk]
    archived = api_client.get(LIST, {"archived": "true"}).json()["results"]
    assert [(row["id"], row["is_read"]) for row in archived] == [(broadcast.pk, True)]
    counts = api_client.get(reverse("notifications:user-unread-count")).json()
    assert counts["broadcast_unread_count"] == 1
    # Another user's inbox still holds both, unread.
    theirs = other_client.get(LIST).json()["results"]
    assert [(row["id"], row["is_read"], row["archived_at"]) for row in theirs] == [
        (kept.pk, False, None),
        (broadcast.pk, False, None),
    ]


def test_unarchive_brings_it_back_to_the_inbox(api_client):
    broadcast = BroadcastFactory()
    api_client.post(archive_url(broadcast.pk))

    response = api_client.post(archive_url(broadcast.pk, "unarchive"))

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["archived_at"], response.json()["is_read"]) == (None, True)
    assert [row["id"] for row in api_client.get(LIST).json()["results"]] == [broadcast.pk]
    assert api_client.get(LIST, {"archived": "true"}).json()["results"] == []


@pytest.mark.parametrize("action", ["archive", "unarchive"])
@pytest.mark.parametrize("case", ["deleted", "missing"])
def test_archive_of_a_broadcast_that_is_gone_is_a_404(api_client, action, case):
    broadcast = BroadcastFactory(deleted_at=timezone.now())
    pk = broadcast.pk if case == "deleted" else 10**6

    response = api_client.post(archive_url(pk, action))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "detail" in response.json()
    assert not BroadcastReceipt.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        MARK_ALL,
        "/api/notifications/broadcast/1/archive/",
        "/api/notifications/broadcast/1/unarchive/",
    ],
)
def test_broadcast_writes_need_a_signed_in_user(client, url):
    BroadcastFactory(id=1)

    response = client.post(url)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert not BroadcastReceipt.objects.exists()


def test_an_archived_filter_that_is_not_a_boolean_is_a_400(api_client):
    response = api_client.get(LIST, {"archived": "maybe"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "archived" in response.json()
