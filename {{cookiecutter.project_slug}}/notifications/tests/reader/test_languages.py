"""The API, emails, notification texts and broadcasts in the reader's language."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

from notifications.delivery import emails
from notifications.models import ReaderSettings
from notifications.reader import profile
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user, **headers) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def test_the_browsers_language_is_used_and_remembered_for_texts_stored_later(user):
    url = reverse("notifications:preferences")
    french = signed_in(user, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").get(url)
    assert french["Content-Language"] == "fr"
    assert {row["category"]: row["label"] for row in french.json()}["payment"] == "Paiements"
    assert profile.reader_of(user).writes_in == "fr"

    english = signed_in(user, HTTP_ACCEPT_LANGUAGE="en-GB").get(url)
    assert english["Content-Language"] == "en"
    assert profile.reader_of(user).writes_in == "en"


def test_the_users_choice_wins_over_the_browser(user):
    profile.update(user, {"language": "fr"})
    url = reverse("notifications:preferences")
    response = signed_in(user, HTTP_ACCEPT_LANGUAGE="en-US").get(url)
    assert response["Content-Language"] == "fr"
    # The browser's is not recorded over a choice: nothing to write.
    assert ReaderSettings.objects.get(user=user).browser_language == ""


def test_an_unsupported_browser_language_falls_back_to_the_default(user):
    url = reverse("notifications:preferences")
    response = signed_in(user, HTTP_ACCEPT_LANGUAGE="ja").get(url)
    assert response["Content-Language"] == "en"
    assert profile.reader_of(user).writes_in == "en"


def test_category_labels_follow_the_request_language(api_client):
    url = reverse("notifications:preferences")
    labels = {row["category"]: row["label"] for row in api_client.get(url).json()}
    assert labels["payment"] == "Payments"
    french = api_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert {row["category"]: row["label"] for row in french}["payment"] == "Paiements"


def test_a_lazy_broadcast_is_stored_in_every_language_and_read_in_each(api_client):
    broadcast = NotificationService.broadcast(
        gettext_lazy("Unread notifications"), title=gettext_lazy("System")
    )
    assert (broadcast.title, broadcast.message) == ("System", "Unread notifications")
    assert broadcast.data["translations"]["fr"] == {
        "title": "Système",
        "message": "Notifications non lues",
    }
    url = reverse("notifications:broadcast-list")
    [english] = api_client.get(url).json()["results"]
    [french] = api_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()["results"]
    assert (english["title"], english["message"]) == ("System", "Unread notifications")
    assert (french["title"], french["message"]) == ("Système", "Notifications non lues")


def test_a_plain_broadcast_is_stored_as_written(api_client):
    broadcast = NotificationService.broadcast("Maintenance at noon", title="Heads up")
    assert "translations" not in broadcast.data
    url = reverse("notifications:broadcast-list")
    [french] = api_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()["results"]
    assert french["message"] == "Maintenance at noon"


def test_a_digest_is_written_in_its_recipients_language(settings):
    # With a centre to link to, whether or not this project ships one.
    settings.NOTIFICATIONS_CENTRE_URL = "https://notify.example.com/"
    french = UserFactory(username="amelie")
    english = UserFactory(username="arthur")
    profile.update(french, {"language": "fr"})
    for user in (french, english):
        NotificationService.create_notification(user, "Facture 42", category="payment")
        NotificationService.create_notification(user, "Facture 43", category="payment")

    # Whatever language the sending process has active.
    with translation.override("en"):
        for user in (french, english):
            message = emails.build_digest(user, list(user.notifications.order_by("id")))
            message.send()

    by_user = {message.to[0]: message for message in mail.outbox}
    fr = by_user[french.email]
    assert fr.subject == "2 notifications non lues"
    assert fr.extra_headers["Content-Language"] == "fr"
    assert fr.body.startswith("Vous avez 2 notifications non lues.")
    assert "activé pour : Paiements." in fr.body
    html = fr.alternatives[0][0]
    assert '<html lang="fr">' in html
    assert "Ouvrir vos notifications" in html
    en = by_user[english.email]
    assert en.subject == "2 unread notifications"
    assert en.body.startswith("You have 2 unread notifications.")
    assert "email is on for: Payments." in en.body
