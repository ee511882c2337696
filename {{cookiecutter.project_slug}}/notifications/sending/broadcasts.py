"""Broadcasts: one row for every user, pushed to every connected socket, and deleted for all."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.categories import StrOrPromise
from notifications.models import Broadcast, EventKind
from notifications.reader import languages
from notifications.sending import limits
from notifications.sending.create import level_for
from notifications.serializers import broadcast_payload
from notifications.stream import events


def broadcast(
    message: StrOrPromise,
    *,
    category: str = "system",
    level: int | None = None,
    title: StrOrPromise = "",
    data: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> Broadcast:
    """Store one broadcast for every user and push it to every connected socket.

    A field over its limit (notifications/sending/limits.py) is ContentTooLarge, a ValueError.
    Lazy texts (gettext_lazy) are stored in every language: each reader sees theirs.
    """
    title, message, data = languages.broadcast_texts(title, message, data)
    limits.check_content(title=title, message=message, data=data)
    row = Broadcast(
        category=category,
        level=level_for(category, level),
        title=title,
        message=message,
        data=data if data is not None else {},
        expires_at=expires_at,
    )
    row.full_clean()
    with transaction.atomic():
        row.save()
        events.send_on_commit(EventKind.BROADCAST, [(None, {"broadcast": broadcast_payload(row)})])
    return row


def delete_broadcast(broadcast_id: int) -> None:
    """Delete a broadcast for every user; sockets hear it, and replays leave it out."""
    with transaction.atomic():
        deleted = (
            Broadcast.objects.alive().filter(pk=broadcast_id).update(deleted_at=timezone.now())
        )
        if deleted:
            events.send_on_commit(EventKind.BROADCAST_DELETED, [(None, {"ids": [broadcast_id]})])
