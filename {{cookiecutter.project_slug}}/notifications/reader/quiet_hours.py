"""Quiet hours for email: wall-clock times in the user's time zone when no digest is sent.

A digest due inside them waits: the digest run skips the user, their rows stay due, and the
first run after the end sends them. Times are compared on the user's wall clock, so a daylight
saving change moves the period with the clock: 22:00 to 07:00 stays 22:00 to 07:00 local.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notifications.reader import profile


def quiet_until(now: datetime, reader: profile.Reader) -> datetime | None:
    """When (in UTC) the user's quiet hours end, if `now` (aware) is inside them; else None.

    A start after the end wraps past midnight (22:00 to 07:00).
    """
    start, end = reader.quiet_start, reader.quiet_end
    if start is None or end is None:
        return None
    local = now.astimezone(reader.zone)
    wall = local.time().replace(tzinfo=None)
    if start < end:
        inside, ends_tomorrow = start <= wall < end, False
    else:
        inside, ends_tomorrow = wall >= start or wall < end, wall >= start
    if not inside:
        return None
    day = local.date() + timedelta(days=1 if ends_tomorrow else 0)
    return wall_clock(day, end, reader.zone)


def wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (in UTC) of `at` on `day` in `zone`. An hour that happens twice (autumn) is
    its first time; one that never happens (skipped in spring) is read with the offset before
    the change, so 02:30 on that day is 03:30 summer time."""
    # In UTC: Python compares and subtracts datetimes of one zone by their wall clocks.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def waiting(user_ids: list[int], now: datetime) -> dict[int, datetime]:
    """The users whose quiet hours hold now, each with the time they end; one query."""
    held = {}
    for user_id, reader in profile.readers_of(user_ids).items():
        until = quiet_until(now, reader)
        if until is not None:
            held[user_id] = until
    return held
