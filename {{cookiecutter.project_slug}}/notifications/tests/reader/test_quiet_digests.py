"""A digest due inside its recipient's quiet hours waits until they end (real SMTP server)."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notifications.delivery import emails
from notifications.models import Notification
from notifications.reader import profile
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory
from notifications.tests.test_emails import age, mailbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def test_a_digest_due_at_night_waits_for_the_morning(mailbox):  # noqa: F811
    sleeper = UserFactory(username="sleeper")
    awake = UserFactory(username="awake")
    profile.update(
        sleeper, {"time_zone": "Europe/Paris", "quiet_start": time(22), "quiet_end": time(7)}
    )
    for user in (sleeper, awake):
        NotificationService.create_notification(user, "Invoice 42 is overdue", category="payment")
    age()

    # 23:30 in Paris: the sleeper's digest waits, the other user's goes.
    night = datetime(2026, 1, 10, 23, 30, tzinfo=PARIS)
    assert emails.send_digests(now=night) == emails.DigestRun(sent=1, failed=0, waiting=1)
    assert [message["To"] for message in mailbox.messages] == [awake.email]
    assert Notification.objects.get(recipient=sleeper).emailed_at is None

    # Still quiet at 06:59; sent at 07:00, once.
    assert emails.send_digests(now=datetime(2026, 1, 11, 6, 59, tzinfo=PARIS)).waiting == 1
    morning = datetime(2026, 1, 11, 7, 0, tzinfo=PARIS)
    assert emails.send_digests(now=morning) == emails.DigestRun(sent=1, failed=0, waiting=0)
    assert [message["To"] for message in mailbox.messages] == [awake.email, sleeper.email]
    assert emails.send_digests(now=morning) == emails.DigestRun(sent=0, failed=0, waiting=0)


def test_quiet_hours_are_read_in_the_users_zone(mailbox):  # noqa: F811
    user = UserFactory(username="tokyo")
    profile.update(user, {"time_zone": "Asia/Tokyo", "quiet_start": time(22), "quiet_end": time(7)})
    NotificationService.create_notification(user, "Invoice 42 is overdue", category="payment")
    age()
    # 14:00 UTC is 23:00 in Tokyo: quiet there, though it is afternoon in UTC.
    afternoon_utc = datetime(2026, 1, 10, 14, 0, tzinfo=UTC)
    assert emails.send_digests(now=afternoon_utc).waiting == 1
    assert mailbox.messages == []
    # 22:00 UTC is 07:00 in Tokyo.
    assert emails.send_digests(now=datetime(2026, 1, 10, 22, 0, tzinfo=UTC)).sent == 1
