"""The event stream over Server-Sent Events through nginx and two daphne processes on one Redis.

A client reads `api/notifications/stream/` through deploy/nginx.conf, daphne is killed under
it, notifications are written while it is down, and the client resumes with `Last-Event-ID`
as EventSource does: it gets exactly what it missed, in order, then live events again.
"""

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from notifications.tests.live.conftest import Daphne, manage_async, positions_advance
from notifications.tests.live.sse_client import LiveEventStream, StreamClosed
from notifications.tests.servers import NGINX, Nginx, require_or_skip

pytestmark = pytest.mark.live


async def notify(env: dict[str, str], username: str, message: str) -> int:
    stdout, _ = await manage_async(env, "notify", username, message)
    return int(stdout.split()[-1])


@pytest.fixture
def behind_nginx(start_daphne: Callable[..., Daphne]) -> Iterator[tuple[list[Daphne], Nginx]]:
    """Two daphne processes and nginx in front of them, as deploy/nginx.conf ships."""
    if not Path(NGINX).is_file():
        require_or_skip("nginx is not installed (apt-get install nginx)")
    servers = [start_daphne(), start_daphne()]
    proxy = Nginx([server.port for server in servers])
    yield servers, proxy
    proxy.stop()


async def test_a_stream_resumes_with_last_event_id_after_daphne_is_killed(
    behind_nginx, create_users, live_env
):
    servers, proxy = behind_nginx
    user = create_users("sse_ida")["sse_ida"]
    stream = await LiveEventStream.open(proxy.port, user["token"])
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    ready = await stream.next()
    assert ready["event"] == "ready"
    before = [await notify(live_env, "sse_ida", f"before {n}") for n in range(2)]
    seen = [await stream.next() for _ in before]
    assert [frame["payload"]["notification"]["id"] for frame in seen] == before
    held = stream.last_event_id
    assert held == seen[-1]["id"]

    for server in servers:
        server.kill()
    with pytest.raises(StreamClosed):
        await stream.next()
    await stream.close()
    missed = [await notify(live_env, "sse_ida", f"while down {n}") for n in range(6)]
    for server in servers:
        server.start()

    resumed = await LiveEventStream.open(proxy.port, user["token"], last_event_id=held)
    assert resumed.status == 200
    assert (await resumed.next())["event"] == "ready"
    replayed, synced = await resumed.until_synced()
    assert [frame["payload"]["notification"]["id"] for frame in replayed] == missed
    assert positions_advance([held, *(frame["sse_id"] for frame in replayed)])
    assert synced == {"recovered": True, "count": 6}

    live = await notify(live_env, "sse_ida", "after")
    frame = await resumed.next()
    assert (frame["event"], frame["payload"]["notification"]["id"]) == ("created", live)
    assert positions_advance([replayed[-1]["sse_id"], frame["sse_id"]])
    await resumed.close()


async def test_streams_on_both_daphnes_get_a_notification_written_by_a_third_process(
    behind_nginx, create_users, live_env
):
    servers, _ = behind_nginx
    user = create_users("sse_joe")["sse_joe"]
    streams = [await LiveEventStream.open(server.port, user["token"]) for server in servers]
    for stream in streams:
        assert (await stream.next())["event"] == "ready"

    created = await notify(live_env, "sse_joe", "to both")

    frames = await asyncio.gather(*(stream.next() for stream in streams))
    assert [frame["payload"]["notification"]["id"] for frame in frames] == [created, created]
    assert frames[0]["sse_id"] == frames[1]["sse_id"]
    for stream in streams:
        await stream.close()


async def test_a_stream_through_nginx_refuses_a_bad_token_with_json(behind_nginx):
    _, proxy = behind_nginx
    stream = await LiveEventStream.open(proxy.port, "not-a-token")
    assert stream.status == 401
    assert stream.headers["content-type"] == "application/json"
    await stream.close()
