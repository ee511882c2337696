"""notifications.testing: what it captures, and that its assertions fail when they should."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from notifications.services import NotificationService
from notifications.stream import events
from notifications.testing import capture_notifications

pytestmark = pytest.mark.django_db


def test_a_notification_is_captured_stored_and_pushed(user, other_user):
    with capture_notifications() as sent:
        NotificationService.create_notification(
            user, "Invoice 42 was paid", category="payment", data={"url": "/invoices/42/"}
        )

    notification = sent.assert_notified(user, message="Invoice 42 was paid", url="/invoices/42/")
    assert notification.category == "payment"
    assert sent.notifications == [notification]
    assert [push.event for push in sent.pushed_to(user)] == ["created"]
    assert sent.pushed[0].payload["counts"]["unread"] == 1
    sent.assert_not_notified(other_user)


def test_only_what_the_block_stored_is_captured(user):
    NotificationService.create_notification(user, "before")
    with capture_notifications() as sent:
        NotificationService.create_notification(user, "inside")

    assert [row.message for row in sent.notifications] == ["inside"]
    assert [row.message for row in sent.notifications_for(user)] == ["inside"]


def test_assert_notified_names_the_field_that_differs(user):
    with capture_notifications() as sent:
        NotificationService.create_notification(user, "Invoice 42 was paid", title="Paid")

    with pytest.raises(AssertionError, match=r"'title': \('Paid', 'Unpaid'\)"):
        sent.assert_notified(user, title="Unpaid")
    with pytest.raises(AssertionError, match="'nonsense': \\('<absent>', 1\\)"):
        sent.assert_notified(user, nonsense=1)


def test_assert_notified_wants_exactly_one(user, other_user):
    with capture_notifications() as sent:
        NotificationService.create_notification(user, "one")
        NotificationService.create_notification(user, "two")

    with pytest.raises(AssertionError, match=f"pushed to user {user.pk}, got 2"):
        sent.assert_notified(user)
    with pytest.raises(AssertionError, match=f"pushed to user {other_user.pk}, got 0"):
        sent.assert_notified(other_user)
    with pytest.raises(AssertionError, match='"one", "two"'):
        sent.assert_not_notified(user)


def notify_then_fail(user):
    with transaction.atomic():
        NotificationService.create_notification(user, "never")
        raise RuntimeError("rolled back")


def test_a_rolled_back_write_is_neither_stored_nor_pushed(user):
    with capture_notifications() as sent, pytest.raises(RuntimeError):
        notify_then_fail(user)

    assert sent.notifications == []
    assert sent.pushed == []
    sent.assert_not_notified(user)


def test_a_group_update_counts_as_the_one_notification(user, other_user):
    with capture_notifications() as sent:
        for actor in (other_user, user):
            NotificationService.create_notification(
                user, "commented", actor=actor, group_key="task:1:comments"
            )

    assert [push.event for push in sent.pushed_to(user)] == ["created", "updated"]
    with pytest.raises(AssertionError, match="got 2"):
        sent.assert_notified(user)
    # The first row was replaced by the group's new one: only that one is stored.
    assert [row.group_count for row in sent.notifications_for(user)] == [2]


def test_a_broadcast_is_a_push_to_every_user(user):
    with capture_notifications() as sent:
        NotificationService.broadcast("Maintenance at 22:00")

    assert [(push.user_id, push.event) for push in sent.pushed] == [(None, "broadcast")]
    assert sent.pushed[0].payload["broadcast"]["message"] == "Maintenance at 22:00"
    sent.assert_not_notified(user)


def test_what_is_captured_still_reaches_the_channel_layer(user):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.user_group(user.pk), channel)

    with capture_notifications():
        NotificationService.create_notification(user, "live")

    message = async_to_sync(asyncio.wait_for)(layer.receive(channel), 5)
    assert events.frame_text(message, "1:0").count('"message":"live"') == 1


@pytest.mark.django_db(transaction=True)
def test_commits_inside_the_block_are_captured_as_they_happen(user):
    with capture_notifications() as sent:
        with transaction.atomic():
            NotificationService.create_notification(user, "committed")
        assert [push.event for push in sent.pushed] == ["created"]

    sent.assert_notified(user, message="committed")
