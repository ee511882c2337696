"""Fixtures shared by every app's tests: users and authenticated API clients."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from notifications.tests.factories import UserFactory


@pytest.fixture
def user(db):
    """An ordinary user: not staff, as most users of a deployment are."""
    return UserFactory(username="alice", password="pw-alice-123")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob", password="pw-bob-123")


def jwt_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def api_client(user) -> APIClient:
    """An API client authenticated as `user` with a JWT access token."""
    return jwt_client(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return jwt_client(other_user)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()
