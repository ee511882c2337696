"""The Origin check through a real daphne: scheme, host and port compared in full."""

import json
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio import client as websockets_client
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from notifications.tests.live.conftest import Daphne
from notifications.tests.servers import http_json, stop

pytestmark = pytest.mark.live

TRUSTED = "https://app.example.com"


@pytest.fixture
def server(live_env, tmp_path):
    daphne = Daphne({**live_env, "CSRF_TRUSTED_ORIGINS": TRUSTED}, tmp_path / "daphne.log")
    yield daphne
    stop(daphne.process)


async def handshake(url: str, origin: str | None) -> Any:
    """The first frame of an accepted socket, or the HTTP status of a refused handshake."""
    try:
        async with websockets_client.connect(
            url, origin=Origin(origin) if origin else None, open_timeout=10
        ) as socket:
            return json.loads(await socket.recv())
    except InvalidStatus as refused:
        return refused.response.status_code


def other_origins(server: Daphne) -> list[str]:
    port = server.port
    return [
        "http://localhost:1234",  # an allowed host on another port
        f"https://127.0.0.1:{port}",  # another scheme
        f"http://127.0.0.1:{port + 1}",  # another port
        f"http://localhost:{port}",  # an allowed host, but not the one the client reached
        "http://app.example.com",  # the trusted host over the wrong scheme
        "null",
    ]


async def test_only_this_sites_origin_and_trusted_origins_open_a_socket(server, create_users):
    token = create_users("origin-alice")["origin-alice"]["token"]
    url = server.url(f"token={token}")

    assert (await handshake(url, server.origin))["event"] == "ready"
    assert (await handshake(url, TRUSTED))["event"] == "ready"
    refused = {origin: await handshake(url, origin) for origin in other_origins(server)}
    assert refused == dict.fromkeys(other_origins(server), 403)


async def test_a_client_without_origin_needs_a_token_or_a_ticket(server, create_users):
    token = create_users("origin-bob")["origin-bob"]["token"]
    status, ticket = http_json(server.port, "POST", "/api/notifications/ws_auth/", token=token)
    assert status == HTTPStatus.OK

    assert (await handshake(server.url(f"token={token}"), None))["event"] == "ready"
    assert (await handshake(server.url(f"uuid={ticket['uuid']}"), None))["event"] == "ready"
    assert await handshake(server.url(""), None) == 403
