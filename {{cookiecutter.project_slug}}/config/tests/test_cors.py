"""CORS: a front end on a listed origin may call the API from a browser; others may not."""

from http import HTTPStatus

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

FRONT_END = "https://app.example.com"


@pytest.fixture(autouse=True)
def allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]


def preflight(client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )


def test_a_listed_origin_may_ask_for_a_ticket_with_a_token(client):
    response = preflight(client, reverse("notifications:ws-auth"), FRONT_END)

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_an_unlisted_origin_gets_no_cors_headers(client):
    response = preflight(client, reverse("notifications:ws-auth"), "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


def test_pages_outside_the_api_stay_same_origin(client):
    response = preflight(client, "/accounts/login/", FRONT_END)

    assert "Access-Control-Allow-Origin" not in response
