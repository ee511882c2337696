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

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import connections, router
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications.models import StreamHead
from notifications.stream.counters import CountChanges

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


class Head(NamedTuple):
    """A stream's head after a write: its newest position and, for a user, their counts."""

    top: int
    # {category: [unread, unseen]}, see notifications/stream/counters.py.
    counts: dict[str, list[int]]
    # The earliest expiry among the counted items; at or before now, the counts may be stale.
    next_expiry: datetime | None


def advance(
    recipients: Iterable[int | None],
    *,
    changes: CountChanges | None = None,
    using: str | None = None,
) -> dict[int, Head]:
    """Take the next positions for one event per item of `recipients`, and apply `changes`
    to their counts; returns each stream's head after it. The events of a stream take the
    positions just below its new top, in order.

    Head rows are locked in ascending stream order, in every write: two writes that touch the
    same streams wait for each other instead of deadlocking. A transaction that calls this
    twice (for other streams) should keep that order across its calls, or make one call.
    """
    return _bump(Counter(stream_of(recipient) for recipient in recipients), changes, using=using)


def lock_heads(recipients: Iterable[int | None], *, using: str | None = None) -> None:
    """Lock the head rows of these streams until the transaction ends, positions unchanged.

    For a transaction that writes to several streams in several calls: taking every head it
    needs first, in ascending order, keeps the order advance() promises across its calls.
    """
    _bump(dict.fromkeys((stream_of(recipient) for recipient in recipients), 0), None, using=using)


def _bump(
    counts: dict[int, int], changes: CountChanges | None, *, using: str | None
) -> dict[int, Head]:
    """Add counts[stream] to each stream's top and the changes to its counts, creating
    missing heads, in ascending stream order."""
    if not counts:
        return {}
    alias = using or router.db_for_write(StreamHead)
    connection = connections[alias]
    streams = sorted(counts)
    changed = [
        json.dumps(changes.of(stream), separators=(",", ":")) if changes is not None else "{}"
        for stream in streams
    ]
    expiries = [changes.expiries.get(stream) if changes is not None else None for stream in streams]
    heads: dict[int, Head] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for any number of streams: four array parameters.
            tops = [counts[stream] for stream in streams]
            cursor.execute(_upsert_sql("postgresql", 0), [streams, tops, changed, expiries])
            rows = cursor.fetchall()
        else:
            rows = []
            for start in range(0, len(streams), HEADS_PER_STATEMENT):
                params: list[Any] = []
                for index in range(start, min(start + HEADS_PER_STATEMENT, len(streams))):
                    params += [
                        streams[index],
                        counts[streams[index]],
                        changed[index],
                        connection.ops.adapt_datetimefield_value(expiries[index]),
                    ]
                cursor.execute(_upsert_sql(connection.vendor, len(params) // 4), params)
                rows += cursor.fetchall()
    for stream, top, stored, next_expiry in rows:
        heads[stream] = Head(
            top,
            json.loads(stored) if isinstance(stored, str) else stored,
            _as_datetime(next_expiry),
        )
    return heads


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp as the database returned it: SQLite returns it naive (or as text), in UTC."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is None:
        raise ValueError(f"Not a timestamp: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


# Adds two {category: [unread, unseen]} objects, leaving out the categories that reach zero.
_MERGED_COUNTS = {
    "postgresql": (
        "(SELECT coalesce(jsonb_object_agg(k, jsonb_build_array(u, s)), '{}'::jsonb) FROM ("
        "SELECT k, sum(u) AS u, sum(s) AS s FROM ("
        "SELECT key AS k, (value->>0)::bigint AS u, (value->>1)::bigint AS s "
        "FROM jsonb_each(h.counts) UNION ALL "
        "SELECT key, (value->>0)::bigint, (value->>1)::bigint FROM jsonb_each(excluded.counts)"
        ") AS d GROUP BY k) AS t WHERE u <> 0 OR s <> 0)"
    ),
    "sqlite": (
        "(SELECT coalesce(json_group_object(k, json_array(u, s)), '{}') FROM ("
        "SELECT k, sum(u) AS u, sum(s) AS s FROM ("
        "SELECT key AS k, json_extract(value, '$[0]') AS u, json_extract(value, '$[1]') AS s "
        "FROM json_each(h.counts) UNION ALL "
        "SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]') "
        "FROM json_each(excluded.counts)) GROUP BY k) WHERE u != 0 OR s != 0)"
    ),
}
_EARLIER_EXPIRY = (
    "CASE WHEN h.next_expiry IS NULL THEN excluded.next_expiry "
    "WHEN excluded.next_expiry IS NULL OR h.next_expiry <= excluded.next_expiry "
    "THEN h.next_expiry ELSE excluded.next_expiry END"
)


@functools.lru_cache(maxsize=64)
def _upsert_sql(vendor: str, rows: int) -> str:
    """The head upsert, built once per process (per row count on SQLite), never per write.

    On PostgreSQL the streams come as arrays, locked in the ascending order of the SELECT.
    """
    table = connections[router.db_for_write(StreamHead)].ops.quote_name(StreamHead._meta.db_table)
    if vendor == "postgresql":
        source = (
            "SELECT stream, top, 0, counts::jsonb, next_expiry FROM unnest("
            "%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[]"
            ") AS given(stream, top, counts, next_expiry) ORDER BY stream"
        )
        no_change = "'{}'::jsonb"
        merged = _MERGED_COUNTS["postgresql"]
    else:
        source = "VALUES " + ", ".join(["(%s, %s, 0, %s, %s)"] * rows)
        no_change = "'{}'"
        merged = _MERGED_COUNTS["sqlite"]
    # Only quoted names and placeholders are formatted in; the values are parameters.
    return (
        f"INSERT INTO {table} AS h (stream, top, floor, counts, next_expiry) "
        f"{source} "
        "ON CONFLICT (stream) DO UPDATE SET top = h.top + excluded.top, "
        f"counts = CASE WHEN excluded.counts = {no_change} THEN h.counts ELSE {merged} END, "
        f"next_expiry = {_EARLIER_EXPIRY} "
        "RETURNING stream, top, counts, next_expiry"
    )


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


def set_next_expiries(user_ids: list[int], expiries: dict[int, datetime]) -> None:
    """Store each user's earliest counted expiry, None for none; their heads must be locked."""
    by_expiry: dict[datetime | None, list[int]] = {}
    for user_id in user_ids:
        by_expiry.setdefault(expiries.get(user_id), []).append(user_id)
    for expiry, streams in by_expiry.items():
        StreamHead.objects.filter(stream__in=streams).update(next_expiry=expiry)
