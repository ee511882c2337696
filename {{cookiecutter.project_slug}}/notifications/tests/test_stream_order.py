"""Positions follow commit order, and a socket sends each stream in order, once, with no gap.

The races here are real: each write runs in a thread with its own database connection and
keeps its transaction open while the other commits (PostgreSQL; SQLite runs one writer at a
time, so nothing can interleave there).
"""

import threading
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from notifications import selectors
from notifications.models import Broadcast, Event, EventKind
from notifications.services import NotificationService
from notifications.stream import bulk, publisher
from notifications.stream.positions import Position
from notifications.stream.upkeep import prune_events

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = reverse("notifications:events")
ORIGIN = (b"origin", b"http://127.0.0.1")


def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent writers need PostgreSQL: run with DATABASE_URL=postgres://...")


class OpenWrite(threading.Thread):
    """Runs a write on its own connection and keeps its transaction open until `commit()`."""

    def __init__(self, write: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.write = write
        self.written = threading.Event()
        self.committing = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.write()
                self.written.set()
                self.committing.wait(10)
        except BaseException as error:
            self.error = error
        finally:
            self.written.set()
            connection.close()

    def commit(self) -> None:
        self.committing.set()
        self.join(10)
        assert not self.is_alive()
        assert self.error is None, self.error


def test_an_event_that_commits_after_a_later_one_is_still_after_the_held_position(api_client, user):
    postgresql_only()
    early = OpenWrite(lambda: NotificationService.create_notification(user, "slow"))
    early.start()
    assert early.written.wait(10)

    NotificationService.broadcast("fast")  # inserted later, committed first
    body = api_client.get(EVENTS, {"since": "0"}).json()
    assert [frame["event"] for frame in body["events"]] == ["broadcast"]
    held = body["last_id"]
    early.commit()

    resumed = api_client.get(EVENTS, {"since": held}).json()
    assert [frame["payload"]["notification"]["message"] for frame in resumed["events"]] == ["slow"]
    assert resumed["recovered"] is True


def test_a_second_write_to_one_stream_waits_for_the_first_to_commit(api_client, user):
    postgresql_only()
    first = OpenWrite(lambda: NotificationService.create_notification(user, "first"))
    first.start()
    assert first.written.wait(10)
    second = OpenWrite(lambda: NotificationService.create_notification(user, "second"))
    second.start()

    # The stream's head row is locked by the first write: the second cannot take a position.
    assert not second.written.wait(0.5)
    assert api_client.get(EVENTS, {"since": "0"}).json()["events"] == []
    first.commit()
    second.commit()

    body = api_client.get(EVENTS, {"since": "0"}).json()
    messages = [frame["payload"]["notification"]["message"] for frame in body["events"]]
    assert (messages, [frame["id"] for frame in body["events"]]) == (
        ["first", "second"],
        ["1:0", "2:0"],
    )


def test_writes_that_race_leave_no_gap_and_no_position_twice(user):
    postgresql_only()
    writers = 8
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            start.wait(10)
            for round_number in range(10):
                if number == 0:
                    NotificationService.broadcast(f"b{round_number}")
                else:
                    NotificationService.notify_many([user], f"{number}-{round_number}")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    own = list(
        Event.objects.filter(recipient=user).order_by("id").values_list("position", flat=True)
    )
    everyone = list(
        Event.objects.filter(recipient=None).order_by("id").values_list("position", flat=True)
    )
    # Dense, in id order, each position once: the order positions were taken is commit order.
    assert own == list(range(1, 71))
    assert everyone == list(range(1, 11))


async def open_socket(application: Any, user: Any, query: str = "") -> WebsocketCommunicator:
    path = f"/ws/notifications/?token={AccessToken.for_user(user)}{query}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    ready = await communicator.receive_json_from()
    assert ready["event"] == "ready"
    return communicator


async def test_a_socket_resumes_from_a_position_it_held_before_a_slow_commit(application, user):
    postgresql_only()
    communicator = await open_socket(application, user)
    early = OpenWrite(lambda: NotificationService.create_notification(user, "slow"))
    early.start()
    assert await sync_to_async(early.written.wait)(10)

    await database_sync_to_async(NotificationService.broadcast)("fast")
    fast = await communicator.receive_json_from()
    assert (fast["event"], fast["id"]) == ("broadcast", "0:1")
    await communicator.disconnect()
    await sync_to_async(early.commit)()

    returning = await open_socket(application, user, f"&since={fast['id']}")
    slow = await returning.receive_json_from()
    synced = await returning.receive_json_from()
    assert (slow["event"], slow["id"]) == ("created", "1:1")
    assert synced["payload"] == {"recovered": True, "count": 1}
    await returning.disconnect()


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


async def test_pushes_that_cross_reach_the_socket_in_order_once(application, user, captured):
    communicator = await open_socket(application, user)
    for number in range(3):
        await database_sync_to_async(NotificationService.create_notification)(user, f"n{number}")
    first, second, third = captured

    # As two server processes' pushes can arrive: out of turn, and one of them twice.
    await deliver([third, first, first, second, third])

    frames = [await communicator.receive_json_from() for _ in range(3)]
    assert [frame["id"] for frame in frames] == ["1:0", "2:0", "3:0"]
    assert [frame["payload"]["notification"]["message"] for frame in frames] == ["n0", "n1", "n2"]
    assert await communicator.receive_nothing(0.2)
    await communicator.disconnect()


async def test_a_push_that_never_comes_is_read_from_the_database(
    application, user, captured, settings
):
    settings.NOTIFICATIONS_GAP_WAIT_SECONDS = 0.1
    communicator = await open_socket(application, user)
    for number in range(2):
        await database_sync_to_async(NotificationService.create_notification)(user, f"n{number}")
    _, second = captured

    await deliver([second])  # the first push was lost

    frames = [await communicator.receive_json_from(timeout=2) for _ in range(2)]
    assert [frame["id"] for frame in frames] == ["1:0", "2:0"]
    assert [frame["payload"]["notification"]["message"] for frame in frames] == ["n0", "n1"]
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


async def test_an_event_replayed_is_not_sent_again_when_its_push_arrives(
    application, user, captured
):
    await database_sync_to_async(NotificationService.create_notification)(user, "before")
    await database_sync_to_async(NotificationService.create_notification)(user, "missed")
    communicator = await open_socket(application, user, "&since=1:0")
    replayed = await communicator.receive_json_from()
    synced = await communicator.receive_json_from()
    assert (replayed["id"], synced["payload"]["count"]) == ("2:0", 1)

    await deliver(captured)  # both pushes arrive late

    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


def test_a_deleted_broadcast_is_an_event_and_is_not_replayed(api_client, user):
    kept = NotificationService.broadcast("kept")
    doomed = NotificationService.broadcast("doomed")

    NotificationService.delete_broadcast(doomed.pk)
    NotificationService.delete_broadcast(doomed.pk)  # a second delete changes nothing

    response = api_client.get(EVENTS, {"since": "0"})
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert [(frame["event"], frame["id"]) for frame in body["events"]] == [
        ("broadcast", "0:1"),
        ("broadcast_deleted", "0:3"),
    ]
    assert body["events"][0]["payload"]["broadcast"]["id"] == kept.pk
    assert body["events"][1]["payload"]["ids"] == [doomed.pk]
    # The broadcast's own event is left out but still counts: the client resumes past it.
    assert body["last_id"] == "0:3"
    assert Broadcast.objects.get(pk=doomed.pk).deleted_at is not None
    assert Event.objects.filter(kind=EventKind.BROADCAST_DELETED).count() == 1


def test_a_replay_during_pruning_is_complete_or_says_so(user, monkeypatch):
    postgresql_only()
    monkeypatch.setattr(bulk, "PRUNE_BATCH_SIZE", 2)
    NotificationService.notify_many([user], "seed")
    for number in range(199):
        NotificationService.create_notification(user, f"n{number}")
    Event.objects.filter(position__lte=150).update(created_at=timezone.now() - timedelta(days=9))
    pruning_done = threading.Event()
    verdicts: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def prune() -> None:
        try:
            prune_events(older_than=timezone.now() - timedelta(days=7))
        except BaseException as error:
            errors.append(error)
        finally:
            pruning_done.set()
            connection.close()

    def replay() -> None:
        try:
            while not pruning_done.is_set():
                for since in (0, 40, 120, 150, 170):
                    result = selectors.events_after(user, Position(since, 0), limit=500)
                    places = [event.position for event, _ in result.events]
                    if result.recovered:
                        # Complete: every position after `since`, none missing.
                        assert places == list(range(since + 1, 201)), (since, places[:5])
                    verdicts.append((since, result.recovered))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=prune), threading.Thread(target=replay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(verdicts) > 10
    # Once pruning ends, what it reached is refused and what it did not is replayed whole.
    after = {
        since: selectors.events_after(user, Position(since, 0), limit=500).recovered
        for since in (0, 120, 150, 170)
    }
    assert after == {0: False, 120: False, 150: True, 170: True}
