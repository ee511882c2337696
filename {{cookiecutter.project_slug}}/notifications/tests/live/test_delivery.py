"""Delivery through real daphne processes and a real Redis: cross-process, scale-out, outage."""

import asyncio
import json

import pytest

from notifications.tests.live.conftest import LiveSocket, is_created, manage_async

pytestmark = pytest.mark.live


async def notify(env: dict[str, str], username: str, message: str) -> int:
    """The id of a notification created by `manage.py notify` in another process."""
    stdout, _ = await manage_async(env, "notify", username, message)
    return int(stdout.split()[-1])


async def test_a_notification_from_another_process_reaches_the_socket(
    start_daphne, create_users, live_env
):
    users = create_users("ann")
    server = start_daphne()
    socket = await LiveSocket.open(server, users["ann"]["token"])
    assert (await socket.ready())["user_id"] == users["ann"]["id"]

    notification_id = await notify(live_env, "ann", "Hello from a worker")

    frame = await socket.until(is_created(notification_id))
    assert frame["type"] == "notifications"
    assert frame["payload"]["notification"]["message"] == "Hello from a worker"
    await socket.close()


async def test_two_servers_on_one_redis_both_deliver(start_daphne, create_users, live_env):
    users = create_users("bea", "cid")
    first, second = start_daphne(), start_daphne()
    sockets = [
        await LiveSocket.open(first, users["bea"]["token"]),
        await LiveSocket.open(second, users["bea"]["token"]),
        await LiveSocket.open(second, users["cid"]["token"]),
    ]
    for socket in sockets:
        await socket.ready()

    notification_id = await notify(live_env, "bea", "Seen everywhere")
    stdout, _ = await manage_async(live_env, "broadcast", "To all")
    broadcast_id = int(stdout.split()[-1])

    for socket in sockets[:2]:
        await socket.until(is_created(notification_id))
    for socket in sockets:
        frame = await socket.until(lambda frame: frame.get("event") == "broadcast")
        assert frame["payload"]["broadcast"]["id"] == broadcast_id
        await socket.close()


BURST_USERS = 200
BURST_ROUNDS = 10
# Runs in its own process: 10 rounds of one notification to each of 200 users, as fast as the
# database allows, then prints {user_id: [notification ids]}.
BURST = """
import json
from notifications.stream import events
from notifications.services import NotificationService
sent = {user_id: [] for user_id in user_ids}
for round_number in range(rounds):
    for row in NotificationService.notify_many(user_ids, f"burst {round_number}"):
        sent[row.recipient_id].append(row.id)
assert events.flush(120), "pushes did not drain"
print(json.dumps(sent))
"""


async def test_a_burst_of_2000_reaches_200_sockets_exactly_once(
    start_daphne, create_users, live_env
):
    users = create_users(*(f"burst{n}" for n in range(BURST_USERS)))
    server = start_daphne()
    sockets = {}
    for user in users.values():
        sockets[user["id"]] = socket = await LiveSocket.open(server, user["token"])
        await socket.ready()

    code = f"user_ids = {sorted(sockets)}\nrounds = {BURST_ROUNDS}\n{BURST}"
    output, _ = await manage_async(live_env, "shell", "-c", code)
    sent = {int(user_id): ids for user_id, ids in json.loads(output.splitlines()[-1]).items()}

    async def receive(socket: LiveSocket) -> list[int]:
        ids: list[int] = []
        while len(set(ids)) < BURST_ROUNDS:
            frame = await socket.next()
            if frame["event"] == "created":
                ids.append(frame["payload"]["notification"]["id"])
        return ids

    received = await asyncio.gather(*(receive(socket) for socket in sockets.values()))

    assert sum(len(ids) for ids in sent.values()) == BURST_USERS * BURST_ROUNDS
    for user_id, ids in zip(sockets, received, strict=True):
        assert sorted(set(ids)) == sorted(sent[user_id])
    await asyncio.gather(*(socket.close() for socket in sockets.values()))
