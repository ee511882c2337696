"""The pages in the reader's language: the centre and the scripts' catalog."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from notifications.reader import profile

pytestmark = pytest.mark.django_db


def signed_in(user, **headers) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def test_the_centre_is_shown_in_the_browsers_language(user):
    french = signed_in(user, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").get(
        reverse("notification-centre")
    )
    assert french.status_code == HTTPStatus.OK
    assert '<html lang="fr">' in french.text
    assert "Boîte de réception" in french.text
    english = signed_in(user, HTTP_ACCEPT_LANGUAGE="en-GB").get(reverse("notification-centre"))
    assert '<html lang="en">' in english.text
    assert "Inbox" in english.text


def test_the_centre_is_shown_in_the_users_choice(user):
    profile.update(user, {"language": "fr"})
    page = signed_in(user, HTTP_ACCEPT_LANGUAGE="en-US").get(reverse("notification-centre"))
    assert '<html lang="fr">' in page.text
    assert "Se déconnecter" in page.text
    preferences = signed_in(user).get(reverse("notification-preferences"))
    assert "Langue et heures calmes" in preferences.text


def test_the_script_catalog_follows_the_language(user):
    french = signed_in(user, HTTP_ACCEPT_LANGUAGE="fr").get(reverse("javascript-catalog"))
    assert french.status_code == HTTPStatus.OK
    assert "Marquer comme lue" in french.content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("javascript-catalog"))
    assert english.status_code == HTTPStatus.OK
    assert "Marquer comme lue" not in english.content.decode()
