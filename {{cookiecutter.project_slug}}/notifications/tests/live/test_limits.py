"""No event the API accepts can close a socket, through `manage.py serve` (64 KiB messages).

daphne closes a socket with 1011 rather than send a message over its limit, so a write too
large for a frame is refused where it is made, a write at the limit is delivered live and on
resume, and a `list` of large notifications answers in pages that each fit one frame.
Positions (`ready.last_id`, a frame's `id`) are used as opaque values, as a client uses them.
"""

import asyncio
import json
from typing import Any

import pytest

from notifications.tests.live.conftest import (
    PATIENCE,
    LiveSocket,
    is_created,
    manage,
    manage_async,
)

pytestmark = pytest.mark.live

# The defaults of NOTIFICATIONS_MAX_DATA_BYTES and NOTIFICATIONS_WS_MAX_MESSAGE_BYTES.
DATA_LIMIT = 16384
MESSAGE_LIMIT = 65536

# Tries a write of about 100 KB of data in another process, as a worker would; prints what
# the service said.
TOO_LARGE = """
import json
from django.contrib.auth import get_user_model
from notifications.models import Notification
from notifications.services import NotificationService
user = get_user_model().objects.get(username=username)
try:
    NotificationService.create_notification(user, "too large", data={"blob": "x" * 100_000})
except ValueError as error:
    stored = Notification.objects.filter(recipient=user).count()
    print(json.dumps({"error": str(error), "stored": stored}))
"""

# 100 notifications of about 10 KB each; prints their ids, oldest first.
LARGE_ONES = """
import json
from django.contrib.auth import get_user_model
from notifications.services import NotificationService
user = get_user_model().objects.get(username=username)
ids = [
    NotificationService.create_notification(user, f"n{n}", data={"blob": "x" * 10_000}).id
    for n in range(100)
]
print(json.dumps(ids))
"""


def data_of(size: int) -> str:
    """`--data` whose compact JSON is exactly `size` bytes."""
    return json.dumps({"blob": "x" * (size - len('{"blob":""}'))}, separators=(",", ":"))


async def notify(env: dict[str, str], username: str, message: str, *options: str) -> int:
    stdout, _ = await manage_async(env, "notify", username, message, *options)
    return int(stdout.split()[-1])


async def test_a_write_too_large_is_refused_and_one_at_the_limit_is_delivered(
    start_daphne, create_users, live_env
):
    user = create_users("lena")["lena"]
    server = start_daphne()
    socket = await LiveSocket.open(server, user["token"])
    await socket.ready()

    # Refused where it is written: by the service, and by the command without a traceback.
    code = f"username = 'lena'\n{TOO_LARGE}"
    refused = json.loads(manage(live_env, "shell", "-c", code).stdout.strip().splitlines()[-1])
    command = await asyncio.to_thread(
        manage, live_env, "notify", "lena", "too large", "--data", data_of(100_000), check=False
    )
    assert refused == {
        "error": f"data: at most {DATA_LIMIT} bytes as compact JSON (100011); "
        "NOTIFICATIONS_MAX_DATA_BYTES sets it. Store large content elsewhere and link to it.",
        "stored": 0,
    }
    assert command.returncode == 1
    assert f"data: at most {DATA_LIMIT} bytes" in command.stderr
    assert "Traceback" not in command.stderr

    # The socket stays open and the next notification arrives live.
    normal = await notify(live_env, "lena", "normal")
    before = await socket.until(is_created(normal))
    # At the limit: delivered live, a notification and a broadcast.
    largest = await notify(live_env, "lena", "at the limit", "--data", data_of(DATA_LIMIT))
    live = await socket.until(is_created(largest))
    stdout, _ = await manage_async(
        live_env, "broadcast", "at the limit", "--data", data_of(DATA_LIMIT)
    )
    broadcast = await socket.until(lambda frame: frame.get("event") == "broadcast")
    assert live["payload"]["notification"]["data"] == json.loads(data_of(DATA_LIMIT))
    assert broadcast["payload"]["broadcast"]["id"] == int(stdout.split()[-1])
    assert socket.close_code is None
    await socket.close()

    # And on resume, from the position before it.
    resumed = await LiveSocket.open(server, user["token"], f"&since={before['id']}")
    await resumed.ready()
    replayed, synced = await resumed.events_until_synced()
    assert [frame["event"] for frame in replayed] == ["created", "broadcast"]
    assert replayed[0]["id"] == live["id"]
    assert replayed[0]["payload"]["notification"]["id"] == largest
    assert synced["recovered"] is True
    assert resumed.close_code is None
    await resumed.close()


async def list_page(socket: LiveSocket, request_id: int, before: Any = None) -> tuple[int, dict]:
    """One `list` of 100: the reply's size in bytes and its payload.

    A `list` costs 5 of the socket's 40 burst commands: a client paging fast is told
    `rate_limited` and backs off, as the browser client does.
    """
    command: dict[str, Any] = {"action": "list", "limit": 100, "request_id": request_id}
    if before is not None:
        command["before"] = before
    while True:
        await socket.connection.send(json.dumps(command))
        text = await asyncio.wait_for(socket.connection.recv(), PATIENCE)
        frame = json.loads(text)
        assert frame["payload"].get("request_id") == request_id, frame
        if frame["event"] == "rate_limited":
            await asyncio.sleep(0.5)
            continue
        assert (frame["type"], frame["event"]) == ("reply", "list"), frame
        return len(text.encode()), frame["payload"]


async def test_a_list_of_100_large_notifications_answers_in_pages_that_fit(
    start_daphne, create_users, live_env
):
    user = create_users("lars")["lars"]
    server = start_daphne()
    created = json.loads(
        manage(live_env, "shell", "-c", f"username = 'lars'\n{LARGE_ONES}")
        .stdout.strip()
        .splitlines()[-1]
    )
    socket = await LiveSocket.open(server, user["token"])
    await socket.ready()

    listed: list[int] = []
    sizes: list[int] = []
    size, page = await list_page(socket, 1)
    while True:
        sizes.append(size)
        listed += [item["id"] for item in page["notifications"]]
        if not page["has_more"]:
            break
        size, page = await list_page(socket, len(sizes) + 1, before=listed[-1])

    assert listed == created[::-1], "all 100, newest first, each once"
    assert len(sizes) > 1
    assert max(sizes) <= MESSAGE_LIMIT
    assert sizes[0] > MESSAGE_LIMIT // 2, "a page holds as many as fit"
    # The socket still answers; the paging may have spent its burst, so it backs off too.
    while True:
        await socket.connection.send(json.dumps({"action": "ping", "request_id": "last"}))
        pong = await socket.until(lambda frame: frame["payload"].get("request_id") == "last")
        if pong["event"] != "rate_limited":
            break
        await asyncio.sleep(0.5)
    assert pong["event"] == "pong"
    assert socket.close_code is None
    await socket.close()
