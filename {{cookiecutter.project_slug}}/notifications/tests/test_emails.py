"""Email digests through a real SMTP server on loopback, and their one-click unsubscribe link.

The server is aiosmtpd in a thread of the test process; what it receives is parsed with the
standard library's email parser, as a mail client would read it.
"""

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from http import HTTPStatus
from io import StringIO
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core import signing
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import F
from django.test import Client
from django.urls import reverse

from config.mail import mail_settings
from notifications import categories
from notifications.delivery import emails
from notifications.inbox import actions
from notifications.models import Notification, NotificationPreference
from notifications.reader import preferences
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory
from notifications.tests.servers import HOST, free_port

pytestmark = pytest.mark.django_db


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # Addresses refused at RCPT TO, as a server refuses a mailbox it does not know.
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox(settings) -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port, and the project's email settings aimed at it."""
    handler = Mailbox()
    controller = Controller(handler, hostname=HOST, port=free_port())
    controller.start()
    use_mail_url(settings, f"smtp://{HOST}:{controller.port}")
    settings.DEFAULT_FROM_EMAIL = "alerts@example.com"
    settings.SITE_URL = "https://app.example.com"
    settings.NOTIFICATIONS_CENTRE_URL = "https://app.example.com/"
    yield handler
    controller.stop()


def use_mail_url(settings, url: str) -> None:
    """Point the default mailer at `url`, as EMAIL_URL would."""
    for name, value in mail_settings(url).items():
        setattr(settings, name, value)


def age(minutes: int = 20) -> None:
    """Make every notification `minutes` older: past NOTIFICATIONS_EMAIL_DELAY_MINUTES (15)."""
    Notification.objects.update(created_at=F("created_at") - timedelta(minutes=minutes))


def send() -> str:
    output = StringIO()
    call_command("send_notification_emails", stdout=output)
    return output.getvalue().strip()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain text and HTML bodies of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def unsubscribe_path(message: EmailMessage) -> str:
    # A long header is folded onto its own line; unfolding leaves the space before it.
    header = str(message["List-Unsubscribe"]).strip()
    assert header.startswith("<https://app.example.com/")
    assert header.endswith(">")
    return urlsplit(header[1:-1]).path


def test_a_digest_carries_text_html_links_and_the_unsubscribe_headers(user, mailbox):
    first = NotificationService.create_notification(
        user, "Invoice 42 is overdue", category="payment", title="Payment reminder"
    )
    second = NotificationService.create_notification(user, "Invoice 43 paid", category="payment")
    age()

    assert send() == "Sent 1 digest(s); 0 failed."

    [message] = mailbox.messages
    assert (message["To"], message["From"]) == (user.email, "alerts@example.com")
    assert message["Subject"] == "2 unread notifications"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_path(message).startswith("/notifications/unsubscribe/")
    text, html = parts(message)
    for notification in (first, second):
        link = f"https://app.example.com/#notification-{notification.pk}"
        assert link in text
        assert f'href="{link}"' in html
    assert "Payment reminder" in text
    assert "Invoice 42 is overdue" in html
    assert "Payments" in text
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_without_a_centre_items_link_where_they_lead_or_nowhere(user, mailbox, settings):
    settings.NOTIFICATIONS_CENTRE_URL = ""
    NotificationService.create_notification(
        user, "Invoice 42 is overdue", category="payment", data={"url": "/invoices/42/"}
    )
    NotificationService.create_notification(
        user, "Invoice 43 paid", category="payment", data={"url": "https://pay.example.org/43"}
    )
    NotificationService.create_notification(user, "Nothing to open", category="payment")
    for number in range(emails.DIGEST_MAX_ITEMS):
        NotificationService.create_notification(user, f"Filler {number}", category="payment")
    age()

    send()

    [message] = mailbox.messages
    text, html = parts(message)
    assert "https://app.example.com/invoices/42/" in text
    assert 'href="https://app.example.com/invoices/42/"' in html
    assert 'href="https://pay.example.org/43"' in html
    assert "<strong>Nothing to open</strong>" in html
    assert "#notification-" not in text + html
    assert "Open your notifications" not in text + html
    assert "...and 3 more\r\n" in text
    assert "…and 3 more." in html
    hrefs = html.count('href="')
    assert hrefs == 3, "two items and the unsubscribe link, nothing else"


@actions.register("tests.email_accept")
def accept(user: Any, notification: Notification) -> dict[str, Any]:
    return {"message": "Accepted"}


BUTTONS = [
    {"label": "Accept", "style": "primary", "action": "tests.email_accept"},
    {"label": "Open task", "style": "secondary", "url": "/tasks/7/"},
]


def test_actions_are_links_and_a_server_action_links_to_its_item(user, mailbox):
    waiting = NotificationService.create_notification(
        user, "Review this", category="payment", actions=BUTTONS
    )
    done = NotificationService.create_notification(
        user, "Reviewed", category="payment", actions=BUTTONS
    )
    NotificationService.run_action(done.pk, user, 0)
    age()

    send()

    [message] = mailbox.messages
    text, html = parts(message)
    row = f"https://app.example.com/#notification-{waiting.pk}"
    # An email cannot run the handler: its button opens the item, where the centre can.
    assert f"Accept: {row}\r\n" in text
    assert "Open task: https://app.example.com/tasks/7/\r\n" in text
    assert f'<a href="{row}" style="display: inline-block;' in html
    assert 'background: #1d4ed8; color: #ffffff;">Accept</a>' in html
    assert 'background: #ffffff; color: #1d4ed8;">Open task</a>' in html
    # The one that ran shows its result instead of buttons.
    assert "✓ Accepted" in text
    assert "✓ Accepted" in html
    assert text.count("Open task:") == 1
    assert html.count(">Open task</a>") == 1


def test_without_a_centre_a_server_action_of_an_item_that_links_nowhere_is_left_out(
    user, mailbox, settings
):
    settings.NOTIFICATIONS_CENTRE_URL = ""
    NotificationService.create_notification(
        user, "Nowhere", category="payment", actions=BUTTONS[:1]
    )
    NotificationService.create_notification(
        user, "Somewhere", category="payment", actions=BUTTONS[:1], data={"url": "/tasks/8/"}
    )
    age()

    send()

    [message] = mailbox.messages
    text, html = parts(message)
    assert text.count("Accept:") == 1
    assert "Accept: https://app.example.com/tasks/8/\r\n" in text
    assert html.count(">Accept</a>") == 1


def test_a_second_run_sends_nothing(user, mailbox):
    NotificationService.create_notification(user, "Invoice paid", category="payment")
    age()

    send()
    assert send() == "Sent 0 digest(s); 0 failed."

    assert len(mailbox.messages) == 1


def test_a_long_digest_lists_the_first_items_and_counts_the_rest(user, mailbox):
    for number in range(emails.DIGEST_MAX_ITEMS + 3):
        NotificationService.create_notification(user, f"Item {number}", category="payment")
    age()

    send()

    [message] = mailbox.messages
    text, html = parts(message)
    assert "...and 3 more" in text
    assert "3 more</a>" in html
    assert f"Item {emails.DIGEST_MAX_ITEMS - 1}" in text
    assert f"Item {emails.DIGEST_MAX_ITEMS}" not in text
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_only_unread_old_enough_notifications_of_an_emailed_category_are_sent(
    user, other_user, mailbox
):
    read = NotificationService.create_notification(user, "was-read", category="payment")
    NotificationService.mark_notification_read(read.pk, user)
    deleted = NotificationService.create_notification(user, "was-deleted", category="payment")
    NotificationService.delete_notification(deleted.pk, user)
    in_app_only = NotificationService.create_notification(user, "in-app-only", category="general")
    muted = NotificationService.create_notification(other_user, "email-off", category="payment")
    preferences.update(other_user, [{"category": "payment", "email": False}], replace=False)
    opted_in = NotificationService.create_notification(other_user, "email-on", category="quote")
    preferences.update(other_user, [{"category": "quote", "email": True}], replace=False)
    wanted = NotificationService.create_notification(user, "still-unread", category="payment")
    age()
    too_recent = NotificationService.create_notification(user, "too-recent", category="payment")

    send()

    texts = {str(message["To"]): parts(message)[0] for message in mailbox.messages}
    assert set(texts) == {user.email, other_user.email}
    assert "still-unread" in texts[user.email]
    for left_out in ("was-read", "was-deleted", "in-app-only", "too-recent"):
        assert left_out not in texts[user.email]
    assert "email-on" in texts[other_user.email]
    assert "email-off" not in texts[other_user.email]
    emailed = set(
        Notification.objects.filter(emailed_at__isnull=False).values_list("pk", flat=True)
    )
    assert emailed == {wanted.pk, opted_in.pk}
    assert {read.pk, in_app_only.pk, muted.pk, too_recent.pk}.isdisjoint(emailed)


def test_a_user_without_an_address_is_skipped(mailbox):
    user = UserFactory(email="")
    NotificationService.create_notification(user, "Invoice paid", category="payment")
    age()

    assert send() == "Sent 0 digest(s); 0 failed."
    assert not mailbox.messages


def test_an_unreachable_mail_server_keeps_the_rows_due(user, settings):
    use_mail_url(settings, f"smtp://{HOST}:{free_port()}?timeout=5")
    NotificationService.create_notification(user, "Invoice paid", category="payment")
    age()

    assert send() == "Sent 0 digest(s); 1 failed."
    assert Notification.objects.get().emailed_at is None


@pytest.mark.parametrize(
    "bad_address",
    ["carol@", "carol@example.com\nBcc: everyone@example.com", "carol@exa mple.com"],
)
def test_a_bad_address_is_counted_and_skipped_and_the_users_after_it_get_theirs(
    mailbox, caplog, bad_address
):
    users = UserFactory.create_batch(50)
    carol = users[10]
    # As a bulk import or an old form could have stored it: the model does not validate it.
    type(carol).objects.filter(pk=carol.pk).update(email=bad_address)
    NotificationService.notify_many(users, "Invoice paid", category="payment")
    age()

    run = emails.send_digests()

    assert (run.sent, run.failed) == (49, 1)
    received = sorted(str(message["To"]) for message in mailbox.messages)
    assert received == sorted(user.email for user in users if user != carol)
    assert Notification.objects.get(recipient=carol).emailed_at is None
    assert f"The digest to user {carol.pk} was not sent." in caplog.text


def test_a_recipient_the_mail_server_refuses_costs_only_their_digest(mailbox, caplog):
    users = UserFactory.create_batch(5)
    carol = users[2]
    mailbox.refused.add(carol.email)
    NotificationService.notify_many(users, "Invoice paid", category="payment")
    age()

    assert send() == "Sent 4 digest(s); 1 failed."

    received = sorted(str(message["To"]) for message in mailbox.messages)
    assert received == sorted(user.email for user in users if user != carol)
    assert Notification.objects.get(recipient=carol).emailed_at is None
    assert f"The digest to user {carol.pk} was not sent." in caplog.text
    # Still due: once the server takes the address, the next run sends it.
    mailbox.refused.clear()
    assert send() == "Sent 1 digest(s); 0 failed."
    assert str(mailbox.messages[-1]["To"]) == carol.email


def test_a_mandatory_category_is_emailed_whatever_a_stored_choice_says(user, mailbox):
    # Stored before "system" was mandatory: the API refuses such a change now.
    NotificationPreference.objects.create(user=user, category="system", in_app=False, email=False)
    notification = NotificationService.create_notification(
        user, "Password changed", category="system"
    )

    assert notification.pk is not None
    age()
    assert send() == "Sent 1 digest(s); 0 failed."
    [message] = mailbox.messages
    assert "Password changed" in parts(message)[0]


def test_a_mandatory_category_without_email_is_never_emailed(user, mailbox, monkeypatch):
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))
    categories.register("legal_notice", "Legal notices", mandatory=True)
    NotificationPreference.objects.create(user=user, category="legal_notice", email=True)
    NotificationService.create_notification(user, "Terms updated", category="legal_notice")
    age()

    assert send() == "Sent 0 digest(s); 0 failed."
    assert mailbox.messages == []


# Unsubscribe ------------------------------------------------------------------------------


def emailed_unsubscribe_path(user, mailbox: Mailbox) -> str:
    NotificationService.create_notification(user, "Invoice paid", category="payment")
    NotificationService.create_notification(user, "Weekly quote", category="quote")
    preferences.update(user, [{"category": "quote", "email": True}], replace=False)
    age()
    send()
    [message] = mailbox.messages
    return unsubscribe_path(message)


def email_of(user, category: str) -> bool:
    return {row["category"]: row for row in preferences.for_user(user)}[category]["email"]


def test_one_click_unsubscribe_from_the_parsed_header_turns_email_off(user, mailbox):
    path = emailed_unsubscribe_path(user, mailbox)
    # As a mail client sends it (RFC 8058): no login, no CSRF token.
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.OK
    assert "Payments" in response.text
    assert "Quotes" in response.text
    assert (email_of(user, "payment"), email_of(user, "quote")) == (False, False)
    NotificationService.create_notification(user, "Another invoice", category="payment")
    age()
    assert send() == "Sent 0 digest(s); 0 failed."


def test_following_the_link_asks_first_and_changes_nothing(user, mailbox):
    path = emailed_unsubscribe_path(user, mailbox)

    response = Client().get(path)

    assert response.status_code == HTTPStatus.OK
    assert '<form method="post">' in response.text
    assert response["Cache-Control"] == "private, no-store"
    assert email_of(user, "payment") is True


def test_a_tampered_token_is_a_400_page_and_changes_nothing(user, mailbox):
    path = emailed_unsubscribe_path(user, mailbox)
    token = path.split("/")[-2]
    tampered = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))

    for method in ("get", "post"):
        response = getattr(Client(), method)(tampered)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response["Content-Type"].startswith("text/html")
        assert "This link does not work" in response.text
    assert email_of(user, "payment") is True


def test_an_expired_token_is_a_400_page(user, settings):
    long_ago = time.time() - (settings.NOTIFICATIONS_UNSUBSCRIBE_MAX_AGE_DAYS + 1) * 86400
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        token = emails.unsubscribe_token(user.pk, ["payment"])

    response = Client().post(reverse("notification-unsubscribe", args=[token]))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert email_of(user, "payment") is True


def test_an_old_link_does_not_undo_a_later_opt_in(user, mailbox):
    path = emailed_unsubscribe_path(user, mailbox)
    assert Client().post(path).status_code == HTTPStatus.OK
    assert email_of(user, "payment") is False
    # The user turns email back on in their preferences.
    preferences.update(user, [{"category": "payment", "email": True}], replace=False)

    response = Client().post(path)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "This link does not work" in response.text
    assert email_of(user, "payment") is True


def test_the_link_works_while_the_preferences_are_unchanged(user, mailbox):
    path = emailed_unsubscribe_path(user, mailbox)
    before = preferences.last_change(user.pk)

    assert Client().get(path).status_code == HTTPStatus.OK
    assert preferences.last_change(user.pk) == before
    assert Client().post(path).status_code == HTTPStatus.OK
    assert email_of(user, "payment") is False


def test_a_token_signed_for_another_purpose_is_refused(user):
    token = signing.dumps({"user": user.pk, "categories": ["payment"]})

    response = Client().post(reverse("notification-unsubscribe", args=[token]))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert email_of(user, "payment") is True


# Several runs at once ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_digest_exactly_once(mailbox):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL: run with DATABASE_URL=postgres://...")
    # Enough rows per user that both runs scan the same user's rows at the same moment.
    users, per_user = UserFactory.create_batch(6), 40
    for number in range(per_user):
        NotificationService.notify_many(users, f"Invoice {number}", category="payment")
    age()
    start = threading.Barrier(2)
    runs: list[emails.DigestRun] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            runs.append(emails.send_digests())
        except BaseException as error:  # a thread's error would otherwise vanish
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(str(message["To"]) for message in mailbox.messages) == sorted(
        user.email for user in users
    )
    # Each digest is whole: no run sent part of a user's notifications.
    for message in mailbox.messages:
        assert parts(message)[0].startswith(f"You have {per_user} unread notifications.")
    assert sum(result.sent for result in runs) == len(users)
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
