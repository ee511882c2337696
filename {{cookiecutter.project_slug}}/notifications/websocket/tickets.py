"""One-time WebSocket tickets: `ws_auth/` issues one, the socket handshake redeems it.

A ticket lives in the shared cache (Redis in production), so any process can redeem it,
and redeeming deletes it: only the caller whose delete succeeded gets the user.
"""

import uuid

from django.conf import settings
from django.core.cache import cache

PREFIX = "notifications:ws-ticket:"


class TicketStoreUnavailable(Exception):
    """The shared cache cannot store a ticket (Redis down): the client retries later."""


def issue_ticket(user_id: int) -> str:
    ticket = str(uuid.uuid4())
    try:
        cache.set(PREFIX + ticket, user_id, timeout=settings.NOTIFICATIONS_TICKET_TTL)
    except Exception as error:
        raise TicketStoreUnavailable("The ticket store is unreachable.") from error
    return ticket


def redeem_ticket(ticket: str) -> int | None:
    """The user id a ticket was issued to, once; None if unknown, expired or already used.

    TicketStoreUnavailable when the cache cannot be reached: the client retries later.
    """
    try:
        key = PREFIX + str(uuid.UUID(ticket))
    except ValueError:
        return None
    try:
        user_id = cache.get(key)
        if user_id is None or not cache.delete(key):
            return None
    except Exception as error:
        raise TicketStoreUnavailable("The ticket store is unreachable.") from error
    return int(user_id)
