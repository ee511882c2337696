"""WebSocket authentication: token, ticket, session, and how a refused socket is closed."""

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from notifications.websocket import tickets
from notifications.websocket.consumer import CLOSE_UNAUTHORIZED

pytestmark = pytest.mark.django_db(transaction=True)

# A page served by this site, as a browser opens its socket.
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def socket(
    application: Any, query: str = "", headers: Any = (ORIGIN, HOST)
) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/notifications/{query}", headers=list(headers))


async def assert_ready_as(communicator: WebsocketCommunicator, user: Any) -> None:
    connected, _ = await communicator.connect()
    assert connected
    ready = await communicator.receive_json_from()
    assert (ready["event"], ready["payload"]["user_id"]) == ("ready", user.id)


async def assert_refused(communicator: WebsocketCommunicator) -> None:
    """Accepted, told why with an `unauthorized` error frame, then closed with 4401."""
    connected, _ = await communicator.connect()
    assert connected
    error = await communicator.receive_json_from()
    assert (error["type"], error["payload"]["code"]) == ("error", "unauthorized")
    closed = await communicator.receive_output()
    assert closed["type"] == "websocket.close"
    assert closed["code"] == CLOSE_UNAUTHORIZED
    # daphne sends close codes without a reason, so the error frame carries it.
    assert error["payload"]["message"]


def token_for(user: Any, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


async def test_a_valid_access_token_authenticates(application, user):
    communicator = socket(application, f"?token={token_for(user)}")
    await assert_ready_as(communicator, user)
    await communicator.disconnect()


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_a_bad_token_is_refused_with_4401(application, token):
    communicator = socket(application, f"?token={token}")
    await assert_refused(communicator)
    await communicator.disconnect()


async def test_an_expired_token_is_refused_with_4401(application, user):
    communicator = socket(application, f"?token={token_for(user, -timedelta(minutes=1))}")
    await assert_refused(communicator)
    await communicator.disconnect()


async def test_a_refresh_token_is_not_an_access_token(application, user):
    communicator = socket(application, f"?token={RefreshToken.for_user(user)}")
    await assert_refused(communicator)
    await communicator.disconnect()


async def test_a_token_of_an_inactive_user_is_refused(application, user):
    token = token_for(user)
    user.is_active = False
    await user.asave(update_fields=["is_active"])

    communicator = socket(application, f"?token={token}")
    await assert_refused(communicator)
    await communicator.disconnect()


async def test_the_socket_closes_when_its_token_expires(application, user):
    communicator = socket(application, f"?token={token_for(user, timedelta(seconds=2))}")
    await assert_ready_as(communicator, user)

    expired = await communicator.receive_json_from(timeout=5)
    closed = await communicator.receive_output(timeout=1)

    assert expired["payload"]["code"] == "token_expired"
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_UNAUTHORIZED)
    await communicator.disconnect()


async def test_a_ticket_works_once(application, user):
    ticket = await database_sync_to_async(tickets.issue_ticket)(user.id)

    first = socket(application, f"?uuid={ticket}")
    await assert_ready_as(first, user)
    second = socket(application, f"?uuid={ticket}")
    await assert_refused(second)

    await first.disconnect()
    await second.disconnect()


@pytest.mark.parametrize("ticket", ["not-a-uuid", "6f1c2b8e-8f0e-4a53-9d0e-0d5b8f7b2c11"])
async def test_an_unknown_ticket_is_refused(application, ticket):
    communicator = socket(application, f"?uuid={ticket}")
    await assert_refused(communicator)
    await communicator.disconnect()


async def session_cookie(user: Any) -> tuple[bytes, bytes]:
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    session_id = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session_id}".encode())


async def test_the_session_of_a_same_origin_page_authenticates(application, user):
    communicator = socket(application, headers=[ORIGIN, HOST, await session_cookie(user)])
    await assert_ready_as(communicator, user)
    await communicator.disconnect()


async def test_a_bad_token_is_not_rescued_by_a_session(application, user):
    communicator = socket(application, "?token=garbage", [ORIGIN, HOST, await session_cookie(user)])
    await assert_refused(communicator)
    await communicator.disconnect()


async def test_no_credentials_is_refused_with_4401(application):
    communicator = socket(application)
    await assert_refused(communicator)
    await communicator.disconnect()


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"http://localhost:1234",
        b"https://127.0.0.1",
        b"http://127.0.0.1:8000",
        b"null",
    ],
)
async def test_an_origin_other_than_this_sites_is_refused_at_the_handshake(
    application, user, origin
):
    communicator = socket(application, f"?token={token_for(user)}", [(b"origin", origin), HOST])

    connected, _ = await communicator.connect()

    assert not connected
    await communicator.disconnect()


async def test_a_trusted_origin_of_another_site_is_accepted(application, settings, user):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    origin = (b"origin", b"https://app.example.com")
    communicator = socket(application, f"?token={token_for(user)}", [origin, HOST])

    await assert_ready_as(communicator, user)
    await communicator.disconnect()


async def test_a_client_without_origin_may_connect_with_a_token(application, user):
    communicator = socket(application, f"?token={token_for(user)}", [HOST])

    await assert_ready_as(communicator, user)
    await communicator.disconnect()


async def test_a_client_without_origin_may_not_use_the_session(application, user):
    communicator = socket(application, headers=[HOST, await session_cookie(user)])

    connected, _ = await communicator.connect()

    assert not connected
    await communicator.disconnect()
