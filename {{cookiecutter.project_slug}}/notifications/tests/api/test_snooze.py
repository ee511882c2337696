"""The REST contract of snooze: snooze, unsnooze, the snoozed list and bad input."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.tests.api.test_inbox_states import listed
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

COUNTS = reverse("notifications:user-counts")


def snooze_url(pk: int) -> str:
    return reverse("notifications:user-snooze", args=[pk])


def unsnooze_url(pk: int) -> str:
    return reverse("notifications:user-unsnooze", args=[pk])


def test_snooze_moves_it_to_the_snoozed_list_and_unsnooze_back(api_client, user):
    kept, snoozed = NotificationFactory.create_batch(2, recipient=user)
    until = (timezone.now() + timedelta(hours=1)).isoformat()

    response = api_client.post(snooze_url(snoozed.pk), {"until": until}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["snoozed_until"] is not None
    assert listed(api_client) == [kept.pk]
    assert listed(api_client, snoozed="true") == [snoozed.pk]
    assert api_client.get(COUNTS).json()["unread"] == 1

    response = api_client.post(unsnooze_url(snoozed.pk))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["snoozed_until"] is None
    assert listed(api_client) == [snoozed.pk, kept.pk]
    assert listed(api_client, snoozed="true") == []
    assert api_client.get(COUNTS).json()["unread"] == 2


@pytest.mark.parametrize(
    "until",
    [
        "yesterday",
        "",
        None,
        12,
        (timezone.now() - timedelta(minutes=1)).isoformat(),
        (timezone.now() + timedelta(days=366)).isoformat(),
    ],
    ids=["words", "empty", "null", "number", "past", "past-the-cap"],
)
def test_a_bad_until_is_a_400_naming_it(api_client, user, until):
    notification = NotificationFactory(recipient=user)

    response = api_client.post(snooze_url(notification.pk), {"until": until}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "until" in response.json()
    assert Notification.objects.get(pk=notification.pk).snoozed_until is None


def test_a_missing_until_is_a_400(api_client, user):
    notification = NotificationFactory(recipient=user)

    response = api_client.post(snooze_url(notification.pk), {}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "until" in response.json()


def test_another_users_notification_is_a_404(api_client, user, other_user):
    theirs = NotificationFactory(recipient=other_user)
    until = (timezone.now() + timedelta(hours=1)).isoformat()

    assert (
        api_client.post(snooze_url(theirs.pk), {"until": until}, format="json").status_code
        == HTTPStatus.NOT_FOUND
    )
    assert api_client.post(unsnooze_url(theirs.pk)).status_code == HTTPStatus.NOT_FOUND
    assert api_client.post(unsnooze_url(10**9)).status_code == HTTPStatus.NOT_FOUND
    assert Notification.objects.get(pk=theirs.pk).snoozed_until is None


def test_archived_and_snoozed_together_is_a_400(api_client, user):
    response = api_client.get(
        reverse("notifications:user-list"), {"archived": "true", "snoozed": "true"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_signed_out_is_a_401(client, user):
    notification = NotificationFactory(recipient=user)

    response = client.post(snooze_url(notification.pk), {"until": "2030-01-01T00:00:00Z"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
