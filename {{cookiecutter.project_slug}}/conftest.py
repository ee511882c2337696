"""Fixtures shared by every app's tests: users and authenticated API clients."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("bob", "bob@example.com", "pw-bob-123")


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
