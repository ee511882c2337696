"""Live events around a replay are sent once each, in order; commands are paced by a bucket."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from notifications import selectors
from notifications.services import NotificationService
from notifications.websocket import limits

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")
create = database_sync_to_async(NotificationService.create_notification)


@database_sync_to_async
def newest(user: Any) -> str:
    return str(selectors.latest_position(user))


def write_during_the_first_replay(monkeypatch, user: Any, messages: list[str]) -> None:
    """Store (and push) `messages` just before the socket's first replay reads the stream.

    The socket has joined its group by then, so each is both in the replay and pushed live.
    """
    read = selectors.events_after

    def writing_first(*args: Any, **kwargs: Any) -> selectors.Replay:
        while messages:
            NotificationService.create_notification(user, messages.pop(0))
        return read(*args, **kwargs)

    monkeypatch.setattr(selectors, "events_after", writing_first)


async def frames_until(communicator: WebsocketCommunicator, event: str) -> list[dict[str, Any]]:
    """Every frame up to the first of this event."""
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1].get("event") != event:
        frames.append(await communicator.receive_json_from(timeout=5))
    return frames


def created(frames: list[dict[str, Any]]) -> list[str]:
    return [
        frame["payload"]["notification"]["message"]
        for frame in frames
        if frame.get("event") == "created"
    ]


async def test_events_pushed_during_a_resume_are_sent_once_after_the_replay(
    application, user, monkeypatch
):
    await create(user, "seen")
    position = await newest(user)
    await create(user, "missed")
    write_during_the_first_replay(monkeypatch, user, ["during 1", "during 2"])
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}&since={position}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    assert (await communicator.connect())[0]

    frames = await frames_until(communicator, "synced")
    await create(user, "after")
    frames += await frames_until(communicator, "created")

    events = [frame["event"] for frame in frames]
    assert events == ["ready", "created", "created", "created", "synced", "created"]
    assert created(frames) == ["missed", "during 1", "during 2", "after"]
    assert frames[4]["payload"] == {"recovered": True, "count": 3}
    # Positions only grow, each once: the live copies of the replayed events were dropped.
    ids = [frame["id"] for frame in frames if "id" in frame]
    assert ids == ["2:0", "3:0", "4:0", "5:0"]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_events_pushed_during_a_sync_command_are_sent_once(application, user, monkeypatch):
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["event"] == "ready"
    await create(user, "first")
    assert created([await communicator.receive_json_from()]) == ["first"]
    write_during_the_first_replay(monkeypatch, user, ["during"])

    await communicator.send_json_to({"action": "sync", "since": "0", "request_id": "s"})
    frames = await frames_until(communicator, "synced")

    # The replay from "0" sends both; the live push of "during" arrives behind it and is
    # dropped, since the socket already sent that position.
    assert created(frames) == ["first", "during"]
    assert frames[-1]["event"] == "synced"
    assert frames[-1]["payload"] == {"recovered": True, "count": 2, "request_id": "s"}
    await create(user, "after")
    assert created([await communicator.receive_json_from(timeout=5)]) == ["after"]
    await communicator.disconnect()


class Clock:
    """time.monotonic for the bucket, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_command_bucket_refills_at_its_rate_up_to_its_burst(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(limits.time, "monotonic", clock)
    bucket = limits.TokenBucket(rate=2.0, burst=3)

    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.25  # half a command at 2 a second
    assert not bucket.take()
    clock.now += 0.25
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # a long pause refills to the burst, no further
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 1.0  # two commands' worth
    assert not bucket.take(cost=3)  # a refused command costs nothing...
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]  # ...these do
