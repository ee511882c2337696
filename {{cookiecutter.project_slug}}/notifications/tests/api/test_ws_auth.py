"""ws_auth/: one-time WebSocket tickets."""

from http import HTTPStatus
from uuid import UUID

import pytest
from django.urls import reverse

from notifications import tickets

pytestmark = pytest.mark.django_db

WS_AUTH = reverse("notifications:ws-auth")


@pytest.mark.parametrize("method", ["get", "post"])
def test_ws_auth_issues_a_ticket_for_the_user(api_client, user, method):
    response = getattr(api_client, method)(WS_AUTH)

    assert response.status_code == HTTPStatus.OK
    ticket = response.json()["uuid"]
    assert UUID(ticket)
    assert tickets.redeem_ticket(ticket) == user.id
    # Single use.
    assert tickets.redeem_ticket(ticket) is None


def test_every_call_issues_a_new_ticket(api_client):
    assert api_client.get(WS_AUTH).json()["uuid"] != api_client.get(WS_AUTH).json()["uuid"]
