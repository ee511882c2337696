"""Quiet hours on the user's wall clock: same-day and past-midnight periods, edges, DST."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notifications.reader.profile import Reader
from notifications.reader.quiet_hours import quiet_until

PARIS = ZoneInfo("Europe/Paris")


def reader(start: time | None, end: time | None, zone: str = "Europe/Paris") -> Reader:
    return Reader(
        language="",
        writes_in="en",
        time_zone=zone,
        zone=ZoneInfo(zone),
        quiet_start=start,
        quiet_end=end,
    )


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


NIGHT = reader(time(22), time(7))
WORKDAY = reader(time(9), time(17, 30))


def test_no_quiet_hours_never_hold():
    assert quiet_until(paris(2026, 1, 10, 3, 0), reader(None, None)) is None


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # At the start it holds; at the end it no longer does.
        (paris(2026, 1, 10, 9, 0), paris(2026, 1, 10, 17, 30)),
        (paris(2026, 1, 10, 17, 29), paris(2026, 1, 10, 17, 30)),
        (paris(2026, 1, 10, 17, 30), None),
        (paris(2026, 1, 10, 8, 59), None),
    ],
)
def test_a_same_day_period_holds_from_its_start_until_its_end(now, until):
    assert quiet_until(now, WORKDAY) == until


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (paris(2026, 1, 10, 21, 59), None),
        # Before midnight it ends tomorrow; after midnight, today.
        (paris(2026, 1, 10, 22, 0), paris(2026, 1, 11, 7, 0)),
        (paris(2026, 1, 10, 23, 59), paris(2026, 1, 11, 7, 0)),
        (paris(2026, 1, 11, 0, 0), paris(2026, 1, 11, 7, 0)),
        (paris(2026, 1, 11, 6, 59), paris(2026, 1, 11, 7, 0)),
        (paris(2026, 1, 11, 7, 0), None),
        (paris(2026, 1, 11, 12, 0), None),
    ],
)
def test_a_period_past_midnight_wraps(now, until):
    assert quiet_until(now, NIGHT) == until


def test_the_time_is_read_on_the_users_clock():
    instant = datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    # 23:00 UTC is midnight in Paris (quiet) and 08:00 in Tokyo (not).
    assert quiet_until(instant, NIGHT) == paris(2026, 1, 11, 7, 0)
    assert quiet_until(instant, reader(time(22), time(7), "Asia/Tokyo")) is None


def test_the_spring_change_shortens_the_night_in_utc():
    # Paris goes from +01:00 to +02:00 at 02:00 on 29 March 2026: 22:00 to 07:00 is 8 hours.
    now = paris(2026, 3, 28, 22, 0)
    until = quiet_until(now, NIGHT)
    assert until == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert until is not None
    assert (until - now).total_seconds() == 8 * 3600
    # 06:30 summer time is still quiet; 07:00 is not.
    assert quiet_until(datetime(2026, 3, 29, 4, 30, tzinfo=UTC), NIGHT) == until
    assert quiet_until(datetime(2026, 3, 29, 5, 0, tzinfo=UTC), NIGHT) is None


def test_the_autumn_change_lengthens_the_night_in_utc():
    # Paris goes back from +02:00 to +01:00 at 03:00 on 25 October 2026: 10 hours of night.
    now = paris(2026, 10, 24, 22, 0)
    until = quiet_until(now, NIGHT)
    assert until == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    assert until is not None
    assert (until - now).total_seconds() == 10 * 3600
    # Both 02:30s of that night (00:30 and 01:30 UTC) are inside.
    for hour in (0, 1):
        assert quiet_until(datetime(2026, 10, 25, hour, 30, tzinfo=UTC), NIGHT) == until


def test_an_end_the_spring_change_skips_is_read_with_the_winter_offset():
    # 02:30 does not exist on 29 March 2026 in Paris: read as 02:30+01:00, 03:30 summer time.
    short_night = reader(time(23), time(2, 30))
    until = quiet_until(paris(2026, 3, 28, 23, 30), short_night)
    assert until == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert until is not None
    assert until.astimezone(PARIS).hour == 3
