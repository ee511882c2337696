"""Password guessing: every door that checks a password locks per account and per address."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from notifications.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GUESSES = 20
HERE, ELSEWHERE = "203.0.113.5", "198.51.100.7"
DOORS = ["login", "admin:login", "token_obtain_pair"]


@pytest.fixture
def alice(db):
    # Staff, so that the admin's door would let her in with the right password.
    return UserFactory(username="alice", password="pw-alice-123", is_staff=True)


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", password="pw-bob-123", is_staff=True)


def sign_in(door: str, username: str, password: str, address: str = HERE):
    """One attempt at `door` from `address`; the response."""
    credentials = {"username": username, "password": password}
    if door == "token_obtain_pair":
        return APIClient().post(reverse(door), credentials, format="json", REMOTE_ADDR=address)
    return Client().post(reverse(door), credentials, REMOTE_ADDR=address)


def signed_in(door: str, response) -> bool:
    if door == "token_obtain_pair":
        return response.status_code == HTTPStatus.OK and "access" in response.json()
    return response.status_code == HTTPStatus.FOUND and "sessionid" in response.cookies


def assert_locked_out(door: str, response) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0
    if door == "token_obtain_pair":
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"].startswith("Too many failed sign-ins")
    else:
        assert response["Content-Type"].startswith("text/html")
        assert "Too many failed sign-ins" in response.text
        assert "sessionid" not in response.cookies


def guess(door: str, username: str, address: str = HERE) -> None:
    for attempt in range(GUESSES):
        sign_in(door, username, f"wrong-{attempt}", address)


@pytest.mark.parametrize("door", DOORS)
def test_the_right_password_is_refused_after_repeated_guesses(door, alice):
    assert signed_in(door, sign_in(door, "alice", "pw-alice-123"))
    guess(door, "alice")

    assert_locked_out(door, sign_in(door, "alice", "pw-alice-123"))


@pytest.mark.parametrize("door", DOORS)
def test_the_lockout_holds_per_account_and_per_address(door, alice, bob):
    guess(door, "alice")

    # The address: another account from it is refused too.
    assert_locked_out(door, sign_in(door, "bob", "pw-bob-123"))
    # The account: from another address it is still refused...
    assert_locked_out(door, sign_in(door, "alice", "pw-alice-123", ELSEWHERE))
    # ...while other accounts from other addresses sign in.
    assert signed_in(door, sign_in(door, "bob", "pw-bob-123", ELSEWHERE))


def test_a_lockout_on_one_door_closes_the_others(alice):
    guess("token_obtain_pair", "alice")

    for door in DOORS:
        assert_locked_out(door, sign_in(door, "alice", "pw-alice-123", ELSEWHERE))


def test_the_lockout_ends_after_the_cool_off(alice, settings):
    guess("login", "alice")
    assert_locked_out("login", sign_in("login", "alice", "pw-alice-123"))

    past = settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= past
        attempt.save()

    assert signed_in("login", sign_in("login", "alice", "pw-alice-123"))


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lock(alice, bob):
    for attempt in range(GUESSES):
        Client().post(
            reverse("login"),
            {"username": f"nobody{attempt}", "password": "wrong"},
            REMOTE_ADDR=HERE,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",
        )

    response = Client().post(
        reverse("login"),
        {"username": "bob", "password": "pw-bob-123"},
        REMOTE_ADDR=HERE,
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )

    assert_locked_out("login", response)


def test_behind_a_proxy_the_forwarded_address_is_the_client(alice, bob, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"
    guess_from = {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": HERE}
    for attempt in range(GUESSES):
        Client().post(
            reverse("login"), {"username": f"nobody{attempt}", "password": "x"}, **guess_from
        )

    locked = Client().post(
        reverse("login"), {"username": "bob", "password": "pw-bob-123"}, **guess_from
    )
    other_client = Client().post(
        reverse("login"),
        {"username": "bob", "password": "pw-bob-123"},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=ELSEWHERE,
    )

    assert_locked_out("login", locked)
    assert signed_in("login", other_client)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HERE}
