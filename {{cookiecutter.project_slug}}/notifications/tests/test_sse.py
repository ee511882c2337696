"""The Server-Sent Events stream through the full ASGI application: auth, resume, order."""

import asyncio
import json
import time
from datetime import timedelta
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from notifications.services import NotificationService
from notifications.stream import ordering, publisher
from notifications.tests.factories import UserFactory
from notifications.websocket import tickets

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/notifications/stream/"
create = database_sync_to_async(NotificationService.create_notification)
broadcast = database_sync_to_async(NotificationService.broadcast)


class Stream:
    """An HTTP client of the stream that reads its messages one by one, as EventSource does."""

    def __init__(
        self,
        application: Any,
        query: str = "",
        headers: list[tuple[bytes, bytes]] | None = None,
        method: str = "GET",
    ) -> None:
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        self.communicator = ApplicationCommunicator(application, scope)
        self.buffer = b""
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.finished = False

    async def open(self) -> int:
        await self.communicator.send_input({"type": "http.request", "body": b""})
        start = await self.communicator.receive_output(5)
        self.status, self.headers = start["status"], dict(start["headers"])
        return self.status

    async def body(self) -> Any:
        """The JSON body of a refused request."""
        message = await self.communicator.receive_output(5)
        return json.loads(message["body"])

    async def next_block(self, seconds: float = 5) -> str:
        """The next message or comment, as its raw text without the blank line after it."""
        while b"\n\n" not in self.buffer:
            assert not self.finished, "the stream ended"
            message = await self.communicator.receive_output(seconds)
            self.buffer += message["body"]
            self.finished = not message.get("more_body", False)
        block, self.buffer = self.buffer.split(b"\n\n", 1)
        return block.decode()

    async def next(self, seconds: float = 5) -> dict[str, Any]:
        """The next message with data: its frame, with `sse_id` set to its `id:` (or None)."""
        while True:
            fields: dict[str, str] = {}
            for line in (await self.next_block(seconds)).split("\n"):
                name, _, value = line.partition(": ")
                fields[name] = value
            if "data" in fields:
                frame = json.loads(fields["data"])
                frame["sse_id"] = fields.get("id")
                return frame

    async def until(self, event: str) -> dict[str, Any]:
        while (frame := await self.next())["event"] != event:
            pass
        return frame

    async def nothing(self, seconds: float = 0.3) -> bool:
        if b"\n\n" in self.buffer:
            return False
        return await self.communicator.receive_nothing(seconds)

    async def close(self) -> None:
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(5)


def bearer(user: Any) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {AccessToken.for_user(user)}".encode())]


async def opened(application: Any, user: Any, **kwargs: Any) -> tuple[Stream, dict[str, Any]]:
    headers = [*bearer(user), *kwargs.pop("headers", [])]
    stream = Stream(application, headers=headers, **kwargs)
    assert await stream.open() == HTTPStatus.OK
    return stream, await stream.next()


async def test_a_stream_opens_with_ready_at_the_newest_position(application, user):
    await create(user, "old")
    stream, ready = await opened(application, user)

    assert stream.headers[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert stream.headers[b"x-accel-buffering"] == b"no"
    assert (ready["type"], ready["event"]) == ("connection", "ready")
    assert ready["payload"]["last_id"] == ready["sse_id"] == "1:0"
    assert ready["payload"]["counts"]["unread"] == 1
    await stream.close()


async def test_live_events_carry_the_position_as_their_id_and_the_socket_frame(application, user):
    stream, _ = await opened(application, user)
    created = await create(user, "hello")
    await broadcast("everyone")

    first, second = await stream.next(), await stream.next()
    assert (first["event"], first["id"], first["sse_id"]) == ("created", "1:0", "1:0")
    assert first["payload"]["notification"]["id"] == created.pk
    assert first["payload"]["counts"]["unread"] == 1
    assert (second["event"], second["sse_id"]) == ("broadcast", "1:1")
    await stream.close()


async def test_another_users_events_never_reach_the_stream(application, user, other_user):
    stream, _ = await opened(application, user)
    await create(other_user, "not yours")
    mine = await create(user, "yours")

    frame = await stream.next()
    assert frame["payload"]["notification"]["id"] == mine.pk
    await stream.close()


@pytest.mark.parametrize("header", [True, False])
async def test_a_resume_sends_what_was_missed_then_synced(application, user, header):
    for number in range(3):
        await create(user, f"n{number}")
    if header:
        resume = {"headers": [(b"last-event-id", b"1:0")], "query": "since=0"}
    else:
        resume = {"query": "since=1:0"}

    stream, ready = await opened(application, user, **resume)

    # The ready position is not the client's until the replay is sent: no id on it.
    assert ready["sse_id"] is None
    frames = [await stream.next() for _ in range(3)]
    assert [(frame["event"], frame["sse_id"]) for frame in frames] == [
        ("created", "2:0"),
        ("created", "3:0"),
        ("synced", "3:0"),
    ]
    assert frames[2]["payload"] == {"recovered": True, "count": 2}
    await stream.close()


async def test_a_resume_past_the_replay_cap_says_recovered_false(application, user, settings):
    settings.NOTIFICATIONS_REPLAY_LIMIT = 2
    for number in range(3):
        await create(user, f"n{number}")
    stream, _ = await opened(application, user, query="since=0")

    synced = await stream.next()
    assert (synced["event"], synced["payload"]) == ("synced", {"recovered": False, "count": 0})
    # Its id moves the client to the newest position: it reloads over REST from there.
    assert synced["sse_id"] == "3:0"
    await stream.close()


async def test_a_position_ahead_of_the_stream_is_an_error_then_recovered_false(application, user):
    stream, _ = await opened(application, user, query="since=9:9")

    error, synced = await stream.next(), await stream.next()
    assert (error["type"], error["payload"]["code"]) == ("error", "invalid_params")
    assert synced["payload"] == {"recovered": False, "count": 0}
    assert synced["sse_id"] == "0:0"
    await stream.close()


@pytest.mark.parametrize("since", ["abc", "1:", "-1:0", "1:" + "9" * 19, "²:0"])
async def test_a_malformed_position_is_a_400(application, user, since):
    stream = Stream(application, query=f"since={since}", headers=bearer(user))
    assert await stream.open() == HTTPStatus.BAD_REQUEST
    body = await stream.body()
    assert body["code"] == "invalid_params"
    await stream.communicator.wait(5)


async def test_without_credentials_the_answer_is_a_401_in_json(application):
    stream = Stream(application)
    assert await stream.open() == HTTPStatus.UNAUTHORIZED
    assert (await stream.body())["code"] == "unauthorized"
    await stream.communicator.wait(5)


@pytest.mark.parametrize("header", [b"Bearer not-a-token", b"Bearer "])
async def test_a_bad_bearer_header_is_a_401(application, header):
    stream = Stream(application, headers=[(b"authorization", header)])
    assert await stream.open() == HTTPStatus.UNAUTHORIZED
    await stream.communicator.wait(5)


async def test_a_ticket_opens_one_stream_only(application, user):
    ticket = await sync_to_async(tickets.issue_ticket)(user.pk)
    stream = Stream(application, query=f"uuid={ticket}")
    assert await stream.open() == HTTPStatus.OK
    assert (await stream.next())["payload"]["user_id"] == user.pk
    await stream.close()

    again = Stream(application, query=f"uuid={ticket}")
    assert await again.open() == HTTPStatus.UNAUTHORIZED
    await again.communicator.wait(5)


async def test_a_token_in_the_query_opens_a_stream(application, user):
    stream = Stream(application, query=f"token={AccessToken.for_user(user)}")
    assert await stream.open() == HTTPStatus.OK
    await stream.close()


async def test_the_session_of_a_signed_in_page_opens_a_stream(application, user):
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    stream = Stream(application, headers=[(b"cookie", cookie.encode())])
    assert await stream.open() == HTTPStatus.OK
    assert (await stream.next())["payload"]["user_id"] == user.pk

    await sync_to_async(client.logout)()
    await create(user, "after sign-out")
    # Signing out publishes a revoke event for the session: its stream ends with the reason.
    ending = await stream.until("session_ended")
    assert ending["type"] == "error"
    await stream.communicator.wait(5)


async def test_an_inactive_users_token_is_refused(application, user):
    user.is_active = False
    await database_sync_to_async(user.save)()
    stream = Stream(application, headers=bearer(user))
    assert await stream.open() == HTTPStatus.UNAUTHORIZED
    await stream.communicator.wait(5)


async def test_only_get_is_served(application, user):
    stream = Stream(application, headers=bearer(user), method="POST")
    assert await stream.open() == HTTPStatus.METHOD_NOT_ALLOWED
    assert stream.headers[b"allow"] == b"GET"
    await stream.communicator.wait(5)


async def test_streams_and_sockets_share_the_per_user_cap(application, user, settings):
    settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER = 2
    first, _ = await opened(application, user)
    second, _ = await opened(application, user)

    third = Stream(application, headers=bearer(user))
    assert await third.open() == HTTPStatus.TOO_MANY_REQUESTS
    assert (await third.body())["code"] == "too_many_sockets"
    await third.communicator.wait(5)

    await first.close()
    fourth, _ = await opened(application, user)  # a closed stream frees its place
    await second.close()
    await fourth.close()


async def test_heartbeats_are_comment_lines_with_the_position(application, user, settings):
    settings.NOTIFICATIONS_HEARTBEAT_SECONDS = 0.05
    await create(user, "one")
    stream, _ = await opened(application, user)

    assert await stream.next_block() == ": heartbeat 1:0"
    await stream.close()


async def test_an_access_token_that_expires_ends_the_stream(application, user, monkeypatch):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(minutes=5))
    # The stream's clock runs a second short of the expiry: a slow machine still sees it valid.
    clock = time.time
    monkeypatch.setattr(ordering, "time", SimpleNamespace(time=lambda: clock() + 299))
    stream = Stream(application, headers=[(b"authorization", f"Bearer {token}".encode())])
    assert await stream.open() == HTTPStatus.OK

    ending = await stream.until("token_expired")
    assert ending["type"] == "error"
    await stream.communicator.wait(5)
    assert stream.finished


@pytest.fixture
def captured(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """The (group, message) pairs writes publish, kept instead of sent."""
    messages: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(publisher, "publish", messages.extend)
    return messages


async def deliver(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    for group, message in messages:
        await layer.group_send(group, message)


async def test_pushes_that_cross_reach_the_stream_in_order_once(application, user, captured):
    stream, _ = await opened(application, user)
    for number in range(3):
        await create(user, f"n{number}")
    first, second, third = captured

    await deliver([third, first, first, second, third])

    frames = [await stream.next() for _ in range(3)]
    assert [frame["sse_id"] for frame in frames] == ["1:0", "2:0", "3:0"]
    assert [frame["payload"]["notification"]["message"] for frame in frames] == ["n0", "n1", "n2"]
    assert await stream.nothing()
    await stream.close()


async def test_a_push_that_never_comes_is_read_from_the_database(
    application, user, captured, settings
):
    settings.NOTIFICATIONS_GAP_WAIT_SECONDS = 0.1
    stream, _ = await opened(application, user)
    for number in range(2):
        await create(user, f"n{number}")
    await broadcast("b")
    _, second, everyone = captured

    await deliver([second, everyone])  # the first push was lost

    frames = [await stream.next() for _ in range(3)]
    assert [frame["sse_id"] for frame in frames] == ["0:1", "1:1", "2:1"]
    assert await stream.nothing()
    await stream.close()


async def test_an_event_replayed_is_not_sent_again_when_its_push_arrives(
    application, user, captured
):
    await create(user, "before")
    await create(user, "missed")
    stream, _ = await opened(application, user, query="since=1:0")
    replayed, synced = await stream.next(), await stream.next()
    assert (replayed["sse_id"], synced["payload"]["count"]) == ("2:0", 1)

    await deliver(captured)

    assert await stream.nothing()
    await stream.close()


async def test_a_closed_stream_leaves_its_groups(application, user):
    stream, _ = await opened(application, user)
    layer = get_channel_layer()
    group = f"notifications_{user.pk}"
    assert len(layer.groups.get(group, {})) == 1

    await stream.close()
    await asyncio.sleep(0)
    assert len(layer.groups.get(group, {})) == 0


async def test_a_users_streams_each_get_every_event(application):
    users = await database_sync_to_async(UserFactory.create_batch)(2)
    streams = [(await opened(application, users[0]))[0] for _ in range(2)]
    await create(users[0], "both")
    for stream in streams:
        assert (await stream.next())["payload"]["notification"]["message"] == "both"
        await stream.close()
