"""Snooze over the WebSocket: the snooze and unsnooze commands, their errors and events."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from notifications.inbox import snooze
from notifications.models import Notification
from notifications.services import NotificationService
from notifications.tests.test_consumers import command, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

create = database_sync_to_async(NotificationService.create_notification)
wake_snoozed = database_sync_to_async(snooze.wake_snoozed)


@database_sync_to_async
def stored(pk: int) -> Notification:
    return Notification.objects.get(pk=pk)


def ahead(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


async def test_snooze_unsnooze_and_the_wake_up_reach_the_socket(application, user):
    notification = await create(user, "later")
    communicator, _ = await open_socket(application, user)

    reply = await command(
        communicator, action="snooze", request_id=1, id=notification.id, until=ahead(hours=1)
    )
    assert (reply["type"], reply["event"]) == ("reply", "snooze")
    assert reply["payload"]["counts"]["unread"] == 0
    event = await communicator.receive_json_from()
    assert (event["event"], event["payload"]["ids"]) == ("snoozed", [notification.id])
    page = await command(communicator, action="list", request_id=2, snoozed=True)
    assert [item["id"] for item in page["payload"]["notifications"]] == [notification.id]

    reply = await command(communicator, action="unsnooze", request_id=3, id=notification.id)
    assert reply["payload"]["counts"]["unread"] == 1
    event = await communicator.receive_json_from()
    assert (event["event"], event["payload"]["woke"]) == ("unsnoozed", False)

    await command(
        communicator, action="snooze", request_id=4, id=notification.id, until=ahead(hours=1)
    )
    await communicator.receive_json_from()
    await wake_snoozed(now=timezone.now() + timedelta(hours=2))
    event = await communicator.receive_json_from()
    assert (event["event"], event["payload"]["woke"]) == ("unsnoozed", True)
    assert event["payload"]["notification"]["id"] == notification.id
    assert event["payload"]["notification"]["is_read"] is False
    assert event["payload"]["counts"]["unread"] == 1
    await communicator.disconnect()


@pytest.mark.parametrize(
    "until",
    [ahead(minutes=-1), ahead(days=400), "soon", None, 5],
    ids=["past", "past-the-cap", "words", "null", "number"],
)
async def test_a_bad_until_is_an_error_frame(application, user, until):
    notification = await create(user, "now")
    communicator, _ = await open_socket(application, user)

    error = await command(
        communicator, action="snooze", request_id=5, id=notification.id, until=until
    )

    assert (error["type"], error["payload"]["code"]) == ("error", "invalid_params")
    assert error["payload"]["request_id"] == 5
    assert "until" in error["payload"]["message"].lower()
    assert (await stored(notification.id)).snoozed_until is None
    await communicator.disconnect()


@pytest.mark.parametrize("action", ["snooze", "unsnooze"])
async def test_another_users_notification_is_not_found(application, user, other_user, action):
    theirs = await create(other_user, "private")
    communicator, _ = await open_socket(application, user)

    error = await command(
        communicator, action=action, request_id=6, id=theirs.id, until=ahead(hours=1)
    )

    assert (error["type"], error["payload"]["code"]) == ("error", "not_found")
    assert (await stored(theirs.id)).snoozed_until is None
    await communicator.disconnect()
