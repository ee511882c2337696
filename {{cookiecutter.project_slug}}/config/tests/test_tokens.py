"""token/ and token/refresh/: rate limited per client address."""

from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_rate(settings):
    cache.clear()
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **rest,
        "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], "tokens": "3/min"},
    }
    yield
    cache.clear()


@pytest.mark.parametrize("name", ["token_obtain_pair", "token_refresh"])
def test_token_endpoints_are_rate_limited_per_address(anonymous_client, user, token_rate, name):
    payload = {"username": "alice", "password": "wrong", "refresh": "not-a-token"}

    statuses = [
        anonymous_client.post(reverse(name), payload, format="json").status_code for _ in range(4)
    ]

    assert statuses[:3] == [HTTPStatus.UNAUTHORIZED] * 3
    assert statuses[3] == HTTPStatus.TOO_MANY_REQUESTS


def test_a_forged_forwarded_for_header_does_not_reset_the_count(anonymous_client, token_rate):
    url = reverse("token_obtain_pair")
    payload = {"username": "alice", "password": "wrong"}

    statuses = [
        anonymous_client.post(
            url, payload, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}"
        ).status_code
        for attempt in range(4)
    ]

    assert statuses[3] == HTTPStatus.TOO_MANY_REQUESTS


# Revocation ----------------------------------------------------------------------------------


def sign_in(client, password: str) -> dict[str, str]:
    response = client.post(
        reverse("token_obtain_pair"), {"username": "alice", "password": password}, format="json"
    )
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    return response.json()


def refresh(client, token: str):
    return client.post(reverse("token_refresh"), {"refresh": token}, format="json")


def inbox(client, access: str):
    return client.get(reverse("notifications:user-list"), HTTP_AUTHORIZATION=f"Bearer {access}")


def assert_refused(response) -> None:
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_a_password_change_revokes_earlier_tokens_and_a_new_sign_in_works(
    anonymous_client, client, user
):
    old = sign_in(anonymous_client, "pw-alice-123")
    refreshed = refresh(anonymous_client, old["refresh"])
    assert refreshed.status_code == HTTPStatus.OK
    assert "no-store" in refreshed["Cache-Control"]
    client.force_login(user)
    new_password = "a-new-long-password-42"

    client.post(
        reverse("password_change"),
        {
            "old_password": "pw-alice-123",
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )

    assert_refused(refresh(anonymous_client, old["refresh"]))
    assert_refused(inbox(anonymous_client, old["access"]))
    new = sign_in(anonymous_client, new_password)
    assert refresh(anonymous_client, new["refresh"]).status_code == HTTPStatus.OK
    assert inbox(anonymous_client, new["access"]).status_code == HTTPStatus.OK


def test_deactivating_a_user_refuses_their_tokens(anonymous_client, user):
    tokens = sign_in(anonymous_client, "pw-alice-123")
    user.is_active = False
    user.save()

    assert_refused(refresh(anonymous_client, tokens["refresh"]))
    assert_refused(inbox(anonymous_client, tokens["access"]))


def test_a_deleted_users_refresh_token_is_a_401(anonymous_client, user):
    tokens = sign_in(anonymous_client, "pw-alice-123")
    user.delete()

    assert_refused(refresh(anonymous_client, tokens["refresh"]))
