"""Broadcasts in one user's inbox: marking them all read, archiving and unarchiving them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from notifications import selectors
from notifications.categories import UnknownCategory
from notifications.inbox.receipts import MAX_IDS_PER_EVENT
from notifications.models import Broadcast, BroadcastReceipt, Event, EventKind
from notifications.serializers import MAX_ID, dumps, event_frame
from notifications.services import NotificationService
from notifications.tests.factories import BroadcastFactory, BroadcastReceiptFactory
from notifications.tests.racing import failures, in_threads, needs_postgresql

pytestmark = pytest.mark.django_db


def events_of(user, *kinds: str) -> list[tuple[str, list[int]]]:
    """(kind, ids) of the user's stored events of these kinds, oldest first."""
    rows = Event.objects.filter(recipient=user, kind__in=kinds).order_by("id")
    return [(row.kind, row.payload["ids"]) for row in rows]


def inbox_ids(user, **filters) -> list[int]:
    return list(selectors.broadcasts_for(user, **filters).values_list("id", flat=True))


# mark_all_broadcasts_read ---------------------------------------------------------------------


def test_mark_all_marks_the_current_unread_ones_and_names_exactly_them(user, other_user):
    read_before = BroadcastFactory()
    earlier = BroadcastReceiptFactory(broadcast=read_before, user=user).read_at
    unread = BroadcastFactory.create_batch(2)
    BroadcastFactory(deleted_at=timezone.now())
    BroadcastFactory(expires_at=timezone.now() - timedelta(minutes=1))

    marked = NotificationService.mark_all_broadcasts_read(user)

    assert marked == 2
    assert selectors.broadcast_unread_count(user) == 0
    assert sorted(
        BroadcastReceipt.objects.filter(user=user).values_list("broadcast", flat=True)
    ) == [
        read_before.pk,
        *sorted(b.pk for b in unread),
    ]
    assert BroadcastReceipt.objects.get(user=user, broadcast=read_before).read_at == earlier
    assert events_of(user, EventKind.BROADCAST_READ) == [
        (EventKind.BROADCAST_READ, sorted(b.pk for b in unread))
    ]
    # Another user's read state is theirs.
    assert not BroadcastReceipt.objects.filter(user=other_user).exists()
    assert selectors.broadcast_unread_count(other_user) == 3


def test_mark_all_again_marks_nothing_and_stores_no_event(user):
    BroadcastFactory()
    NotificationService.mark_all_broadcasts_read(user)

    assert NotificationService.mark_all_broadcasts_read(user.pk) == 0
    assert len(events_of(user, EventKind.BROADCAST_READ)) == 1


def test_mark_all_of_one_category(user):
    system = BroadcastFactory(category="system")
    general = BroadcastFactory(category="general")

    assert NotificationService.mark_all_broadcasts_read(user, "system") == 1

    assert inbox_ids(user, unread=True) == [general.pk]
    assert events_of(user, EventKind.BROADCAST_READ) == [(EventKind.BROADCAST_READ, [system.pk])]


def test_mark_all_of_an_unknown_category_changes_nothing(user):
    BroadcastFactory()

    with pytest.raises(UnknownCategory):
        NotificationService.mark_all_broadcasts_read(user, "nope")
    assert not BroadcastReceipt.objects.exists()


def test_mark_all_splits_its_ids_over_events_at_the_limit(user, monkeypatch):
    monkeypatch.setattr("notifications.inbox.receipts.MAX_IDS_PER_EVENT", 2)
    two = sorted(b.pk for b in BroadcastFactory.create_batch(2))
    assert NotificationService.mark_all_broadcasts_read(user) == 2
    three = sorted(b.pk for b in BroadcastFactory.create_batch(3))

    assert NotificationService.mark_all_broadcasts_read(user) == 3

    assert events_of(user, EventKind.BROADCAST_READ) == [
        (EventKind.BROADCAST_READ, two),
        (EventKind.BROADCAST_READ, three[:2]),
        (EventKind.BROADCAST_READ, three[2:]),
    ]


def test_an_event_of_the_most_ids_fits_one_socket_message():
    ids = [MAX_ID - index for index in range(MAX_IDS_PER_EVENT)]
    counts = {"unread": MAX_ID, "unseen": MAX_ID, "by_category": {}}

    frame = event_frame(f"{MAX_ID}:{MAX_ID}", EventKind.BROADCAST_READ, {"ids": ids}, counts)

    assert len(dumps(frame).encode()) < settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES


# archive_broadcast / unarchive_broadcast ----------------------------------------------------


def test_archiving_an_unread_broadcast_reads_it_and_moves_it_to_the_archive(user, other_user):
    broadcast, kept = BroadcastFactory.create_batch(2)

    receipt = NotificationService.archive_broadcast(broadcast.pk, user)

    assert receipt.read_at is not None
    assert receipt.archived_at is not None
    assert inbox_ids(user) == [kept.pk]
    assert inbox_ids(user, archived=True) == [broadcast.pk]
    assert selectors.broadcast_unread_count(user) == 1
    assert events_of(user, EventKind.BROADCAST_READ, EventKind.BROADCAST_ARCHIVED) == [
        (EventKind.BROADCAST_READ, [broadcast.pk]),
        (EventKind.BROADCAST_ARCHIVED, [broadcast.pk]),
    ]
    assert inbox_ids(other_user) == [kept.pk, broadcast.pk]
    assert selectors.broadcast_unread_count(other_user) == 2


def test_archiving_a_read_broadcast_keeps_its_read_time_and_twice_is_once(user):
    broadcast = BroadcastFactory()
    read_at = NotificationService.mark_broadcast_read(broadcast.pk, user).read_at

    NotificationService.archive_broadcast(broadcast.pk, user)
    again = NotificationService.archive_broadcast(broadcast.pk, user)

    assert again.read_at == read_at
    assert events_of(user, EventKind.BROADCAST_ARCHIVED) == [
        (EventKind.BROADCAST_ARCHIVED, [broadcast.pk])
    ]
    assert len(events_of(user, EventKind.BROADCAST_READ)) == 1


def test_unarchiving_brings_it_back_read_and_the_event_carries_it(user):
    broadcast = BroadcastFactory()
    NotificationService.archive_broadcast(broadcast.pk, user)

    receipt = NotificationService.unarchive_broadcast(broadcast.pk, user)

    assert receipt is not None
    assert receipt.archived_at is None
    assert inbox_ids(user, unread=False) == [broadcast.pk]
    assert inbox_ids(user, archived=True) == []
    event = Event.objects.get(recipient=user, kind=EventKind.BROADCAST_UNARCHIVED)
    assert event.payload["ids"] == [broadcast.pk]
    assert event.payload["broadcast"]["id"] == broadcast.pk


def test_unarchiving_one_not_archived_changes_nothing(user):
    unread, read = BroadcastFactory.create_batch(2)
    NotificationService.mark_broadcast_read(read.pk, user)

    assert NotificationService.unarchive_broadcast(unread.pk, user) is None
    assert NotificationService.unarchive_broadcast(read.pk, user) is not None
    assert not Event.objects.filter(kind=EventKind.BROADCAST_UNARCHIVED).exists()
    assert inbox_ids(user, unread=True) == [unread.pk]


@pytest.mark.parametrize("change", ["archive_broadcast", "unarchive_broadcast"])
@pytest.mark.parametrize("case", ["deleted", "expired", "missing"])
def test_archiving_a_broadcast_that_is_gone_is_does_not_exist(user, change, case):
    broadcast = BroadcastFactory(
        deleted_at=timezone.now() if case == "deleted" else None,
        expires_at=timezone.now() - timedelta(seconds=1) if case == "expired" else None,
    )
    pk = 10**6 if case == "missing" else broadcast.pk

    with pytest.raises(Broadcast.DoesNotExist):
        getattr(NotificationService, change)(pk, user)
    assert not BroadcastReceipt.objects.exists()


def test_mark_all_reads_archived_ones_never_again(user):
    archived = BroadcastFactory()
    NotificationService.archive_broadcast(archived.pk, user)
    unread = BroadcastFactory()

    assert NotificationService.mark_all_broadcasts_read(user) == 1
    assert events_of(user, EventKind.BROADCAST_READ)[-1] == (EventKind.BROADCAST_READ, [unread.pk])
    assert BroadcastReceipt.objects.get(broadcast=archived).archived_at is not None


# Races on PostgreSQL ------------------------------------------------------------------------


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_mark_alls_store_one_receipt_each_and_name_each_once(user):
    ids = sorted(b.pk for b in BroadcastFactory.create_batch(30))

    results = in_threads(6, lambda _: NotificationService.mark_all_broadcasts_read(user.pk))

    assert failures(results) == []
    assert sum(results) == 30
    receipts = BroadcastReceipt.objects.filter(user=user)
    assert sorted(receipts.values_list("broadcast", flat=True)) == ids
    named = [pk for _, event_ids in events_of(user, EventKind.BROADCAST_READ) for pk in event_ids]
    assert sorted(named) == ids


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_mark_all_racing_single_reads_and_archives_fails_none(user, other_user):
    broadcasts = BroadcastFactory.create_batch(12)
    ids = sorted(b.pk for b in broadcasts)
    BroadcastReceiptFactory(broadcast=broadcasts[0], user=other_user)

    def work(index: int) -> object:
        if index % 3 == 0:
            return NotificationService.mark_all_broadcasts_read(user.pk)
        if index % 3 == 1:
            return NotificationService.mark_broadcast_read(broadcasts[index].pk, user.pk)
        return NotificationService.archive_broadcast(broadcasts[index].pk, user.pk)

    results = in_threads(12, work)

    assert failures(results) == []
    receipts = BroadcastReceipt.objects.filter(user=user)
    assert sorted(receipts.values_list("broadcast", flat=True)) == ids
    assert sorted(receipts.exclude(archived_at=None).values_list("broadcast", flat=True)) == sorted(
        broadcasts[index].pk for index in range(2, 12, 3)
    )
    # Each broadcast turned read once, in exactly one event.
    named = [pk for _, event_ids in events_of(user, EventKind.BROADCAST_READ) for pk in event_ids]
    assert sorted(named) == ids
    assert BroadcastReceipt.objects.filter(user=other_user).count() == 1
