"""The event stream through real daphne and Redis: what a client missed comes back exactly once.

Every scenario records a position, changes things while the client is away (writes from another
process and over REST), breaks something real (the client leaves, Redis restarts, daphne is
killed) and reconnects with `?since=`.
"""

import asyncio
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from notifications.tests.live.conftest import (
    Daphne,
    LiveSocket,
    RedisServer,
    manage_async,
    positions_advance,
)
from notifications.websocket.consumer import CLOSE_TRY_AGAIN

pytestmark = pytest.mark.live

# Runs in another process, as a worker would: two notifications, a read of an older one, a
# delete of another and a broadcast; prints the ids.
CHANGES = """
import json
from django.contrib.auth import get_user_model
from notifications.stream import events
from notifications.services import NotificationService as Service
user = get_user_model().objects.get(username=username)
first = Service.create_notification(user, "first while away")
second = Service.create_notification(user, "second while away")
Service.mark_notification_read(older_id, user)
Service.delete_notification(doomed_id, user)
sent = Service.broadcast("Maintenance tonight")
events.flush(30)
print(json.dumps({"created": [first.id, second.id], "broadcast": sent.id}))
"""


async def notify(env: dict[str, str], username: str, message: str) -> int:
    stdout, _ = await manage_async(env, "notify", username, message)
    return int(stdout.split()[-1])


async def change_while_away(
    env: dict[str, str], server: Daphne, user: dict[str, Any], older: int, doomed: int
) -> dict[str, Any]:
    """The six changes of the scenario; the user reads the broadcast over REST."""
    code = f"username = {user['name']!r}\nolder_id = {older}\ndoomed_id = {doomed}\n{CHANGES}"
    stdout, stderr = await manage_async(env, "shell", "-c", code)
    changed = json.loads(stdout.strip().splitlines()[-1])
    path = f"/api/notifications/broadcast/category/system/mark_read/{changed['broadcast']}/"
    status, body = await asyncio.to_thread(server.http, "POST", path, user["token"])
    assert status == 200, body
    return {**changed, "stderr": stderr}


def assert_the_six_events(
    replayed: list[dict[str, Any]], changed: dict[str, Any], older: int, doomed: int
) -> None:
    assert [frame["event"] for frame in replayed] == [
        "created",
        "created",
        "read",
        "deleted",
        "broadcast",
        "broadcast_read",
    ]
    assert [frame["payload"]["notification"]["id"] for frame in replayed[:2]] == changed["created"]
    assert replayed[2]["payload"]["ids"] == [older]
    assert replayed[3]["payload"]["ids"] == [doomed]
    assert replayed[4]["payload"]["broadcast"]["id"] == changed["broadcast"]
    assert replayed[5]["payload"]["ids"] == [changed["broadcast"]]
    assert positions_advance([frame["id"] for frame in replayed]), "in order, each once"


async def prepare(
    env: dict[str, str], server: Daphne, user: dict[str, Any]
) -> tuple[int, int, str]:
    """Two notifications to change later, and the position of a client that saw them."""
    older = await notify(env, user["name"], "older")
    doomed = await notify(env, user["name"], "doomed")
    socket = await LiveSocket.open(server, user["token"])
    position = (await socket.ready())["last_id"]
    await socket.close()
    return older, doomed, position


async def reconnect(server: Daphne, token: str, query: str) -> tuple[LiveSocket, list[int]]:
    """Connect as the client library does: on a refusal or a retry code, back off and retry.

    Returns the socket once `ready` arrived, and every close code seen before that.
    """
    codes: list[int] = []
    for attempt in range(40):
        try:
            socket = await LiveSocket.open(server, token, query)
            first = await socket.next()
            if first.get("event") == "ready":
                return socket, codes
            assert first["payload"]["code"] == "unavailable", first
            await socket.next()  # the close that follows
        except ConnectionClosed as closed:
            codes.append(closed.rcvd.code if closed.rcvd else 1006)
        except (OSError, InvalidHandshake):
            codes.append(0)  # refused at TCP or HTTP level: the server is not up yet
        await asyncio.sleep(0.25 * min(attempt + 1, 4))
    pytest.fail(f"no ready frame after 40 attempts; close codes seen: {codes}")


async def test_a_returning_client_gets_the_six_events_it_missed_in_order_once(
    start_daphne, create_users, live_env
):
    user = {"name": "eve", **create_users("eve")["eve"]}
    server = start_daphne()
    older, doomed, position = await prepare(live_env, server, user)

    changed = await change_while_away(live_env, server, user, older, doomed)
    socket = await LiveSocket.open(server, user["token"], f"&since={position}")

    await socket.ready()
    replayed, synced = await socket.events_until_synced()
    assert_the_six_events(replayed, changed, older, doomed)
    assert synced == {"recovered": True, "count": 6}
    await socket.close()


async def test_the_six_events_come_back_after_redis_restarts(
    start_daphne, create_users, live_env, redis_server: RedisServer
):
    user = {"name": "fay", **create_users("fay")["fay"]}
    server = start_daphne()
    older, doomed, position = await prepare(live_env, server, user)
    survivor = await LiveSocket.open(server, user["token"])
    await survivor.ready()

    redis_server.stop()
    try:
        stopped_at = asyncio.get_running_loop().time()
        # While Redis is down a new socket is told to retry later, with the documented code.
        refused = await refused_while_down(server, user["token"])
        changed = await change_while_away(live_env, server, user, older, doomed)
        assert "failed; the events are stored" in changed["stderr"]
        await asyncio.sleep(max(0.0, stopped_at + 3 - asyncio.get_running_loop().time()))
    finally:
        redis_server.start()

    socket, codes = await reconnect(server, user["token"], f"&since={position}")
    replayed, synced = await socket.events_until_synced()
    assert_the_six_events(replayed, changed, older, doomed)
    assert synced == {"recovered": True, "count": 6}
    assert refused == CLOSE_TRY_AGAIN
    assert set(codes) <= {CLOSE_TRY_AGAIN}, codes
    # The server serves live pushes again without a restart, to new and surviving sockets.
    after = await notify(live_env, user["name"], "after the outage")
    frame = await socket.until(lambda frame: frame.get("event") == "created")
    assert frame["payload"]["notification"]["id"] == after
    # The surviving socket missed the pushes of the outage: seeing the next one out of turn, it
    # reads them from the database first, then sends it, all in order.
    caught_up = []
    while (frame := await survivor.until(lambda frame: "id" in frame))["payload"].get(
        "notification", {}
    ).get("id") != after:
        caught_up.append(frame)
    assert_the_six_events(caught_up, changed, older, doomed)
    # Neither socket was closed by the server (a crash would show as 1011); each ends with the
    # normal closing handshake it started.
    for open_socket in (socket, survivor):
        assert open_socket.close_code is None
        await open_socket.close()
        assert open_socket.close_code == 1000


async def refused_while_down(server: Daphne, token: str) -> int:
    """The close code a new socket gets while Redis is down, after its error frame.

    The server notices the lost connection a moment after Redis stops: until then a socket
    may still open, so the client's retries are what a real client would do.
    """
    for _ in range(40):
        socket = await LiveSocket.open(server, token)
        first = await socket.next()
        if first["type"] == "error":
            assert first["payload"]["code"] == "unavailable"
            with pytest.raises(ConnectionClosed):
                await socket.next()
            assert socket.close_code is not None
            return socket.close_code
        await socket.close()
        await asyncio.sleep(0.25)
    pytest.fail("sockets kept opening with Redis down")


async def test_the_six_events_come_back_after_daphne_is_killed(
    start_daphne, create_users, live_env
):
    user = {"name": "gus", **create_users("gus")["gus"]}
    server = start_daphne()
    older, doomed, position = await prepare(live_env, server, user)
    watcher = await LiveSocket.open(server, user["token"])
    await watcher.ready()

    server.kill()
    with pytest.raises(ConnectionClosed):
        await watcher.next()
    server.start()
    changed = await change_while_away(live_env, server, user, older, doomed)

    socket, codes = await reconnect(server, user["token"], f"&since={position}")
    replayed, synced = await socket.events_until_synced()
    assert_the_six_events(replayed, changed, older, doomed)
    assert synced == {"recovered": True, "count": 6}
    assert codes == []
    await socket.close()
