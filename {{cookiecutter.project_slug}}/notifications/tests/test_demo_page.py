"""The notification centre page: signed-in users only, and it loads the client."""

from http import HTTPStatus

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_the_login_page(client):
    response = client.get(reverse("notification-centre"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/")


def test_signed_in_user_gets_the_page_with_the_client(client, user):
    client.force_login(user)

    response = client.get(reverse("notification-centre"))

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "notifications/notifications.js" in content
    assert "notifications/centre.js" in content
    # The page reads its endpoints from these attributes instead of hard-coding paths.
    assert f'data-list-url="{reverse("notifications:user-list")}"' in content
    assert 'name="csrf-token"' in content
    # Signing out is a POST to the accounts logout view, not a link.
    assert f'<form method="post" action="{reverse("logout")}">' in content
