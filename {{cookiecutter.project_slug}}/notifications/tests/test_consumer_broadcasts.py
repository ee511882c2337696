"""Broadcasts over the WebSocket: mark_all_read reads them too, archive and unarchive them."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from notifications.models import BroadcastReceipt
from notifications.services import NotificationService
from notifications.tests.test_consumers import broadcast, command, create, newest, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def receipts(user: Any) -> list[tuple[int, bool]]:
    """(broadcast, archived) of the user's receipts."""
    rows = BroadcastReceipt.objects.filter(user=user).order_by("broadcast_id")
    return [(row.broadcast_id, row.archived_at is not None) for row in rows]


async def frames(communicator: WebsocketCommunicator, count: int) -> dict[str, dict[str, Any]]:
    """The next `count` frames by their event, whichever order the reply and events take."""
    received = [await communicator.receive_json_from() for _ in range(count)]
    assert await communicator.receive_nothing()
    by_event = {f"{frame['type']}:{frame['event']}": frame for frame in received}
    assert len(by_event) == count
    return by_event


async def test_mark_all_read_reads_broadcasts_too_and_only_this_users(
    application, user, other_user
):
    await create(user, "mine")
    sent = await broadcast("Maintenance tonight")
    communicator, _ = await open_socket(application, user)
    theirs, _ = await open_socket(application, other_user)

    await communicator.send_json_to({"action": "mark_all_read", "request_id": 1})
    got = await frames(communicator, 3)

    reply = got["reply:mark_all_read"]["payload"]
    assert (reply["marked"], reply["broadcasts_marked"]) == (1, 1)
    assert reply["counts"]["unread"] == 0
    assert got["notifications:broadcast_read"]["payload"]["ids"] == [sent.id]
    assert got["notifications:read"]["payload"]["all"] is True
    assert await receipts(user) == [(sent.id, False)]
    assert await receipts(other_user) == []
    assert await theirs.receive_nothing()
    await communicator.disconnect()
    await theirs.disconnect()


async def test_archive_and_unarchive_broadcast_commands(application, user, other_user):
    sent = await broadcast("Read me later")
    communicator, _ = await open_socket(application, user)
    theirs, _ = await open_socket(application, other_user)

    await communicator.send_json_to({"action": "archive_broadcast", "request_id": 2, "id": sent.id})
    got = await frames(communicator, 3)

    assert got["reply:archive_broadcast"]["payload"] == {
        "id": sent.id,
        "broadcast_unread_count": 0,
        "request_id": 2,
    }
    assert got["notifications:broadcast_read"]["payload"]["ids"] == [sent.id]
    assert got["notifications:broadcast_archived"]["payload"]["ids"] == [sent.id]
    assert await receipts(user) == [(sent.id, True)]

    await communicator.send_json_to(
        {"action": "unarchive_broadcast", "request_id": 3, "id": sent.id}
    )
    got = await frames(communicator, 2)

    assert got["reply:unarchive_broadcast"]["payload"]["broadcast_unread_count"] == 0
    event = got["notifications:broadcast_unarchived"]["payload"]
    assert (event["ids"], event["broadcast"]["id"]) == ([sent.id], sent.id)
    assert await receipts(user) == [(sent.id, False)]
    # The other user heard none of it and has no receipt.
    assert await theirs.receive_nothing()
    assert await receipts(other_user) == []
    await communicator.disconnect()
    await theirs.disconnect()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"id": 10**6}, "not_found"),
        ({"id": 0}, "invalid_params"),
        ({"id": "x"}, "invalid_params"),
        ({"id": 2**63}, "invalid_params"),
        ({}, "invalid_params"),
    ],
)
@pytest.mark.parametrize("action", ["archive_broadcast", "unarchive_broadcast"])
async def test_a_bad_broadcast_command_is_an_error_frame(application, user, action, params, code):
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action=action, request_id=4, **params)

    assert (error["type"], error["payload"]["code"]) == ("error", code)
    assert await receipts(user) == []
    # The socket stays open.
    assert (await command(communicator, action="ping", request_id=5))["event"] == "pong"
    await communicator.disconnect()


async def test_archived_and_unarchived_broadcasts_replay_in_order(application, user):
    sent = await broadcast("Replay me")
    since = await newest(user)
    await database_sync_to_async(NotificationService.archive_broadcast)(sent.id, user)
    await database_sync_to_async(NotificationService.unarchive_broadcast)(sent.id, user)

    communicator, _ = await open_socket(application, user, f"&since={since}")
    replayed = [await communicator.receive_json_from() for _ in range(4)]

    assert [(f["event"], f["payload"].get("ids")) for f in replayed] == [
        ("broadcast_read", [sent.id]),
        ("broadcast_archived", [sent.id]),
        ("broadcast_unarchived", [sent.id]),
        ("synced", None),
    ]
    await communicator.disconnect()
