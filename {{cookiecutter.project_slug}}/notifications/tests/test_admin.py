"""The admin's bulk action: mark read whoever receives them, with the events sockets hear."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from notifications.models import Notification
from notifications.services import NotificationService
from notifications.testing import capture_notifications
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(user, other_user) -> dict[str, Notification]:
    earlier = timezone.now() - timedelta(days=1)
    return {
        "unread": NotificationFactory.create(recipient=user),
        "seen": NotificationFactory.create(recipient=user, seen_at=earlier),
        "read": NotificationFactory.create(recipient=user, read_at=earlier, seen_at=earlier),
        "deleted": NotificationFactory.create(recipient=user, deleted_at=earlier),
        "other": NotificationFactory.create(recipient=other_user),
    }


def test_mark_read_by_ids_marks_the_unread_ones_of_every_recipient(rows, user, other_user):
    earlier = rows["read"].read_at
    ids = [row.pk for row in rows.values()]

    with capture_notifications() as sent:
        marked = NotificationService.mark_read_by_ids(ids)

    assert marked == 3
    fresh = {name: Notification.objects.get(pk=row.pk) for name, row in rows.items()}
    for name in ("unread", "seen", "other"):
        assert fresh[name].read_at is not None, name
    assert fresh["read"].read_at == earlier
    assert fresh["deleted"].read_at is None
    # Reading implies seeing; an earlier seen mark is kept.
    assert fresh["seen"].seen_at == rows["seen"].seen_at
    assert fresh["unread"].seen_at == fresh["unread"].read_at
    # One event per recipient, naming only the rows this call changed.
    assert [(push.event, sorted(push.payload["ids"])) for push in sent.pushed_to(user)] == [
        ("read", sorted([rows["unread"].pk, rows["seen"].pk]))
    ]
    assert [push.payload["ids"] for push in sent.pushed_to(other_user)] == [[rows["other"].pk]]
    assert sent.pushed_to(user)[0].payload["counts"]["unread"] == 0


def test_mark_read_by_ids_of_nothing_unread_changes_and_sends_nothing(rows):
    with capture_notifications() as sent:
        marked = NotificationService.mark_read_by_ids([rows["read"].pk, rows["deleted"].pk, 0])

    assert marked == 0
    assert sent.pushed == []


def test_the_admin_action_marks_the_selected_notifications_read(admin_client, rows):
    selected = [rows["unread"].pk, rows["other"].pk, rows["read"].pk]

    response = admin_client.post(
        "/admin/notifications/notification/",
        {"action": "mark_read", "_selected_action": selected},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Marked 2 notification(s) read."
    ]
    unread = Notification.objects.filter(read_at__isnull=True, deleted_at__isnull=True)
    assert set(unread.values_list("pk", flat=True)) == {rows["seen"].pk}
