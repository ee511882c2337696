"""The broadcast API: lists with the user's read state, and marking one read."""

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
