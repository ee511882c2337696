"""Clients that do not read, through a real daphne: bounded memory, others unharmed.

`manage.py serve` stops reading a socket whose unsent bytes pass
NOTIFICATIONS_WS_SEND_BUFFER_BYTES and closes one past NOTIFICATIONS_WS_MAX_UNSENT_BYTES.
Without that, the replies to commands from clients that never read pile up in daphne. An event
stream past NOTIFICATIONS_SSE_MAX_UNSENT_BYTES is dropped.
"""

import asyncio
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio import client as websockets_client
from websockets.exceptions import ConnectionClosed

from notifications.tests.live.conftest import PATIENCE, Daphne, LiveSocket, manage, manage_async
from notifications.tests.live.sse_client import LiveEventStream, StreamClosed
from notifications.tests.servers import HOST, PROJECT_DIR
from notifications.websocket import consumer

pytestmark = pytest.mark.live

# Gives `username` `count` notifications of the longest message, so one `list` of 100 is about
# 250 KB: the replies, not the commands, are what fills a server's memory.
SEED = """
from django.contrib.auth import get_user_model
from notifications.services import NotificationService
user = get_user_model().objects.get(username=username)
for n in range(count):
    NotificationService.create_notification(user, f"{n} " + "x" * 1990)
"""
# Creates a notification for `username` every half second for `seconds`, each with the time it
# was made so that the receiver measures its latency, then one marked last.
TICK = """
import time
from django.contrib.auth import get_user_model
from notifications.services import NotificationService
user = get_user_model().objects.get(username=username)
deadline = time.time() + seconds
while time.time() < deadline:
    NotificationService.create_notification(user, "tick", data={"sent": time.time()})
    time.sleep(0.5)
NotificationService.create_notification(user, "last", data={"sent": time.time(), "last": True})
"""
FLOODERS = 20
# The flood test's hard limit, half the default, so that its memory bound is far from noise.
HARD_LIMIT = 1024 * 1024
FLOOD_SECONDS = 20


def rss_mb(pid: int) -> float:
    """The resident memory of a process, in MB (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def script(**values: Any) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in values.items())


async def run_manage(env: dict[str, str], code: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "shell", "-c", code, cwd=PROJECT_DIR, env=env
    )


async def non_reader(server: Daphne, token: str, receive_buffer: int | None = None) -> Any:
    """A socket that reads its `ready` frame and then nothing: the client library stops reading
    the TCP stream after one frame, and the kernel's receive buffer is `receive_buffer`."""
    sock = None
    if receive_buffer is not None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (HOST, server.port))
    connection = await websockets_client.connect(
        server.url(f"token={token}"),
        origin=server.origin,
        open_timeout=PATIENCE,
        max_queue=1,
        ping_interval=None,
        close_timeout=1,
        sock=sock,
    )
    ready = json.loads(await asyncio.wait_for(connection.recv(), PATIENCE))
    assert ready["event"] == "ready"
    return connection


async def frames_until_closed(connection: Any) -> int:
    """How many frames `connection` still reads before it is closed."""
    count = 0
    try:
        while True:
            await asyncio.wait_for(connection.recv(), PATIENCE)
            count += 1
    except ConnectionClosed:
        return count


async def created_until_closed(stream: LiveEventStream) -> int:
    """How many `created` events `stream` still reads before its connection ends."""
    count = 0
    try:
        while True:
            count += (await stream.next()).get("event") == "created"
    except StreamClosed:
        return count


async def flood(connection: Any, until: float) -> int:
    """Sends `list` commands at the rate the throttle allows, reading nothing, until `until` or
    until the server closes the socket; how many."""
    sent = 0
    # The throttle refills 20 tokens a second and a `list` costs 5: one every 0.3 s is allowed.
    while time.monotonic() < until:
        command = {"action": "list", "limit": 100, "request_id": sent}
        try:
            await asyncio.wait_for(connection.send(json.dumps(command)), until - time.monotonic())
        except (TimeoutError, ConnectionClosed):
            # Closed: the replies to commands read before the server stopped reading passed
            # the hard limit (4008), as they may for a client that never reads.
            break
        sent += 1
        await asyncio.sleep(0.3)
    return sent


async def latencies(socket: LiveSocket) -> list[float]:
    """Seconds from each tick's creation to its arrival on `socket`, up to the last tick."""
    measured = []
    while True:
        frame = await socket.next()
        if frame.get("event") == "created":
            data = frame["payload"]["notification"]["data"]
            measured.append(time.time() - data["sent"])
            if data.get("last"):
                return measured


async def test_sockets_that_send_commands_and_never_read_keep_the_server_small(
    start_daphne, create_users, live_env, capsys
):
    users = create_users("flo", "cal")
    manage(live_env, "shell", "-c", script(username="flo", count=100) + SEED)
    server = start_daphne(NOTIFICATIONS_WS_MAX_UNSENT_BYTES=str(HARD_LIMIT))
    flooders = [await non_reader(server, users["flo"]["token"]) for _ in range(FLOODERS)]
    calm = await LiveSocket.open(server, users["cal"]["token"])
    await calm.ready()
    baseline = rss_mb(server.process.pid)

    until = time.monotonic() + FLOOD_SECONDS
    ticker = await run_manage(live_env, script(username="cal", seconds=FLOOD_SECONDS) + TICK)
    floods = asyncio.gather(*(flood(connection, until) for connection in flooders))
    measured = asyncio.ensure_future(latencies(calm))
    samples = []
    while time.monotonic() < until:
        samples.append(rss_mb(server.process.pid))
        await asyncio.sleep(1)
    sent = await floods
    await asyncio.wait_for(ticker.wait(), PATIENCE)
    seconds = await asyncio.wait_for(measured, PATIENCE)
    samples.append(rss_mb(server.process.pid))

    with capsys.disabled():
        print(
            f"\ndaphne RSS: {baseline:.0f} MB before, peak {max(samples):.0f} MB, "
            f"samples {[round(s) for s in samples]}; commands sent {sum(sent)}, sockets "
            f"closed {sum(c.close_code is not None for c in flooders)}; push latency "
            f"p50 {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"
        )
    # A socket holds at most the hard limit and the one reply (about 250 KB) that crossed it:
    # 25 MB for the 20 sockets at worst, 40 MB with the allocator's slack. Unbounded, every
    # reply the server makes for them stays in daphne until they read or leave.
    assert max(samples) - baseline < 40
    assert statistics.median(seconds) < 1.0
    for connection in flooders:
        await connection.close()
    await calm.close()
    assert "Exception inside application" not in server.log_text()


async def test_a_socket_that_reads_no_pushes_is_closed_and_the_others_get_theirs(
    start_daphne, create_users, live_env
):
    users = create_users("sid", "tom")
    server = start_daphne(NOTIFICATIONS_WS_MAX_UNSENT_BYTES=str(256 * 1024), LOG_LEVEL="WARNING")
    slow = await non_reader(server, users["sid"]["token"], receive_buffer=16 * 1024)
    reader = await LiveSocket.open(server, users["sid"]["token"])
    await reader.ready()
    other = await LiveSocket.open(server, users["tom"]["token"])
    await other.ready()

    # About 3.5 MB of pushes to sid: the kernel's buffers take part (a few MB on loopback), the
    # server's the rest, past the hard limit.
    pushes = 1500
    # In the background: the reading sockets keep reading meanwhile.
    seeding = asyncio.ensure_future(
        manage_async(live_env, "shell", "-c", script(username="sid", count=pushes) + SEED)
    )
    received = 0
    while received < pushes:
        received += (await reader.next()).get("event") == "created"
    await seeding
    await manage_async(live_env, "notify", "tom", "still here")
    assert (await other.until(lambda frame: frame.get("event") == "created"))["payload"][
        "notification"
    ]["message"] == "still here"
    # The slow socket gets what was sent before its limit, then the connection ends: the close
    # frame waited behind the unread bytes, so a client this slow sees the drop (1006).
    got = await frames_until_closed(slow)
    assert got < pushes
    assert slow.close_code in (consumer.CLOSE_TOO_SLOW, 1006)
    assert f"Socket closed with {consumer.CLOSE_TOO_SLOW}" in server.log_text()
    assert "Exception inside application" not in server.log_text()
    await reader.close()
    await other.close()


async def test_an_event_stream_that_is_not_read_is_dropped_and_a_reading_one_gets_everything(
    start_daphne, create_users, live_env
):
    token = create_users("sue")["sue"]["token"]
    server = start_daphne(NOTIFICATIONS_SSE_MAX_UNSENT_BYTES=str(256 * 1024), LOG_LEVEL="WARNING")
    slow = await LiveEventStream.open(server.port, token, receive_buffer=16 * 1024)
    assert (await slow.next())["event"] == "ready"
    reader = await LiveEventStream.open(server.port, token)
    assert (await reader.next())["event"] == "ready"

    # About 3.5 MB of pushes, far past the limit, to both streams of the same user.
    pushes = 1500
    seeding = asyncio.ensure_future(
        manage_async(live_env, "shell", "-c", script(username="sue", count=pushes) + SEED)
    )
    received = 0
    while received < pushes:
        received += (await reader.next()).get("event") == "created"
    await seeding

    # The stream that read nothing got what was sent before its limit, then the connection
    # ended; the reading one, sent all 3.5 MB, was never near it.
    got = await created_until_closed(slow)
    assert 0 < got < pushes
    log = server.log_text()
    assert f"Event stream dropped: more than {256 * 1024} bytes unread" in log
    assert log.count("Event stream dropped") == 1
    assert "Exception inside application" not in log
    await reader.close()
