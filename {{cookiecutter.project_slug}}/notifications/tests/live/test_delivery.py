"""Delivery through real daphne processes and a real Redis: cross-process, scale-out, outage."""

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from notifications.tests.live.conftest import PROJECT_DIR, Daphne, RedisServer

websockets_client = pytest.importorskip("websockets.asyncio.client")

pytestmark = pytest.mark.live

# Seconds to wait for a frame that must arrive; generous, because CI machines are slow.
PATIENCE = 20.0

Frame = dict[str, Any]


class LiveSocket:
    """A WebSocket client that reads frames one by one, as the browser client would."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, server: Daphne, token: str, query: str = "") -> "LiveSocket":
        connection = await websockets_client.connect(
            server.url(f"token={token}{query}"), origin=server.origin, open_timeout=PATIENCE
        )
        return cls(connection)

    async def next(self) -> Frame:
        return json.loads(await asyncio.wait_for(self.connection.recv(), PATIENCE))

    async def until(self, predicate: Callable[[Frame], bool]) -> Frame:
        while not predicate(frame := await self.next()):
            pass
        return frame

    async def ready(self) -> dict[str, Any]:
        return (await self.until(lambda frame: frame.get("event") == "ready"))["payload"]

    async def created_ids_until_synced(self) -> tuple[list[int], Frame]:
        """Ids of every `created` frame before `synced`, in order, and the `synced` payload."""
        ids = []
        while (frame := await self.next())["event"] != "synced":
            if frame["event"] == "created":
                ids.append(frame["payload"]["notification"]["id"])
        return ids, frame["payload"]

    async def close(self) -> None:
        await self.connection.close()


def is_created(notification_id: int) -> Callable[[Frame], bool]:
    return lambda frame: (
        frame.get("event") == "created"
        and frame["payload"]["notification"]["id"] == notification_id
    )


async def manage(env: dict[str, str], *args: str) -> tuple[str, str]:
    """Run a management command in its own process, as a worker would; stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        *args,
        cwd=PROJECT_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode(), stderr.decode()


async def notify(env: dict[str, str], username: str, message: str) -> int:
    """The id of a notification created by `manage.py notify` in another process."""
    stdout, _ = await manage(env, "notify", username, message)
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
    stdout, _ = await manage(live_env, "broadcast", "To all")
    broadcast_id = int(stdout.split()[-1])

    for socket in sockets[:2]:
        await socket.until(is_created(notification_id))
    for socket in sockets:
        frame = await socket.until(lambda frame: frame.get("event") == "broadcast")
        assert frame["payload"]["broadcast"]["id"] == broadcast_id
        await socket.close()


async def test_nothing_is_lost_while_redis_restarts(
    start_daphne, create_users, live_env, redis_server: RedisServer
):
    users = create_users("dee")
    server = start_daphne()
    before = await LiveSocket.open(server, users["dee"]["token"])
    last_id = (await before.ready())["last_id"]

    redis_server.stop()
    stopped_at = asyncio.get_running_loop().time()
    # Created while Redis is down: the rows are stored, their pushes fail and are logged.
    outage = await asyncio.gather(
        *(manage(live_env, "notify", "dee", f"outage {n}") for n in range(3))
    )
    await asyncio.sleep(max(0.0, stopped_at + 3 - asyncio.get_running_loop().time()))
    redis_server.start()
    missed = sorted(int(stdout.split()[-1]) for stdout, _ in outage)
    assert all("failed; the notification is stored" in stderr for _, stderr in outage)

    # The client reconnects with the last id it saw and gets what it missed, oldest first.
    socket = await reconnect(server, users["dee"]["token"], f"&since={last_id}")
    await socket.ready()
    replayed, synced = await socket.created_ids_until_synced()
    assert synced["recovered"] is True
    assert set(missed) <= set(replayed)
    assert replayed == sorted(replayed)

    # The server serves live pushes again without a restart, to new and surviving sockets.
    after_id = await notify(live_env, "dee", "after the outage")
    await socket.until(is_created(after_id))
    await before.until(is_created(after_id))
    await socket.close()
    await before.close()


async def reconnect(server: Daphne, token: str, query: str) -> LiveSocket:
    """Connect as a client does after a failure: retry with a short backoff."""
    for attempt in range(20):
        try:
            return await LiveSocket.open(server, token, query)
        except (OSError, websockets_client.InvalidHandshake):
            await asyncio.sleep(0.25 * (attempt + 1))
    return await LiveSocket.open(server, token, query)


BURST_USERS = 200
BURST_ROUNDS = 10
# Runs in its own process: 10 rounds of one notification to each of 200 users, as fast as the
# database allows, then prints {user_id: [notification ids]}.
BURST = """
import json
from notifications import events
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
    output, _ = await manage(live_env, "shell", "-c", code)
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
