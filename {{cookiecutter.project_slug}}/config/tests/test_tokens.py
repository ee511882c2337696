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
