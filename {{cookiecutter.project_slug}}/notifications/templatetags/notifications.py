"""The notification_bell tag: a bell with the unseen count and the latest items, for any page."""

from typing import Any

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.template.context import Context

register = template.Library()


@register.inclusion_tag("notifications/bell.html", takes_context=True)
def notification_bell(context: Context, limit: int = 5) -> dict[str, Any]:
    """The bell for the signed-in user; renders nothing for an anonymous visitor."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "show": bool(user and user.is_authenticated),
        # The dropdown's POST (mark seen) needs the token; the page may not have a form.
        "csrf_token": get_token(request) if request is not None else "",
        "limit": limit,
        "heartbeat_seconds": settings.NOTIFICATIONS_HEARTBEAT_SECONDS,
    }
