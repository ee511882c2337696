"""WebSocket authentication: a SimpleJWT access token, a one-time ticket or the session."""

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from notifications import tickets

# Scope keys this middleware sets besides "user": why a socket is anonymous, how it
# authenticated ("token", "ticket" or "session"), whether the ticket store was unreachable, and
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
        self.session_auth = AuthMiddlewareStack(inner)

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
            user, expires_at = await authenticate_token(token)
            scope[EXPIRES_AT] = expires_at
            reason = "Invalid or expired access token."
        else:
            scope[AUTH_METHOD] = "ticket"
            try:
                user = await authenticate_ticket(ticket or "")
            except tickets.TicketStoreUnavailable:
                scope[AUTH_UNAVAILABLE] = True
                user = None
            reason = "Invalid, expired or already used ticket."
        scope["user"] = user or AnonymousUser()
        if user is None:
            scope[AUTH_ERROR] = reason
        return await self.inner(scope, receive, send)


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
