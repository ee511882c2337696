"""Selectors: every read is scoped to one user and filtered as asked."""

import pytest
from django.utils import timezone

from notifications import selectors
from notifications.tests.factories import (
    BroadcastFactory,
    BroadcastReceiptFactory,
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
    NotificationFactory(recipient=user, category="quote", deleted_at=timezone.now())
    NotificationFactory(recipient=other_user, category="quote")

    assert selectors.unread_count(user) == 3
    assert selectors.unread_counts_by_category(user) == {"general": 1, "project": 2}
    assert selectors.unread_counts_for_users([user.id, other_user.id, 0]) == {
        user.id: 3,
        other_user.id: 1,
        0: 0,
    }


def test_latest_id(user, other_user):
    assert selectors.latest_id(user) == 0
    NotificationFactory(recipient=user)
    newest = NotificationFactory(recipient=user)
    NotificationFactory(recipient=other_user)

    assert selectors.latest_id(user) == newest.pk


def test_missed_since_is_oldest_first_and_complete_within_the_limit(user, other_user):
    seen = NotificationFactory(recipient=user)
    missed = NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=other_user)

    assert selectors.missed_since(user, seen.pk, limit=3) == (missed, True)
    assert selectors.missed_since(user, missed[-1].pk, limit=3) == ([], True)


def test_missed_since_a_gap_beyond_the_limit_returns_nothing(user):
    seen = NotificationFactory(recipient=user)
    NotificationFactory.create_batch(4, recipient=user)

    # Never a partial replay: the client is told to reload instead.
    assert selectors.missed_since(user, seen.pk, limit=3) == ([], False)


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
