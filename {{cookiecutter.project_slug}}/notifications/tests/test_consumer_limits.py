"""Every reply fits one frame: `list` pages by bytes, and what a client echoes is bounded."""

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from notifications.models import Notification
from notifications.serializers import dumps
from notifications.tests.test_consumers import command, create, open_socket
from notifications.websocket.commands import MAX_REQUEST_ID_BYTES, REPLY_ENVELOPE_BYTES
from notifications.websocket.limits import MAX_FRAME_BYTES

pytestmark = pytest.mark.django_db(transaction=True)

# A notification of about 10 KB as a frame carries it.
LARGE = {"blob": "x" * 10_000}


async def list_all(communicator: Any, limit: int) -> tuple[list[int], list[str], int]:
    """Every page of the inbox: the ids in order, each reply's text, and the pages it took."""
    ids: list[int] = []
    texts: list[str] = []
    before = None
    while True:
        frame: dict[str, Any] = {"action": "list", "request_id": len(texts), "limit": limit}
        if before is not None:
            frame["before"] = before
        await communicator.send_json_to(frame)
        text = await communicator.receive_from()
        texts.append(text)
        payload = json.loads(text)["payload"]
        page = [item["id"] for item in payload["notifications"]]
        ids += page
        if not payload["has_more"]:
            return ids, texts, len(texts)
        before = page[-1]


async def test_a_list_of_large_notifications_is_paged_to_one_frame(application, user, settings):
    created = [(await create(user, f"n{number}", data=LARGE)).pk for number in range(20)]
    communicator, _ = await open_socket(application, user)

    ids, texts, pages = await list_all(communicator, limit=20)

    assert ids == created[::-1], "every notification once, newest first"
    assert pages > 1
    assert max(len(text) for text in texts) <= settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES
    first = json.loads(texts[0])["payload"]
    assert first["has_more"] is True
    # As many as fit: one more would not.
    assert len(texts[0]) + len(dumps(first["notifications"][0])) > (
        settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES - REPLY_ENVELOPE_BYTES
    )
    await communicator.disconnect()


@database_sync_to_async
def store_around_the_service(user: Any, size: int) -> int:
    """A row the service would refuse, as the ORM or an old version could have stored it."""
    return Notification.objects.create(recipient=user, message="m", data={"blob": "x" * size}).pk


async def test_a_row_larger_than_a_frame_is_named_not_a_crash(application, user, settings):
    older = (await create(user, "older")).pk
    huge = await store_around_the_service(user, settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES)
    communicator, _ = await open_socket(application, user)

    refused = await command(communicator, action="list", request_id=1)
    past = await command(communicator, action="list", request_id=2, before=huge)

    assert (refused["type"], refused["payload"]["code"]) == ("error", "too_large")
    assert f"before={huge}" in refused["payload"]["message"]
    assert [item["id"] for item in past["payload"]["notifications"]] == [older]
    await communicator.disconnect()


async def test_a_long_request_id_is_refused_so_replies_stay_small(application, user):
    communicator, _ = await open_socket(application, user)
    fits = "r" * (MAX_REQUEST_ID_BYTES - 2)

    refused = await command(communicator, action="ping", request_id=fits + "r")
    pong = await command(communicator, action="ping", request_id=fits)

    assert (refused["payload"]["code"], refused["payload"]["request_id"]) == (
        "invalid_params",
        None,
    )
    assert (pong["event"], pong["payload"]["request_id"]) == ("pong", fits)
    await communicator.disconnect()


async def send_raw(communicator: Any, frame: dict[str, Any]) -> dict[str, Any]:
    """A command as UTF-8 text, as a browser sends it: 3 bytes for each of these characters."""
    text = json.dumps(frame, ensure_ascii=False)
    assert len(text.encode()) < MAX_FRAME_BYTES
    await communicator.send_to(text_data=text)
    return await communicator.receive_json_from()


async def test_an_error_echoes_no_more_than_a_name(application, user):
    """60 KB of non-ASCII text would come back as 120 KB of escapes: over any frame."""
    communicator, _ = await open_socket(application, user)
    text = "\u4e2d" * 20_000

    action = await send_raw(communicator, {"action": text, "request_id": 1})
    category = await send_raw(
        communicator, {"action": "mark_all_read", "category": text, "request_id": 2}
    )

    assert action["payload"]["code"] == "unknown_action"
    assert len(action["payload"]["message"]) < 100
    assert category["payload"]["code"] == "invalid_params"
    assert len(dumps(category)) < 1000
    await communicator.disconnect()


async def test_a_frame_over_the_limit_is_replaced_by_an_error(application, user, settings):
    """The last guard: a reply too large for daphne is an error frame, never a 1011."""
    await create(user, "n", data=LARGE)
    settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES = 5000
    communicator, _ = await open_socket(application, user)

    await communicator.send_json_to({"action": "sync", "since": 0, "request_id": 1})
    replayed = await communicator.receive_json_from()
    synced = await communicator.receive_json_from()

    assert (replayed["type"], replayed["payload"]["code"]) == ("error", "too_large")
    assert synced["event"] == "synced"
    await communicator.disconnect()
