"""The WebSocket consumer through the full ASGI application: frames, commands, catch-up."""

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.test import AsyncClient
from rest_framework_simplejwt.tokens import AccessToken

from notifications import selectors
from notifications.consumers import NotificationConsumer
from notifications.models import Notification
from notifications.serializers import EmptyCommand
from notifications.services import NotificationService
from notifications.stream import beats, events, publisher
from notifications.tests.factories import UserFactory
from notifications.websocket import commands, consumer, tickets
from notifications.websocket.consumer import CLOSE_TOO_MANY, CLOSE_TRY_AGAIN, CLOSE_UNAUTHORIZED
from notifications.websocket.limits import MAX_FRAME_BYTES

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")

create = database_sync_to_async(NotificationService.create_notification)
mark_read = database_sync_to_async(NotificationService.mark_notification_read)
delete = database_sync_to_async(NotificationService.delete_notification)
mark_broadcast_read = database_sync_to_async(NotificationService.mark_broadcast_read)


@database_sync_to_async
def newest(user: Any) -> str:
    """The newest position of the user's stream, as a client is given it."""
    return str(selectors.latest_position(user))


broadcast = database_sync_to_async(NotificationService.broadcast)


async def open_socket(
    application: Any, user: Any, query: str = ""
) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """An authenticated socket and the payload of its ready frame."""
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}{query}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    ready = await communicator.receive_json_from()
    assert (ready["type"], ready["event"]) == ("connection", "ready")
    return communicator, ready["payload"]


async def test_sockets_opening_together_read_their_ready_states_together(application, monkeypatch):
    users = await database_sync_to_async(UserFactory.create_batch)(12)
    for number, user in enumerate(users):
        for _ in range(number % 3):
            await create(user, f"to {user.username}")
    reads: list[list[int]] = []
    read_ready = beats.read_ready

    async def counted(user_ids: list[int]) -> dict[int, beats.ReadyState]:
        reads.append(user_ids)
        if len(reads) == 1:
            # The first read waits until every other socket asked: however slowly they open,
            # they all share the next read.
            for _ in range(1000):
                waiting = beats.for_this_loop().waiting_ready
                if len(waiting) == len(users) - len(user_ids):
                    break
                await asyncio.sleep(0.01)
        return await read_ready(user_ids)

    monkeypatch.setattr(beats, "read_ready", counted)

    opened = await asyncio.gather(*(open_socket(application, user) for user in users))

    for number, (user, (communicator, ready)) in enumerate(zip(users, opened, strict=True)):
        assert ready["user_id"] == user.id
        assert ready["counts"]["unread"] == number % 3
        assert ready["last_id"] == f"{number % 3}:0"
        await communicator.disconnect()
    assert sorted(user_id for batch in reads for user_id in batch) == sorted(u.id for u in users)
    # One read, or two if the first began before the others asked: never one per socket.
    assert len(reads) <= 2


async def command(communicator: WebsocketCommunicator, **frame: Any) -> dict[str, Any]:
    await communicator.send_json_to(frame)
    return await communicator.receive_json_from()


async def test_ready_frame_carries_counts_and_last_id(application, user):
    await create(user, "one")
    await create(user, "two", category="payment")

    communicator, ready = await open_socket(application, user)

    assert ready == {
        "user_id": user.id,
        "counts": {
            "unread": 2,
            "unseen": 2,
            "by_category": {
                "general": {"unread": 1, "unseen": 1},
                "payment": {"unread": 1, "unseen": 1},
            },
        },
        "last_id": "2:0",
    }
    await communicator.disconnect()


async def test_a_new_notification_is_pushed_to_its_recipient(application, user):
    communicator, _ = await open_socket(application, user)

    notification = await create(user, "Hello", title="Greeting")

    frame = await communicator.receive_json_from()
    assert (frame["type"], frame["event"]) == ("notifications", "created")
    assert frame["id"] == await newest(user) == "1:0"
    assert frame["payload"]["notification"]["id"] == notification.id
    assert frame["payload"]["notification"]["message"] == "Hello"
    assert frame["payload"]["counts"] == {
        "unread": 1,
        "unseen": 1,
        "by_category": {"general": {"unread": 1, "unseen": 1}},
    }
    await communicator.disconnect()


async def test_another_users_notification_is_not_pushed(application, user, other_user):
    communicator, _ = await open_socket(application, user)

    await create(other_user, "Not yours")

    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_a_broadcast_reaches_every_socket(application, user, other_user):
    first, _ = await open_socket(application, user)
    second, _ = await open_socket(application, other_user)

    sent = await broadcast("Maintenance tonight")

    for communicator in (first, second):
        frame = await communicator.receive_json_from()
        assert (frame["event"], frame["payload"]["broadcast"]["id"]) == ("broadcast", sent.id)
        await communicator.disconnect()


async def test_ping_replies_pong_with_the_request_id(application, user):
    communicator, _ = await open_socket(application, user)

    reply = await command(communicator, action="ping", request_id="r1")

    assert reply == {"type": "reply", "event": "pong", "payload": {"request_id": "r1"}}
    await communicator.disconnect()


async def test_mark_read_marks_and_replies_then_the_read_event_follows(application, user):
    notification = await create(user, "Read me")
    await create(user, "Keep me")
    communicator, _ = await open_socket(application, user)

    reply = await command(communicator, action="mark_read", request_id=7, id=notification.id)

    assert reply["type"] == "reply"
    assert reply["payload"] == {
        "id": notification.id,
        "counts": {
            "unread": 1,
            "unseen": 1,
            "by_category": {"general": {"unread": 1, "unseen": 1}},
        },
        "request_id": 7,
    }
    event = await communicator.receive_json_from()
    assert (event["event"], event["payload"]["ids"]) == ("read", [notification.id])
    await notification.arefresh_from_db()
    assert notification.read_at is not None
    await communicator.disconnect()


async def test_mark_read_of_another_users_notification_is_not_found(application, user, other_user):
    foreign = await create(other_user, "Private")
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action="mark_read", request_id="x", id=foreign.id)

    assert error["type"] == "error"
    assert error["payload"]["code"] == "not_found"
    assert error["payload"]["request_id"] == "x"
    await foreign.arefresh_from_db()
    assert foreign.read_at is None
    await communicator.disconnect()


async def test_mark_all_read_of_one_category(application, user):
    await create(user, "general")
    await create(user, "paid", category="payment")
    communicator, _ = await open_socket(application, user)

    reply = await command(communicator, action="mark_all_read", request_id=1, category="payment")

    assert reply["payload"] == {
        "marked": 1,
        "broadcasts_marked": 0,
        "counts": {
            "unread": 1,
            "unseen": 1,
            "by_category": {"general": {"unread": 1, "unseen": 1}},
        },
        "request_id": 1,
    }
    assert await Notification.objects.filter(read_at__isnull=True).acount() == 1
    await communicator.disconnect()


async def test_mark_all_read_of_every_category(application, user):
    await create(user, "general")
    await create(user, "paid", category="payment")
    communicator, _ = await open_socket(application, user)

    reply = await command(communicator, action="mark_all_read", request_id=1)

    assert reply["payload"]["marked"] == 2
    assert reply["payload"]["counts"] == {"unread": 0, "unseen": 0, "by_category": {}}
    await communicator.disconnect()


async def test_mark_all_read_of_an_unknown_category_is_invalid(application, user):
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action="mark_all_read", request_id=1, category="nope")

    assert error["payload"]["code"] == "invalid_params"
    await communicator.disconnect()


async def test_list_pages_newest_first(application, user):
    created = [await create(user, f"n{number}") for number in range(5)]
    ids = [notification.id for notification in reversed(created)]
    communicator, _ = await open_socket(application, user)

    first = await command(communicator, action="list", request_id="p1", limit=2)
    rest = await command(communicator, action="list", request_id="p2", before=ids[1], limit=10)

    assert first["event"] == "list"
    assert [row["id"] for row in first["payload"]["notifications"]] == ids[:2]
    assert first["payload"]["has_more"] is True
    assert [row["id"] for row in rest["payload"]["notifications"]] == ids[2:]
    assert rest["payload"]["has_more"] is False
    assert rest["payload"]["request_id"] == "p2"
    await communicator.disconnect()


async def test_list_filters_by_category_and_unread(application, user):
    read = await create(user, "read", category="payment")
    unread = await create(user, "unread", category="payment")
    await create(user, "other category")
    await database_sync_to_async(NotificationService.mark_notification_read)(read.id, user)
    communicator, _ = await open_socket(application, user)

    reply = await command(
        communicator, action="list", request_id=1, category="payment", unread=True
    )

    assert [row["id"] for row in reply["payload"]["notifications"]] == [unread.id]
    await communicator.disconnect()


@pytest.mark.parametrize(
    "params",
    [{"limit": 101}, {"limit": 0}, {"before": "soon"}, {"category": "nope"}],
)
async def test_list_rejects_bad_parameters(application, user, params):
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action="list", request_id=1, **params)

    assert error["payload"]["code"] == "invalid_params"
    await communicator.disconnect()


async def test_sync_replays_what_was_missed_oldest_first(application, user):
    await create(user, "seen")
    communicator, ready = await open_socket(application, user)
    missed = [await create(user, f"missed {number}") for number in range(3)]
    for _ in missed:  # their live pushes
        await communicator.receive_json_from()

    await communicator.send_json_to(
        {"action": "sync", "request_id": "s", "since": ready["last_id"]}
    )

    replayed = [await communicator.receive_json_from() for _ in missed]
    assert [frame["payload"]["notification"]["id"] for frame in replayed] == [
        notification.id for notification in missed
    ]
    assert all(frame["event"] == "created" for frame in replayed)
    synced = await communicator.receive_json_from()
    assert synced == {
        "type": "connection",
        "event": "synced",
        "payload": {"recovered": True, "count": 3, "request_id": "s"},
    }
    await communicator.disconnect()


async def test_since_replays_on_connect(application, user):
    await create(user, "seen")
    position = await newest(user)
    missed = [await create(user, f"missed {number}") for number in range(2)]

    communicator, _ = await open_socket(application, user, f"&since={position}")

    replayed = [await communicator.receive_json_from() for _ in missed]
    assert [frame["payload"]["notification"]["id"] for frame in replayed] == [
        notification.id for notification in missed
    ]
    synced = await communicator.receive_json_from()
    assert synced["payload"] == {"recovered": True, "count": 2}
    await communicator.disconnect()


async def test_a_gap_past_the_replay_limit_replays_nothing(application, user, settings):
    settings.NOTIFICATIONS_REPLAY_LIMIT = 2
    for number in range(3):
        await create(user, f"missed {number}")

    communicator, _ = await open_socket(application, user, "&since=0")

    synced = await communicator.receive_json_from()
    assert (synced["event"], synced["payload"]) == ("synced", {"recovered": False, "count": 0})
    await communicator.disconnect()


@pytest.mark.parametrize("since", ["yesterday", "-1", "3", "1:2:3", "1:x", "1:\u00b2", "\u0661:0"])
async def test_a_bad_since_is_an_error_frame_and_the_resume_still_ends(application, user, since):
    communicator, _ = await open_socket(application, user, f"&since={since}")

    error = await communicator.receive_json_from()
    synced = await communicator.receive_json_from()

    assert error["payload"]["code"] == "invalid_params"
    assert (synced["event"], synced["payload"]) == ("synced", {"recovered": False, "count": 0})
    await communicator.disconnect()


async def test_a_bad_sync_command_is_an_error_and_a_synced(application, user):
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action="sync", request_id="s", since=-1)
    synced = await communicator.receive_json_from()

    assert (error["payload"]["code"], error["payload"]["request_id"]) == ("invalid_params", "s")
    assert synced["payload"] == {"recovered": False, "count": 0, "request_id": "s"}
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": "not json"}, "invalid_json"),
        ({"text_data": "[1, 2]"}, "invalid_json"),
        ({"bytes_data": b"\x00\x01"}, "binary_not_supported"),
        ({"text_data": " " * (MAX_FRAME_BYTES + 1)}, "too_large"),
        ({"text_data": json.dumps({"action": "explode", "request_id": 1})}, "unknown_action"),
        ({"text_data": json.dumps({"request_id": 1})}, "unknown_action"),
        ({"text_data": json.dumps({"action": "mark_read", "id": "abc"})}, "invalid_params"),
        ({"text_data": json.dumps({"action": "mark_read"})}, "invalid_params"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(application, user, frame, code):
    communicator, _ = await open_socket(application, user)

    await communicator.send_to(**frame)
    error = await communicator.receive_json_from()

    assert error["type"] == "error"
    assert error["payload"]["code"] == code
    assert error["payload"]["message"]
    pong = await command(communicator, action="ping", request_id="after")
    assert pong["event"] == "pong"
    await communicator.disconnect()


async def test_a_flood_of_commands_is_throttled(application, user, monkeypatch):
    # No refill: the burst is all a socket gets, so the count below is exact.
    monkeypatch.setattr(NotificationConsumer, "commands_per_second", 0.0)
    monkeypatch.setattr(NotificationConsumer, "command_burst", 3)
    communicator, _ = await open_socket(application, user)

    replies = [await command(communicator, action="ping", request_id=n) for n in range(5)]

    assert [reply["type"] for reply in replies] == ["reply"] * 3 + ["error"] * 2
    assert replies[3]["payload"] == {
        "code": "rate_limited",
        "message": "Too many commands; slow down.",
        "request_id": 3,
    }
    assert replies[4]["payload"]["request_id"] == 4
    await communicator.disconnect()


async def test_a_lost_push_is_fetched_by_the_socket_at_the_next_beat(
    application, user, settings, monkeypatch
):
    settings.NOTIFICATIONS_HEARTBEAT_SECONDS = 0.05
    communicator, ready = await open_socket(application, user)
    monkeypatch.setattr(publisher, "publish", lambda messages: None)  # the push is lost

    missed = await create(user, "missed")

    # Beats from before the write may come first; then the socket sees it is behind the
    # stream and sends what it missed, and its beats carry the new position.
    while (frame := await communicator.receive_json_from())["event"] == "heartbeat":
        assert frame["payload"]["last_id"] == ready["last_id"]
    assert (frame["event"], frame["id"]) == ("created", "1:0")
    assert frame["payload"]["notification"]["id"] == missed.id
    beat = await communicator.receive_json_from()
    assert beat == {"type": "connection", "event": "heartbeat", "payload": {"last_id": "1:0"}}
    await communicator.disconnect()


async def test_disconnect_leaves_the_user_and_broadcast_groups(application, user):
    layer = get_channel_layer()
    groups = [events.user_group(user.id), events.BROADCAST_GROUP]
    communicator, _ = await open_socket(application, user)
    assert all(layer.groups.get(group) for group in groups)

    await communicator.disconnect()

    assert not any(layer.groups.get(group) for group in groups)


async def test_a_crashed_socket_leaves_its_groups_and_heartbeat(application, user, monkeypatch):
    layer = get_channel_layer()
    groups = [events.user_group(user.id), events.BROADCAST_GROUP]
    communicator, _ = await open_socket(application, user)

    # A bug past the command guard, as a RecursionError in the consumer once was.
    async def crash(self, text_data=None, bytes_data=None):
        raise RecursionError("bug")

    monkeypatch.setattr(NotificationConsumer, "receive", crash)
    await communicator.send_to(text_data="{}")
    with pytest.raises(RecursionError):
        await communicator.wait()

    assert not any(layer.groups.get(group) for group in groups)
    assert beats.for_this_loop().sockets_of(user.id) == 0


@pytest.mark.parametrize("failing", ["new_channel", "group_add"])
async def test_a_socket_the_channel_layer_cannot_serve_is_told_to_retry(
    application, user, monkeypatch, failing
):
    """Redis down: before connect() (opening the channel) or in it (joining the groups)."""

    async def unavailable(*args: Any) -> None:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(get_channel_layer(), failing, unavailable)
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])

    connected, _ = await communicator.connect()
    error = await communicator.receive_json_from()
    closed = await communicator.receive_output()

    assert connected
    assert error["payload"]["code"] == "unavailable"
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_TRY_AGAIN)
    await communicator.disconnect()


async def test_since_replays_every_kind_of_event_in_order_each_once(application, user):
    older = await create(user, "older")
    doomed = await create(user, "doomed")
    _, ready = await open_socket(application, user)
    position = ready["last_id"]

    first = await create(user, "first")
    second = await create(user, "second")
    await mark_read(older.id, user)
    await delete(doomed.id, user)
    sent = await broadcast("Maintenance")
    await mark_broadcast_read(sent.id, user)
    communicator, _ = await open_socket(application, user, f"&since={position}")

    replayed = [await communicator.receive_json_from() for _ in range(6)]
    synced = await communicator.receive_json_from()
    assert [(frame["event"], frame["payload"].get("ids")) for frame in replayed] == [
        ("created", None),
        ("created", None),
        ("read", [older.id]),
        ("deleted", [doomed.id]),
        ("broadcast", None),
        ("broadcast_read", [sent.id]),
    ]
    assert [
        replayed[0]["payload"]["notification"]["id"],
        replayed[1]["payload"]["notification"]["id"],
    ] == [first.id, second.id]
    assert replayed[4]["payload"]["broadcast"]["id"] == sent.id
    assert position == "2:0"
    # Each frame names the position after it, in the user's stream and the broadcasts'.
    assert [frame["id"] for frame in replayed] == ["3:0", "4:0", "5:0", "6:0", "6:1", "7:1"]
    # Every replayed frame carries the user's counts now: "first" and "second" unread.
    assert {frame["payload"]["counts"]["unread"] for frame in replayed} == {2}
    assert synced["payload"] == {"recovered": True, "count": 6}
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_a_since_ahead_of_the_stream_is_an_error_frame(application, user):
    await create(user, "one")

    communicator, _ = await open_socket(application, user, "&since=11:0")

    error = await communicator.receive_json_from()
    synced = await communicator.receive_json_from()
    assert (error["type"], error["payload"]["code"]) == ("error", "invalid_params")
    # The resume still ends, so the client leaves replay mode and reloads.
    assert synced["payload"] == {"recovered": False, "count": 0}
    pong = await command(communicator, action="ping", request_id="still-open")
    assert pong["event"] == "pong"
    await communicator.disconnect()


async def test_another_users_position_reveals_nothing(application, user, other_user):
    await create(other_user, "theirs")
    await create(other_user, "theirs too")
    await create(user, "mine")

    communicator, ready = await open_socket(application, user, "&since=0")

    replayed = await communicator.receive_json_from()
    synced = await communicator.receive_json_from()
    assert replayed["payload"]["notification"]["message"] == "mine"
    assert synced["payload"] == {"recovered": True, "count": 1}
    # A user's positions count their own events only.
    assert ready["last_id"] == replayed["id"] == "1:0"
    await communicator.disconnect()


async def test_a_broadcast_frame_carries_each_users_own_counts(application, user, other_user):
    await create(user, "unread one")
    first, _ = await open_socket(application, user)
    second, _ = await open_socket(application, other_user)

    await broadcast("Hello all")

    mine = await first.receive_json_from()
    theirs = await second.receive_json_from()
    # One broadcast, at each reader's own position.
    assert (mine["id"], theirs["id"]) == ("1:1", "0:1")
    assert mine["payload"]["counts"]["unread"] == 1
    assert theirs["payload"]["counts"]["unread"] == 0
    for communicator in (first, second):
        await communicator.disconnect()


async def test_deeply_nested_json_is_an_error_frame(application, user):
    communicator, _ = await open_socket(application, user)

    await communicator.send_to(text_data="[" * 20000 + "]" * 20000)

    error = await communicator.receive_json_from()
    assert error["payload"]["code"] == "invalid_json"
    pong = await command(communicator, action="ping", request_id="after")
    assert pong["event"] == "pong"
    await communicator.disconnect()


# Abuse, faults and accounts that end ----------------------------------------------------


async def closed_after_error(communicator: WebsocketCommunicator) -> tuple[str, int]:
    """The code of the last error frame before the socket closed, and the close code."""
    last_error = None
    while (output := await communicator.receive_output())["type"] != "websocket.close":
        frame = json.loads(output["text"])
        if frame["type"] == "error":
            last_error = frame["payload"]["code"]
    assert last_error is not None, "no error frame before the close"
    return last_error, output["code"]


async def test_sockets_past_the_per_user_cap_are_closed_with_4429(application, user, settings):
    settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER = 2
    kept = [(await open_socket(application, user))[0] for _ in range(2)]
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}"
    third = WebsocketCommunicator(application, path, headers=[ORIGIN])

    connected, _ = await third.connect()

    assert connected
    assert await closed_after_error(third) == ("too_many_sockets", CLOSE_TOO_MANY)
    for communicator in kept:
        await communicator.disconnect()
    again, _ = await open_socket(application, user)
    await again.disconnect()


async def test_a_client_that_ignores_rate_limits_is_closed_with_4429(
    application, user, monkeypatch
):
    monkeypatch.setattr(NotificationConsumer, "commands_per_second", 0.0)
    monkeypatch.setattr(NotificationConsumer, "command_burst", 1)
    monkeypatch.setattr(consumer, "MAX_REFUSED_IN_A_ROW", 3)
    communicator, _ = await open_socket(application, user)

    for number in range(5):
        await communicator.send_json_to({"action": "ping", "request_id": number})

    assert await closed_after_error(communicator) == ("too_many_commands", CLOSE_TOO_MANY)


async def test_sync_and_list_cost_more_than_a_ping(application, user, monkeypatch):
    monkeypatch.setattr(NotificationConsumer, "commands_per_second", 0.0)
    monkeypatch.setattr(NotificationConsumer, "command_burst", 12)
    communicator, ready = await open_socket(application, user)

    first = await command(communicator, action="sync", request_id=1, since=ready["last_id"])
    second = await command(communicator, action="sync", request_id=2, since=ready["last_id"])

    assert first["event"] == "synced"
    assert (second["type"], second["payload"]["code"]) == ("error", "rate_limited")
    await communicator.disconnect()


async def test_a_list_reply_is_bounded_in_bytes(application, user, settings):
    for number in range(5):
        await create(user, "x" * 1000, title=f"n{number}")
    settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES = commands.REPLY_ENVELOPE_BYTES + 3000
    communicator, _ = await open_socket(application, user)

    reply = await command(communicator, action="list", request_id=1, limit=5)

    assert 0 < len(reply["payload"]["notifications"]) < 5
    assert len(json.dumps(reply["payload"]["notifications"])) <= 3000
    assert reply["payload"]["has_more"] is True
    await communicator.disconnect()


async def test_a_replay_too_large_for_one_reply_is_not_recovered(application, user, settings):
    await create(user, "before")
    position = await newest(user)
    for number in range(5):
        await create(user, "x" * 1000, title=f"n{number}")
    settings.NOTIFICATIONS_MAX_REPLAY_BYTES = 3000

    communicator, _ = await open_socket(application, user, f"&since={position}")

    synced = await communicator.receive_json_from()
    assert (synced["event"], synced["payload"]) == ("synced", {"recovered": False, "count": 0})
    await communicator.disconnect()


async def test_a_failing_command_is_an_error_frame_not_a_crash(application, user, monkeypatch):
    def broken(user_id, params):
        raise RuntimeError("bug")

    monkeypatch.setitem(commands.COMMANDS, "ping", (EmptyCommand, broken, "pong"))
    communicator, _ = await open_socket(application, user)

    error = await command(communicator, action="ping", request_id="b")

    assert (error["type"], error["payload"]["code"]) == ("error", "server_error")
    assert error["payload"]["request_id"] == "b"
    await communicator.disconnect()


async def test_an_unreachable_ticket_store_refuses_with_4503(application, user, monkeypatch):
    def unreachable(ticket: str) -> None:
        raise tickets.TicketStoreUnavailable("down")

    monkeypatch.setattr(tickets, "redeem_ticket", unreachable)
    path = "/ws/notifications/?uuid=00000000-0000-0000-0000-000000000000"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])

    await communicator.connect()

    assert await closed_after_error(communicator) == ("unavailable", CLOSE_TRY_AGAIN)


@database_sync_to_async
def deactivate(user) -> None:
    user.is_active = False
    user.save()


@database_sync_to_async
def change_password(user) -> None:
    user.set_password("a-new-password-123")
    user.save()


@pytest.mark.parametrize(
    ("end_access", "reason"), [(deactivate, "deactivated"), (change_password, "password_changed")]
)
async def test_a_deactivation_or_password_change_closes_every_socket(
    application, user, end_access, reason
):
    sockets = [(await open_socket(application, user))[0] for _ in range(2)]

    await end_access(user)

    for communicator in sockets:
        revoked = await communicator.receive_json_from()
        assert (revoked["event"], revoked["payload"]["reason"]) == ("revoked", reason)
        assert await closed_after_error(communicator) == ("session_ended", CLOSE_UNAUTHORIZED)


async def test_a_logout_closes_the_sockets_of_that_session_only(application, user):
    session_client, other_client = AsyncClient(), AsyncClient()
    await session_client.aforce_login(user)
    await other_client.aforce_login(user)
    signed_out = await session_socket(application, session_client)
    still_in = await session_socket(application, other_client)

    await session_client.alogout()

    assert await closed_after_error(signed_out) == ("session_ended", CLOSE_UNAUTHORIZED)
    revoked = await still_in.receive_json_from()
    assert revoked["event"] == "revoked"
    assert await still_in.receive_nothing()
    await still_in.disconnect()


async def session_socket(application: Any, client: AsyncClient) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", cookie.encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["event"] == "ready"
    return communicator


async def test_the_heartbeat_closes_a_socket_whose_user_was_deactivated_silently(
    application, user, settings
):
    settings.NOTIFICATIONS_HEARTBEAT_SECONDS = 0.05
    communicator, _ = await open_socket(application, user)

    # An update() sends no signal: only the heartbeat's re-check can see it.
    await get_user_model().objects.filter(pk=user.pk).aupdate(is_active=False)

    assert await closed_after_error(communicator) == ("account_inactive", CLOSE_UNAUTHORIZED)


async def test_the_heartbeat_closes_a_session_socket_whose_session_ended(
    application, user, settings
):
    settings.NOTIFICATIONS_HEARTBEAT_SECONDS = 0.05
    client = AsyncClient()
    await client.aforce_login(user)
    communicator = await session_socket(application, client)

    await Session.objects.all().adelete()

    assert await closed_after_error(communicator) == ("session_ended", CLOSE_UNAUTHORIZED)


async def test_a_database_outage_at_connect_is_a_retry_not_a_crash(application, user, monkeypatch):
    async def unreachable(user_ids):
        raise OperationalError("the database is down")

    monkeypatch.setattr(beats, "read_ready", unreachable)
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])

    connected, _ = await communicator.connect()

    assert connected
    assert await closed_after_error(communicator) == ("unavailable", CLOSE_TRY_AGAIN)
    await communicator.disconnect()
    assert not get_channel_layer().groups.get(events.user_group(user.id))
