"""Soak: writers that hold their transactions open, and clients that resume all the time.

Several writer processes create notifications (and one sends broadcasts), each holding its
transaction open for a random few tens of milliseconds; a REST poller and a socket that
reconnects every few hundred milliseconds each resume from the last position they were given, and
so does an event stream (Server-Sent Events) with `Last-Event-ID`, as EventSource does.
Every notification and broadcast must reach each of them exactly once, and the positions on
each socket must only move forward. PostgreSQL only: SQLite runs one writer at a time.
"""

import asyncio
import json
import random
import re
import time
from typing import Any

import pytest

from notifications.tests.live.conftest import LiveSocket, manage_async, positions_advance
from notifications.tests.live.sse_client import LiveEventStream

pytestmark = pytest.mark.live

OURS = re.compile(r"(w\d+|b)-\d+")
WRITERS = 4
NOTIFICATIONS_PER_WRITER = 30
BROADCASTS = 10

WRITE = """
import random, time
from django.contrib.auth import get_user_model
from django.db import transaction
from notifications.stream import events
from notifications.services import NotificationService as Service
users = list(get_user_model().objects.filter(username__in=names).order_by("pk"))
for number in range(count):
    with transaction.atomic():
        if broadcasts:
            Service.broadcast(f"{tag}-{number}")
        else:
            Service.notify_many(users, f"{tag}-{number}")
        time.sleep(random.uniform(0.01, 0.05))
    time.sleep(random.uniform(0, 0.02))
events.flush(30)
"""


async def write(env: dict[str, str], tag: str, names: list[str], count: int, broadcasts: bool):
    code = (
        f"names = {json.dumps(names)}\ntag = {tag!r}\ncount = {count}\n"
        f"broadcasts = {broadcasts}\n{WRITE}"
    )
    await manage_async(env, "shell", "-c", code)


def item_of(frame: dict[str, Any]) -> str | None:
    """The message a created or broadcast frame brings, None for other events."""
    if frame.get("event") == "created":
        return frame["payload"]["notification"]["message"]
    if frame.get("event") == "broadcast":
        return frame["payload"]["broadcast"]["message"]
    return None


class Poller:
    """A REST client that polls `stream/` from the last position it was given."""

    def __init__(self, server: Any, token: str) -> None:
        self.server, self.token = server, token
        self.position = "0"
        self.seen: list[str] = []
        self.polls = 0

    async def poll(self) -> None:
        while True:
            status, body = await asyncio.to_thread(
                self.server.http,
                "GET",
                f"/api/notifications/events/?since={self.position}",
                self.token,
            )
            self.polls += 1
            assert status == 200, body
            assert body["recovered"] is True, body
            self.seen += [item for frame in body["events"] if (item := item_of(frame))]
            self.position = body["last_id"]
            if not body["has_more"]:
                return


class Reconnecting:
    """A socket that closes and resumes from its last position every few hundred ms."""

    def __init__(self, server: Any, token: str) -> None:
        self.server, self.token = server, token
        self.position: str | None = None
        self.seen: list[str] = []
        self.connections = 0

    async def visit(self, stay: float) -> None:
        query = f"&since={self.position}" if self.position is not None else ""
        socket = await LiveSocket.open(self.server, self.token, query)
        self.connections += 1
        ids: list[str] = []
        deadline = time.monotonic() + stay
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    frame = await asyncio.wait_for(socket.next(), left)
                except TimeoutError:
                    break
                if frame.get("event") == "ready" and self.position is None:
                    self.position = frame["payload"]["last_id"]
                elif frame.get("event") == "synced":
                    assert frame["payload"]["recovered"] is True, frame
                elif "id" in frame:
                    ids.append(frame["id"])
                    self.position = frame["id"]
                    if item := item_of(frame):
                        self.seen.append(item)
        finally:
            await socket.close()
        assert positions_advance(ids), f"positions out of order on one socket: {ids}"


class ResumingStream:
    """An event stream that is dropped and resumed with Last-Event-ID every few hundred ms."""

    def __init__(self, server: Any, token: str) -> None:
        self.server, self.token = server, token
        self.last_event_id: str | None = None
        self.seen: list[str] = []
        self.connections = 0

    async def visit(self, stay: float) -> None:
        stream = await LiveEventStream.open(
            self.server.port, self.token, last_event_id=self.last_event_id
        )
        assert stream.status == 200
        self.connections += 1
        ids: list[str] = []
        deadline = time.monotonic() + stay
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    frame = await asyncio.wait_for(stream.next(), left)
                except TimeoutError:
                    break
                if frame.get("event") == "synced":
                    assert frame["payload"]["recovered"] is True, frame
                elif "id" in frame:
                    ids.append(frame["id"])
                    if item := item_of(frame):
                        self.seen.append(item)
                # What EventSource would send on its next connection.
                self.last_event_id = stream.last_event_id
        finally:
            await stream.close()
        assert positions_advance(ids), f"positions out of order on one stream: {ids}"


async def test_every_event_reaches_a_resuming_poller_and_socket_once_in_order(
    start_daphne, create_users, live_env
):
    if not live_env["DATABASE_URL"].startswith("postgres"):
        pytest.skip("Concurrent writers need PostgreSQL: run with DATABASE_URL=postgres://...")
    users = create_users("soak_ann", "soak_bob")
    server = start_daphne()
    token = users["soak_ann"]["token"]
    poller, socket = Poller(server, token), Reconnecting(server, token)
    stream = ResumingStream(server, token)
    # All start from the stream as it is: what other tests left is not this test's.
    await asyncio.gather(poller.poll(), socket.visit(0.2), stream.visit(0.2))
    poller.seen.clear()
    socket.seen.clear()
    stream.seen.clear()

    writers = [
        write(live_env, f"w{number}", ["soak_ann", "soak_bob"], NOTIFICATIONS_PER_WRITER, False)
        for number in range(WRITERS)
    ]
    writers.append(write(live_env, "b", [], BROADCASTS, True))
    started = time.monotonic()
    writing = asyncio.ensure_future(asyncio.gather(*writers))
    while not writing.done():
        await asyncio.gather(
            poller.poll(),
            socket.visit(random.uniform(0.2, 0.4)),
            stream.visit(random.uniform(0.2, 0.4)),
        )
    await writing
    # The last pushes may still be on their way: each client resumes once more.
    await asyncio.gather(poller.poll(), socket.visit(1.0), stream.visit(1.0))

    expected = sorted(
        [f"w{w}-{n}" for w in range(WRITERS) for n in range(NOTIFICATIONS_PER_WRITER)]
        + [f"b-{n}" for n in range(BROADCASTS)]
    )
    # Other tests' broadcasts may share the live database: only this test's items count.
    assert sorted(filter(OURS.fullmatch, poller.seen)) == expected
    assert sorted(filter(OURS.fullmatch, socket.seen)) == expected
    assert sorted(filter(OURS.fullmatch, stream.seen)) == expected
    assert socket.connections > 5
    assert stream.connections > 5
    print(
        f"soak: {len(expected)} items to each client in {time.monotonic() - started:.1f} s, "
        f"{socket.connections} socket connections, {stream.connections} event streams, "
        f"{poller.polls} polls"
    )
