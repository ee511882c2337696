"""WebSocket authentication: a SimpleJWT access token, a one-time ticket or the session."""

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from notifications.websocket import tickets

# Scope keys this middleware sets besides "user": why a socket is anonymous, how it
# authenticated ("token", "ticket" or "session"), whether the database or the ticket store was
# unreachable (the consumer closes with 4503, never a 500 at the handshake), and
# when its access token expires (seconds since the epoch), so the consumer can close it then.
AUTH_ERROR = "auth_error"
AUTH_METHOD = "auth_method"
AUTH_UNAVAILABLE = "auth_unavailable"
EXPIRES_AT = "token_expires_at"


class NotificationsAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from `?token=`, else `?uuid=`, else the session cookie.

    Bad credentials never fail the handshake: the user is anonymous with a reason in the
    scope, and the consumer accepts and closes with 4401, because a browser sees a refused
    handshake only as an unexplained 1006.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.session_auth = CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = params.get("token", [None])[-1]
        ticket = params.get("uuid", [None])[-1]
        scope = dict(scope)
        if token is None and ticket is None:
            scope[AUTH_METHOD] = "session"
            return await self.session_auth(scope, receive, send)

        if token is not None:
            scope[AUTH_METHOD] = "token"
            reason = "Invalid or expired access token."
        else:
            scope[AUTH_METHOD] = "ticket"
            reason = "Invalid, expired or already used ticket."
        user = None
        try:
            if token is not None:
                user, scope[EXPIRES_AT] = await authenticate_token(token)
            else:
                # A ticket is spent even if the database then fails: the client's retry
                # fetches a new one, as after any refusal.
                user = await authenticate_ticket(ticket or "")
        except (DatabaseError, tickets.TicketStoreUnavailable):
            scope[AUTH_UNAVAILABLE] = True
        scope["user"] = user or AnonymousUser()
        if user is None:
            scope[AUTH_ERROR] = reason
        return await self.inner(scope, receive, send)


class SessionAuthMiddleware(AuthMiddleware):
    """channels' session authentication, except that an unreachable database (reading the
    session or its user) marks the scope instead of failing the handshake with an HTTP 500."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        try:
            await super().resolve_scope(scope)
        except DatabaseError:
            scope["user"]._wrapped = AnonymousUser()
            scope[AUTH_UNAVAILABLE] = True


@database_sync_to_async
def authenticate_token(raw_token: str) -> tuple[AbstractBaseUser | None, int | None]:
    """The user of a valid access token and its expiry, validated as a REST request would be."""
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw_token.encode())
        user = authentication.get_user(validated)
    except (InvalidToken, AuthenticationFailed):
        return None, None
    return user, int(validated["exp"])


@database_sync_to_async
def authenticate_ticket(ticket: str) -> AbstractBaseUser | None:
    """The active user a ticket was issued to; redeeming it means nobody can use it again."""
    user_id = tickets.redeem_ticket(ticket)
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()
