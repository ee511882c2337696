"""The event stream: a write stores its events with its rows and publishes them on commit.

Every write a socket hears about goes through `send_on_commit`, the one pipeline: the events
are rows of the same transaction, so a rolled-back write stores and sends nothing, and a push
that fails loses nothing, because a reconnecting client reads the stream from its position.
"""

import copy
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications import bulk, publisher, selectors
from notifications.models import Event, EventKind
from notifications.serializers import dumps, event_frame, split_at_counts

BROADCAST_GROUP = "notifications_broadcast"
# The consumer method that receives an event from the channel layer ("notify.event").
HANDLER_TYPE = "notify.event"


def user_group(user_id: int) -> str:
    return f"notifications_{user_id}"


def send_on_commit(kind: str, payloads: Sequence[tuple[int | None, dict[str, Any]]]) -> list[Event]:
    """Store one event per (recipient, payload) now, publish them once the transaction commits.

    A recipient of None stores one event of every user's stream (a broadcast). Call it inside
    the write's transaction.
    """
    if not payloads:
        return []
    template = Event(kind=kind, created_at=timezone.now())
    rows = []
    for recipient, payload in payloads:
        # A copy of one template: cheaper than building each row from keyword arguments.
        row = copy.copy(template)
        row.recipient_id, row.payload = recipient, payload
        rows.append(row)
    stored = bulk.insert_all(rows)
    transaction.on_commit(lambda: publish(stored))
    return stored


def publish(stored: list[Event]) -> None:
    """Build each event's frame once, with its recipient's counts read now, and send it."""
    user_ids = sorted({event.recipient_id for event in stored if event.recipient_id is not None})
    counts = selectors.counts_for_users(user_ids)
    messages = []
    for event in stored:
        if event.recipient_id is None:
            messages.append((BROADCAST_GROUP, everyone_message(event)))
        else:
            messages.append((user_group(event.recipient_id), user_message(event, counts)))
    publisher.publish(messages)


def user_message(event: Event, counts: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A frame for one user, as text, with their counts apart for the socket to keep."""
    user_counts = counts[event.recipient_id]  # type: ignore[index]
    message = {
        "type": HANDLER_TYPE,
        "id": event.pk,
        "text": dumps(event_frame(event.pk, event.kind, event.payload, user_counts)),
        "counts": dumps(user_counts),
    }
    if event.kind == EventKind.REVOKED:
        # The socket reads it before sending: it closes when the session is its own.
        message["revoke"] = event.payload
    return message


def everyone_message(event: Event) -> dict[str, Any]:
    """A frame for every user, serialised once; each socket fills in its user's counts."""
    head, tail = split_at_counts(event.pk, event.kind, event.payload)
    return {"type": HANDLER_TYPE, "id": event.pk, "head": head, "tail": tail}


def flush(timeout: float = 5.0) -> bool:
    """Wait until the pushes queued by this process have been sent (management commands)."""
    return publisher.flush(timeout)
