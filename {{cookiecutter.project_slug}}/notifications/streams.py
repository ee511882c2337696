"""Stream positions that follow commit order: one head row per stream, bumped by each write.

Each user has a stream of their own events, and every user shares the stream of broadcasts
(the "everyone" stream). An event's position is its place in its stream: 1, 2, 3... with no
gap. A write takes its positions from the stream's head row with one `UPDATE ... RETURNING`
inside its transaction; the row stays locked until the transaction ends, so the next write of
that stream draws the next position only after this one committed or rolled back. Positions
are therefore dense and visible in commit order: a client that holds position N has every
event up to N, and a missing N+1 is a gap it can see.

Why a head row and not ids from a sequence: a sequence value is drawn at insert and becomes
visible at commit, so a transaction that inserts first and commits last hands a client a
position below one it already holds, and that event is never replayed to it. A head row is
what Centrifugo's PostgreSQL broker keeps per channel (`top_offset`); an advisory lock per
stream would order commits too but leaves gaps a client cannot tell from lost events.

A client's position names both streams, "<own>:<everyone>", and is opaque to clients.
"""

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connections, router

from notifications.models import StreamHead

# The head row of the broadcasts' stream; user ids start at 1.
EVERYONE = 0
# "<own>:<everyone>", each at most 18 digits (a 64-bit integer).
POSITION_PATTERN = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")
# Head rows per statement: within database parameter limits (two per row).
HEADS_PER_STATEMENT = 1000


class InvalidPosition(ValueError):
    """A position string that this server never handed out."""


@dataclass(frozen=True, order=False)
class Position:
    """Where a client stands: the last event of its own stream and of the broadcasts."""

    own: int = 0
    everyone: int = 0

    def __str__(self) -> str:
        return f"{self.own}:{self.everyone}"

    @classmethod
    def parse(cls, text: object) -> "Position":
        """A position from a client: "<own>:<everyone>", or "0" for the start of both."""
        value = str(text).strip()
        if value == "0":
            return cls()
        # ASCII digits only: "²".isdigit() is true, but int() refuses it.
        match = POSITION_PATTERN.fullmatch(value)
        if match is None:
            raise InvalidPosition(f"{value[:40]!r} is not a stream position.")
        return cls(int(match[1]), int(match[2]))

    def covers(self, other: "Position") -> bool:
        """True when every event up to `other` is also up to this position."""
        return self.own >= other.own and self.everyone >= other.everyone

    def merged(self, other: "Position") -> "Position":
        return Position(max(self.own, other.own), max(self.everyone, other.everyone))


def stream_of(recipient_id: int | None) -> int:
    return EVERYONE if recipient_id is None else recipient_id


def advance(recipients: Iterable[int | None], *, using: str | None = None) -> dict[int, int]:
    """Take the next positions for one event per item of `recipients`; returns each stream's
    new top. The events of a stream take the positions just below its top, in order.

    Head rows are locked in ascending stream order, in every write: two writes that touch the
    same streams wait for each other instead of deadlocking. A transaction that calls this
    twice (for other streams) should keep that order across its calls, or make one call.
    """
    return _bump(Counter(stream_of(recipient) for recipient in recipients), using=using)


def lock_heads(recipients: Iterable[int | None], *, using: str | None = None) -> None:
    """Lock the head rows of these streams until the transaction ends, positions unchanged.

    For a transaction that writes to several streams in several calls: taking every head it
    needs first, in ascending order, keeps the order advance() promises across its calls.
    """
    _bump(dict.fromkeys((stream_of(recipient) for recipient in recipients), 0), using=using)


def _bump(counts: dict[int, int], *, using: str | None) -> dict[int, int]:
    """Add counts[stream] to each stream's top, creating missing heads, in ascending order."""
    if not counts:
        return {}
    alias = using or router.db_for_write(StreamHead)
    connection = connections[alias]
    table = connection.ops.quote_name(StreamHead._meta.db_table)
    tops: dict[int, int] = {}
    streams = sorted(counts)
    with connection.cursor() as cursor:
        for start in range(0, len(streams), HEADS_PER_STATEMENT):
            batch = streams[start : start + HEADS_PER_STATEMENT]
            values = ", ".join(["(%s, %s, 0)"] * len(batch))
            params: list[int] = []
            for stream in batch:
                params += [stream, counts[stream]]
            # Only quoted names and placeholders are formatted in; the values are parameters.
            cursor.execute(
                f"INSERT INTO {table} (stream, top, floor) VALUES {values} "  # noqa: S608
                f"ON CONFLICT (stream) DO UPDATE SET top = {table}.top + excluded.top "
                "RETURNING stream, top",
                params,
            )
            tops.update(cursor.fetchall())
    return tops


def raise_floors(reached: dict[int, int]) -> None:
    """Record that pruning deleted events up to `reached[stream]` in each stream."""
    for stream in sorted(reached):
        StreamHead.objects.filter(stream=stream, floor__lt=reached[stream]).update(
            floor=reached[stream]
        )


def heads(user_ids: Iterable[int]) -> dict[int, Position]:
    """The newest position of each user's stream, in one query per 1,000 users."""
    user_ids = list(dict.fromkeys(user_ids))
    rows = _head_rows([*user_ids, EVERYONE])
    everyone = rows.get(EVERYONE, (0, 0))[0]
    return {user_id: Position(rows.get(user_id, (0, 0))[0], everyone) for user_id in user_ids}


def head(user_id: int) -> Position:
    return heads([user_id])[user_id]


def head_and_floor(user_id: int) -> tuple[Position, Position]:
    """The user's newest position, and the one at or below which pruning may have deleted."""
    rows = _head_rows([user_id, EVERYONE])
    own, everyone = rows.get(user_id, (0, 0)), rows.get(EVERYONE, (0, 0))
    return Position(own[0], everyone[0]), Position(own[1], everyone[1])


def _head_rows(streams: list[int]) -> dict[int, tuple[int, int]]:
    found: dict[int, tuple[int, int]] = {}
    for start in range(0, len(streams), HEADS_PER_STATEMENT):
        rows = StreamHead.objects.filter(
            stream__in=streams[start : start + HEADS_PER_STATEMENT]
        ).values_list("stream", "top", "floor")
        found.update({stream: (top, low) for stream, top, low in rows})
    return found
