"""The inbox states over the WebSocket: mark_seen, archive, unarchive, list, and their replay."""

from typing import Any

import pytest
from channels.db import database_sync_to_async

from notifications import selectors
from notifications.models import Notification
from notifications.services import NotificationService
from notifications.tests.test_consumers import command, open_socket
from notifications.tests.test_inbox_states import fresh_counts

pytestmark = pytest.mark.django_db(transaction=True)

create = database_sync_to_async(NotificationService.create_notification)
mark_all_seen = database_sync_to_async(NotificationService.mark_all_seen)
archive = database_sync_to_async(NotificationService.archive_notification)
current_counts = database_sync_to_async(fresh_counts)


@database_sync_to_async
def stored(pk: int) -> Notification:
    return Notification.objects.get(pk=pk)


async def grouped(user: Any, actor: Any, message: str) -> Notification:
    return await create(user, message, actor=actor, group_key="task:7:comments")


async def test_mark_seen_replies_with_counts_then_the_seen_event_follows(application, user):
    first = await create(user, "one")
    second = await create(user, "two")
    communicator, ready = await open_socket(application, user)
    assert ready["counts"]["unseen"] == 2

    reply = await command(communicator, action="mark_seen", request_id=1, up_to=first.id)

    assert (reply["type"], reply["event"]) == ("reply", "mark_seen")
    assert reply["payload"]["marked"] == 1
    assert reply["payload"]["counts"] == await current_counts(user)
    assert reply["payload"]["counts"]["unseen"] == 1
    event = await communicator.receive_json_from()
    assert (event["event"], event["payload"]["up_to_id"]) == ("seen", first.id)
    assert (await stored(second.id)).seen_at is None
    reply = await command(communicator, action="mark_seen", request_id=2)
    assert reply["payload"]["marked"] == 1
    await communicator.disconnect()


@pytest.mark.parametrize("up_to", ["abc", 0, 1.5, True])
async def test_a_bad_up_to_is_an_error_frame(application, user, up_to):
    await create(user, "one")
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action="mark_seen", request_id=3, up_to=up_to)

    assert (error["type"], error["payload"]["code"]) == ("error", "invalid_params")
    assert "up_to" in error["payload"]["message"]
    assert (await current_counts(user))["unseen"] == 1
    await communicator.disconnect()


async def test_archive_and_unarchive_commands(application, user):
    notification = await create(user, "file me")
    communicator, _ = await open_socket(application, user)

    reply = await command(communicator, action="archive", request_id=4, id=notification.id)
    assert reply["payload"]["counts"] == {"unread": 0, "unseen": 0, "by_category": {}}
    event = await communicator.receive_json_from()
    assert (event["event"], event["payload"]["ids"]) == ("archived", [notification.id])

    page = await command(communicator, action="list", request_id=5, archived=True)
    assert [item["id"] for item in page["payload"]["notifications"]] == [notification.id]
    page = await command(communicator, action="list", request_id=6)
    assert page["payload"]["notifications"] == []

    reply = await command(communicator, action="unarchive", request_id=7, id=notification.id)
    assert reply["payload"]["counts"]["unread"] == 1
    event = await communicator.receive_json_from()
    assert event["event"] == "unarchived"
    assert event["payload"]["notification"]["id"] == notification.id
    await communicator.disconnect()


@pytest.mark.parametrize("action", ["archive", "unarchive"])
async def test_archiving_another_users_notification_is_not_found(
    application, user, other_user, action
):
    theirs = await create(other_user, "private")
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action=action, request_id=8, id=theirs.id)

    assert (error["type"], error["payload"]["code"]) == ("error", "not_found")
    assert (await stored(theirs.id)).archived_at is None
    await communicator.disconnect()


async def test_a_group_update_is_pushed_as_updated(application, user, other_user):
    first = await grouped(user, other_user, "bob commented")
    communicator, _ = await open_socket(application, user)

    second = await grouped(user, other_user, "bob commented again")

    event = await communicator.receive_json_from()
    assert event["event"] == "updated"
    assert event["payload"]["replaces"] == first.id
    assert event["payload"]["notification"]["id"] == second.id
    assert event["payload"]["notification"]["group_count"] == 2
    assert event["payload"]["counts"] == await current_counts(user)
    await communicator.disconnect()


async def test_a_reconnecting_client_receives_seen_archived_and_updated(
    application, user, other_user
):
    first = await grouped(user, other_user, "one")
    kept = await create(user, "kept")
    communicator, ready = await open_socket(application, user)
    position = ready["last_id"]
    await communicator.disconnect()

    # While the client is away: the group takes a comment, the bell is cleared, one is filed.
    second = await grouped(user, other_user, "two")
    await mark_all_seen(user)
    await archive(kept.id, user)
    communicator, _ = await open_socket(application, user, f"&since={position}")

    replayed = [await communicator.receive_json_from() for _ in range(3)]
    synced = await communicator.receive_json_from()

    assert [frame["event"] for frame in replayed] == ["updated", "seen", "archived"]
    assert replayed[0]["payload"]["replaces"] == first.id
    assert replayed[0]["payload"]["notification"]["id"] == second.id
    assert replayed[1]["payload"]["up_to_id"] == second.id
    assert replayed[2]["payload"]["ids"] == [kept.id]
    counts = await database_sync_to_async(selectors.counts)(user)
    assert all(frame["payload"]["counts"] == counts for frame in replayed)
    assert counts == {
        "unread": 1,
        "unseen": 0,
        "by_category": {"general": {"unread": 1, "unseen": 0}},
    }
    assert synced["payload"] == {"recovered": True, "count": 3}
    await communicator.disconnect()
