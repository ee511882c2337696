"""NotificationService: every write, its pushes after commit, and its failure modes."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from notifications.categories import UnknownCategory
from notifications.models import Broadcast, BroadcastReceipt, Event, Level, Notification
from notifications.serializers import NotificationSerializer
from notifications.services import NotificationService
from notifications.stream import events
from notifications.tests.factories import BroadcastFactory, NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


class Inbox:
    """A channel subscribed to one group of the in-memory layer, as a socket would be."""

    def __init__(self, group: str) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, self.channel)

    def frames(self) -> list[dict[str, Any]]:
        """Every frame delivered so far, oldest first."""

        async def drain() -> list[dict[str, Any]]:
            received: list[dict[str, Any]] = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), 0.05)
                except TimeoutError:
                    return received
                received.append(decode(message))

        return async_to_sync(drain)()


def decode(message: dict[str, Any]) -> dict[str, Any]:
    """The frame a socket would send for a layer message; every-user frames get no counts."""
    return json.loads(events.frame_text(message, "0:0"))


@pytest.fixture
def inbox(user) -> Iterator[Inbox]:
    yield Inbox(events.user_group(user.id))
    async_to_sync(get_channel_layer().flush)()


# create_notification --------------------------------------------------------------------


def test_create_notification_with_a_user(user):
    notification = NotificationService.create_notification(user, "Your project was approved")

    notification.refresh_from_db()
    assert notification.recipient == user
    assert notification.message == "Your project was approved"
    assert notification.category == "general"
    assert notification.level == Level.LOW
    assert notification.read_at is None


def test_create_notification_with_a_user_id_and_options(user, other_user):
    notification = NotificationService.create_notification(
        user.id,
        "Paid",
        category="payment",
        title="Invoice 7",
        actor=other_user,
        data={"invoice": 7},
    )

    notification.refresh_from_db()
    assert notification.recipient_id == user.id
    assert notification.actor == other_user
    assert notification.title == "Invoice 7"
    assert notification.data == {"invoice": 7}
    # The category's default level, since none was given.
    assert notification.level == Level.MEDIUM


def test_create_notification_links_a_target(user):
    target = BroadcastFactory()

    notification = NotificationService.create_notification(user, "See this", target=target)

    assert Notification.objects.get(pk=notification.pk).target == target


def test_create_notification_for_an_unknown_user_id_is_value_error(db):
    with pytest.raises(ValueError, match="No user with id 999"):
        NotificationService.create_notification(999, "Hello")
    assert not Notification.objects.exists()


def test_create_notification_with_an_unknown_category_is_unknown_category(user):
    with pytest.raises(UnknownCategory, match="nope"):
        NotificationService.create_notification(user, "Hello", category="nope")
    assert not Notification.objects.exists()


def test_create_notification_validates_the_fields(user):
    with pytest.raises(ValidationError):
        NotificationService.create_notification(user, "Hello", level=7)
    assert not Notification.objects.exists()


def test_create_notification_pushes_after_commit(user, inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = NotificationService.create_notification(user, "Hi")
        # Nothing leaves before the commit.
        assert inbox.frames() == []

    [frame] = inbox.frames()
    assert frame["type"] == "notifications"
    assert frame["event"] == "created"
    assert frame["payload"]["notification"]["id"] == notification.pk
    assert frame["payload"]["counts"]["unread"] == 1


def test_a_rolled_back_write_pushes_nothing(user, inbox, django_capture_on_commit_callbacks):
    def write_then_fail() -> None:
        with transaction.atomic():
            NotificationService.create_notification(user, "Never happened")
            raise RuntimeError

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        write_then_fail()

    assert callbacks == []
    assert inbox.frames() == []
    assert not Notification.objects.exists()


def test_a_failed_push_keeps_the_row(user, caplog, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    with (
        mock.patch.object(layer, "group_send", side_effect=ConnectionError("redis down")) as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        notification = NotificationService.create_notification(user, "Stored anyway")

    assert send.await_count == 1
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert "Push of 1 of 1 message(s) failed; the events are stored" in caplog.text


def test_a_push_to_an_unreachable_redis_is_one_line_without_a_traceback(
    user, caplog, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    refused = RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
    with (
        mock.patch.object(layer, "group_send", side_effect=refused),
        django_capture_on_commit_callbacks(execute=True),
    ):
        NotificationService.create_notification(user, "Stored anyway")

    [record] = [r for r in caplog.records if r.name == "notifications.stream.publisher"]
    assert record.exc_info is None
    assert record.getMessage() == (
        "Push of 1 of 1 message(s) failed; the events are stored "
        "(Redis unreachable: Error 111 connecting to 127.0.0.1:1. Connection refused.)"
    )


# notify_many and broadcast ----------------------------------------------------------------


def test_notify_many_stores_one_row_per_distinct_user(user, other_user):
    created = NotificationService.notify_many([user, other_user.id, user], "Maintenance")

    assert [n.recipient_id for n in created] == [user.id, other_user.id]
    assert all(n.pk is not None for n in created)
    assert Notification.objects.filter(message="Maintenance").count() == 2


# 40 rows fit one INSERT on SQLite, whose statements take at most 999 parameters.
@pytest.mark.parametrize("size", [3, 40])
def test_notify_many_runs_the_same_queries_whatever_the_number_of_users(
    size, django_assert_max_num_queries
):
    user_ids = [u.id for u in UserFactory.create_batch(size)]

    actor = UserFactory()

    # Check the ids, read who muted the category, fetch the actor, savepoint, INSERT the rows,
    # take the positions (one upsert of the stream heads), INSERT their events, release.
    with django_assert_max_num_queries(8):
        NotificationService.notify_many(user_ids, "Bulk", actor=actor.pk)

    assert Notification.objects.count() == size


def test_notify_many_pushes_one_frame_per_user(
    user, other_user, inbox, django_capture_on_commit_callbacks
):
    other_inbox = Inbox(events.user_group(other_user.id))

    with django_capture_on_commit_callbacks(execute=True):
        NotificationService.notify_many([user, other_user], "Both")

    assert [f["payload"]["notification"]["message"] for f in inbox.frames()] == ["Both"]
    assert [f["payload"]["notification"]["message"] for f in other_inbox.frames()] == ["Both"]


def test_notify_many_with_an_unknown_user_id_stores_nothing(user):
    with pytest.raises(ValueError, match="No user with id 12345"):
        NotificationService.notify_many([user, 12345], "Bulk")
    assert not Notification.objects.exists()


def test_broadcast_stores_one_row_and_pushes_to_the_broadcast_group(
    django_capture_on_commit_callbacks,
):
    inbox = Inbox(events.BROADCAST_GROUP)

    with django_capture_on_commit_callbacks(execute=True):
        broadcast = NotificationService.broadcast("Deploy at 6", title="Deploy")

    assert Broadcast.objects.get() == broadcast
    assert broadcast.category == "system"
    assert broadcast.level == Level.MEDIUM
    [frame] = inbox.frames()
    assert frame["event"] == "broadcast"
    assert frame["payload"]["broadcast"]["id"] == broadcast.pk


def test_broadcast_with_an_unknown_category_is_unknown_category(db):
    with pytest.raises(UnknownCategory):
        NotificationService.broadcast("Hi", category="nope")
    assert not Broadcast.objects.exists()


# read, unread, delete ---------------------------------------------------------------------


def test_mark_notification_read_by_its_recipient(user, inbox, django_capture_on_commit_callbacks):
    notification = NotificationFactory(recipient=user)

    with django_capture_on_commit_callbacks(execute=True):
        returned = NotificationService.mark_notification_read(notification.pk, user)

    notification.refresh_from_db()
    assert notification.read_at is not None
    assert returned.pk == notification.pk
    [frame] = inbox.frames()
    assert frame["event"] == "read"
    assert frame["payload"] == {
        "ids": [notification.pk],
        "counts": {"unread": 0, "unseen": 0, "by_category": {}},
    }
    # Reading implies seeing.
    assert notification.seen_at == notification.read_at


def test_mark_notification_read_accepts_a_user_id(user):
    notification = NotificationFactory(recipient=user)

    NotificationService.mark_notification_read(notification.pk, user.id)

    notification.refresh_from_db()
    assert notification.is_read


def test_mark_notification_read_of_another_user_is_does_not_exist(user, other_user):
    notification = NotificationFactory(recipient=other_user)

    with pytest.raises(Notification.DoesNotExist):
        NotificationService.mark_notification_read(notification.pk, user)

    notification.refresh_from_db()
    assert notification.read_at is None


def test_marking_a_read_notification_again_keeps_the_first_time_and_pushes_nothing(
    user, inbox, django_capture_on_commit_callbacks
):
    notification = NotificationFactory(recipient=user)
    first = NotificationService.mark_notification_read(notification.pk, user).read_at

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = NotificationService.mark_notification_read(notification.pk, user)

    assert again.read_at == first
    assert callbacks == []


def test_mark_all_notifications_read_returns_the_count(user, other_user):
    NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=user, read_at=timezone.now())
    NotificationFactory(recipient=other_user)

    assert NotificationService.mark_all_notifications_read(user) == 3
    assert NotificationService.mark_all_notifications_read(user) == 0
    assert Notification.objects.filter(recipient=other_user, read_at__isnull=True).count() == 1


def test_mark_all_notifications_read_of_one_category(
    user, inbox, django_capture_on_commit_callbacks
):
    NotificationFactory.create_batch(2, recipient=user, category="project")
    general = NotificationFactory(recipient=user, category="general")

    with django_capture_on_commit_callbacks(execute=True):
        count = NotificationService.mark_all_notifications_read(user.id, category="project")

    assert count == 2
    general.refresh_from_db()
    assert general.read_at is None
    [frame] = inbox.frames()
    assert frame["event"] == "read"
    assert frame["payload"]["category"] == "project"
    assert frame["payload"]["counts"]["unread"] == 1


def test_mark_all_notifications_read_of_an_unknown_category(user):
    with pytest.raises(UnknownCategory):
        NotificationService.mark_all_notifications_read(user, category="nope")


def test_mark_unread(user, inbox, django_capture_on_commit_callbacks):
    notification = NotificationFactory(recipient=user, read_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        NotificationService.mark_unread(notification.pk, user)

    notification.refresh_from_db()
    assert notification.read_at is None
    [frame] = inbox.frames()
    assert frame["event"] == "unread"
    assert frame["payload"]["counts"]["unread"] == 1


def test_mark_unread_of_another_user_is_does_not_exist(user, other_user):
    notification = NotificationFactory(recipient=other_user, read_at=timezone.now())

    with pytest.raises(Notification.DoesNotExist):
        NotificationService.mark_notification_unread(notification.pk, user)


def test_delete_notification_is_soft(user, inbox, django_capture_on_commit_callbacks):
    notification = NotificationFactory(recipient=user)

    with django_capture_on_commit_callbacks(execute=True):
        NotificationService.delete_notification(notification.pk, user)

    notification.refresh_from_db()
    assert notification.deleted_at is not None
    assert inbox.frames()[0]["event"] == "deleted"
    # A deleted notification can no longer be read or deleted again.
    with pytest.raises(Notification.DoesNotExist):
        NotificationService.delete_notification(notification.pk, user)


def test_delete_notification_of_another_user_is_does_not_exist(user, other_user):
    notification = NotificationFactory(recipient=other_user)

    with pytest.raises(Notification.DoesNotExist):
        NotificationService.delete_notification(notification.pk, user)

    notification.refresh_from_db()
    assert notification.deleted_at is None


# broadcasts -------------------------------------------------------------------------------


def test_mark_broadcast_read_twice_keeps_one_receipt(
    user, inbox, django_capture_on_commit_callbacks
):
    broadcast = BroadcastFactory()

    with django_capture_on_commit_callbacks(execute=True):
        first = NotificationService.mark_broadcast_read(broadcast.pk, user)
        second = NotificationService.mark_broadcast_read(broadcast.pk, user.id)

    assert BroadcastReceipt.objects.filter(broadcast=broadcast, user=user).count() == 1
    assert second.read_at == first.read_at
    # Only the first read is news to the user's other sockets.
    assert [f["event"] for f in inbox.frames()] == ["broadcast_read"]


def test_mark_a_deleted_broadcast_read_is_does_not_exist(user):
    broadcast = BroadcastFactory()
    NotificationService.delete_broadcast(broadcast.pk)

    with pytest.raises(Broadcast.DoesNotExist):
        NotificationService.mark_broadcast_read(broadcast.pk, user)


def test_notify_many_payloads_match_each_row_serialised_alone(user, other_user):
    actor = UserFactory(username="carol")
    task_target = BroadcastFactory()  # any saved model works as a target

    rows = NotificationService.notify_many(
        [user, other_user], "Shipped", title="Release", actor=actor, target=task_target
    )

    stored = {event.recipient_id: event.payload["notification"] for event in Event.objects.all()}
    for row in rows:
        row.refresh_from_db()
        alone = json.loads(json.dumps(NotificationSerializer(row).data))
        assert stored[row.recipient_id] == alone
