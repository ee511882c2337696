"""The notification_bell tag: a bell with the unread count and the latest items, for any page."""

from typing import Any

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.template.context import Context

from notifications import selectors

register = template.Library()


@register.inclusion_tag("notifications/bell.html", takes_context=True)
def notification_bell(context: Context, limit: int = 5) -> dict[str, Any]:
    """The bell for the signed-in user; renders nothing for an anonymous visitor."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"show": False}
    # Counted as the centre counts (unread notifications and broadcasts) and written into the
    # page, so the count is right before the script runs, and without it.
    broadcasts = selectors.broadcast_unread_count(user)
    return {
        "show": True,
        "unread": selectors.unread_count(user) + broadcasts,
        "broadcast_unread": broadcasts,
        # The dropdown's POSTs (mark seen, mark read) need the token; the page may have no form.
        "csrf_token": get_token(request),
        "limit": limit,
        "heartbeat_seconds": settings.NOTIFICATIONS_HEARTBEAT_SECONDS,
    }
