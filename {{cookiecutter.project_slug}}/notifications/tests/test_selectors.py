"""Selectors: every read is scoped to one user and filtered as asked."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import selectors
from notifications.models import Event
from notifications.stream.positions import InvalidPosition, Position
from notifications.stream.upkeep import prune_events
from notifications.tests.factories import (
    BroadcastFactory,
    BroadcastReceiptFactory,
    EventFactory,
    NotificationFactory,
)

pytestmark = pytest.mark.django_db


def test_notifications_for_is_scoped_newest_first_and_alive(user, other_user):
    older, newer = NotificationFactory.create_batch(2, recipient=user)
    NotificationFactory(recipient=user, deleted_at=timezone.now())
    NotificationFactory(recipient=other_user)

    assert list(selectors.notifications_for(user)) == [newer, older]
    # An id is as good as the user.
    assert list(selectors.notifications_for(user.id)) == [newer, older]


def test_notifications_for_filters(user):
    general = NotificationFactory(recipient=user, category="general")
    project = NotificationFactory(recipient=user, category="project")
    read = NotificationFactory(recipient=user, read_at=timezone.now())

    assert list(selectors.notifications_for(user, category="project")) == [project]
    assert list(selectors.notifications_for(user, unread=True)) == [project, general]
    assert list(selectors.notifications_for(user, unread=False)) == [read]
    assert list(selectors.notifications_for(user, since=general.pk)) == [read, project]


def test_get_notification_of_another_user_is_does_not_exist(user, other_user):
    mine = NotificationFactory(recipient=user)
    theirs = NotificationFactory(recipient=other_user)

    assert selectors.get_notification(user, mine.pk) == mine
    with pytest.raises(type(theirs).DoesNotExist):
        selectors.get_notification(user, theirs.pk)


def test_unread_counts(user, other_user):
    NotificationFactory.create_batch(2, recipient=user, category="project")
    NotificationFactory(recipient=user, category="general")
    NotificationFactory(recipient=user, category="general", read_at=timezone.now())
    NotificationFactory(
        recipient=user, category="general", read_at=timezone.now(), seen_at=timezone.now()
    )
    NotificationFactory(recipient=user, category="quote", deleted_at=timezone.now())
    NotificationFactory(recipient=other_user, category="quote")

    assert selectors.unread_count(user) == 3
    assert selectors.unread_counts_by_category(user) == {"general": 1, "project": 2}
    assert selectors.counts_for_users([user.id, other_user.id, 0]) == {
        user.id: {
            "unread": 3,
            "unseen": 4,
            "by_category": {
                "general": {"unread": 1, "unseen": 2},
                "project": {"unread": 2, "unseen": 2},
            },
        },
        other_user.id: {
            "unread": 1,
            "unseen": 1,
            "by_category": {"quote": {"unread": 1, "unseen": 1}},
        },
        0: {"unread": 0, "unseen": 0, "by_category": {}},
    }
    assert selectors.counts(other_user) == {
        "unread": 1,
        "unseen": 1,
        "by_category": {"quote": {"unread": 1, "unseen": 1}},
    }
    assert selectors.counts(user) == {
        "unread": 3,
        "unseen": 4,
        "by_category": {
            "general": {"unread": 1, "unseen": 2},
            "project": {"unread": 2, "unseen": 2},
        },
    }


def stream_events(recipient, count: int = 1) -> list[Event]:
    return EventFactory.create_batch(count, recipient=recipient)


def test_latest_position_names_the_own_and_the_everyone_stream(user, other_user):
    assert selectors.latest_position(user) == Position(0, 0)
    stream_events(user)
    stream_events(other_user, 3)
    assert selectors.latest_position(user) == Position(1, 0)

    stream_events(None, 2)
    stream_events(user)

    assert selectors.latest_position(user) == Position(2, 2)
    assert selectors.latest_positions([user.id, other_user.id]) == {
        user.id: Position(2, 2),
        other_user.id: Position(3, 2),
    }


def test_positions_are_dense_per_stream(user, other_user):
    stream_events(user, 2)
    stream_events(None)
    stream_events(other_user)
    stream_events(user)

    places = list(Event.objects.filter(recipient=user).values_list("position", flat=True))
    assert places == [1, 2, 3]
    assert list(Event.objects.filter(recipient=None).values_list("position", flat=True)) == [1]


def replayed(user, since: Position, limit: int = 10) -> tuple[list[Event], bool, Position]:
    replay = selectors.events_after(user, since, limit=limit)
    return [event for event, _ in replay.events], replay.recovered, replay.position


def test_events_after_is_oldest_first_own_and_every_user(user, other_user):
    stream_events(user)
    missed = [*stream_events(user, 2), *stream_events(None), *stream_events(user)]
    stream_events(other_user)

    assert replayed(user, Position(1, 0), limit=4) == (missed, True, Position(4, 1))
    assert replayed(user, Position(4, 1), limit=4) == ([], True, Position(4, 1))
    after = [place for _, place in selectors.events_after(user, Position(1, 0), limit=4).events]
    assert after == [Position(2, 0), Position(3, 0), Position(3, 1), Position(4, 1)]


def test_events_after_a_gap_beyond_the_limit_returns_nothing(user):
    stream_events(user, 5)

    # Never a partial replay: the client is told to reload instead, from the newest position.
    assert replayed(user, Position(1, 0), limit=3) == ([], False, Position(5, 0))


def test_events_after_a_position_ahead_of_the_stream_is_refused(user):
    stream_events(user)

    with pytest.raises(InvalidPosition):
        selectors.events_after(user, Position(2, 0), limit=10)
    with pytest.raises(InvalidPosition):
        selectors.events_after(user, Position(1, 1), limit=10)


def test_events_after_a_pruned_position_returns_nothing(user):
    old = stream_events(user, 3)
    Event.objects.filter(pk=old[0].pk).update(created_at=timezone.now() - timedelta(days=9))

    prune_events(older_than=timezone.now() - timedelta(days=7))

    assert replayed(user, Position(0, 0))[1] is False
    assert replayed(user, Position(1, 0)) == (old[1:], True, Position(3, 0))


def test_a_position_of_a_pruned_stream_is_not_ahead_of_it(user):
    stream_events(user, 2)
    stream_events(None)
    Event.objects.update(created_at=timezone.now() - timedelta(days=9))

    prune_events(older_than=timezone.now() - timedelta(days=7))

    assert replayed(user, Position(2, 1)) == ([], True, Position(2, 1))
    assert replayed(user, Position(1, 1))[1] is False
    assert replayed(user, Position(2, 0))[1] is False


def test_broadcasts_for_carries_the_users_read_state(user, other_user):
    read, unread = BroadcastFactory.create_batch(2)
    receipt = BroadcastReceiptFactory(broadcast=read, user=user)
    BroadcastReceiptFactory(broadcast=unread, user=other_user)
    BroadcastFactory(deleted_at=timezone.now())

    rows = {b.pk: b for b in selectors.broadcasts_for(user)}

    assert list(rows) == [unread.pk, read.pk]
    assert rows[read.pk].is_read is True
    assert rows[read.pk].read_at == receipt.read_at
    assert rows[unread.pk].is_read is False
    assert rows[unread.pk].read_at is None


def test_broadcasts_for_filters(user):
    system = BroadcastFactory(category="system")
    general = BroadcastFactory(category="general")
    BroadcastReceiptFactory(broadcast=system, user=user)

    assert list(selectors.broadcasts_for(user, category="general")) == [general]
    assert list(selectors.broadcasts_for(user, unread=True)) == [general]
    assert list(selectors.broadcasts_for(user, unread=False)) == [system]
    assert list(selectors.broadcasts_for(user, since=system.pk)) == [general]
    assert selectors.broadcast_unread_count(user) == 1


def test_counts_are_read_from_the_head_rows_and_count_expired_items_out(user, other_user):
    now = timezone.now()
    NotificationFactory.create_batch(2, recipient=user, category="project")
    NotificationFactory(recipient=user, read_at=now)
    NotificationFactory(recipient=user, expires_at=now + timedelta(hours=1))
    NotificationFactory(recipient=other_user, seen_at=now)
    expected_user = {
        "unread": 3,
        "unseen": 4,
        "by_category": {
            "general": {"unread": 1, "unseen": 2},
            "project": {"unread": 2, "unseen": 2},
        },
    }
    expected_other = {
        "unread": 1,
        "unseen": 0,
        "by_category": {"general": {"unread": 1, "unseen": 0}},
    }

    with CaptureQueriesContext(connection) as read:
        counts = selectors.counts_for_users([other_user.id, user.id])

    assert counts == {user.id: expected_user, other_user.id: expected_other}
    [query] = read.captured_queries
    assert "notifications_streamhead" in query["sql"]
    assert "notifications_notification" not in query["sql"]

    # An item past its expiry, before the expiry job ran: that user is counted from rows.
    NotificationFactory(recipient=user, expires_at=now - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as read:
        counts = selectors.counts_for_users([other_user.id, user.id])

    assert counts == {user.id: expected_user, other_user.id: expected_other}
    assert len(read.captured_queries) == 2
