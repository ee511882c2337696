"""The event stream: a write stores its events with its rows and publishes them on commit.

Every write a socket hears about goes through `send_on_commit`, the one pipeline: the events
are rows of the same transaction, so a rolled-back write stores and sends nothing, and a push
that fails loses nothing, because a reconnecting client reads the stream from its position.
Positions come from the streams' head rows (notifications/stream/positions.py), in commit order.
"""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from notifications.models import Event, EventKind
from notifications.push import dispatch as push_dispatch
from notifications.serializers import dumps, split_frame
from notifications.stream import bulk, counters, positions, publisher
from notifications.stream.counters import CountChanges

BROADCAST_GROUP = "notifications_broadcast"
# The streams a message belongs to: the recipient's own, or every user's (broadcasts).
OWN = "own"
EVERYONE = "everyone"
# The consumer method that receives an event from the channel layer ("notify.event").
HANDLER_TYPE = "notify.event"

# One event to store: (kind, recipient or None for every user, payload).
Change = tuple[str, int | None, dict[str, Any]]


def user_group(user_id: int) -> str:
    return f"notifications_{user_id}"


def end_sockets(user_id: int, *, reason: str, session_key: str | None = None) -> None:
    """Close the user's open sockets, or only those of one session, within seconds.

    Runs through the stream like any write, so every server process hears it.
    """
    payload = {"reason": reason, "session": session_tag(session_key) if session_key else None}
    with transaction.atomic():
        send_on_commit(EventKind.REVOKED, [(user_id, payload)])


def session_tag(session_key: str) -> str:
    """Names a session in an event without revealing its key, which is a credential."""
    return salted_hmac("notifications.session", session_key, algorithm="sha256").hexdigest()[:32]


def send_on_commit(
    kind: str,
    payloads: Sequence[tuple[int | None, dict[str, Any]]],
    *,
    counts: CountChanges | None = None,
) -> list[Event]:
    """Store one event per (recipient, payload) now, publish them once the transaction commits.

    A recipient of None stores one event of every user's stream (a broadcast). Call it inside
    the write's transaction, with what the write changed in its recipients' counts.
    """
    return send_all_on_commit(
        [(kind, recipient, payload) for recipient, payload in payloads], counts=counts
    )


def send_all_on_commit(
    changes: Sequence[Change], *, counts: CountChanges | None = None
) -> list[Event]:
    """Store every change as an event of its recipient's stream, in order; publish on commit.

    The streams' head rows take the positions and the write's changes to the counts in one
    statement, and stay locked until the transaction ends (see streams.advance): a write that
    stores events for several users does it in one call, so its locks are taken in one fixed
    order, and the counts it reads back are the ones its frames carry.
    """
    if not changes:
        return []
    recipients = [recipient for _, recipient, _ in changes]
    heads = positions.advance(recipients, changes=counts)
    # The events of a stream take the positions just below its new top, in order.
    taken = {stream: head.top for stream, head in heads.items()}
    for recipient in recipients:
        taken[positions.stream_of(recipient)] -= 1
    template = Event(created_at=timezone.now())
    rows = []
    for kind, recipient, payload in changes:
        stream = positions.stream_of(recipient)
        taken[stream] += 1
        # A copy of one template: cheaper than building each row from keyword arguments.
        row = bulk.clone(template)
        row.kind, row.recipient_id, row.payload = kind, recipient, payload
        row.position = taken[stream]
        rows.append(row)
    stored = bulk.insert_all(rows)
    transaction.on_commit(lambda: publish(stored, heads))
    return stored


def publish(stored: list[Event], heads: dict[int, positions.Head]) -> None:
    """Build each event's frame once, with its recipient's counts as the write left them."""
    user_ids = {event.recipient_id for event in stored if event.recipient_id is not None}
    counts = counters.current_counts(
        {user_id: (heads[user_id].counts, heads[user_id].next_expiry) for user_id in user_ids}
    )
    messages = []
    for event in stored:
        if event.recipient_id is None:
            messages.append((BROADCAST_GROUP, everyone_message(event)))
        else:
            messages.append((user_group(event.recipient_id), user_message(event, counts)))
    publisher.publish(messages)
    # The same commit's notifications, to the browsers subscribed to Web Push (in a job).
    push_dispatch.queue_pushes(stored)


def user_message(event: Event, counts: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A frame for one user, cut where the socket puts its position, with the user's counts
    apart for the socket to keep."""
    user_counts = counts[event.recipient_id]  # type: ignore[index]
    message = {
        "type": HANDLER_TYPE,
        "stream": OWN,
        "position": event.position,
        "parts": split_frame(event.kind, event.payload, user_counts),
        "counts": dumps(user_counts),
    }
    if event.kind == EventKind.REVOKED:
        # The socket reads it before sending: it closes when the session is its own.
        message["revoke"] = event.payload
    return message


def everyone_message(event: Event) -> dict[str, Any]:
    """A frame for every user, serialised once; each socket fills in its position and counts."""
    return {
        "type": HANDLER_TYPE,
        "stream": EVERYONE,
        "position": event.position,
        "parts": split_frame(event.kind, event.payload),
    }


def frame_text(message: dict[str, Any], position: str, counts_text: str = "null") -> str:
    """The frame a socket sends for a published message, at its own position and counts."""
    parts = message["parts"]
    if message["stream"] == OWN:
        return parts[0] + dumps(position) + parts[1]
    return parts[0] + dumps(position) + parts[1] + counts_text + parts[2]


def flush(timeout: float = 5.0) -> bool:
    """Wait until the pushes queued by this process have been sent (management commands)."""
    return publisher.flush(timeout)
