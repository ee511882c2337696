"""Sign in, sign out and reset a password as an ordinary (non-staff) user."""

import re
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_non_staff_user_signs_in_and_out(client, user):
    assert not user.is_staff
    page = client.get(reverse("login"))
    assert page.status_code == HTTPStatus.OK
    assert "accounts/accounts.css" in page.content.decode()

    response = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-123"})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert client.session.get("_auth_user_id") == str(user.pk)

    response = client.post(reverse("logout"))

    assert response["Location"] == settings.LOGIN_URL
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_shows_the_form_again(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})

    assert response.status_code == HTTPStatus.OK
    assert "_auth_user_id" not in client.session
    assert 'class="errors"' in response.content.decode()


def test_logout_refuses_get(client, user):
    client.force_login(user)

    response = client.get(reverse("logout"))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_password_change(client, user):
    client.force_login(user)
    new_password = "a-new-long-password-42"

    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-alice-123",
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )

    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_password_reset_mails_a_link_that_sets_a_new_password(client, user):
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    # The link redirects once to a URL without the token, as Django's view does.
    form_url = client.get(link.group(1))["Location"]
    new_password = "reset-long-password-42"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})

    assert response["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_an_unknown_email_sends_nothing_and_says_the_same(client, user):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
