"""Live events held until they are next in their stream, for the socket and the SSE stream."""

from typing import Any

from notifications.stream import events
from notifications.stream.positions import Position

# Live events a connection keeps while it waits for a missing one; past it, it reads the
# database instead of holding more.
MAX_HELD_EVENTS = 1000


class HeldEvents:
    """Published events by stream and position, handed out in order from a client's position.

    Pushes from two server processes can cross in Redis, and pushes keep coming while a
    replay runs: each is kept here until every event before it in its stream was sent, and
    one at or below the client's position (sent already, by a replay) is dropped. So a
    connection sends in order, with no gap and never twice, whatever order pushes arrive in.
    """

    def __init__(self) -> None:
        self.held: dict[str, dict[int, dict[str, Any]]] = {events.OWN: {}, events.EVERYONE: {}}

    def hold(self, message: dict[str, Any]) -> None:
        kept = self.held[message["stream"]]
        if len(kept) >= MAX_HELD_EVENTS:
            # A gap this long will be read from the database anyway: keep memory bounded.
            kept.clear()
        kept[message["position"]] = message

    def next_after(self, position: Position) -> dict[str, Any] | None:
        """The held event that comes right after `position` in its stream, taken out."""
        for stream, kept in self.held.items():
            sent = position.own if stream == events.OWN else position.everyone
            for stale in [place for place in kept if place <= sent]:
                del kept[stale]
            message = kept.pop(sent + 1, None)
            if message is not None:
                return message
        return None

    def waiting(self) -> bool:
        """True when some event is held behind a gap: its missing predecessor never came."""
        return any(self.held.values())
