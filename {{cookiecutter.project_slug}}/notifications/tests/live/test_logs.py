"""No WebSocket credential reaches a log line of a real daphne, and every line is structured."""

import asyncio
import json
import re
import urllib.request

import pytest

from notifications.tests.live.conftest import HOST

websockets_client = pytest.importorskip("websockets.asyncio.client")

pytestmark = pytest.mark.live

# Every line the project's logging writes: "2025-01-31 12:00:00,123 INFO daphne.server ...".
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")


def ticket(port: int, token: str) -> str:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/notifications/ws_auth/",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.load(response)["uuid"]


async def first_frame(url: str, origin: str) -> dict:
    async with websockets_client.connect(url, origin=origin, open_timeout=20) as socket:
        return json.loads(await asyncio.wait_for(socket.recv(), 20))


async def test_tokens_and_tickets_never_reach_the_log(start_daphne, create_users):
    users = create_users("lou")
    token = users["lou"]["token"]
    server = start_daphne(LOG_LEVEL="DEBUG")
    uuid = ticket(server.port, token)

    by_token = await first_frame(server.url(f"token={token}"), server.origin)
    by_ticket = await first_frame(server.url(f"uuid={uuid}"), server.origin)
    refused = await first_frame(server.url(f"uuid={uuid}"), server.origin)  # used up

    assert by_token["event"] == by_ticket["event"] == "ready"
    assert refused["event"] == "unauthorized"
    log = server.log.read_text()
    assert "WS /ws/notifications/ accepted" in log, log
    assert token not in log
    assert uuid not in log
    # Each record starts a line; only its own continuation lines (indented or blank) follow.
    for line in log.splitlines():
        assert LINE.match(line) or not line[:1].strip(), f"an unformatted log line: {line!r}"
