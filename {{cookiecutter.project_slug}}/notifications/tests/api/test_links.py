"""The `url` of a notification: where a click on it leads, the same in REST and WebSocket."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.serializers import notification_payloads
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:user-list")


def test_the_url_is_the_targets_absolute_url(api_client, user, other_user, monkeypatch):
    monkeypatch.setattr(
        get_user_model(), "get_absolute_url", lambda self: f"/people/{self.pk}/", raising=False
    )
    NotificationFactory(recipient=user, target=other_user, data={"url": "/ignored/"})

    [row] = api_client.get(LIST).json()["results"]

    assert row["url"] == f"/people/{other_user.pk}/"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/tasks/7/", "/tasks/7/"),
        ("https://example.com/a", "https://example.com/a"),
        ("javascript:alert(1)", None),
        ("//evil.example/", None),
        (42, None),
    ],
)
def test_without_a_linkable_target_the_url_is_a_safe_data_url(api_client, user, link, expected):
    notification = NotificationFactory(recipient=user, target=user, data={"url": link})

    [row] = api_client.get(LIST).json()["results"]

    assert row["url"] == expected
    # The WebSocket payload comes from the same serializer.
    assert notification_payloads([notification])[0]["url"] == expected


def test_no_target_and_no_data_url_is_null(api_client, user):
    NotificationFactory(recipient=user)

    [row] = api_client.get(LIST).json()["results"]

    assert row["url"] is None
