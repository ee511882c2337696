"""The notification pages: signed-in users only, the client loaded, the bell in any template."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.urls import reverse

pytestmark = pytest.mark.django_db

BELL_PAGE = "notifications/bell_example.html"


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


def test_the_centre_knows_the_heartbeat_period(client, user, settings):
    settings.NOTIFICATIONS_HEARTBEAT_SECONDS = 7
    client.force_login(user)

    content = client.get(reverse("notification-centre")).content.decode()

    assert 'data-heartbeat-seconds="7"' in content


def test_the_bell_renders_for_a_signed_in_user_only(rf, user):
    # The example page is a plain template holding the tag, as a page of yours would.
    request = rf.get("/")

    request.user = AnonymousUser()
    assert "data-notification-bell" not in render_to_string(BELL_PAGE, request=request)

    request.user = user
    html = render_to_string(BELL_PAGE, request=request)
    assert "data-notification-bell" in html
    assert "notifications/bell.js" in html
    assert f'data-counts-url="{reverse("notifications:user-counts")}"' in html
    assert 'aria-expanded="false"' in html


@pytest.mark.parametrize("name", ["notification-preferences", "notification-bell-example"])
def test_the_other_pages_need_a_signed_in_user(client, user, name):
    assert client.get(reverse(name)).status_code == HTTPStatus.FOUND

    client.force_login(user)

    assert client.get(reverse(name)).status_code == HTTPStatus.OK
