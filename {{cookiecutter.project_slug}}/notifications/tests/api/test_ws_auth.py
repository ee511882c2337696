"""ws_auth/: one-time WebSocket tickets."""

from http import HTTPStatus
from uuid import UUID

import pytest
from django.core.cache import cache
from django.urls import reverse

from notifications.tests.servers import free_port
from notifications.websocket import tickets

pytestmark = pytest.mark.django_db

WS_AUTH = reverse("notifications:ws-auth")


@pytest.mark.parametrize("method", ["get", "post"])
def test_ws_auth_issues_a_ticket_for_the_user(api_client, user, method):
    response = getattr(api_client, method)(WS_AUTH)

    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    ticket = response.json()["uuid"]
    assert UUID(ticket)
    assert tickets.redeem_ticket(ticket) == user.id
    # Single use.
    assert tickets.redeem_ticket(ticket) is None


def test_every_call_issues_a_new_ticket(api_client):
    assert api_client.get(WS_AUTH).json()["uuid"] != api_client.get(WS_AUTH).json()["uuid"]


@pytest.fixture
def rates(settings):
    """Set throttle rates by scope for one test, on an empty throttle history."""
    cache.clear()

    def set_rates(**scopes: str) -> None:
        rest = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **rest,
            "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], **scopes},
        }

    yield set_rates
    cache.clear()


def test_ws_auth_is_not_throttled_by_notification_writes(api_client, rates):
    rates(notification_writes="1/min", ws_tickets="5/min")
    mark_all = reverse("notifications:user-mark-all-read")
    assert api_client.post(mark_all).status_code == HTTPStatus.OK
    assert api_client.post(mark_all).status_code == HTTPStatus.TOO_MANY_REQUESTS

    assert api_client.get(WS_AUTH).status_code == HTTPStatus.OK


def test_ws_auth_has_its_own_rate(api_client, rates):
    rates(ws_tickets="2/min")

    statuses = [api_client.post(WS_AUTH).status_code for _ in range(3)]

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_ws_auth_answers_503_when_the_ticket_store_is_down(api_client, settings):
    # A Redis cache on a free port, where nothing listens: every cache call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }

    response = api_client.get(WS_AUTH)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "retry" in response.json()["detail"]
