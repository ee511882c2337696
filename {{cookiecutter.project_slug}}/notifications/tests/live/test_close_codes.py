"""Every close code a client can see, through a real daphne: the code and the frame before it.

The communicator of the unit tests accepts any close code; daphne refuses some (1013), so
each documented code is asserted here against the real server.
"""

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio import client as websockets_client
from websockets.exceptions import ConnectionClosed

from notifications.tests.live.conftest import PATIENCE, Daphne, LiveSocket, manage
from notifications.tests.servers import PostgresServer, stop
from notifications.websocket import consumer

pytestmark = pytest.mark.live

# A token for `username` that expires in `seconds`, signed with the live processes' key.
SHORT_TOKEN = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
token = AccessToken.for_user(get_user_model().objects.get(username=username))
token.set_exp(lifetime=timedelta(seconds=seconds))
print(token)
"""


# Credentials of every kind for `username` (created if need be): an access token, two one-time
# tickets and a session key, signed with the live processes' key.
CREDENTIALS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from rest_framework_simplejwt.tokens import AccessToken
from notifications.websocket.tickets import issue_ticket
user, _ = get_user_model().objects.get_or_create(username=username)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
token = str(AccessToken.for_user(user))
tickets = [issue_ticket(user.pk) for _ in range(2)]
print(json.dumps(dict(token=token, tickets=tickets, session=session.session_key)))
"""


async def refused(server: Daphne, query: str, cookie: str | None = None) -> tuple[dict, int]:
    """The error frame and the close code a refused socket gets."""
    headers = {"Cookie": cookie} if cookie else None
    async with websockets_client.connect(
        server.url(query), origin=server.origin, open_timeout=PATIENCE, additional_headers=headers
    ) as connection:
        error = json.loads(await asyncio.wait_for(connection.recv(), PATIENCE))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(connection.recv(), PATIENCE)
        assert connection.close_code is not None
        return error, connection.close_code


async def frames_until_closed(connection: websockets_client.ClientConnection) -> list[dict]:
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(connection.recv(), PATIENCE)))
    except ConnectionClosed:
        return frames


async def test_bad_credentials_close_with_4401_after_an_error_frame(start_daphne, create_users):
    create_users("hal")
    server = start_daphne()

    for query in ("token=not-a-jwt", "uuid=00000000-0000-0000-0000-000000000000"):
        error, code = await refused(server, query)
        assert (error["type"], error["payload"]["code"]) == ("error", "unauthorized")
        assert error["payload"]["message"]
        assert code == consumer.CLOSE_UNAUTHORIZED == 4401


async def test_an_access_token_that_expires_closes_with_4401(start_daphne, create_users, live_env):
    create_users("ida")
    server = start_daphne()
    token = (
        manage(live_env, "shell", "-c", f"username = 'ida'\nseconds = 8\n{SHORT_TOKEN}")
        .stdout.strip()
        .splitlines()[-1]
    )

    async with websockets_client.connect(
        server.url(f"token={token}"), origin=server.origin, open_timeout=PATIENCE
    ) as connection:
        frames = await frames_until_closed(connection)
        code = connection.close_code

    assert frames[0]["event"] == "ready"
    assert frames[-1]["payload"]["code"] == "token_expired"
    assert code == consumer.CLOSE_UNAUTHORIZED


def test_every_close_code_the_consumer_sends_is_documented():
    protocol = Path(consumer.__file__).resolve().parents[2] / "docs" / "websocket.md"
    text = protocol.read_text()
    codes = [value for name, value in vars(consumer).items() if name.startswith("CLOSE_")]
    assert sorted(codes) == [4008, 4401, 4429, 4503]
    for code in codes:
        assert f"| **{code}** |" in text


async def test_sockets_past_the_per_user_cap_close_with_4429(create_users, live_env, tmp_path):
    user = create_users("jon")["jon"]
    server = Daphne({**live_env, "NOTIFICATIONS_MAX_SOCKETS_PER_USER": "2"}, tmp_path / "d.log")
    try:
        kept = [await LiveSocket.open(server, user["token"]) for _ in range(2)]
        for socket in kept:
            await socket.ready()

        error, code = await refused(server, f"token={user['token']}")

        assert (error["payload"]["code"], code) == ("too_many_sockets", 4429)
        assert code == consumer.CLOSE_TOO_MANY
        for socket in kept:
            await socket.close()
    finally:
        stop(server.process)


async def test_a_frame_over_the_size_limit_is_refused_by_daphne(start_daphne, create_users):
    user = create_users("kim")["kim"]
    server = start_daphne()
    socket = await LiveSocket.open(server, user["token"])
    await socket.ready()

    await socket.connection.send("x" * (65536 + 1))

    with pytest.raises(ConnectionClosed):
        await socket.next()
    # daphne's WebSocket library drops the connection without reading the message: a client
    # sees 1006 (no close frame) and the server never buffers the megabyte.
    assert socket.close_code == 1006
    again = await LiveSocket.open(server, user["token"])
    assert (await again.ready())["user_id"] == user["id"]
    await again.close()


async def test_a_push_over_the_inbound_limit_arrives_whole(start_daphne, create_users, live_env):
    user = create_users("lou")["lou"]
    # An inbound limit below the largest frame a write may make: pushes must not be held to it.
    server = start_daphne(NOTIFICATIONS_WS_MAX_MESSAGE_BYTES="8192")
    socket = await LiveSocket.open(server, user["token"])
    await socket.ready()

    code = "from notifications.stream import events\n"
    code += "from notifications.services import NotificationService\n"
    code += f"NotificationService.create_notification({user['id']}, 'big', "
    code += "data=dict(x='y' * 12000))\n"
    code += "events.flush(30)\n"
    manage(live_env, "shell", "-c", code)
    raw = await asyncio.wait_for(socket.connection.recv(), PATIENCE)

    # autobahn checks outgoing messages against the same maxMessagePayloadSize as incoming ones;
    # `manage.py serve` lifts it for the server's own frames, so this push is not a 1011.
    assert len(raw.encode()) > 8192
    frame = json.loads(raw)
    assert (frame["event"], frame["payload"]["notification"]["message"]) == ("created", "big")
    await socket.connection.send(json.dumps({"action": "ping", "request_id": 1}))
    assert (await socket.next())["event"] == "pong"
    await socket.close()


async def test_deactivating_a_user_closes_their_sockets_with_4401(
    start_daphne, create_users, live_env
):
    user = create_users("ned")["ned"]
    server = start_daphne()
    socket = await LiveSocket.open(server, user["token"])
    await socket.ready()

    code = "from django.contrib.auth import get_user_model\n"
    code += "user = get_user_model().objects.get(username='ned')\n"
    code += "user.is_active = False\nuser.save()\n"
    manage(live_env, "shell", "-c", code)

    revoked = await socket.until(lambda frame: frame.get("event") == "revoked")
    error = await socket.next()
    with pytest.raises(ConnectionClosed):
        await socket.next()
    assert revoked["payload"]["reason"] == "deactivated"
    assert error["payload"]["code"] == "session_ended"
    assert socket.close_code == consumer.CLOSE_UNAUTHORIZED


async def test_a_handshake_while_the_database_is_down_closes_with_4503(live_env, tmp_path):
    postgres = PostgresServer()
    server = None
    try:
        postgres.start()
        env = {**live_env, "DATABASE_URL": postgres.url("postgres")}
        manage(env, "migrate", "--noinput")
        credentials = json.loads(
            manage(env, "shell", "-c", f"username = 'pat'\n{CREDENTIALS}").stdout.splitlines()[-1]
        )
        server = Daphne(env, tmp_path / "daphne.log")
        ways = {
            "token": (f"token={credentials['token']}", None),
            "ticket": (f"uuid={credentials['tickets'][0]}", None),
            "session": ("", f"sessionid={credentials['session']}"),
        }

        postgres.stop()
        for way, (query, cookie) in ways.items():
            error, code = await refused(server, query, cookie)
            assert (way, error["payload"]["code"], code) == (way, "unavailable", 4503)
        assert code == consumer.CLOSE_TRY_AGAIN

        postgres.start()
        ways["ticket"] = (f"uuid={credentials['tickets'][1]}", None)
        for way, (query, cookie) in ways.items():
            headers = {"Cookie": cookie} if cookie else None
            async with websockets_client.connect(
                server.url(query), origin=server.origin, additional_headers=headers
            ) as connection:
                ready = json.loads(await asyncio.wait_for(connection.recv(), PATIENCE))
                assert (way, ready["event"]) == (way, "ready")
        assert "Exception inside application" not in server.log_text()
    finally:
        if server is not None:
            stop(server.process)
        postgres.remove()
